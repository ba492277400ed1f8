import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localIdentity } from '../../src/auth/identity.js';
import { CallTrace } from '../../src/observe/call-trace.js';
import { loadSemanticLayer } from '../../src/semantic/load-semantic-layer.js';
import type { SemanticLayer } from '../../src/semantic/semantic-layer.js';
import { ALL_SCOPES, TOOL_KINDS } from '../../src/tools/catalog.js';
import { AnalyticsService, DEFAULT_CACHE } from '../../src/tools/framework/analytics-service.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { query, SEMANTIC_LAYER, seededWarehouse, servedWith, toolErrorText } from '../helpers.js';

let warehouse: Warehouse;
let layer: SemanticLayer;
let remove: () => Promise<void>;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  ({ warehouse, remove } = await seededWarehouse());
  layer = await loadSemanticLayer(SEMANTIC_LAYER, TOOL_KINDS);
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await remove?.();
});

/** A server (with its own caches) whose calls may read at most `budget` rows each, its audit records kept. */
async function served(budget?: number, view: Warehouse = warehouse) {
  const server = await servedWith(view, { maxRowsReadPerCall: budget }, { sink: warehouse });
  closers.push(server.close);
  return server;
}

/** The warehouse, telling `seen` what each statement sent for a call (with its query id) read. */
function counted(seen: (queryId: string, rows: number) => void): Warehouse {
  return {
    ...warehouse,
    query: (statement, options) =>
      warehouse.query(statement, {
        ...options,
        onRead: (stats) => {
          if (options?.queryId !== undefined) seen(options.queryId, stats.rows);
          options?.onRead?.(stats);
        },
      }),
  };
}

const ASK = { time_range: '2026-Q3', geo: 'LATAM', compare_to: 'previous_period' };

describe('MARQUEE_CALL_MAX_ROWS_READ: a bound on the rows one call reads', () => {
  it('answers a call that reads exactly its bound, and stops one that would read a row more', async () => {
    // What the call reads, as the engine reports it, with no bound.
    const free = await served();
    const answer = await query(free.client, ASK);
    const [measured] = free.calls();
    const reads = measured?.readRows ?? 0;
    expect(reads).toBeGreaterThan(0);
    expect(measured?.readBytes).toBeGreaterThan(0);

    const exact = await served(reads);
    expect(await query(exact.client, ASK)).toEqual(answer);
    expect(exact.calls()[0]?.readRows).toBe(reads);

    const under = await served(reads - 1);
    expect(await toolErrorText(under.client, ASK)).toBe(
      `This question reads more than ${(reads - 1).toLocaleString('en-US')} rows of the warehouse (MARQUEE_CALL_MAX_ROWS_READ), the most one answer may read; ask for a shorter time_range, filter it (a market, device or plan), or break it down by fewer dimensions`,
    );
    expect(under.calls()[0]).toMatchObject({ outcome: 'tool_error', errorClass: 'call_too_costly' });
    // Asked again, the question reads what it read before and is refused again: its refused attempt left no
    // statement behind for the second to skip.
    expect(await toolErrorText(under.client, ASK)).toMatch(/^This question reads more than/);
    expect(under.calls()[1]).toMatchObject({
      errorClass: 'call_too_costly',
      readRows: under.calls()[0]?.readRows,
    });
    const text = await under.metrics.text();
    expect(text).toContain('marquee_refusals_total{reason="cost"} 2');
    expect(text).toContain('marquee_calls_total{tool="query_engagement",outcome="tool_error"} 2');
  });

  it('bounds the call, not each statement: statements each within the bound add up past it', async () => {
    // Each statement's reads, as the engine reports them to the warehouse's caller.
    const perStatement: number[] = [];
    const counting = counted((_queryId, rows) => perStatement.push(rows));
    const free = await served();
    await query(free.client, ASK);
    const total = free.calls()[0]?.readRows ?? 0;
    // The same call through the counting warehouse: its statements, one by one.
    const { client } = await served(undefined, counting);
    await query(client, ASK);
    expect(perStatement.length).toBeGreaterThan(1);
    expect(perStatement.reduce((sum, rows) => sum + rows, 0)).toBe(total);
    const largest = Math.max(...perStatement);
    expect(largest).toBeLessThan(total);
    // A bound every statement keeps, which the call as a whole passes: refused.
    const bounded = await served(largest);
    expect(await toolErrorText(bounded.client, ASK)).toMatch(/^This question reads more than/);
  });
});

describe("what a call read, when calls share the warehouse's one slot", () => {
  it('is its own statements and no other call’s, whichever call frees the slot for whom', async () => {
    // Each statement's reads, by the call (trace id) whose query_id it was sent with.
    const byCall = new Map<string, number>();
    const counting = counted((queryId, rows) => {
      const trace = queryId.split('-')[0] ?? '';
      byCall.set(trace, (byCall.get(trace) ?? 0) + rows);
    });
    const server = await servedWith(
      counting,
      { fairness: { slots: 1, perTenant: 1, maxWaitMs: 60_000 } },
      { sink: warehouse },
    );
    closers.push(server.close);
    const asks = [
      { time_range: '2026-Q3', geo: 'LATAM', compare_to: 'previous_period' },
      { time_range: '2026-Q2', geo: 'EMEA', group_by: ['device'] },
      { time_range: '2026-08', plan: 'premium', compare_to: 'year_ago' },
    ];
    await Promise.all(asks.map((ask) => query(server.client, ask)));
    const calls = server.calls();
    expect(calls).toHaveLength(3);
    expect(new Set(calls.map((call) => call.traceId)).size).toBe(3);
    for (const call of calls) {
      expect(call.readRows).toBeGreaterThan(0);
      expect(call.readRows).toBe(byCall.get(call.traceId ?? ''));
      // Each waited its turn and read: the stages of its own statements.
      expect(call.stages?.queue).toBeGreaterThanOrEqual(0);
      expect(call.stages?.warehouse).toBeGreaterThan(0);
    }
  });
});

describe('a statement two calls share', () => {
  it("is run again for the call that joined it when it was stopped by the other call's budget", async () => {
    const service = new AnalyticsService(layer, warehouse, {
      ...DEFAULT_CACHE,
      dataCheckMs: 0,
      maxRowsReadPerCall: 1_000_000,
    });
    const caller = service.caller(localIdentity('aurora', ['vp'], ALL_SCOPES));
    const statement = service.compile(
      {
        model: 'viewing',
        metrics: ['views'],
        dimensions: ['country'],
        timeDimension: 'date',
        periods: [{ from: '2026-07-01', to: '2026-09-30', label: '2026-Q3' }],
        filters: [],
        order: [],
      },
      caller,
    );
    // Call a has nearly spent its budget; call b has spent nothing. Both ask for the same statement at once:
    // b joins a's run, which a's budget stops.
    const a = CallTrace.start('query_engagement');
    const b = CallTrace.start('query_engagement');
    a.read(999_999, 0);
    const first = a.run(() => service.runCompiled(statement, 'viewing', caller));
    const second = b.run(() => service.runCompiled(statement, 'viewing', caller));
    await expect(first).rejects.toThrow(/^This question reads more than 1,000,000 rows/);
    const rows = await second;
    expect(rows.length).toBeGreaterThan(0);
    expect(b.readRows).toBeGreaterThan(0);
    expect(b.readRows).toBeLessThan(1_000_000);
  });
});
