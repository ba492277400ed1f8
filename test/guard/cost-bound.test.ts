import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/observe/audit-log.js';
import { metricsOf } from '../../src/observe/metrics.js';
import { loadSemanticLayer } from '../../src/semantic/load-semantic-layer.js';
import type { SemanticLayer } from '../../src/semantic/semantic-layer.js';
import { TOOL_KINDS } from '../../src/tools/catalog.js';
import { AnalyticsService, DEFAULT_CACHE } from '../../src/tools/framework/analytics-service.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import {
  connectHttp,
  query,
  SEMANTIC_LAYER,
  seededWarehouse,
  startHttp,
  testDependencies,
  toolErrorText,
} from '../helpers.js';

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
async function served(budget?: number) {
  const service = new AnalyticsService(layer, warehouse, {
    ...DEFAULT_CACHE,
    dataCheckMs: 0,
    maxRowsReadPerCall: budget,
  });
  const dependencies = { ...(await testDependencies(warehouse)), service };
  const records: AuditRecord[] = [];
  dependencies.audit.listen((record) => records.push(record));
  const metrics = metricsOf(dependencies.audit, service);
  const server = await startHttp(warehouse, 'aurora', SEMANTIC_LAYER, ['vp'], { ...dependencies, metrics });
  const client: Client = await connectHttp(server.url);
  closers.push(async () => {
    await client.close();
    await server.close();
  });
  const calls = () => records.filter((record) => record.tool === 'query_engagement');
  return { client, calls, metrics };
}

/** A server without a bound over another view of the warehouse. */
async function servedOn(view: Warehouse) {
  const service = new AnalyticsService(layer, view, { ...DEFAULT_CACHE, dataCheckMs: 0 });
  const server = await startHttp(view, 'aurora', SEMANTIC_LAYER, ['vp'], {
    ...(await testDependencies(warehouse)),
    service,
  });
  const client: Client = await connectHttp(server.url);
  return {
    client,
    close: async () => {
      await client.close();
      await server.close();
    },
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
    const text = await under.metrics.text();
    expect(text).toContain('marquee_refusals_total{reason="cost"} 1');
    expect(text).toContain('marquee_calls_total{tool="query_engagement",outcome="tool_error"} 1');
  });

  it('bounds the call, not each statement: statements each within the bound add up past it', async () => {
    // Each statement's reads, as the engine reports them to the warehouse's caller.
    const perStatement: number[] = [];
    const counting: Warehouse = {
      ...warehouse,
      query: (statement, options) =>
        warehouse.query(statement, {
          ...options,
          onRead: (stats) => {
            if (options?.queryId !== undefined) perStatement.push(stats.rows);
            options?.onRead?.(stats);
          },
        }),
    };
    const free = await served();
    await query(free.client, ASK);
    const total = free.calls()[0]?.readRows ?? 0;
    // The same call through the counting warehouse: its statements, one by one.
    const { client, close } = await servedOn(counting);
    await query(client, ASK);
    await close();
    expect(perStatement.length).toBeGreaterThan(1);
    expect(perStatement.reduce((sum, rows) => sum + rows, 0)).toBe(total);
    const largest = Math.max(...perStatement);
    expect(largest).toBeLessThan(total);
    // A bound every statement keeps, which the call as a whole passes: refused.
    const bounded = await served(largest);
    expect(await toolErrorText(bounded.client, ASK)).toMatch(/^This question reads more than/);
  });
});
