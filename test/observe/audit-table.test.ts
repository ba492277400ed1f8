import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, type AuditRecord } from '../../src/observe/audit-log.js';
import { createLogger } from '../../src/observe/log.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { tempWarehouse } from '../helpers.js';

let warehouse: Warehouse;
let remove: () => Promise<void>;

beforeAll(async () => {
  ({ warehouse, remove } = await tempWarehouse('audit'));
});

afterAll(async () => {
  await remove?.();
});

const RECORD: AuditRecord = {
  tenant: 'aurora',
  subject: 'analyst@aurora',
  tool: 'query_engagement',
  argumentHash: 'a',
  resultHash: 'r',
  rows: 3,
  latencyMs: 12.5,
  cacheHit: false,
  redactions: 0,
  suppressedGroups: 0,
  outcome: 'ok',
  errorClass: '',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  stages: { plan: 1.25, warehouse: 8.5 },
  readRows: 123_456,
  readBytes: 7_890_123,
};

describe('the audit table', () => {
  it('gains the trace, reads and stage columns when an earlier version created it, keeping its rows', async () => {
    const admin = warehouse.admin();
    // The table as the version before traces created it, with one record in it.
    await admin.command('CREATE DATABASE IF NOT EXISTS marquee');
    await admin.command(
      `CREATE TABLE marquee.audit (time DateTime64(3, 'UTC'), tenant LowCardinality(String), subject String,
        tool LowCardinality(String), argument_hash String, result_hash String, rows UInt32, latency_ms Float64,
        cache_hit Bool, redactions UInt32, suppressed_groups UInt32, outcome LowCardinality(String),
        error_class LowCardinality(String)) ENGINE = MergeTree ORDER BY (tenant, time)`,
    );
    await admin.command(
      `INSERT INTO marquee.audit VALUES (now64(3), 'aurora', 'earlier', 'query_engagement', '', '', 1, 1, false, 0, 0, 'ok', '')`,
    );
    const audit = new AuditLog({ sink: admin, logger: createLogger('silent'), flushIntervalMs: 10 });
    audit.record(RECORD);
    await audit.close();
    const rows = await admin.query(
      'SELECT subject, trace_id, read_rows, read_bytes, stage_ms FROM marquee.audit ORDER BY time, subject',
    );
    expect(rows).toEqual([
      { subject: 'earlier', trace_id: '', read_rows: 0, read_bytes: 0, stage_ms: {} },
      {
        subject: 'analyst@aurora',
        trace_id: RECORD.traceId,
        read_rows: 123456,
        read_bytes: 7890123,
        stage_ms: { plan: 1.25, warehouse: 8.5 },
      },
    ]);
  });
});
