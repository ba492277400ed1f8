import { ArgumentError } from '../../errors.js';
import { traitsOf } from '../../semantic/metric-traits.js';
import type { AnalyticsPlan, AnalyticsRequest } from '../../semantic/plan-query.js';
import type { QueryPlan } from '../../semantic/query-plan.js';
import type { Metric } from '../../semantic/semantic-layer.js';
import { comparisonPeriod, type Period } from '../../semantic/time-range.js';
import { asList } from '../framework/common-args.js';
import type { Call, PlannedQuery, ToolPlan } from '../framework/definition.js';
import { engagementRequest, moversQuery, planEngagement, TOTALS } from '../query-engagement/plan.js';
import { DEFAULT_TOP } from './input.js';

/** explain_change's planning results: the analytic plan, the metric and how its change splits. */
export interface ExplainPlan {
  readonly plan: AnalyticsPlan;
  readonly metric: Metric;
  readonly method: 'additive' | 'mix_rate' | 'approximate';
  readonly binomial: boolean;
  /** Metrics whose variance columns the queries carry (additive metrics: for noise bands). */
  readonly variances: readonly string[];
  /** The same two periods a year earlier, when the data covers them: the change is judged against theirs. */
  readonly lastYear: { readonly period: Period; readonly baseline: Period } | undefined;
  /** The days of the tool's data the caller may see, for saying whether the two periods are like for like. */
  readonly dataDays: { readonly first: string | null; readonly complete: string | null };
  readonly top: number;
}

/** The query of the same two periods a year earlier. */
export const LAST_YEAR = 'totals_a_year_earlier';

/** The query splitting a drilled segment's change across another dimension (crossed, so nothing is filtered). */
export const drillQuery = (dimension: string): string => `drill_by_${dimension}`;

/** The totals and one breakdown per dimension, both periods, with variances for the noise model. */
export async function planExplainChange(call: Call): Promise<ToolPlan<ExplainPlan>> {
  const { args, layer, binding } = call;
  if (args.baseline !== undefined && args.compare_to !== undefined)
    throw new ArgumentError(
      'baseline',
      'baseline: pass either baseline (explicit dates) or compare_to (previous_period, year_ago), not both',
    );
  const metricName = (args.metric as string | undefined) ?? binding.default_metrics[0] ?? '';
  const requested = layer.metrics.get(metricName);
  const parts = requested === undefined ? undefined : traitsOf(layer, requested).parts;
  const plan = await planEngagement(
    call,
    engagementRequest(call, {
      metrics: [metricName, ...(parts === undefined ? [] : [parts.numerator.name, parts.denominator.name])],
      groupBy: undefined,
      grain: undefined,
      compareTo:
        args.baseline === undefined
          ? ((args.compare_to as AnalyticsRequest['compareTo']) ?? 'previous_period')
          : undefined,
      baseline: args.baseline as { from: string; to: string } | undefined,
      breakdown: asList(args.dimensions),
      limit: 1,
      offset: 0,
    }),
  );
  const metric = plan.metrics[0] as Metric;
  const traits = traitsOf(layer, metric);
  const variances = traits.split === 'additive' ? [metric.name] : [];
  const withVariance = (query: QueryPlan): PlannedQuery => ({ query: { ...query, variances } });
  // A change is judged against the same change a year earlier (the season) when the data reaches back that far.
  const earlier = (period: Period): Period | undefined => {
    try {
      return comparisonPeriod(period, 'year_ago');
    } catch {
      return undefined;
    }
  };
  const season =
    variances.length === 0 || plan.comparison === undefined
      ? undefined
      : { period: earlier(plan.period), baseline: earlier(plan.comparison) };
  const first = plan.dataDays.first;
  const lastYear =
    season?.period !== undefined &&
    season.baseline !== undefined &&
    first !== null &&
    first <= season.baseline.from
      ? { period: season.period, baseline: season.baseline }
      : undefined;
  return {
    queries: {
      [TOTALS]: withVariance(plan.totals),
      ...(lastYear === undefined
        ? {}
        : { [LAST_YEAR]: withVariance({ ...plan.totals, periods: [lastYear.period, lastYear.baseline] }) }),
      ...Object.fromEntries(
        plan.movers.map((mover) => [moversQuery(mover.dimension), withVariance(mover.plan)]),
      ),
    },
    filters: plan.filters,
    anchor: plan.anchor,
    detail: {
      plan,
      metric,
      method: traits.split,
      binomial: traits.noise === 'binomial',
      variances,
      lastYear,
      dataDays: plan.dataDays,
      top: (args.top as number | undefined) ?? DEFAULT_TOP,
    },
    followUp:
      'When one contributor carries at least half of a change beyond noise, its dimension crossed with each other one, to split that contributor’s change.',
  };
}

/** The drill-down stage: the dominant contributor's dimension crossed with each other breakdown. */
export function drillQueries(detail: ExplainPlan, dimension: string): Record<string, PlannedQuery> {
  return Object.fromEntries(
    detail.plan.movers
      .filter((mover) => mover.dimension !== dimension)
      .map((mover) => [
        drillQuery(mover.dimension),
        { query: { ...mover.plan, dimensions: [dimension, mover.dimension], variances: detail.variances } },
      ]),
  );
}
