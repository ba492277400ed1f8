import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSemanticLayer, parseSemanticLayer } from '../../src/semantic/load-semantic-layer.js';
import {
  coveringRollup,
  rollupDdl,
  rollupSelect,
  tierKey,
  tiersOf,
  tierTable,
} from '../../src/semantic/rollups.js';
import type { SemanticLayer } from '../../src/semantic/semantic-layer.js';
import { TOOL_KINDS } from '../../src/tools/catalog.js';
import { AnalyticsService, DEFAULT_CACHE } from '../../src/tools/framework/analytics-service.js';
import { buildRollups } from '../../src/warehouse/build-rollups.js';
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

/**
 * Rollups answer exactly as the events do. The same calls, by a VP, a LATAM analyst (a row filter) and the BI
 * service (hidden names, minimum distinct titles), go to two servers over one warehouse: one reading the
 * rollups where they cover a query, one reading only the events. Every answer must be the same, privacy
 * rules included, and the first server must really have read the rollups.
 */
const CALLS: { name: string; arguments: Record<string, unknown> }[] = [
  { name: 'query_engagement', arguments: {} },
  {
    name: 'query_engagement',
    arguments: { time_range: '2026-Q3', geo: 'LATAM', compare_to: 'previous_period' },
  },
  {
    name: 'query_engagement',
    arguments: { time_range: '2026-Q3', geo: 'BR', device: 'Android', grain: 'day' },
  },
  {
    name: 'query_engagement',
    arguments: { time_range: '2026-08', group_by: ['title'], metrics: ['watch_minutes'], limit: 10 },
  },
  {
    name: 'query_engagement',
    arguments: {
      time_range: { from: '2026-01-01', to: '2026-10-31' },
      group_by: ['plan'],
      compare_to: 'year_ago',
    },
  },
  {
    name: 'query_engagement',
    arguments: {
      time_range: '2026',
      group_by: ['country'],
      grain: 'month',
      metrics: ['watch_minutes', 'views'],
    },
  },
  { name: 'query_engagement', arguments: { time_range: '2026-Q2', group_by: ['region', 'device'] } },
  {
    name: 'query_engagement',
    arguments: { time_range: '2026-08', group_by: ['genre'], compare_to: 'year_ago' },
  },
  { name: 'query_engagement', arguments: { time_range: '2026-08', group_by: ['series'], limit: 20 } },
  {
    name: 'query_engagement',
    arguments: {
      time_range: '2026-Q3',
      grain: 'week',
      compare_to: 'year_ago',
      metrics: ['avg_minutes_per_viewer'],
    },
  },
  {
    name: 'query_engagement',
    arguments: { time_range: 'last_28_days', geo: ['AR', 'CL', 'PE'], group_by: ['country'] },
  },
  {
    name: 'query_engagement',
    arguments: {
      time_range: 'last_90_days',
      device: ['TV', 'Web'],
      plan: 'premium',
      group_by: ['device'],
      grain: 'week',
    },
  },
  {
    name: 'query_engagement',
    arguments: { time_range: '2026-07', content_id: ['aur-0001', 'aur-0002', 'aur-0003'] },
  },
  {
    name: 'query_engagement',
    arguments: { time_range: '2026-W33', group_by: ['country', 'plan'], limit: 500 },
  },
  // Whole months from the monthly tier, the days around them from the daily one.
  {
    name: 'query_engagement',
    arguments: {
      time_range: { from: '2026-02-10', to: '2026-09-20' },
      group_by: ['device'],
      grain: 'month',
      compare_to: 'previous_period',
    },
  },
  {
    name: 'query_engagement',
    arguments: { time_range: { from: '2025-11-03', to: '2026-03-31' }, group_by: ['genre'], geo: 'LATAM' },
  },
  { name: 'query_engagement', arguments: { time_range: '2026-H1', group_by: ['region'], grain: 'quarter' } },
  {
    name: 'explain_change',
    arguments: { time_range: '2026-Q3', geo: 'LATAM', compare_to: 'previous_period' },
  },
  { name: 'explain_change', arguments: { time_range: '2026-08', compare_to: 'year_ago', metric: 'views' } },
  { name: 'compare_campaigns', arguments: { campaign_a: 'aur-c-spring-26', campaign_b: 'aur-c-winter-25' } },
  { name: 'forecast_subs', arguments: { horizon: 3, unit: 'months' } },
];

/**
 * An answer without what differs between two runs of the same call: signed tokens, when it was computed, and
 * the last bits of fractions (the engine sums floats over threads in no fixed order: the same statement twice
 * gave p-values of 0.8892647434624805 and …4932), kept to 12 significant digits.
 */
function comparable(result: unknown): unknown {
  const text = JSON.stringify(result).replace(/eyJ[\w-]+\.[\w-]+/g, 'TOKEN');
  const parsed = JSON.parse(text, (_key, value) =>
    typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(12)) : value,
  ) as { structuredContent?: Record<string, unknown>; content?: unknown[] };
  const { freshness: _freshness, ...rest } = parsed.structuredContent ?? {};
  return { structured: rest, content: parsed.content?.slice(1) };
}

/** The keys of every tier of the layer's rollups, sorted. */
const tierKeys = (layer: SemanticLayer): string[] =>
  [...layer.rollups.values()]
    .flatMap((rollup) => tiersOf(rollup).map((tier) => tierKey(rollup.name, tier)))
    .sort();

let warehouse: Warehouse;
let remove: () => Promise<void>;
let withRollups: ReturnType<typeof recording>;
const clients: Record<'rollups' | 'events', Record<'vp' | 'latam' | 'bi', Client>> = {
  rollups: {} as Record<'vp' | 'latam' | 'bi', Client>,
  events: {} as Record<'vp' | 'latam' | 'bi', Client>,
};
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  ({ warehouse, remove } = await seededWarehouse());
  withRollups = recording(warehouse);
  const layer = await loadSemanticLayer(SEMANTIC_LAYER, TOOL_KINDS);
  for (const [kind, view, rollups] of [
    ['rollups', withRollups, true],
    ['events', warehouse, false],
  ] as const) {
    const dependencies = {
      ...(await testDependencies(view)),
      service: new AnalyticsService(layer, view, { ...DEFAULT_CACHE, dataCheckMs: 0, rollups }),
    };
    for (const [who, caller] of Object.entries(AURORA_ROLES) as [
      'vp' | 'latam' | 'bi',
      { tenant: string; roles: string[] },
    ][]) {
      const server = await startHttp(view, caller.tenant, SEMANTIC_LAYER, caller.roles, dependencies);
      const client = await connectHttp(server.url);
      clients[kind][who] = client;
      closers.push(async () => {
        await client.close();
        await server.close();
      });
    }
  }
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await remove?.();
});

describe('rollups', () => {
  it('answer every call shape as the events do, for every policy', async () => {
    for (const who of ['vp', 'latam', 'bi'] as const) {
      for (const call of CALLS) {
        const [fromRollups, fromEvents] = await Promise.all([
          clients.rollups[who].callTool(call),
          clients.events[who].callTool(call),
        ]);
        expect(comparable(fromRollups), `${who} ${JSON.stringify(call)}`).toEqual(comparable(fromEvents));
      }
    }
    const read = (table: string) =>
      withRollups.sent.filter((query) => query.sql.includes(`\`${table}\``)).length;
    // Every tier of every rollup the layer declares answered some of these calls.
    const layer = await loadSemanticLayer(SEMANTIC_LAYER, TOOL_KINDS);
    const tiers = [...layer.rollups.values()].flatMap((rollup) =>
      tiersOf(rollup).map((tier) => tierTable(rollup, tier).table),
    );
    expect(tiers.length).toBe(12);
    expect(Object.fromEntries(tiers.map((table) => [table, read(table) > 0]))).toEqual(
      Object.fromEntries(tiers.map((table) => [table, true])),
    );
    expect(
      withRollups.sent.some((query) =>
        /by_month`[\s\S]*union all[\s\S]*viewing_daily_by_market`/i.test(query.sql),
      ),
    ).toBe(true);
    // Totals and movers of one call share a scan (grouping sets), on the rollups as on the events.
    expect(withRollups.sent.filter((query) => query.sql.includes('GROUPING SETS')).length).toBeGreaterThan(
      10,
    );
  });

  it("count each group's people exactly where the minimum group size decides (exact up to 1,024 distinct)", async () => {
    // Every group of the rollups (a day of one country, device and plan; a day of one title) against the exact
    // distinct count of its events, hand-written: equal for every group under 1,000 viewers, far above k.
    const [market] = await warehouse.admin().query(`
      SELECT count() AS groups, countIf(r.people != e.people) AS differ, max(e.people) AS largest FROM
        (SELECT tenant_id, event_date, country_code, device, plan, uniqCombinedMerge(14)(m_unique_viewers) AS people
           FROM viewing_daily_by_market GROUP BY ALL) AS r
      INNER JOIN
        (SELECT tenant_id, event_date, country_code, device, plan, uniqExact(user_id) AS people
           FROM viewing_events GROUP BY ALL) AS e
      USING (tenant_id, event_date, country_code, device, plan)
      WHERE e.people < 1000`);
    expect(Number(market?.groups)).toBeGreaterThan(10_000);
    expect(Number(market?.differ)).toBe(0);
    const [title] = await warehouse.admin().query(`
      SELECT count() AS groups, countIf(r.people != e.people) AS differ FROM
        (SELECT tenant_id, event_date, content_id, uniqCombinedMerge(14)(m_unique_viewers) AS people
           FROM viewing_daily_by_title GROUP BY ALL) AS r
      INNER JOIN
        (SELECT tenant_id, event_date, content_id, uniqExact(user_id) AS people FROM viewing_events GROUP BY ALL) AS e
      USING (tenant_id, event_date, content_id)`);
    expect(Number(title?.groups)).toBeGreaterThan(10_000);
    expect(Number(title?.differ)).toBe(0);
  });

  it('never replace a table Marquee did not make', async () => {
    await warehouse.admin().command('CREATE TABLE IF NOT EXISTS someone_elses (x UInt8) ENGINE = Memory');
    await warehouse.admin().command('INSERT INTO someone_elses VALUES (7)');
    const files = await Promise.all(
      (await readdir(SEMANTIC_LAYER))
        .filter((name) => name.endsWith('.yaml') && name !== 'rollups.yaml')
        .map(async (name) => ({ name, text: await readFile(join(SEMANTIC_LAYER, name), 'utf8') })),
    );
    const clash = parseSemanticLayer(
      [
        ...files,
        {
          name: 'rollups.yaml',
          text: 'rollups:\n  clash:\n    model: viewing\n    table: someone_elses\n    dimensions: [device]\n    metrics: [views]\n',
        },
      ],
      TOOL_KINDS,
    );
    await expect(buildRollups(clash, warehouse.admin(), { rebuild: true })).rejects.toThrow(
      /someone_elses exists and was not made by Marquee/,
    );
    expect(await warehouse.admin().query('SELECT x FROM someone_elses')).toEqual([{ x: 7 }]);
  });

  it('are read only while they account for every row of their model', async () => {
    const layer = await loadSemanticLayer(SEMANTIC_LAYER, TOOL_KINDS);
    const service = new AnalyticsService(layer, warehouse, { ...DEFAULT_CACHE, dataCheckMs: 0 });
    expect([...(await service.usableRollups()).keys()].sort()).toEqual(tierKeys(layer));
    // Rows that reach the rollup but not the events (a partial restore, a botched backfill): not complete.
    await warehouse
      .admin()
      .command(
        `INSERT INTO viewing_daily_by_title SELECT * FROM viewing_daily_by_title WHERE event_date = '2026-08-14' LIMIT 1`,
      );
    expect([...(await service.usableRollups()).keys()].sort()).toEqual(
      tierKeys(layer).filter((key) => key !== 'viewing_by_title'),
    );
    const plan = {
      model: 'viewing',
      metrics: ['views'],
      dimensions: ['content_id'],
      timeDimension: 'date',
      periods: [{ from: '2026-08-01', to: '2026-08-31', label: '2026-08' }],
      filters: [],
      order: [],
    };
    expect(coveringRollup(layer, plan, await service.usableRollups())).toBeUndefined();
    // Rebuilt, it is read again.
    await buildRollups(layer, warehouse.admin());
    expect(coveringRollup(layer, plan, await service.usableRollups())?.name).toBe('viewing_by_title');
    // New events reach the rollups through their views: still complete.
    const [row] = await warehouse.admin().query(`SELECT * FROM viewing_events LIMIT 1`);
    await warehouse.admin().insert('viewing_events', [{ ...row }, { ...row }]);
    expect((await service.usableRollups()).size).toBe(12);
  });

  it('are never read when built from another definition, and rebuilt by a build', async () => {
    // The table and view an earlier Marquee made: the same rows, distinct viewers as uniq states.
    const layer = await loadSemanticLayer(SEMANTIC_LAYER, TOOL_KINDS);
    const rollup = layer.rollups.get('viewing_by_market');
    if (rollup === undefined) throw new Error('the fixture keeps viewing_by_market');
    const ddl = rollupDdl(layer, rollup, 'day');
    const older = (statement: string) =>
      statement
        .replaceAll('uniqCombinedState(14)', 'uniqState')
        .replace(/COMMENT 'marquee rollup [0-9a-f]+'/, "COMMENT 'marquee rollup'");
    for (const statement of [...ddl.drop, ...ddl.create.map(older)])
      await warehouse.admin().command(statement);
    await warehouse
      .admin()
      .command(`INSERT INTO viewing_daily_by_market ${older(rollupSelect(layer, rollup))}`);
    const service = new AnalyticsService(layer, warehouse, { ...DEFAULT_CACHE, dataCheckMs: 0 });
    expect([...(await service.usableRollups()).keys()].sort()).toEqual(
      tierKeys(layer).filter((key) => key !== 'viewing_by_market'),
    );
    // A question it covers is answered from the events, not refused by a state of another function.
    const plan = {
      model: 'viewing',
      metrics: ['unique_viewers'],
      dimensions: ['device', 'plan'],
      timeDimension: 'date',
      periods: [{ from: '2026-08-03', to: '2026-08-05', label: 'days' }],
      filters: [],
      order: [],
    };
    expect(coveringRollup(layer, plan, await service.usableRollups())).toBeUndefined();
    const progress: string[] = [];
    await buildRollups(layer, warehouse.admin(), { progress: (line) => progress.push(line) });
    expect(progress).toContain('viewing_by_market: built from another definition; rebuilding');
    expect(coveringRollup(layer, plan, await service.usableRollups())?.name).toBe('viewing_by_market');
    // Every tier is checked in one statement; with a table missing, tier by tier: the others are still read.
    await warehouse.admin().command('DROP VIEW IF EXISTS viewing_daily_by_plan_by_month_mv');
    await warehouse.admin().command('DROP TABLE viewing_daily_by_plan_by_month');
    expect([...(await service.usableRollups()).keys()].sort()).toEqual(
      tierKeys(layer).filter((key) => key !== 'viewing_by_plan:month'),
    );
    await buildRollups(layer, warehouse.admin());
    expect((await service.usableRollups()).size).toBe(12);
  });
});
