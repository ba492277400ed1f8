import { type ClickHouseClientConfigOptions, createClient } from '@clickhouse/client';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Metrics, metricsOf, serveMetrics } from '../../src/observe/metrics.js';
import type { CompiledQuery } from '../../src/semantic/compiled-query.js';
import { loadSemanticLayer } from '../../src/semantic/load-semantic-layer.js';
import type { ServerDependencies } from '../../src/server/create-server.js';
import { TOOL_KINDS } from '../../src/tools/catalog.js';
import { AnalyticsService, DEFAULT_CACHE } from '../../src/tools/framework/analytics-service.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import {
  callTool,
  connectHttp,
  recording,
  SEMANTIC_LAYER,
  seededWarehouse,
  startHttp,
  testDependencies,
  toolErrorText,
} from '../helpers.js';

let warehouse: Warehouse;
let dataDir: string;
let remove: () => Promise<void>;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  ({ warehouse, dataDir, remove } = await seededWarehouse());
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await remove?.();
});

/** A server with its own dependencies and metrics, `/metrics` on its own port, and a client. */
async function served(
  dependencies: ServerDependencies,
): Promise<{ client: Client; url: string; mcp: string; metrics: Metrics }> {
  const metrics = metricsOf(dependencies.audit, dependencies.service);
  const server = await startHttp(warehouse, 'aurora', SEMANTIC_LAYER, ['vp'], { ...dependencies, metrics });
  const scrape = await serveMetrics(metrics, { host: '127.0.0.1', port: 0 });
  const client = await connectHttp(server.url);
  closers.push(async () => {
    await client.close();
    await scrape.close();
    await server.close();
  });
  return { client, url: scrape.url, mcp: server.url, metrics };
}

/** The samples of a Prometheus text exposition: `name{labels}` to value. */
async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/**
 * What the engine reports reading for one statement: asked on a connection of this test's own (the client and
 * the engine, none of Marquee's code), in the JSON format, whose statistics the engine writes.
 */
async function readStatistics(statement: CompiledQuery): Promise<{ rows: number; bytes: number }> {
  const { createChdbConnection } = await import('chdb/connection');
  const client = createClient({
    connection: createChdbConnection({ path: dataDir }) as unknown as NonNullable<
      ClickHouseClientConfigOptions['connection']
    >,
  });
  try {
    const result = await client.query({
      query: statement.sql,
      query_params: { ...statement.parameters },
      format: 'JSON',
    });
    const { statistics } = await result.json();
    return { rows: Number(statistics?.rows_read), bytes: Number(statistics?.bytes_read) };
  } finally {
    await client.close();
  }
}

describe('/metrics', () => {
  it('counts a scripted series of calls by tool, outcome, cache, refusal and queue', async () => {
    const recorded = recording(warehouse);
    const limited = await testDependencies(recorded, SEMANTIC_LAYER, { perTenant: 1_000, perTool: 4 });
    const { client, url, mcp } = await served(limited);
    const ask = { time_range: '2026-Q3', metrics: ['views'] };
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    // Listing the tools read the values of their filters; what follows is the calls'.
    const listed = recorded.sent.length;
    await callTool(client, ask); // computed: a miss
    await callTool(client, ask); // the same again: a hit
    await callTool(client, { ...ask, time_range: '2026-Q2' }); // a miss
    expect(await toolErrorText(client, { metrics: ['nope'] })).toMatch(/nope/); // refused by its schema
    expect(await toolErrorText(client, ask)).toMatch(/^Rate limit reached for query_engagement/); // the fifth
    // A batch under a version that has none: refused at the gate.
    const batch = await fetch(mcp, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify([
        { jsonrpc: '2.0', id: 1, method: 'tools/list' },
        { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      ]),
    });
    expect(batch.status).toBe(400);
    // Names a caller chooses never become label values: twenty unknown tools are one series, `other`.
    for (let i = 0; i < 20; i++)
      await client.callTool({ name: `probe_${i}_${Math.random()}`, arguments: {} }).catch(() => undefined);
    const samples = await scrape(url);
    expect([...samples.keys()].filter((name) => name.includes('probe_'))).toEqual([]);
    // (Unknown tools share one rate-limit budget, four here: the rest are rate limited.)
    expect(samples.get('marquee_calls_total{tool="other",outcome="tool_error"}')).toBe(4);
    expect(samples.get('marquee_calls_total{tool="other",outcome="rate_limited"}')).toBe(16);
    expect(samples.get('marquee_calls_total{tool="query_engagement",outcome="ok"}')).toBe(3);
    expect(samples.get('marquee_calls_total{tool="query_engagement",outcome="tool_error"}')).toBe(1);
    expect(samples.get('marquee_calls_total{tool="query_engagement",outcome="rate_limited"}')).toBe(1);
    expect(samples.get('marquee_calls_total{tool="refused",outcome="invalid_request"}')).toBe(1);
    // Listed once above (the client may list again to check answers against their schemas).
    expect(samples.get('marquee_calls_total{tool="tools/list",outcome="ok"}')).toBeGreaterThanOrEqual(1);
    expect(samples.get('marquee_cache_total{result="hit"}')).toBe(1);
    expect(samples.get('marquee_cache_total{result="miss"}')).toBe(2);
    expect(samples.get('marquee_refusals_total{reason="rate_limited"}')).toBe(17);
    expect(samples.get('marquee_refusals_total{reason="invalid_request"}')).toBe(1);
    expect(samples.get('marquee_call_duration_seconds_count{tool="query_engagement"}')).toBe(5);
    expect(samples.get('marquee_rows_answered_total{tool="query_engagement"}')).toBeGreaterThan(0);
    expect(samples.get('marquee_warehouse_queries{state="running"}')).toBe(0);
    expect(samples.get('marquee_warehouse_queries{state="waiting"}')).toBe(0);
    expect(samples.get('marquee_fair_queue_refused')).toBe(0);
    expect(samples.get('marquee_audit_dropped')).toBe(0);
    expect(samples.has('marquee_audit_queue_depth')).toBe(true);
    // Stages: every call's answer is guarded (summarise); the two computed ones planned, waited their turn
    // and read the warehouse; the unknown metric was refused while planning; the cached and rate-limited
    // ones did none of it. No token gate here: no auth.
    const stage = (name: string) =>
      samples.get(`marquee_stage_duration_seconds_count{tool="query_engagement",stage="${name}"}`);
    expect(stage('summarise')).toBe(5);
    expect(stage('plan')).toBe(3);
    expect(stage('queue')).toBe(2);
    expect(stage('warehouse')).toBe(2);
    expect(stage('auth')).toBeUndefined();
    expect(
      samples.get('marquee_stage_duration_seconds_sum{tool="query_engagement",stage="warehouse"}'),
    ).toBeGreaterThan(0);
    // Rows and bytes read: what the engine reports for the very statements each call ran (those sent with a
    // call's query id), read again here by hand; listing the tools read its filters' values.
    const sums = async (from: number, to: number) => {
      const read = { rows: 0, bytes: 0, statements: 0 };
      for (let index = from; index < to; index++) {
        const statement = recorded.sent[index];
        if (statement === undefined || recorded.options[index]?.queryId === undefined) continue;
        const stats = await readStatistics(statement);
        read.rows += stats.rows;
        read.bytes += stats.bytes;
        read.statements++;
      }
      return read;
    };
    const calls = await sums(listed, recorded.sent.length);
    const list = await sums(0, listed);
    expect(calls.statements).toBeGreaterThan(1);
    expect(calls.rows).toBeGreaterThan(0);
    expect(samples.get('marquee_read_rows_total{tool="query_engagement"}')).toBe(calls.rows);
    expect(samples.get('marquee_read_bytes_total{tool="query_engagement"}')).toBe(calls.bytes);
    expect(samples.get('marquee_read_rows_total{tool="tools/list"}')).toBe(list.rows);
    expect(samples.get('marquee_read_bytes_total{tool="tools/list"}')).toBe(list.bytes);
  });

  it('counts fairness refusals', async () => {
    // No wait allowed and one query at a time: a call's second concurrent query is refused at once.
    const service = new AnalyticsService(await loadSemanticLayer(SEMANTIC_LAYER, TOOL_KINDS), warehouse, {
      ...DEFAULT_CACHE,
      dataCheckMs: 0,
      fairness: { slots: 1, perTenant: 1, maxWaitMs: 0 },
    });
    const { client, url } = await served({ ...(await testDependencies(warehouse)), service });
    const text = await toolErrorText(client, {
      time_range: '2026-Q3',
      geo: 'LATAM',
      compare_to: 'previous_period',
    });
    expect(text).toMatch(/^The warehouse is busy .*retry in 1 s$/);
    const samples = await scrape(url);
    expect(samples.get('marquee_refusals_total{reason="busy"}')).toBe(1);
    expect(samples.get('marquee_fair_queue_refused')).toBeGreaterThanOrEqual(1);
    expect(samples.get('marquee_calls_total{tool="query_engagement",outcome="tool_error"}')).toBe(1);
  });
});
