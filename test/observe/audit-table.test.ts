import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, type AuditRecord } from '../../src/observe/audit-log.js';
import { createLogger } from '../../src/observe/log.js';
import type { AdminConnection, Warehouse } from '../../src/warehouse/warehouse.js';
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

/** The table as the version before traces created it, with one record in it. */
async function legacyTable(admin: AdminConnection, table: string): Promise<void> {
  await admin.command('CREATE DATABASE IF NOT EXISTS marquee');
  await admin.command(
    `CREATE TABLE ${table} (time DateTime64(3, 'UTC'), tenant LowCardinality(String), subject String,
      tool LowCardinality(String), argument_hash String, result_hash String, rows UInt32, latency_ms Float64,
      cache_hit Bool, redactions UInt32, suppressed_groups UInt32, outcome LowCardinality(String),
      error_class LowCardinality(String)) ENGINE = MergeTree ORDER BY (tenant, time)`,
  );
  await admin.command(
    `INSERT INTO ${table} VALUES (now64(3), 'aurora', 'earlier', 'query_engagement', '', '', 1, 1, false, 0, 0, 'ok', '')`,
  );
}

describe('the audit table', () => {
  it('gains the trace, reads and stage columns when an earlier version created it, keeping its rows', async () => {
    const admin = warehouse.admin();
    await legacyTable(admin, 'marquee.audit');
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

  it('keeps writing records, without the new columns, when the writer may not add them, and says what to run', async () => {
    const admin = warehouse.admin();
    await legacyTable(admin, 'marquee.audit_legacy');
    // A writer with INSERT but not ALTER (as a server's grants may leave it).
    const writer: AdminConnection = {
      ...admin,
      command: (sql, parameters) =>
        sql.startsWith('ALTER')
          ? Promise.reject(new Error('Not enough privileges'))
          : admin.command(sql, parameters),
    };
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const audit = new AuditLog({ sink: writer, table: 'audit_legacy', logger, flushIntervalMs: 10 });
    audit.record(RECORD);
    audit.record({ ...RECORD, subject: 'second@aurora' });
    await audit.close();
    const rows = await admin.query('SELECT subject FROM marquee.audit_legacy ORDER BY time, subject');
    expect(rows.map((row) => row.subject)).toEqual(['earlier', 'analyst@aurora', 'second@aurora']);
    const warnings = lines.map((line) => JSON.parse(line) as { msg: string; run?: string[] });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toMatch(/lacks columns added since it was created/);
    expect(warnings[0]?.run).toContain('ALTER TABLE marquee.audit_legacy ADD COLUMN trace_id String');
  });
});
