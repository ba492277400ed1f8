import { beforeAll, describe, expect, it } from 'vitest';
import { loadSemanticLayer } from '../../src/semantic/load-semantic-layer.js';
import { planAnalytics } from '../../src/semantic/plan-query.js';
import type { SemanticLayer, Tool } from '../../src/semantic/semantic-layer.js';
import { TOOL_KINDS } from '../../src/tools/catalog.js';
import type { ToolPlan } from '../../src/tools/framework/definition.js';
import { describePrivacy } from '../../src/tools/framework/privacy-note.js';
import type { QueryEngagementResult } from '../../src/tools/query-engagement/output.js';
import type { EngagementPlan } from '../../src/tools/query-engagement/plan.js';
import { summariseQueryEngagement } from '../../src/tools/query-engagement/summary.js';
import { SEMANTIC_LAYER } from '../helpers.js';

let layer: SemanticLayer;
let plan: ToolPlan<EngagementPlan>;
beforeAll(async () => {
  layer = await loadSemanticLayer(SEMANTIC_LAYER, TOOL_KINDS);
  const detail = planAnalytics(
    layer,
    layer.tools.get('query_engagement') as Tool,
    {
      metrics: ['watch_minutes', 'completion_rate'],
      timeRange: '2026-Q3',
      compareTo: 'previous_period',
      groupBy: ['device'],
      filters: {},
      limit: 2,
      offset: 0,
    },
    { anchor: '2026-10-31', values: new Map() },
    layer.policyFor(['vp']),
  );
  const dataDays = { first: '2024-11-01', last: '2026-10-31', complete: '2026-10-31' };
  plan = {
    queries: {},
    filters: [],
    anchor: '2026-10-31',
    detail: { ...detail, anchor: '2026-10-31', dataDays },
  };
});

function output(overrides: Partial<QueryEngagementResult> = {}): QueryEngagementResult {
  return {
    period: {
      label: '2026-Q3',
      from: '2026-07-01',
      to: '2026-09-30',
      first_day_with_data: '2026-07-01',
      last_day_with_data: '2026-09-28',
    },
    comparison: { label: 'previous period (2026-04-01 to 2026-06-30)', from: '2026-04-01', to: '2026-06-30' },
    filters: [{ argument: 'geo', dimension: 'region', values: ['LATAM'] }],
    metrics: [],
    totals: { watch_minutes: 3215546, completion_rate: 0.4261 },
    comparison_totals: { watch_minutes: 3752932, completion_rate: 0.4262 },
    changes: {
      watch_minutes: { absolute: -537386, percent: -14.32 },
      completion_rate: { absolute: -0.0001, percent: -0.02 },
    },
    top_movers: [
      {
        dimension: 'country',
        value: 'BR',
        metric: 'watch_minutes',
        current: 1,
        previous: 2,
        change: -476966,
        percent: -31.7,
      },
    ],
    columns: ['device', 'watch_minutes', 'completion_rate'],
    rows: [{}, {}],
    partial_buckets: [],
    warnings: [],
    page: { offset: 0, limit: 2, returned: 2, next_cursor: 'abc.def', total_rows: 6 },
    ...overrides,
  };
}

describe('the query_engagement summary', () => {
  it('says the period, what data covered it, each total with its change, the movers and the page', () => {
    expect(summariseQueryEngagement(output(), plan).split('\n')).toEqual([
      'Engagement for 2026-Q3 (2026-07-01 to 2026-09-30), region "LATAM": data from 2026-07-01 to 2026-09-28.',
      'Compared with the previous period (2026-04-01 to 2026-06-30).',
      '- watch_minutes: 3,215,546, −537,386 (−14.3%) vs 3,752,932',
      '- completion_rate: 42.6%, −0.01 pp (−0.02%) vs 42.6%',
      'Top movers in watch_minutes: country "BR" −476,966 (−31.7%).',
      'rows 1-2 (by device); more rows: call again with cursor "abc.def".',
    ]);
  });

  it('names a last day whose data stops before the day ends', () => {
    const cut = {
      ...plan,
      detail: { ...plan.detail, dataDays: { ...plan.detail.dataDays, complete: '2026-09-27' } },
    };
    expect(summariseQueryEngagement(output(), cut).split('\n')[0]).toBe(
      'Engagement for 2026-Q3 (2026-07-01 to 2026-09-30), region "LATAM": data from 2026-07-01 to 2026-09-28 (2026-09-28 is not complete: its data stops before the day ends).',
    );
  });

  it('says when there is no data, and when the last page is reached', () => {
    const empty = output({
      period: { ...output().period, first_day_with_data: null, last_day_with_data: null },
      top_movers: [],
      rows: [],
      page: { offset: 0, limit: 2, returned: 0, next_cursor: null, total_rows: 0 },
    });
    const lines = summariseQueryEngagement(empty, plan).split('\n');
    expect(lines[0]).toMatch(/: no data in this period\.$/);
    expect(lines.at(-1)).toBe('no rows (by device).');
  });
});

describe('the privacy note', () => {
  it('says what was left out and withheld, and nothing when nothing was', () => {
    const none = {
      min_group_size: { k: 5, people: 'unique_viewers' },
      suppressed_groups: 0,
      totals_suppressed: false,
      left_out: [],
    };
    expect(describePrivacy(none, false)).toEqual([]);
    expect(
      describePrivacy(
        {
          ...none,
          suppressed_groups: 3,
          totals_suppressed: true,
          left_out: [{ argument: 'geo', value: 'AE' }],
        },
        true,
      ),
    ).toEqual([
      'Left out of the filters for privacy, as each adds fewer than 5 unique_viewers (or too few members of what your policy hides) to this selection: geo "AE".',
      'Totals are withheld where they describe fewer than 5 unique_viewers (or too few members of what your policy hides).',
      '3 group(s) are withheld for privacy: those with fewer than 5 unique_viewers (or too few members of what your policy hides), and as few others as it takes so that they cannot be worked out from the totals.',
    ]);
  });
});
