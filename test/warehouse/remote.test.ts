import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, createLogger } from '../../src/observe/audit-log.js';
import type { HttpServer } from '../../src/server/serve-http.js';
import { createWarehouse } from '../../src/warehouse/create-warehouse.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import {
  connectHttp,
  LIMITS,
  query,
  SEMANTIC_LAYER,
  seededWarehouse,
  startHttp,
  testDependencies,
} from '../helpers.js';
import { startFacade } from './clickhouse-facade.js';

let embedded: Warehouse;
let removeEmbedded: () => Promise<void>;
let facade: Awaited<ReturnType<typeof startFacade>>;
let remote: Warehouse;
let viaUrl: HttpServer;
let viaEmbedded: HttpServer;
let urlClient: Client;
let embeddedClient: Client;

beforeAll(async () => {
  ({ warehouse: embedded, remove: removeEmbedded } = await seededWarehouse());
  facade = await startFacade(embedded);
  remote = createWarehouse({
    kind: 'remote',
    url: facade.url,
    user: 'reader',
    password: 'secret',
    database: undefined,
    readers: 2,
    limits: LIMITS,
  });
  // Audit records go to the embedded warehouse: the facade should see reads only.
  const dependencies = await testDependencies(remote);
  viaUrl = await startHttp(remote, 'aurora', SEMANTIC_LAYER, [], {
    ...dependencies,
    audit: new AuditLog({ sink: embedded.admin(), logger: createLogger('silent'), flushIntervalMs: 50 }),
  });
  viaEmbedded = await startHttp(embedded, 'aurora');
  urlClient = await connectHttp(viaUrl.url);
  embeddedClient = await connectHttp(viaEmbedded.url);
});

afterAll(async () => {
  await urlClient?.close();
  await embeddedClient?.close();
  await viaUrl?.close();
  await viaEmbedded?.close();
  await remote?.close();
  await facade?.close();
  await removeEmbedded?.();
});

describe('CLICKHOUSE_URL: the same SQL over HTTP', () => {
  it('answers exactly as the embedded engine does', async () => {
    const args = { time_range: '2026-Q3', geo: 'LATAM', compare_to: 'previous_period', group_by: ['device'] };
    const [overHttp, inProcess] = await Promise.all([query(urlClient, args), query(embeddedClient, args)]);
    expect(overHttp).toEqual(inProcess);
    expect(overHttp.rows.length).toBe(6);
  });

  it('sends the limits and readonly with every read, and values only as parameters', async () => {
    facade.seen.length = 0;
    await query(urlClient, { time_range: '2026-08', device: 'TV' });
    expect(facade.seen.length).toBeGreaterThan(1);
    const reads = facade.seen.filter((request) => /^\s*select\b/i.test(request.sql));
    expect(reads.length).toBe(facade.seen.length);
    for (const request of reads) {
      expect(request.settings).toMatchObject({
        readonly: '2',
        max_execution_time: String(LIMITS.maxExecutionSeconds),
        max_result_rows: String(LIMITS.maxResultRows),
        result_overflow_mode: 'throw',
        max_memory_usage: String(LIMITS.maxMemoryBytes),
        output_format_json_quote_64bit_integers: '1',
      });
      expect(request.sql).not.toContain('aurora');
      // Every read of data carries the tenant; the data's watermark reads only the engine's part list.
      if (!request.sql.includes('system.parts'))
        expect(Object.values(request.parameters)).toContain('aurora');
    }
    expect(reads.filter((request) => !request.sql.includes('system.parts')).length).toBeGreaterThan(1);
  });

  it('maps server errors to the same messages', async () => {
    await expect(remote.query({ sql: 'SELECT count() FROM no_such_table', parameters: {} })).rejects.toThrow(
      /^The warehouse rejected the query \(UNKNOWN_TABLE\)/,
    );
    await expect(remote.ping()).resolves.toBeUndefined();
  });
});
