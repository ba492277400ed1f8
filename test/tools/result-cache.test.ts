import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSemanticLayer } from '../../src/semantic/load-semantic-layer.js';
import { REFRESH_META } from '../../src/server/create-server.js';
import { TOOL_KINDS } from '../../src/tools/catalog.js';
import { AnalyticsService } from '../../src/tools/framework/analytics-service.js';
import { ResultCache } from '../../src/tools/framework/result-cache.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import {
  AURORA_ROLES,
  connectHttp,
  recording,
  SEMANTIC_LAYER,
  seededWarehouse,
  startHttp,
  testDependencies,
} from '../helpers.js';

/** A recording view of the warehouse, and the statements of data it was sent (not of the data's watermark). */
function counting(warehouse: Warehouse) {
  const view = recording(warehouse);
  return Object.assign(view, {
    data: () => view.sent.filter((query) => !query.sql.includes('system.parts')),
  });
}

interface Answer {
  isError?: boolean;
  structuredContent?: {
    summary: string;
    totals: Record<string, number | null>;
    rows: Record<string, unknown>[];
    freshness: { cached: boolean; data_as_of: string | null };
  };
}

const ASK = {
  name: 'query_engagement',
  arguments: { time_range: '2026-08', group_by: ['country'], metrics: ['views'] },
};

let warehouse: Warehouse;
let remove: () => Promise<void>;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  ({ warehouse, remove } = await seededWarehouse());
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await remove?.();
});

/** A server over a counting view of the warehouse, with its own cache (and clock), and a client per caller. */
async function serverFor<const K extends string>(
  who: Record<K, { tenant: string; roles: string[] }>,
  options: { dataCheckMs?: number; now?: () => number; maxBytes?: number } = {},
) {
  const watched = counting(warehouse);
  const base = await testDependencies(watched);
  const service = new AnalyticsService(await loadSemanticLayer(SEMANTIC_LAYER, TOOL_KINDS), watched, {
    maxBytes: options.maxBytes ?? 64 * 1024 ** 2,
    dataCheckMs: options.dataCheckMs ?? 0,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  const dependencies = { ...base, service };
  const clients = {} as Record<K, Client>;
  for (const [name, caller] of Object.entries(who) as [K, { tenant: string; roles: string[] }][]) {
    const server = await startHttp(watched, caller.tenant, SEMANTIC_LAYER, caller.roles, dependencies);
    const client = await connectHttp(server.url);
    clients[name] = client;
    closers.push(async () => {
      await client.close();
      await server.close();
    });
  }
  return { watched, service, clients, dependencies };
}

const call = async (client: Client, request = ASK, meta?: Record<string, unknown>) =>
  (await client.callTool({ ...request, ...(meta === undefined ? {} : { _meta: meta }) })) as Answer;

describe('the result cache', () => {
  it('keeps an answer per tenant and policy: another tenant or policy never gets it', async () => {
    const { clients, watched } = await serverFor({
      vp: AURORA_ROLES.vp,
      latam: AURORA_ROLES.latam,
      borealis: { tenant: 'borealis', roles: ['vp'] },
    });
    const first = await call(clients.vp);
    expect(first.structuredContent?.freshness.cached).toBe(false);
    const again = await call(clients.vp);
    expect(again.structuredContent?.freshness.cached).toBe(true);
    expect(again.structuredContent?.rows).toEqual(first.structuredContent?.rows);
    expect(again.structuredContent?.summary).toMatch(/^Data last loaded .* UTC; answer from the cache\.$/m);
    // The same question from a LATAM analyst of the same tenant, and from another tenant: answered afresh, each
    // with only its own rows.
    const latam = await call(clients.latam);
    expect(latam.structuredContent?.freshness.cached).toBe(false);
    const latamCountries = latam.structuredContent?.rows.map((row) => row.country);
    expect(latamCountries).not.toContain('US');
    expect(latamCountries?.length).toBeGreaterThan(0);
    const borealis = await call(clients.borealis);
    expect(borealis.structuredContent?.freshness.cached).toBe(false);
    const [hand] = await warehouse.admin().query(
      `SELECT count() AS views FROM viewing_events
        WHERE tenant_id = 'borealis' AND event_date BETWEEN '2026-08-01' AND '2026-08-31'`,
    );
    expect(borealis.structuredContent?.totals.views).toBe(Number(hand?.views));
    expect(borealis.structuredContent?.totals.views).not.toBe(first.structuredContent?.totals.views);
    // And no query of one scope was answered for another: each scope's statements carry its own tenant.
    const carries = (tenant: string) =>
      watched.data().filter((query) => Object.values(query.parameters).includes(tenant)).length;
    expect(carries('borealis')).toBeGreaterThan(0);
    expect(carries('aurora')).toBeGreaterThan(0);
  });

  it('coalesces concurrent identical calls into one run of the warehouse queries', async () => {
    const single = await serverFor({ vp: AURORA_ROLES.vp });
    await call(single.clients.vp);
    const perCall = single.watched.data().length;
    expect(perCall).toBeGreaterThan(0);

    const { clients, watched } = await serverFor({ vp: AURORA_ROLES.vp });
    const answers = await Promise.all(Array.from({ length: 8 }, () => call(clients.vp)));
    expect(watched.data().length).toBe(perCall);
    const rows = answers.map((answer) => JSON.stringify(answer.structuredContent?.rows));
    expect(new Set(rows).size).toBe(1);
    expect(answers.filter((answer) => answer.structuredContent?.freshness.cached === false)).toHaveLength(1);
  });

  it('answers afresh on request, and keeps the fresh answer', async () => {
    const { clients, watched } = await serverFor({ vp: AURORA_ROLES.vp });
    await call(clients.vp);
    const before = watched.data().length;
    const fresh = await call(clients.vp, ASK, { [REFRESH_META]: true });
    expect(fresh.structuredContent?.freshness.cached).toBe(false);
    // Afresh all the way down: the warehouse was read again.
    expect(watched.data().length).toBeGreaterThan(before);
    const next = await call(clients.vp);
    expect(next.structuredContent?.freshness.cached).toBe(true);
  });

  it('serves chart and result links from the same cache', async () => {
    const { clients, watched } = await serverFor({ vp: AURORA_ROLES.vp });
    const answer = await clients.vp.callTool({
      name: 'query_engagement',
      arguments: { time_range: '2026', grain: 'day', group_by: ['country'], metrics: ['views'], limit: 20 },
    });
    const links = (answer.content as { type: string; uri?: string }[])
      .filter((item) => item.type === 'resource_link')
      .map((item) => String(item.uri));
    expect(links).toHaveLength(2);
    const before = watched.data().length;
    for (const uri of links) await clients.vp.readResource({ uri });
    expect(watched.data().length).toBe(before);
  });

  it('caches forecast_subs on its inputs', async () => {
    const { clients, watched } = await serverFor({ vp: AURORA_ROLES.vp });
    const request = { name: 'forecast_subs', arguments: { horizon: 3, unit: 'months' } };
    const first = (await clients.vp.callTool(request)) as Answer;
    const before = watched.data().length;
    const again = (await clients.vp.callTool(request)) as Answer;
    expect(again.structuredContent?.freshness.cached).toBe(true);
    expect(watched.data().length).toBe(before);
    const { freshness: _a, summary: _b, ...firstRest } = first.structuredContent ?? {};
    const { freshness: _c, summary: _d, ...againRest } = again.structuredContent ?? {};
    expect(againRest).toEqual(firstRest);
  });

  it('lets new data end cached answers once the watermark is read again', async () => {
    let clock = 1_000_000;
    const { clients } = await serverFor(
      { borealis: { tenant: 'borealis', roles: ['vp'] } },
      {
        dataCheckMs: 5_000,
        now: () => clock,
      },
    );
    const [sample] = await warehouse
      .admin()
      .query(
        `SELECT * FROM viewing_events WHERE tenant_id = 'borealis' AND event_date = '2026-08-14' ORDER BY country_code LIMIT 1`,
      );
    expect(sample).toBeDefined();
    const request = {
      name: 'query_engagement',
      arguments: { time_range: '2026-08', metrics: ['views'], geo: String(sample?.country_code) },
    };
    const first = (await clients.borealis.callTool(request)) as Answer;
    const views = Number(first.structuredContent?.totals.views);
    expect(views).toBeGreaterThan(0);
    await warehouse.admin().insert(
      'viewing_events',
      Array.from({ length: 7 }, () => ({ ...sample })),
    );
    // Within the watermark's interval the kept answer stands (as documented: new data shows within seconds).
    clock += 1_000;
    const kept = (await clients.borealis.callTool(request)) as Answer;
    expect(kept.structuredContent?.freshness.cached).toBe(true);
    expect(kept.structuredContent?.totals.views).toBe(views);
    // Once the watermark is read again, the new rows are in the answer.
    clock += 5_000;
    const after = (await clients.borealis.callTool(request)) as Answer;
    expect(after.structuredContent?.freshness.cached).toBe(false);
    expect(after.structuredContent?.totals.views).toBe(views + 7);
    expect(after.structuredContent?.freshness.data_as_of).not.toBeNull();
  });
});

describe('ResultCache', () => {
  it('stays under its byte bound, keeps entries for their TTL, and never keeps a failure', async () => {
    let clock = 1_000_000;
    const cache = new ResultCache<{ text: string }>(
      1_000,
      (value) => value.text.length,
      () => clock,
    );
    const load = (text: string) => async () => ({ text });
    for (let index = 0; index < 10; index++) await cache.get(`k${index}`, 60_000, load('x'.repeat(300)));
    expect(cache.bytes).toBeLessThanOrEqual(1_000);
    expect(cache.stats.evicted).toBe(7);
    expect((await cache.get('k9', 60_000, load('other'))).cached).toBe(true);
    clock += 60_001;
    expect((await cache.get('k9', 60_000, load('other'))).value.text).toBe('other');
    // Larger than the whole bound: answered, not kept.
    await cache.get('big', 60_000, load('y'.repeat(2_000)));
    expect((await cache.get('big', 60_000, load('z'))).value.text).toBe('z');
    await expect(cache.get('bad', 60_000, () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect((await cache.get('bad', 60_000, load('up'))).value.text).toBe('up');
  });
});
