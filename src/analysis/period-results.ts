import { neutralise } from '../guard/untrusted-text.js';
import { emptyOf } from '../semantic/metric-traits.js';
import { PERIOD_COLUMN } from '../semantic/query-plan.js';
import type { Metric } from '../semantic/semantic-layer.js';

/** A warehouse cell as JSON carries it: 64-bit integers as strings, floats as numbers, NaN/NULL as null. */
export function toNumber(value: unknown): number | null {
  if (value === null || value === undefined || value === '') return null;
  const number = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(number) ? number : null;
}

/** Rounds to `digits` decimals. */
export function roundTo(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Rounds a metric value to its declared decimals (plus two for percentages shown as fractions). */
export function roundMetric(metric: Metric, value: number | null): number | null {
  return value === null ? null : roundTo(value, metric.decimals);
}

export type MetricValues = Record<string, number | null>;

/** Totals of one period. */
export interface PeriodTotals {
  /** Rounded to each metric's decimals, for display. */
  readonly values: MetricValues;
  /** As computed, for changes (rounding first would hide small moves in rates). */
  readonly raw: MetricValues;
}

/** Splits a totals result (grouped by `_period`) into the asked-for period (index 0) and its comparison (1). */
export function periodTotals(
  rows: readonly Record<string, unknown>[],
  metrics: readonly Metric[],
): PeriodTotals[] {
  const byIndex = (index: number): PeriodTotals => {
    const row = rows.find((candidate) => String(candidate[PERIOD_COLUMN]) === String(index));
    const values: MetricValues = {};
    const raw: MetricValues = {};
    for (const metric of metrics) {
      raw[metric.name] = row === undefined ? emptyOf(metric) : toNumber(row[metric.name]);
      values[metric.name] = roundMetric(metric, raw[metric.name] ?? null);
    }
    return { values, raw };
  };
  return [byIndex(0), byIndex(1)];
}

/** Absolute and relative change of each metric; percent is null when the base is zero or missing. */
export interface Change {
  readonly absolute: number | null;
  readonly percent: number | null;
}

export function changeOf(current: number | null, previous: number | null): Change {
  if (current === null || previous === null) return { absolute: null, percent: null };
  const absolute = current - previous;
  return {
    absolute,
    percent: previous === 0 ? null : Math.round((absolute / Math.abs(previous)) * 10_000) / 100,
  };
}

/** One segment's change between the periods, for "what drove it". */
export interface Mover {
  readonly dimension: string;
  readonly value: string;
  readonly metric: string;
  readonly current: number | null;
  readonly previous: number | null;
  readonly change: number | null;
  readonly percent: number | null;
}

/**
 * The segments of `dimension` whose `metric` moved most between the periods, largest absolute change first.
 * For additive metrics the changes add up to the total change, so the first movers are the drivers.
 */
export function topMovers(
  rows: readonly Record<string, unknown>[],
  dimension: string,
  metric: Metric,
  count = 3,
): Mover[] {
  const segments = new Map<string, { current: number | null; previous: number | null }>();
  for (const row of rows) {
    const value = neutralise(String(row[dimension] ?? ''));
    const entry = segments.get(value) ?? { current: null, previous: null };
    const number = roundMetric(metric, toNumber(row[metric.name]));
    if (String(row[PERIOD_COLUMN]) === '0') entry.current = number;
    else if (String(row[PERIOD_COLUMN]) === '1') entry.previous = number;
    segments.set(value, entry);
  }
  return [...segments.entries()]
    .map(([value, { current, previous }]) => {
      const change = changeOf(current ?? 0, previous ?? 0);
      return {
        dimension,
        value,
        metric: metric.name,
        current,
        previous,
        change: change.absolute,
        percent: change.percent,
      };
    })
    .filter((mover) => mover.change !== null && mover.change !== 0)
    .sort((a, b) => Math.abs(b.change ?? 0) - Math.abs(a.change ?? 0) || a.value.localeCompare(b.value))
    .slice(0, count);
}
