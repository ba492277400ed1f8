import { createHash, createHmac } from 'node:crypto';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLANTED_CAMPAIGN_NAME, PLANTED_TITLES } from '../../fixtures/profiles.js';
import { NEUTRALISED } from '../../src/guard/untrusted-text.js';
import type { ServerDependencies } from '../../src/server/create-server.js';
import type { HttpServer } from '../../src/server/serve-http.js';
import { createWarehouse } from '../../src/warehouse/create-warehouse.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import {
  callTool,
  connectHttp,
  LIMITS,
  query,
  SEMANTIC_LAYER,
  seededWarehouse,
  startHttp,
  testDependencies,
  toolErrorText,
} from '../helpers.js';

let warehouse: Warehouse;
let dataDir: string;
let remove: () => Promise<void>;
let open: HttpServer & { dependencies: ServerDependencies };
let limited: HttpServer & { dependencies: ServerDependencies };
let client: Client;
let limitedClient: Client;
/** The rate limiter's clock: the test moves it instead of sleeping. */
let clock = Date.now();

beforeAll(async () => {
  ({ warehouse, dataDir, remove } = await seededWarehouse());
  open = await startHttp(warehouse, 'aurora');
  const tight = await testDependencies(warehouse, SEMANTIC_LAYER, {
    perTenant: 1000,
    perTool: 3,
    windowSeconds: 60,
    now: () => clock,
  });
  limited = await startHttp(warehouse, 'cascade', SEMANTIC_LAYER, [], tight);
  client = await connectHttp(open.url);
  limitedClient = await connectHttp(limited.url);
});

afterAll(async () => {
  await client?.close();
  await limitedClient?.close();
  await open?.close();
  await limited?.close();
  await remove?.();
});

async function auditRows(where: string): Promise<Record<string, unknown>[]> {
  await open.dependencies.audit.flush();
  await limited.dependencies.audit.flush();
  return warehouse.admin().query(`SELECT * FROM marquee.audit WHERE ${where} ORDER BY time`);
}

describe('text from the warehouse', () => {
  it('comes back redacted and neutralised, in rows, summary and text', async () => {
    const ids = Object.keys(PLANTED_TITLES);
    const args = {
      metrics: ['views'],
      time_range: { from: '2024-11-01', to: '2026-10-31' },
      content_id: ids,
      group_by: ['title'],
      compare_to: 'previous_period',
    };
    const result = await callTool(client, args);
    const out = result.structuredContent as { rows: { title: string }[] };
    const everything = JSON.stringify(result);
    expect(out.rows.length).toBe(3);
    expect(everything).not.toContain('makers@aurora-studios.example');
    expect(everything).not.toContain('415 555 0199');
    expect(everything).not.toMatch(/ignore all previous instructions/i);
    const titles = out.rows.map((row) => row.title);
    expect(new Set(titles)).toEqual(
      new Set([NEUTRALISED, 'Call Me Maybe [redacted phone]', 'Meet the Makers (write to [redacted email])']),
    );
    expect(result.content[1]?.text).toContain('[redacted email]');
    // Asked again, from the cache: the same guarded answer (guarded once per cached answer, not skipped), and
    // audit records with the same redaction count; the two hits hash alike (the cached form says so, and
    // differs from the first answer).
    for (let i = 0; i < 2; i++) {
      const again = await callTool(client, args);
      const cached = again.structuredContent as { rows: unknown[]; freshness: { cached: boolean } };
      expect(cached.freshness.cached).toBe(true);
      expect(cached.rows).toEqual(out.rows);
      expect(again.content[1]?.text).toBe(result.content[1]?.text);
      expect(JSON.stringify(again)).not.toContain('makers@aurora-studios.example');
    }
    const records = await auditRows(`tool = 'query_engagement' AND redactions > 0`);
    expect(records.map((row) => row.cache_hit)).toEqual([false, true, true]);
    expect(Number(records[0]?.redactions)).toBeGreaterThanOrEqual(2);
    expect(new Set(records.map((row) => row.redactions)).size).toBe(1);
    expect(records[1]?.result_hash).toBe(records[2]?.result_hash);
    expect(records[1]?.result_hash).not.toBe(records[0]?.result_hash);
  });
});

describe('rate limits', () => {
  it('refuse with a retry-after once a budget is spent, and recover', async () => {
    for (let i = 0; i < 3; i++) await query(limitedClient, { metrics: ['views'], time_range: '2026-Q1' });
    const text = await toolErrorText(limitedClient, { metrics: ['views'], time_range: '2026-Q1' });
    expect(text).toMatch(/^Rate limit reached for query_engagement; retry after 60 s$/);
    clock += 30_000;
    expect(await toolErrorText(limitedClient, { metrics: ['views'] })).toMatch(/retry after 30 s$/);
    clock += 30_000;
    const out = await query(limitedClient, { metrics: ['views'], time_range: '2026-Q1' });
    expect(Number(out.totals.views)).toBeGreaterThan(0);
    const outcomes = (await auditRows(`tenant = 'cascade'`)).map((row) => row.outcome);
    expect(outcomes).toEqual(['ok', 'ok', 'ok', 'rate_limited', 'rate_limited', 'ok']);
  });
});

describe('input sizes', () => {
  it('refuse oversized strings, lists and bodies', async () => {
    expect(await toolErrorText(client, { content_id: 'x'.repeat(201) })).toMatch(/content_id/);
    expect(
      await toolErrorText(client, { content_id: Array.from({ length: 101 }, (_, i) => `aur-${i}`) }),
    ).toMatch(/content_id/);
    expect(await toolErrorText(client, { metrics: Array.from({ length: 11 }, () => 'views') })).toMatch(
      /metrics/,
    );
    const response = await fetch(open.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/list',
        params: { pad: 'x'.repeat(300_000) },
      }),
    });
    expect(response.status).toBe(413);
  });
});

describe('the audit log', () => {
  it('has one record per call with hashes, not arguments', async () => {
    const args = { metrics: ['views'], time_range: '2026-08', geo: 'BR' };
    await query(client, args);
    await toolErrorText(client, { geo: 'Atlantis' });
    const rows = await auditRows(`tenant = 'aurora' AND tool = 'query_engagement'`);
    // Keyed with the server secret (testDependencies: 'test-audit-key') over canonical JSON: a plain
    // SHA-256 of the arguments, which anyone could recompute from a guess, is never stored.
    const canonical = JSON.stringify(args, Object.keys(args).sort());
    const expectedHash = createHmac('sha256', 'test-audit-key').update(canonical).digest('hex');
    const ok = rows.find((row) => row.argument_hash === expectedHash);
    const guessable = createHash('sha256').update(canonical).digest('hex');
    expect(rows.some((row) => row.argument_hash === guessable || row.result_hash === guessable)).toBe(false);
    expect(ok).toMatchObject({ outcome: 'ok', subject: 'local:aurora', error_class: '', rows: 1 });
    expect(Number(ok?.latency_ms)).toBeGreaterThan(0);
    expect(String(ok?.result_hash)).toMatch(/^[0-9a-f]{64}$/);
    const failed = rows.find((row) => row.outcome === 'tool_error');
    expect(failed).toMatchObject({ error_class: 'invalid_argument' });
    expect(JSON.stringify(rows)).not.toContain('Atlantis');
  });
});

describe('query limits', () => {
  it('a breach is a clear tool error, never a hang', async () => {
    // A second set of readers on the same data, allowed to read only 10,000 rows per query.
    const strict = createWarehouse({
      kind: 'embedded',
      dataDir,
      readers: 1,
      limits: { ...LIMITS, maxRowsToRead: 10_000 },
    });
    const server = await startHttp(strict, 'aurora');
    const strictClient = await connectHttp(server.url);
    try {
      const text = await toolErrorText(strictClient, { time_range: '2026', group_by: ['content_id'] });
      expect(text).toMatch(/^The query exceeded the rows read limit: narrow the time range/);
    } finally {
      await strictClient.close();
      await server.close();
    }
  });
});

describe('the door', () => {
  it('redacts every surface’s answer, e.g. a campaign name, and audits the count', async () => {
    const listed = await callTool(client, { query: 'Referral Push' }, 'list_campaigns');
    const read = await client.readResource({ uri: `marquee://campaign/${PLANTED_CAMPAIGN_NAME.id}` });
    for (const answer of [listed, read]) {
      expect(JSON.stringify(answer)).not.toContain('growth.team@aurora.example');
      expect(JSON.stringify(answer)).toContain('Referral Push (contact [redacted email])');
    }
    const records = await auditRows(`tool IN ('list_campaigns', 'resource:campaign')`);
    expect(records.map((record) => [record.tool, record.outcome, Number(record.redactions) > 0])).toEqual([
      ['list_campaigns', 'ok', true],
      ['resource:campaign', 'ok', true],
    ]);
  });
});
