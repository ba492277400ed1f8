import { beforeAll, describe, expect, it } from 'vitest';
import { loadSemanticLayer } from '../../src/semantic/load-semantic-layer.js';
import { type AnalyticsRequest, planAnalytics } from '../../src/semantic/plan-query.js';
import type { SemanticLayer, Tool } from '../../src/semantic/semantic-layer.js';
import { TOOL_KINDS } from '../../src/tools/catalog.js';
import { SEMANTIC_LAYER } from '../helpers.js';

let layer: SemanticLayer;
let tool: Tool;
beforeAll(async () => {
  layer = await loadSemanticLayer(SEMANTIC_LAYER, TOOL_KINDS);
  tool = layer.tools.get('query_engagement') as Tool;
});

const facts = {
  anchor: '2026-10-31',
  values: new Map([
    ['country', ['BR', 'MX', 'US']],
    ['region', ['LATAM', 'NA']],
  ]),
};
const request = (overrides: Partial<AnalyticsRequest>): AnalyticsRequest => ({
  filters: {},
  limit: 50,
  offset: 0,
  ...overrides,
});

describe('the analytic planner', () => {
  it('plans rows, totals of both periods and one breakdown per mover dimension', () => {
    const plan = planAnalytics(
      layer,
      tool,
      request({ timeRange: '2026-Q3', compareTo: 'previous_period', groupBy: ['device'] }),
      facts,
      layer.policyFor(['vp']),
    );
    expect(plan.period).toMatchObject({ from: '2026-07-01', to: '2026-09-30' });
    expect(plan.comparison).toMatchObject({ from: '2026-04-01', to: '2026-06-30' });
    expect(plan.totals).toMatchObject({ byPeriod: true, dimensions: [] });
    expect(plan.totals.periods.map((period) => period.from)).toEqual(['2026-07-01', '2026-04-01']);
    expect(plan.movers.map((mover) => mover.dimension)).toEqual(['device', 'country']);
    // Pages are cut after the privacy rules: the rows query reads every group, in both periods (each row
    // carries its comparison).
    expect(plan.rows).toMatchObject({
      dimensions: ['device'],
      periods: [plan.period, plan.comparison],
      byPeriod: true,
    });
    expect(plan.rows.limit).toBeUndefined();
    expect(plan.rows.order).toEqual([{ key: 'watch_minutes', direction: 'desc' }]);
  });

  it('reads a group by date as a daily grain, and leaves a dimension pinned by a filter out of the movers', () => {
    const plan = planAnalytics(
      layer,
      tool,
      request({ groupBy: ['date'], compareTo: 'previous_period', filters: { geo: ['br', 'LATAM'] } }),
      facts,
      layer.policyFor(['vp']),
    );
    expect(plan.grain).toBe('day');
    expect(plan.period).toMatchObject({ from: '2026-10-04', to: '2026-10-31' });
    expect(plan.filters).toEqual([
      { argument: 'geo', group: 'geo', dimension: 'country', values: ['BR'] },
      { argument: 'geo', group: 'geo', dimension: 'region', values: ['LATAM'] },
    ]);
    // Country is filtered to one value, but OR'ed with a region: it still varies, so it still moves.
    expect(plan.movers.map((mover) => mover.dimension)).toEqual(['country', 'device']);
    const pinned = planAnalytics(
      layer,
      tool,
      request({ compareTo: 'previous_period', filters: { geo: ['BR'] } }),
      facts,
      layer.policyFor(['vp']),
    );
    expect(pinned.movers.map((mover) => mover.dimension)).toEqual(['device']);
  });

  it('never names what a policy hides, and refuses overlapping baselines', () => {
    const bi = layer.policyFor(['bi_service']);
    expect(() => planAnalytics(layer, tool, request({ groupBy: ['title'] }), facts, bi)).toThrow(
      /Unknown dimension "title"/,
    );
    expect(() =>
      planAnalytics(
        layer,
        tool,
        request({ timeRange: '2026-Q3', baseline: { from: '2026-09-01', to: '2026-10-31' } }),
        facts,
        bi,
      ),
    ).toThrow(/The baseline 2026-09-01 to 2026-10-31 overlaps the period 2026-07-01 to 2026-09-30/);
  });
});
