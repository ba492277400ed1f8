import { comparabilityWarnings } from '../../analysis/comparability.js';
import {
  type Change,
  changeOf,
  type Mover,
  periodTotals,
  roundMetric,
  toNumber,
  topMovers,
} from '../../analysis/period-results.js';
import { emptyOf } from '../../semantic/metric-traits.js';
import type { AnalyticsPlan } from '../../semantic/plan-query.js';
import { PERIOD_COLUMN } from '../../semantic/query-plan.js';
import type { Metric } from '../../semantic/semantic-layer.js';
import { addDays, addMonths, bucketEnd, dayCount, overlap, parseDate } from '../../semantic/time-range.js';
import type { Row } from '../../warehouse/warehouse.js';
import { filtersOutput } from '../framework/common-args.js';
import type { Analysis, Call, Results, ToolPlan } from '../framework/definition.js';
import type { QueryEngagementResult } from './output.js';
import { COMPARISON_ROWS, type EngagementPlan, moversQuery, ROWS, TOTALS } from './plan.js';

const TOP_MOVERS = 5;
/** The column saying how many of a time bucket's days the answer covers. */
const DAYS_COLUMN = 'days';

/**
 * How many days of the bucket starting on `start` the answer covers, of how many it has: the period cuts the
 * first and last buckets, and the data so far (its last complete day) can cut the last one.
 */
function bucketSpan(plan: EngagementPlan): (start: string) => { days: number; of: number } {
  const complete = plan.dataDays.complete;
  const to = complete !== null && complete < plan.period.to ? complete : plan.period.to;
  return (start) => {
    if (plan.grain === undefined || parseDate(start) === undefined) return { days: 1, of: 1 };
    const bucket = { from: start, to: bucketEnd(start, plan.grain) };
    return { days: overlap(bucket, { from: plan.period.from, to }).days, of: dayCount(bucket) };
  };
}

/** Segments of a breakdown withheld in either period: their change cannot be shown. */
function withheldSegments(results: Results, name: string, dimension: string): Set<string> {
  return new Set(results.withheld(name).map((row) => String(row[dimension] ?? '')));
}

/** The movers of every breakdown, largest change first; withheld segments never move. */
function moversOf(plan: AnalyticsPlan, results: Results, metric: Metric | undefined): Mover[] {
  if (metric === undefined) return [];
  const movers = plan.movers.flatMap((mover) => {
    const name = moversQuery(mover.dimension);
    const hidden = withheldSegments(results, name, mover.dimension);
    const rows = results.rows(name).filter((row) => !hidden.has(String(row[mover.dimension] ?? '')));
    return topMovers(rows, mover.dimension, metric);
  });
  return movers.sort((a, b) => Math.abs(b.change ?? 0) - Math.abs(a.change ?? 0));
}

/**
 * The days of the period the answer covered: the days the caller's data spans within it, when the selection
 * has any data. Not the selection's own first and last day, which could date one person's view.
 */
function covered(
  plan: EngagementPlan,
  results: Results,
): { first_day_with_data: string | null; last_day_with_data: string | null } {
  const rows = [...results.rows(TOTALS), ...results.withheld(TOTALS)];
  const first =
    plan.dataDays.first === null || plan.dataDays.first < plan.period.from
      ? plan.period.from
      : plan.dataDays.first;
  const last =
    plan.dataDays.last === null || plan.dataDays.last > plan.period.to ? plan.period.to : plan.dataDays.last;
  const any =
    rows.some((row) => String(row[PERIOD_COLUMN]) === '0') && plan.dataDays.last !== null && first <= last;
  return { first_day_with_data: any ? first : null, last_day_with_data: any ? last : null };
}

function nulls(metrics: readonly Metric[]): Record<string, number | null> {
  return Object.fromEntries(metrics.map((metric) => [metric.name, null]));
}

/**
 * For a trend with a comparison: each row's bucket in the comparison, found by date. The row's bucket start
 * moved back as the comparison is (the period's length, or a year; weeks by whole weeks) falls in one bucket
 * of the comparison, of the same group; that bucket's row, whether the privacy rules withheld it, or that it
 * has no like counterpart (outside the comparison period, or a week with fewer of its days in it).
 */
function trendPairs(
  plan: EngagementPlan,
  results: Results,
  keyOf: (row: Row) => string,
): (row: Row) => { row?: Row; withheld: boolean; unmatched?: boolean } {
  const { comparison, period, grain } = plan;
  const time = plan.rows.timeDimension;
  if (comparison === undefined || grain === undefined) return () => ({ withheld: false });
  // A comparison a year before moves dates by the calendar; any other by its distance in days. Weeks move by
  // whole weeks (52 for a year), so a Monday meets a Monday and a whole week a whole week.
  const yearAgo = addMonths(period.from, -12) === comparison.from;
  const distance = yearAgo ? 364 : dayCount({ from: comparison.from, to: period.from }) - 1;
  const back = (day: string) =>
    grain === 'week'
      ? addDays(day, -7 * Math.round(distance / 7))
      : yearAgo
        ? addMonths(day, -12)
        : addDays(day, -distance);
  const index = (rows: readonly Row[]) => {
    const byKey = new Map<string, Row[]>();
    for (const row of rows) {
      const key = keyOf(row);
      const group = byKey.get(key);
      if (group === undefined) byKey.set(key, [row]);
      else group.push(row);
    }
    return byKey;
  };
  const shown = index(results.rows(COMPARISON_ROWS));
  const withheld = index(results.withheld(COMPARISON_ROWS));
  const daysIn = (start: string, range: { from: string; to: string }) =>
    overlap({ from: start, to: bucketEnd(start, grain) }, range).days;
  const holding = (rows: readonly Row[] | undefined, day: string) =>
    rows?.find((row) => {
      const start = String(row[time] ?? '');
      return start <= day && day <= bucketEnd(start, grain);
    });
  return (row) => {
    const key = keyOf(row);
    const day = back(String(row[time] ?? ''));
    // A bucket whose counterpart falls outside the comparison period has no comparison (not a zero); nor has a
    // week whose counterpart week holds fewer of its days in the comparison than it holds in the period.
    if (day > comparison.to || bucketEnd(day, grain) < comparison.from)
      return { withheld: false, unmatched: true };
    const found = holding(shown.get(key), day);
    if (found === undefined) return { withheld: holding(withheld.get(key), day) !== undefined };
    if (grain === 'week' && daysIn(String(found[time]), comparison) !== daysIn(String(row[time]), period))
      return { withheld: false, unmatched: true };
    return { row: found, withheld: false };
  };
}

/** Totals, changes, movers and one page of rows, from what the privacy rules let the answer show. */
export function analyseQueryEngagement(
  { detail: plan, anchor }: ToolPlan<EngagementPlan>,
  results: Results,
  call: Call,
): Analysis<QueryEngagementResult> {
  const withheldPeriods = new Set(results.withheld(TOTALS).map((row) => String(row[PERIOD_COLUMN])));
  const [current, previous] = periodTotals(results.rows(TOTALS), plan.metrics).map((totals, index) =>
    withheldPeriods.has(String(index))
      ? { ...totals, values: nulls(plan.metrics), raw: nulls(plan.metrics) }
      : totals,
  );
  const comparing = plan.comparison !== undefined && previous !== undefined;
  const changes: Record<string, Change> = {};
  for (const metric of plan.metrics) {
    const change = changeOf(current?.raw[metric.name] ?? null, previous?.raw[metric.name] ?? null);
    const precision = 10 ** (metric.decimals + 2);
    changes[metric.name] = {
      ...change,
      absolute: change.absolute === null ? null : Math.round(change.absolute * precision) / precision,
    };
  }

  const timeColumn = plan.grain === undefined ? [] : [plan.rows.timeDimension];
  // Buckets longer than a day carry how many of their days the answer covers.
  const daysColumn = plan.grain === undefined || plan.grain === 'day' ? [] : [DAYS_COLUMN];
  const paired = plan.rows.byPeriod === true;
  // A trend with a comparison pairs each bucket with the comparison's bucket holding the same point of it.
  const trend =
    plan.comparisonRows !== undefined && plan.comparison !== undefined && plan.grain !== undefined;
  const metricColumns = plan.metrics.flatMap((metric) =>
    paired || trend ? [metric.name, `${metric.name}_previous`, `${metric.name}_change_pct`] : [metric.name],
  );
  const columns = [...timeColumn, ...plan.groupBy, ...metricColumns, ...daysColumn];
  const keyOf = (row: Row) => JSON.stringify(plan.groupBy.map((name) => row[name] ?? null));
  // With a comparison, each group's row of the period gets its row of the comparison (null when withheld or
  // absent there: no value is ever made up).
  const before = new Map(
    paired
      ? results
          .rows(ROWS)
          .filter((row) => String(row[PERIOD_COLUMN]) === '1')
          .map((row) => [keyOf(row), row])
      : [],
  );
  const all = paired
    ? results.rows(ROWS).filter((row) => String(row[PERIOD_COLUMN]) === '0')
    : results.rows(ROWS);
  const withheldBefore = new Set(
    paired
      ? results
          .withheld(ROWS)
          .filter((row) => String(row[PERIOD_COLUMN]) === '1')
          .map(keyOf)
      : [],
  );
  const earlierBucket = trend ? trendPairs(plan, results, keyOf) : undefined;
  const page = all.slice(plan.offset, plan.offset + plan.limit);
  const span = bucketSpan(plan);
  const shape = (row: Row) => {
    const shaped: Record<string, string | number | null> = {};
    for (const column of [...timeColumn, ...plan.groupBy])
      shaped[column] = row[column] === null || row[column] === undefined ? null : String(row[column]);
    // The row's comparison, found once for all its metrics.
    const key = paired || earlierBucket !== undefined ? keyOf(row) : '';
    const found = earlierBucket?.(row);
    const earlier = earlierBucket === undefined ? before.get(key) : found?.row;
    const withheld = earlierBucket === undefined ? withheldBefore.has(key) : found?.withheld === true;
    for (const metric of plan.metrics) {
      const now = toNumber(row[metric.name]);
      shaped[metric.name] = roundMetric(metric, now);
      if (!paired && earlierBucket === undefined) continue;
      // Absent from the comparison (and not withheld there): none of it then, a true zero for counts and sums;
      // a ratio of nothing is undefined. Withheld, or with no like counterpart in the comparison, stays null.
      const then =
        earlier !== undefined
          ? toNumber(earlier[metric.name])
          : withheld || found?.unmatched === true
            ? null
            : emptyOf(metric);
      shaped[`${metric.name}_previous`] = roundMetric(metric, then);
      shaped[`${metric.name}_change_pct`] = changeOf(now, then).percent;
    }
    if (daysColumn.length > 0) shaped[DAYS_COLUMN] = span(String(row[plan.rows.timeDimension] ?? '')).days;
    return shaped;
  };
  const rows = page.map(shape);
  const starts = [...new Set(all.map((row) => String(row[plan.rows.timeDimension] ?? '')))].sort();
  const partialBuckets =
    daysColumn.length === 0
      ? []
      : starts.map((start) => ({ start, ...span(start) })).filter((bucket) => bucket.days < bucket.of);
  const more = all.length > plan.offset + plan.limit;
  const output: QueryEngagementResult = {
    period: {
      label: plan.period.label,
      from: plan.period.from,
      to: plan.period.to,
      ...covered(plan, results),
    },
    comparison: plan.comparison === undefined ? null : { ...plan.comparison },
    warnings: comparabilityWarnings(plan.period, plan.comparison, plan.dataDays),
    filters: filtersOutput(results.filters),
    metrics: plan.metrics.map((metric) => ({
      name: metric.name,
      description: metric.description,
      format: metric.format,
    })),
    totals: current?.values ?? {},
    comparison_totals: comparing ? (previous?.values ?? null) : null,
    changes: comparing ? changes : null,
    top_movers: moversOf(plan, results, plan.metrics[0]).slice(0, TOP_MOVERS),
    columns,
    rows,
    partial_buckets: partialBuckets,
    page: {
      offset: plan.offset,
      limit: plan.limit,
      returned: rows.length,
      next_cursor: more ? call.nextCursor(plan.offset + plan.limit, anchor) : null,
      total_rows: all.length,
    },
  };
  return { output, rows: rows.length, table: { columns, rows } };
}
