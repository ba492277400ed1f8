import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueryLimits } from '../../src/config.js';
import { AuditLog, type AuditRecord } from '../../src/observe/audit-log.js';
import { createLogger } from '../../src/observe/log.js';
import { metricsOf } from '../../src/observe/metrics.js';
import type { HttpServer } from '../../src/server/serve-http.js';
import type { BreakerOptions } from '../../src/warehouse/circuit-breaker.js';
import { createWarehouse } from '../../src/warehouse/create-warehouse.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import {
  callTool,
  connectHttp,
  LIMITS,
  query,
  SEMANTIC_LAYER,
  seededWarehouse,
  servedWith,
  startHttp,
  testDependencies,
  toolErrorText,
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

/** A question of several statements. */
const ASK_COSTLY = { time_range: '2026-Q3', geo: 'LATAM', compare_to: 'previous_period' };

/** An audit log writing to the embedded warehouse: the facade should see reads only. */
function embeddedAudit(): AuditLog {
  return new AuditLog({ sink: embedded.admin(), logger: createLogger('silent'), flushIntervalMs: 50 });
}

/** A warehouse reached over HTTP through the facade, as CLICKHOUSE_URL makes one (its breaker as given). */
function overFacade(
  options: {
    breaker?: BreakerOptions;
    limits?: QueryLimits;
    user?: string;
    admin?: { user: string; password: string };
  } = {},
): Warehouse {
  return createWarehouse({
    kind: 'remote',
    url: facade.url,
    user: options.user ?? 'reader',
    password: 'secret',
    database: undefined,
    readers: 2,
    limits: options.limits ?? LIMITS,
    ...(options.admin === undefined ? {} : { admin: options.admin }),
    ...(options.breaker === undefined ? {} : { breaker: options.breaker }),
  });
}

beforeAll(async () => {
  ({ warehouse: embedded, remove: removeEmbedded } = await seededWarehouse());
  facade = await startFacade(embedded);
  remote = overFacade();
  // Audit records go to the embedded warehouse: the facade should see reads only.
  const dependencies = await testDependencies(remote);
  viaUrl = await startHttp(remote, 'aurora', SEMANTIC_LAYER, [], {
    ...dependencies,
    audit: embeddedAudit(),
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
  it('reads as CLICKHOUSE_USER and writes as CLICKHOUSE_ADMIN_USER when one is set', async () => {
    const split = overFacade({ user: 'marquee_reader', admin: { user: 'marquee_writer', password: 'w' } });
    try {
      facade.seen.length = 0;
      await split.query({ sql: 'SELECT 1 AS one', parameters: {} });
      await split.admin().query('SELECT 2 AS two');
      expect(facade.seen.map((request) => [request.user, request.sql.trim()])).toEqual([
        ['marquee_reader', 'SELECT 1 AS one'],
        ['marquee_writer', 'SELECT 2 AS two'],
      ]);
      // The read carries readonly; the write connection does not.
      expect(facade.seen[0]?.settings.readonly).toBe('2');
      expect(facade.seen[1]?.settings.readonly).toBeUndefined();
      // Without an admin user, writes go as the one user (and reads still carry readonly).
      facade.seen.length = 0;
      await remote.admin().query('SELECT 3 AS three');
      expect(facade.seen.map((request) => request.user)).toEqual(['reader']);
      expect(facade.seen[0]?.settings.readonly).toBeUndefined();
    } finally {
      await split.close();
    }
  });

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

  it("tags every read with its call's trace (query_id, log_comment), and counts what the server read", async () => {
    const records: AuditRecord[] = [];
    const audit = embeddedAudit();
    audit.listen((record) => records.push(record));
    const server = await startHttp(remote, 'aurora', SEMANTIC_LAYER, [], {
      ...(await testDependencies(remote)),
      audit,
    });
    const client = await connectHttp(server.url);
    try {
      facade.seen.length = 0;
      await query(client, { time_range: '2026-07', plan: 'premium' });
      const call = records.find((record) => record.tool === 'query_engagement');
      expect(call?.traceId).toMatch(/^[\da-f]{32}$/);
      const tagged = facade.seen.filter((request) => request.queryId?.startsWith(`${call?.traceId}-`));
      expect(tagged.length).toBeGreaterThan(1);
      for (const request of tagged) {
        expect(request.queryId).toMatch(/^[\da-f]{32}-[\da-f]{16}$/);
        expect(JSON.parse(request.settings.log_comment ?? '{}')).toEqual({
          service: 'marquee',
          trace_id: call?.traceId,
          tool: 'query_engagement',
        });
      }
      // Each statement's query_id is its own (a server refuses two running under one id).
      expect(new Set(tagged.map((request) => request.queryId)).size).toBe(tagged.length);
      expect(call?.readRows).toBeGreaterThan(0);
      expect(call?.stages).toMatchObject({ plan: expect.any(Number), warehouse: expect.any(Number) });
    } finally {
      await client.close();
      await server.close();
    }
  });

  it("holds each statement to what is left of the call's read budget, and the server's refusal is the call's", async () => {
    const records: AuditRecord[] = [];
    const audit = embeddedAudit();
    audit.listen((record) => records.push(record));
    const measure = async (budget: number | undefined) => {
      const server = await servedWith(remote, { maxRowsReadPerCall: budget }, { audit: embeddedAudit() });
      facade.seen.length = 0;
      try {
        const text = await toolErrorText(server.client, ASK_COSTLY).catch(() => undefined);
        return { text, seen: [...facade.seen], call: server.calls()[0] };
      } finally {
        await server.close();
      }
    };
    const free = await measure(undefined);
    const reads = free.call?.readRows ?? 0;
    expect(reads).toBeGreaterThan(0);
    // The server's statistics of the call's statements (its trace id in their query_id), summed, are its reads.
    const ofCall = free.seen.filter((request) => request.queryId?.startsWith(`${free.call?.traceId}-`));
    expect(ofCall.reduce((sum, request) => sum + (request.rowsRead ?? 0), 0)).toBe(reads);
    const bounded = await measure(reads - 1);
    expect(bounded.text).toMatch(
      /^This question reads more than [\d,]+ rows of the warehouse \(MARQUEE_CALL_MAX_ROWS_READ\)/,
    );
    expect(bounded.call?.errorClass).toBe('call_too_costly');
    // Each statement is sent with what the call has left when it starts, never more than the budget.
    const sent = bounded.seen.filter((request) => request.settings.max_rows_to_read !== undefined);
    expect(Number(sent[0]?.settings.max_rows_to_read)).toBe(reads - 1);
    for (const request of sent)
      expect(Number(request.settings.max_rows_to_read)).toBeLessThanOrEqual(reads - 1);
    // A budget below the largest statement's reads: the server stops that statement, which stops the call.
    const largest = Math.max(...ofCall.map((request) => request.rowsRead ?? 0));
    const stopped = await measure(largest - 1);
    expect(stopped.call?.errorClass).toBe('call_too_costly');
    expect(stopped.seen.some((request) => request.overRead === true)).toBe(true);
  });

  it("never starts a call's statements that wait for a turn once the call's budget is spent", async () => {
    const ask = { time_range: '2026-Q3', dimensions: ['country'] };
    // explain_change reads its coverage first, then several statements at once; through one slot they wait.
    const statementsOf = async (budget: number | undefined) => {
      const server = await servedWith(
        remote,
        { maxRowsReadPerCall: budget, fairness: { slots: 1, perTenant: 1, maxWaitMs: 60_000 } },
        { audit: embeddedAudit() },
      );
      try {
        facade.seen.length = 0;
        const result = await callTool(server.client, ask, 'explain_change');
        // Whatever was still queued has had its turn (or been dropped) before the facade is read.
        while (server.service.fair.load().running + server.service.fair.load().waiting > 0)
          await new Promise((resolve) => setTimeout(resolve, 10));
        const call = server.records.find((record) => record.tool === 'explain_change');
        const sent = facade.seen.filter((request) => request.queryId?.startsWith(`${call?.traceId}-`));
        return { result, sent };
      } finally {
        await server.close();
      }
    };
    const free = await statementsOf(undefined);
    expect(free.sent.length).toBeGreaterThan(2);
    // A budget the coverage statement keeps, which the next statement passes.
    const coverage = free.sent[0]?.rowsRead ?? 0;
    const bounded = await statementsOf(coverage + 1);
    expect(bounded.result.isError).toBe(true);
    expect(bounded.result.content[0]?.text).toMatch(/^This question reads more than [\d,]+ rows/);
    // The coverage, then one statement stopped by the server; none of those waiting behind it started.
    expect(bounded.sent).toHaveLength(2);
    expect(bounded.sent[1]?.overRead).toBe(true);
  });

  it('/readyz names each dependency, turns not ready while the warehouse is gone, and ready when it returns', async () => {
    const readyz = new URL('/readyz', viaUrl.url);
    const ready = await fetch(readyz);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: {
        warehouse: { ok: true, kind: 'remote' },
        layer: { ok: true, problems: 0 },
        data: { ok: true, as_of: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), max_age_seconds: null },
      },
    });
    facade.setDown(true);
    try {
      const gone = await fetch(readyz);
      expect(gone.status).toBe(503);
      expect(await gone.json()).toMatchObject({
        status: 'not ready',
        reason: expect.stringMatching(/^The warehouse does not answer: /),
        checks: { warehouse: { ok: false, kind: 'remote' }, layer: { ok: false, checked: false } },
      });
    } finally {
      facade.setDown(false);
    }
    expect((await fetch(readyz)).status).toBe(200);
  });

  it('/readyz turns not ready when the data is older than MARQUEE_READY_MAX_DATA_AGE', async () => {
    const strict = await startHttp(embedded, 'aurora', SEMANTIC_LAYER, [], undefined, {
      maxDataAgeSeconds: 1,
    });
    try {
      // The fixture was written when it was seeded; two seconds on, it is older than one (its time is whole seconds).
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      const stale = await fetch(new URL('/readyz', strict.url));
      expect(stale.status).toBe(503);
      expect(await stale.json()).toMatchObject({
        reason: expect.stringMatching(
          /^The data was last written \d+ s ago, more than MARQUEE_READY_MAX_DATA_AGE \(1 s\)$/,
        ),
        checks: { warehouse: { ok: true }, layer: { ok: true }, data: { ok: false, max_age_seconds: 1 } },
      });
    } finally {
      await strict.close();
    }
  });

  it('fails fast while the server is gone (a circuit breaker), and recovers by itself when it returns', async () => {
    // The breaker's own clock, moved by hand: the cooldown passes when the test says, not when the machine does.
    let clock = Date.now();
    const breaking = overFacade({ breaker: { failures: 2, cooldownMs: 10_000, now: () => clock } });
    const dependencies = {
      ...(await testDependencies(breaking)),
      audit: embeddedAudit(),
    };
    const metrics = metricsOf(dependencies.audit, dependencies.service);
    const server = await startHttp(breaking, 'aurora', SEMANTIC_LAYER, [], { ...dependencies, metrics });
    const client = await connectHttp(server.url);
    try {
      expect((await query(client, { time_range: '2026-05' })).rows.length).toBeGreaterThan(0);
      facade.setDown(true);
      // The first failures reach the server (and find it gone); then the breaker answers at once.
      for (const month of ['2026-04', '2026-03'])
        expect(await toolErrorText(client, { time_range: month })).toMatch(
          /^The warehouse is temporarily unavailable/,
        );
      const reached = facade.attempts();
      clock += 9_500;
      const fast = await toolErrorText(client, { time_range: '2026-02' });
      expect(fast).toMatch(/^The warehouse is temporarily unavailable; retry in 1 s$/);
      expect(facade.attempts()).toBe(reached);
      // Three calls failed in the warehouse, two of them reaching it: counted by class in the metrics.
      expect(await metrics.text()).toMatch(
        /^marquee_warehouse_errors_total\{class="warehouse_unavailable"\} 3$/m,
      );
      const gone = await fetch(new URL('/readyz', server.url));
      expect(gone.status).toBe(503);
      expect(((await gone.json()) as { reason: string }).reason).toMatch(
        /temporarily unavailable; retry in 1 s/,
      );
      // Back: after the cooldown one query tries it, and everything answers again.
      facade.setDown(false);
      clock += 600;
      expect((await query(client, { time_range: '2026-02' })).rows.length).toBeGreaterThan(0);
      expect((await fetch(new URL('/readyz', server.url))).status).toBe(200);
    } finally {
      facade.setDown(false);
      await client.close();
      await server.close();
      await breaking.close();
    }
  });

  it("sends a call's tighter read bound, never a looser one, and never zero", async () => {
    const bounded = overFacade({ limits: { ...LIMITS, maxRowsToRead: 1_000 } });
    try {
      const sentBound = async (maxRowsToRead: number | undefined) => {
        facade.seen.length = 0;
        await bounded.query(
          { sql: 'SELECT 1 AS one', parameters: {} },
          maxRowsToRead === undefined ? {} : { maxRowsToRead },
        );
        return facade.seen[0]?.settings.max_rows_to_read;
      };
      expect(await sentBound(undefined)).toBe('1000');
      expect(await sentBound(5_000)).toBe('1000');
      expect(await sentBound(10)).toBe('10');
      expect(await sentBound(0)).toBe('1');
    } finally {
      await bounded.close();
    }
  });

  it('maps server errors to the same messages', async () => {
    await expect(remote.query({ sql: 'SELECT count() FROM no_such_table', parameters: {} })).rejects.toThrow(
      /^The warehouse rejected the query \(UNKNOWN_TABLE\)/,
    );
    await expect(remote.ping()).resolves.toBeUndefined();
    // An exception after the answer began is that exception, never a half answer or "unavailable".
    facade.failMidAnswer(
      'Code: 396. DB::Exception: Limit for result exceeded, max rows: 100.00 thousand. (TOO_MANY_ROWS_OR_BYTES) (version 25.8.30.16 (official build))',
    );
    await expect(remote.query({ sql: 'SELECT number FROM numbers(3)', parameters: {} })).rejects.toThrow(
      /^The query exceeded the result size limit/,
    );
    await expect(remote.query({ sql: 'SELECT 1 AS one', parameters: {} })).resolves.toEqual([{ one: 1 }]);
  });
});
