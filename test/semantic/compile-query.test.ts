import { beforeAll, describe, expect, it } from 'vitest';
import { compilerDb, typed } from '../../src/semantic/clickhouse-compiler.js';
import { compileQuery, compileUnitOutcome, splitMonths } from '../../src/semantic/compile-query.js';
import { loadSemanticLayer } from '../../src/semantic/load-semantic-layer.js';
import type { QueryPlan, UnitOutcomePlan } from '../../src/semantic/query-plan.js';
import type { SemanticLayer } from '../../src/semantic/semantic-layer.js';
import { TOOL_KINDS } from '../../src/tools/catalog.js';
import { SEMANTIC_LAYER } from '../helpers.js';

let layer: SemanticLayer;
beforeAll(async () => {
  layer = await loadSemanticLayer(SEMANTIC_LAYER, TOOL_KINDS);
});

const Q3 = { from: '2026-07-01', to: '2026-09-30', label: '2026-Q3' };
const Q2 = { from: '2026-04-01', to: '2026-06-30', label: '2026-Q2' };
const base = { model: 'viewing', timeDimension: 'date', filters: [], order: [] } as const;

const PLANS: Record<string, QueryPlan> = {
  'totals-with-comparison': {
    ...base,
    metrics: ['watch_minutes', 'views', 'unique_viewers', 'completion_rate'],
    dimensions: [],
    periods: [Q3, Q2],
    byPeriod: true,
    coverage: true,
    filters: [{ dimension: 'region', values: ['LATAM'] }],
  },
  'monthly-by-device-page': {
    ...base,
    metrics: ['watch_minutes', 'avg_minutes_per_viewer'],
    dimensions: ['device'],
    grain: 'month',
    periods: [Q3],
    filters: [
      { dimension: 'country', values: ['BR', 'MX'] },
      { dimension: 'plan', values: ['premium'] },
    ],
    order: [
      { key: 'date', direction: 'asc' },
      { key: 'watch_minutes', direction: 'desc' },
    ],
    limit: 51,
    offset: 50,
  },
  'titles-by-genre': {
    ...base,
    metrics: ['views'],
    dimensions: ['genre', 'title'],
    periods: [Q3],
    filters: [{ dimension: 'content_id', values: ['aur-0001'] }],
    order: [{ key: 'views', direction: 'desc' }],
    limit: 11,
  },
  // Per-viewer variances in two steps: each viewer's minutes per period and device, then per group their sum,
  // sum of squares (in floating point) and distinct viewers.
  'per-viewer-variance-by-device': {
    ...base,
    metrics: ['watch_minutes'],
    dimensions: ['device'],
    periods: [Q3, Q2],
    byPeriod: true,
    variances: ['watch_minutes'],
    measures: [{ column: '_people', metric: 'unique_viewers' }],
    filters: [{ dimension: 'region', values: ['LATAM'] }],
  },
  'dimension-values': {
    model: 'markets',
    metrics: [],
    dimensions: ['region'],
    timeDimension: '',
    periods: [],
    distinct: true,
    filters: [],
    order: [],
    limit: 1000,
  },
};

describe('compiled SQL', () => {
  it.each(Object.keys(PLANS))('%s is pinned', async (name) => {
    const plan = PLANS[name] as QueryPlan;
    const compiled = compileQuery(layer, plan, 'aurora');
    await expect(
      `${compiled.sql}\n-- parameters: ${JSON.stringify(compiled.parameters)}\n`,
    ).toMatchFileSnapshot(`__snapshots__/${name}.sql`);
  });

  it('filters every table by the tenant inside its own subquery, before the join', () => {
    const { sql, parameters } = compileQuery(layer, PLANS['titles-by-genre'] as QueryPlan, "x' OR 1=1 --");
    expect(sql).toMatch(/from \(select \* from `viewing_events` where `tenant_id` = \{p\d+:String\}/);
    expect(sql).toMatch(
      /left join \(select \* from `content` where `tenant_id` = \{p\d+:String\}\) as `content`/,
    );
    expect(Object.values(parameters).filter((value) => value === "x' OR 1=1 --")).toHaveLength(2);
    expect(sql).not.toContain('1=1');
  });

  it('never puts a value into SQL text', () => {
    const hostile = "'; DROP TABLE viewing_events; --";
    const plan: QueryPlan = {
      ...(PLANS['monthly-by-device-page'] as QueryPlan),
      filters: [{ dimension: 'device', values: [hostile] }],
    };
    const { sql, parameters } = compileQuery(layer, plan, hostile);
    expect(sql).not.toContain('DROP');
    expect(Object.values(parameters)).toContain(hostile);
  });

  it('joins only the models a query needs', () => {
    const { sql } = compileQuery(
      layer,
      { ...base, metrics: ['views'], dimensions: ['device'], periods: [Q3] },
      'aurora',
    );
    expect(sql).not.toContain('join');
  });
});

describe('per-unit outcomes', () => {
  const outcome: UnitOutcomePlan = {
    model: 'exposures',
    groupBy: ['campaign_id'],
    filters: [
      { dimension: 'campaign_id', values: ['a', 'b'] },
      { dimension: 'region', values: ['LATAM'] },
    ],
    metric: 'watch_minutes',
    join: { user_id: 'user_id' },
    since: 'converted_date',
    days: 28,
  };

  it('is pinned', async () => {
    const compiled = compileUnitOutcome(layer, outcome, 'aurora');
    await expect(
      `${compiled.sql}\n-- parameters: ${JSON.stringify(compiled.parameters)}\n`,
    ).toMatchFileSnapshot('__snapshots__/unit-outcome.sql');
  });

  it('filters both tables, and the key subquery, by the tenant', () => {
    const hostile = "x' OR 1=1 --";
    const { sql, parameters } = compileUnitOutcome(layer, outcome, hostile);
    expect(sql).toMatch(/select \* from `campaign_exposures` where `tenant_id` = \{p\d+:String\}/);
    expect(sql).toMatch(/select \* from `viewing_events` where `tenant_id` = \{p\d+:String\}/);
    // exposures four times (units, the key subquery, the first and the last start of a window), each with
    // campaigns and markets joined, and the views.
    expect(Object.values(parameters).filter((value) => value === hostile)).toHaveLength(13);
    expect(sql).not.toContain('1=1');
  });
});

describe('the ClickHouse compiler', () => {
  it.each(['a`b', 'a\\`b', 'x; DROP', 'tenant_id`) OR (1=1', '1abc', ''])('refuses identifier %j', (name) => {
    expect(() => compilerDb.selectFrom(name).selectAll().compile()).toThrow(/Refusing identifier/);
  });

  it('types every parameter', () => {
    const compiled = compilerDb
      .selectFrom('t')
      .select('a')
      .where('a', '=', 'text')
      .where('b', '=', 3)
      .where('c', '=', 2.5)
      .where('d', '=', typed('2026-01-01', 'Date'))
      .compile();
    expect(compiled.sql).toBe(
      'select `a` from `t` where `a` = {p0:String} and `b` = {p1:Int64} and `c` = {p2:Float64} and `d` = {p3:Date}',
    );
  });
});

describe('splitMonths (a rollup read in monthly and daily tiers)', () => {
  it('keeps whole months for the monthly tier and the days around them for the daily one', () => {
    expect(splitMonths([{ from: '2025-11-03', to: '2026-03-31' }])).toEqual({
      months: [{ from: '2025-12-01', to: '2026-03-01' }],
      days: [{ from: '2025-11-03', to: '2025-11-30' }],
    });
    expect(splitMonths([{ from: '2024-02-01', to: '2024-02-29' }])).toEqual({
      months: [{ from: '2024-02-01', to: '2024-02-01' }],
      days: [],
    });
    expect(splitMonths([{ from: '2026-02-10', to: '2026-03-20' }])).toEqual({
      months: [],
      days: [{ from: '2026-02-10', to: '2026-03-20' }],
    });
    expect(splitMonths([{ from: '2026-01-31', to: '2026-03-01' }])).toEqual({
      months: [{ from: '2026-02-01', to: '2026-02-01' }],
      days: [
        { from: '2026-01-31', to: '2026-01-31' },
        { from: '2026-03-01', to: '2026-03-01' },
      ],
    });
  });
});
