import { type AnalyticsPlan, type AnalyticsRequest, planAnalytics } from '../../semantic/plan-query.js';
import { asList, filterValues, timeRangeArgument } from '../framework/common-args.js';
import type { Call, PlannedQuery, ToolPlan } from '../framework/definition.js';
import { DEFAULT_LIMIT } from './input.js';

/** Names of the queries a plan runs: the rows, the totals, and one breakdown per mover dimension. */
export const ROWS = 'rows';
export const COMPARISON_ROWS = 'comparison_rows';
export const TOTALS = 'totals';
export const moversQuery = (dimension: string): string => `movers_by_${dimension}`;

/** The call in semantic terms. */
export function engagementRequest(call: Call, overrides: Partial<AnalyticsRequest> = {}): AnalyticsRequest {
  const { args } = call;
  return {
    metrics: asList(args.metrics),
    timeRange: timeRangeArgument(args.time_range),
    groupBy: asList(args.group_by),
    grain: args.grain as AnalyticsRequest['grain'],
    compareTo: args.compare_to as AnalyticsRequest['compareTo'],
    filters: filterValues(call.binding, args),
    limit: (args.limit as number | undefined) ?? DEFAULT_LIMIT,
    offset: call.offset,
    ...overrides,
  };
}

/** An analytic plan with the anchor it was resolved against and the days the caller's data spans. */
export type EngagementPlan = AnalyticsPlan & {
  readonly anchor: string;
  readonly dataDays: {
    readonly first: string | null;
    readonly last: string | null;
    readonly complete: string | null;
  };
};

/** Plans an analytic request: its periods resolved against the call's anchor (a cursor's, or the data's). */
export async function planEngagement(call: Call, request: AnalyticsRequest): Promise<EngagementPlan> {
  const [facts, dataDays] = await Promise.all([
    call.facts.planning(call.binding, request),
    call.facts.dataDays(call.binding),
  ]);
  const anchor = call.anchor ?? facts.anchor;
  const plan = planAnalytics(call.layer, call.binding, request, { ...facts, anchor }, call.policy);
  return { ...plan, anchor, dataDays };
}

/** The queries of an analytic plan, by name. */
function engagementQueries(plan: AnalyticsPlan): Record<string, PlannedQuery> {
  return {
    [ROWS]: { query: plan.rows },
    ...(plan.comparisonRows === undefined ? {} : { [COMPARISON_ROWS]: { query: plan.comparisonRows } }),
    [TOTALS]: { query: plan.totals },
    ...Object.fromEntries(plan.movers.map((mover) => [moversQuery(mover.dimension), { query: mover.plan }])),
  };
}

/** query_engagement's plan: the page's rows, the totals, and the movers behind a change. */
export async function planQueryEngagement(call: Call): Promise<ToolPlan<EngagementPlan>> {
  const plan = await planEngagement(call, engagementRequest(call));
  return { queries: engagementQueries(plan), filters: plan.filters, anchor: plan.anchor, detail: plan };
}
