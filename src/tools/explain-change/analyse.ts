import { comparabilityWarnings } from '../../analysis/comparability.js';
import {
  binomialBand,
  type Contribution,
  type Decomposition,
  decomposeAdditive,
  decomposeRatio,
  noiseBand,
  type PeriodValue,
  ratioOf,
  type SegmentChange,
  seasonalReference,
  worthDrilling,
} from '../../analysis/decompose-change.js';
import { changeOf, toNumber } from '../../analysis/period-results.js';
import { PERIOD_COLUMN, varianceColumn } from '../../semantic/query-plan.js';
import type { Metric } from '../../semantic/semantic-layer.js';
import type { Row } from '../../warehouse/warehouse.js';
import { filtersOutput } from '../framework/common-args.js';
import type { Analysis, Call, PlannedQuery, Results, ToolPlan } from '../framework/definition.js';
import { moversQuery, TOTALS } from '../query-engagement/plan.js';
import type { Breakdown, ExplainChangeResult } from './output.js';
import { drillQueries, drillQuery, type ExplainPlan, LAST_YEAR } from './plan.js';

type Periods = { current: PeriodValue; baseline: PeriodValue };
const EMPTY: PeriodValue = { value: 0, variance: 0, numerator: 0, denominator: 0 };

/** Each segment's value in both periods (one segment, "", when `dimension` is undefined). */
function periodValues(
  rows: readonly Row[],
  metric: Metric,
  dimension: string | undefined,
  withVariance: boolean,
) {
  const segments = new Map<string, Periods>();
  const read = (row: Row): PeriodValue => ({
    value: toNumber(row[metric.name]) ?? 0,
    variance: withVariance ? (toNumber(row[varianceColumn(metric.name)]) ?? 0) : undefined,
    numerator: metric.numerator === undefined ? undefined : (toNumber(row[metric.numerator]) ?? 0),
    denominator: metric.denominator === undefined ? undefined : (toNumber(row[metric.denominator]) ?? 0),
  });
  for (const row of rows) {
    const key = dimension === undefined ? '' : String(row[dimension] ?? '');
    const entry = segments.get(key) ?? { current: EMPTY, baseline: EMPTY };
    if (String(row[PERIOD_COLUMN]) === '0') entry.current = read(row);
    else if (String(row[PERIOD_COLUMN]) === '1') entry.baseline = read(row);
    segments.set(key, entry);
  }
  return segments;
}

/** A breakdown's segments split the change; segments withheld in either period are left out of it. */
function decompose(
  detail: ExplainPlan,
  rows: readonly Row[],
  withheld: readonly Row[],
  dimension: string,
  totals: Periods,
): Decomposition {
  const hidden = new Set(withheld.map((row) => String(row[dimension] ?? '')));
  const visible = rows.filter((row) => !hidden.has(String(row[dimension] ?? '')));
  const segments: SegmentChange[] = [
    ...periodValues(visible, detail.metric, dimension, detail.variances.length > 0),
  ].map(([segment, values]) => ({ segment, ...values }));
  return detail.metric.aggregation === 'ratio'
    ? decomposeRatio(segments, totals, detail.binomial)
    : decomposeAdditive(segments, totals.current.value - totals.baseline.value);
}

const finite = (value: number | undefined): number | null =>
  value === undefined || !Number.isFinite(value) ? null : value;

function breakdown(dimension: string, decomposition: Decomposition, top: number): Breakdown {
  const listed = decomposition.contributions.slice(0, top);
  const total = decomposition.totalChange;
  return {
    dimension,
    listed_share:
      total === 0 ? null : listed.reduce((sum, contribution) => sum + contribution.change, 0) / total,
    significant_share: finite(decomposition.significantShare),
    contributors: listed.map((contribution: Contribution) => ({
      segment: contribution.segment,
      current: finite(contribution.current),
      baseline: finite(contribution.baseline),
      change: contribution.change,
      share: contribution.share,
      mix: finite(contribution.mix),
      rate: finite(contribution.rate),
      z: finite(contribution.z),
      p_value: contribution.p ?? null,
      beyond_noise: contribution.beyondNoise ?? null,
    })),
  };
}

/** The first stage's findings: totals, each breakdown, the largest contributor, and the noise verdict. */
function firstStage(detail: ExplainPlan, results: Results) {
  const { plan, metric } = detail;
  const withheld = results.withheld(TOTALS).length > 0;
  const totals = periodValues(results.rows(TOTALS), metric, undefined, detail.variances.length > 0).get(
    '',
  ) ?? {
    current: EMPTY,
    baseline: EMPTY,
  };
  const decompositions = withheld
    ? []
    : plan.movers.map((mover) =>
        decompose(
          detail,
          results.rows(moversQuery(mover.dimension)),
          results.withheld(moversQuery(mover.dimension)),
          mover.dimension,
          totals,
        ),
      );
  // The contributor with the largest change across every dimension.
  type Top = NonNullable<ExplainChangeResult['top_contributor']>;
  const top = decompositions.reduce<Top | null>((best, decomposition, index) => {
    const first = decomposition.contributions[0];
    const dimension = plan.movers[index]?.dimension;
    if (first === undefined || dimension === undefined) return best;
    if (best !== null && Math.abs(first.change) <= Math.abs(best.change)) return best;
    return { dimension, segment: first.segment, change: first.change, share: first.share };
  }, null);
  const ratio = metric.aggregation === 'ratio';
  const current = withheld ? null : ratio ? ratioOf(totals.current) : totals.current.value;
  const baseline = withheld ? null : ratio ? ratioOf(totals.baseline) : totals.baseline.value;
  const change = changeOf(current, baseline);
  const band = withheld
    ? undefined
    : detail.method === 'additive'
      ? noiseBand(totals.current, totals.baseline)
      : ratio && detail.binomial
        ? binomialBand(totals.current, totals.baseline)
        : undefined;
  // With the same change a year earlier, what counts is the part the season does not explain.
  const lastYear =
    detail.lastYear === undefined || withheld || results.withheld(LAST_YEAR).length > 0
      ? undefined
      : periodValues(results.rows(LAST_YEAR), metric, undefined, true).get('');
  const seasonal = lastYear === undefined ? undefined : seasonalReference(totals, lastYear);
  const beyondNoise =
    seasonal !== undefined
      ? Math.abs(seasonal.unusual) > seasonal.band
      : band === undefined || change.absolute === null
        ? null
        : Math.abs(change.absolute) > band;
  const drill = top !== null && worthDrilling(top.share, beyondNoise) && plan.movers.length > 1 ? top : null;
  return {
    withheld,
    totals,
    decompositions,
    top,
    current,
    baseline,
    change,
    band,
    beyondNoise,
    seasonal,
    lastYearChange:
      lastYear === undefined ? undefined : changeOf(lastYear.current.value, lastYear.baseline.value),
    drill,
  };
}

/** The drill-down stage, when one contributor dominates a change beyond noise. */
export function followUpExplainChange(
  { detail }: ToolPlan<ExplainPlan>,
  results: Results,
): Record<string, PlannedQuery> | undefined {
  const stage = firstStage(detail, results);
  return stage.drill === null ? undefined : drillQueries(detail, stage.drill.dimension);
}

/** The change, split across each dimension, and within the dominant contributor. */
export function analyseExplainChange(
  { detail }: ToolPlan<ExplainPlan>,
  results: Results,
  _call: Call,
): Analysis<ExplainChangeResult> {
  const { plan, metric } = detail;
  const stage = firstStage(detail, results);
  const breakdowns = stage.decompositions.map((decomposition, index) =>
    breakdown(plan.movers[index]?.dimension ?? '', decomposition, detail.top),
  );
  let drillDown: ExplainChangeResult['drill_down'] = null;
  const target = stage.drill;
  if (target !== null) {
    const inSegment = (row: Row) => String(row[target.dimension] ?? '') === target.segment;
    const segmentRows = results.rows(moversQuery(target.dimension)).filter(inSegment);
    const totals = periodValues(segmentRows, metric, undefined, detail.variances.length > 0).get('');
    if (totals !== undefined) {
      drillDown = {
        dimension: target.dimension,
        segment: target.segment,
        breakdowns: plan.movers
          .filter((mover) => mover.dimension !== target.dimension)
          .map((mover) => {
            const name = drillQuery(mover.dimension);
            const rows = results.rows(name).filter(inSegment);
            const withheld = results.withheld(name).filter(inSegment);
            return breakdown(
              mover.dimension,
              decompose(detail, rows, withheld, mover.dimension, totals),
              detail.top,
            );
          }),
      };
    }
  }
  const comparison = plan.comparison ?? plan.period;
  const output: ExplainChangeResult = {
    metric: metric.name,
    method: detail.method,
    period: { label: plan.period.label, from: plan.period.from, to: plan.period.to },
    baseline: { label: comparison.label, from: comparison.from, to: comparison.to },
    current_value: stage.current,
    baseline_value: stage.baseline,
    change: { absolute: stage.change.absolute, percent: stage.change.percent },
    noise_band_95: finite(stage.band),
    beyond_noise: stage.beyondNoise,
    warnings: comparabilityWarnings(plan.period, plan.comparison, detail.dataDays),
    judged_against: stage.seasonal === undefined ? 'noise' : 'last_year',
    last_year:
      stage.seasonal === undefined || detail.lastYear === undefined
        ? null
        : {
            period: { ...detail.lastYear.period },
            baseline: { ...detail.lastYear.baseline },
            change_percent: stage.lastYearChange?.percent ?? null,
            expected: stage.seasonal.expected,
            unusual: stage.seasonal.unusual,
            band_95: stage.seasonal.band,
          },
    top_contributor: stage.top,
    breakdowns,
    drill_down: drillDown,
    filters: filtersOutput(results.filters),
  };
  return { output, rows: breakdowns.reduce((sum, b) => sum + b.contributors.length, 0) };
}
