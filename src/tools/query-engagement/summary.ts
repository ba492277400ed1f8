import { quoteData } from '../../guard/untrusted-text.js';
import type { AnalyticsPlan } from '../../semantic/plan-query.js';
import type { ToolPlan } from '../framework/definition.js';
import { describeFilters, formatChange, formatValue } from '../framework/format.js';
import type { QueryEngagementResult } from './output.js';
import type { EngagementPlan } from './plan.js';

/** Which days of a period had data, as a summary says it; a last day whose data stops early is named. */
function coverageOf(plan: EngagementPlan, first: string | null, last: string | null): string {
  if (first === null) return 'no data in this period';
  const complete = plan.dataDays.complete;
  const cut =
    last !== null && complete !== null && last > complete
      ? ` (${last} is not complete: its data stops before the day ends)`
      : '';
  return first === plan.period.from && last === plan.period.to
    ? `data for every day${cut}`
    : `data from ${first} to ${last}${cut}`;
}

/** The period as a summary names it: "2026-Q3 (2026-07-01 to 2026-09-30)". */
function periodLabel(plan: AnalyticsPlan): string {
  const dates = `${plan.period.from} to ${plan.period.to}`;
  return plan.period.label === dates ? plan.period.label : `${plan.period.label} (${dates})`;
}

/** The answer in a few lines: totals, changes, top movers, the rows on this page. */
export function summariseQueryEngagement(
  output: QueryEngagementResult,
  { detail: plan }: ToolPlan<EngagementPlan>,
): string {
  const lines: string[] = [];
  const filters = describeFilters(output.filters);
  const covered = coverageOf(plan, output.period.first_day_with_data, output.period.last_day_with_data);
  lines.push(`Engagement for ${periodLabel(plan)}${filters === '' ? '' : `, ${filters}`}: ${covered}.`);
  if (plan.comparison !== undefined) lines.push(`Compared with the ${plan.comparison.label}.`);
  lines.push(...output.warnings);
  for (const metric of plan.metrics) {
    const value = formatValue(metric, output.totals[metric.name] ?? null);
    const change = output.changes?.[metric.name];
    const previous = output.comparison_totals?.[metric.name] ?? null;
    lines.push(
      change === undefined
        ? `- ${metric.name}: ${value}`
        : `- ${metric.name}: ${value}, ${formatChange(metric, change.absolute, change.percent)} vs ${formatValue(metric, previous)}`,
    );
  }
  const primary = plan.metrics[0];
  if (primary !== undefined && output.top_movers.length > 0) {
    const movers = output.top_movers.map(
      (mover) =>
        `${mover.dimension} ${quoteData(mover.value)} ${formatChange(primary, mover.change, mover.percent)}`,
    );
    lines.push(`Top movers in ${primary.name}: ${movers.join('; ')}.`);
  }
  const breakdown = [
    ...(plan.grain === undefined ? [] : [`per ${plan.grain}`]),
    ...(plan.groupBy.length === 0 ? [] : [`by ${plan.groupBy.join(' and ')}`]),
  ].join(', ');
  if (output.partial_buckets.length > 0) {
    const cut = output.partial_buckets.map(
      (bucket) => `${bucket.start} (${bucket.days} of its ${bucket.of} days)`,
    );
    lines.push(
      `Partial ${plan.grain}s: ${cut.join(', ')}; their totals cover fewer days than a whole ${plan.grain}, so compare them per day, not as rises or drops.`,
    );
  }
  const first = plan.offset + 1;
  const range = output.rows.length === 0 ? 'no rows' : `rows ${first}-${plan.offset + output.rows.length}`;
  lines.push(
    `${range}${breakdown === '' ? '' : ` (${breakdown})`}${output.page.next_cursor === null ? '.' : `; more rows: call again with cursor "${output.page.next_cursor}".`}`,
  );
  return lines.join('\n');
}
