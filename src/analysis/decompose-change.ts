/**
 * Why a metric moved: the change between a baseline and a current period split across the segments of a
 * dimension. Additive metrics (counts, sums) split exactly; ratio metrics split into mix effects (segments
 * gaining or losing weight) and rate effects (segments' own rates moving). Noise comes from a Poisson
 * (counts) or compound-Poisson (sums: variance = sum of squares) model of each period's value. A breakdown
 * tests every segment at once, so which moved beyond noise is decided with the Benjamini–Hochberg procedure
 * at a 5% false discovery rate over its segments, not by each segment's 95% test alone.
 */
import { benjaminiHochberg, normalSf, Z95 } from './statistics.js';

/** One period's value of a segment: the metric, and for ratios its numerator and denominator. */
export interface PeriodValue {
  readonly value: number;
  /** Variance of `value` under the noise model, when one applies. */
  readonly variance?: number | undefined;
  readonly numerator?: number | undefined;
  readonly denominator?: number | undefined;
}

export interface SegmentChange {
  readonly segment: string;
  readonly current: PeriodValue;
  readonly baseline: PeriodValue;
}

/** A segment's part in the change. `mix` and `rate` are set for ratio metrics and add up to `change`. */
export interface Contribution {
  readonly segment: string;
  readonly current: number;
  readonly baseline: number;
  readonly change: number;
  /** change / total change (may be negative, or above 1 when other segments moved the other way). */
  readonly share: number;
  readonly mix?: number;
  readonly rate?: number;
  /** change / its standard error. Undefined without a noise model. */
  readonly z?: number;
  /** The two-sided p-value of z. */
  readonly p?: number;
  /** Whether the segment moved beyond noise: a discovery at FDR over the breakdown's segments. */
  readonly beyondNoise?: boolean;
}

export interface Decomposition {
  readonly totalChange: number;
  readonly contributions: readonly Contribution[];
  /** Share of the change carried by segments that moved beyond noise (undefined without a noise model). */
  readonly significantShare?: number | undefined;
}

/** The false discovery rate a breakdown's segments are tested at together (Benjamini–Hochberg). */
export const FDR = 0.05;

/** Each tested segment's p-value, and whether it is a discovery among all the breakdown's tested segments. */
function withDiscoveries(contributions: readonly Contribution[]): Contribution[] {
  const tested = contributions.filter((contribution) => contribution.z !== undefined);
  const pValues = tested.map((contribution) => 2 * normalSf(Math.abs(contribution.z ?? 0)));
  const discoveries = benjaminiHochberg(pValues, FDR);
  const found = new Map(tested.map((contribution, index) => [contribution, index]));
  return contributions.map((contribution) => {
    const index = found.get(contribution);
    return index === undefined
      ? contribution
      : { ...contribution, p: pValues[index] ?? 1, beyondNoise: discoveries[index] ?? false };
  });
}

function zOf(change: number, variance: number | undefined): number | undefined {
  if (variance === undefined) return undefined;
  return variance > 0
    ? change / Math.sqrt(variance)
    : change === 0
      ? 0
      : Number.POSITIVE_INFINITY * Math.sign(change);
}

function ranked(contributions: Contribution[]): Contribution[] {
  return contributions.sort(
    (a, b) => Math.abs(b.change) - Math.abs(a.change) || a.segment.localeCompare(b.segment),
  );
}

function significantShare(contributions: readonly Contribution[], total: number): number | undefined {
  if (total === 0 || contributions.some((contribution) => contribution.beyondNoise === undefined))
    return undefined;
  const beyond = contributions.filter((contribution) => contribution.beyondNoise === true);
  return beyond.reduce((sum, contribution) => sum + contribution.change, 0) / total;
}

/** Splits the change of an additive metric: each segment's change, its share of the total, its z. */
export function decomposeAdditive(segments: readonly SegmentChange[], totalChange: number): Decomposition {
  const contributions = segments.map((segment): Contribution => {
    const change = segment.current.value - segment.baseline.value;
    const variance =
      segment.current.variance === undefined || segment.baseline.variance === undefined
        ? undefined
        : segment.current.variance + segment.baseline.variance;
    const z = zOf(change, variance);
    return {
      segment: segment.segment,
      current: segment.current.value,
      baseline: segment.baseline.value,
      change,
      share: totalChange === 0 ? 0 : change / totalChange,
      ...(z === undefined ? {} : { z }),
    };
  });
  const tested = withDiscoveries(contributions);
  return {
    totalChange,
    contributions: ranked(tested),
    significantShare: significantShare(tested, totalChange),
  };
}

/**
 * Splits the change of a ratio metric r = N / D into, per segment s with weight w = d/D and rate r_s = n/d:
 * mix_s = (w1 − w0)(r0_s − r0) and rate_s = w1 (r1_s − r0_s). With an additive denominator they sum to r1 − r0.
 * `binomial` adds a noise model for rates that are proportions (n ≤ d).
 */
export function decomposeRatio(
  segments: readonly SegmentChange[],
  totals: { readonly current: PeriodValue; readonly baseline: PeriodValue },
  binomial: boolean,
): Decomposition {
  const n1 = totals.current.numerator ?? 0;
  const d1 = totals.current.denominator ?? 0;
  const n0 = totals.baseline.numerator ?? 0;
  const d0 = totals.baseline.denominator ?? 0;
  const r1 = d1 === 0 ? 0 : n1 / d1;
  const r0 = d0 === 0 ? 0 : n0 / d0;
  const totalChange = r1 - r0;
  const contributions = segments.map((segment): Contribution => {
    const sn1 = segment.current.numerator ?? 0;
    const sd1 = segment.current.denominator ?? 0;
    const sn0 = segment.baseline.numerator ?? 0;
    const sd0 = segment.baseline.denominator ?? 0;
    const w1 = d1 === 0 ? 0 : sd1 / d1;
    const w0 = d0 === 0 ? 0 : sd0 / d0;
    const rate0 = sd0 === 0 ? r0 : sn0 / sd0;
    const rate1 = sd1 === 0 ? rate0 : sn1 / sd1;
    const mix = (w1 - w0) * (rate0 - r0);
    const rate = w1 * (rate1 - rate0);
    const change = mix + rate;
    let z: number | undefined;
    if (binomial && sd1 > 0 && sd0 > 0) {
      const variance = (rate1 * (1 - rate1)) / sd1 + (rate0 * (1 - rate0)) / sd0;
      z = zOf(rate1 - rate0, variance);
    }
    return {
      segment: segment.segment,
      current: rate1,
      baseline: rate0,
      change,
      share: totalChange === 0 ? 0 : change / totalChange,
      mix,
      rate,
      ...(z === undefined ? {} : { z }),
    };
  });
  const tested = withDiscoveries(contributions);
  return {
    totalChange,
    contributions: ranked(tested),
    significantShare: binomial ? significantShare(tested, totalChange) : undefined,
  };
}

/** The 95% noise band of a total change, from each period's variance. */
export function noiseBand(current: PeriodValue, baseline: PeriodValue): number | undefined {
  if (current.variance === undefined || baseline.variance === undefined) return undefined;
  return Z95 * Math.sqrt(current.variance + baseline.variance);
}

/** A ratio's value from its parts, or null without a denominator. */
export function ratioOf(value: PeriodValue): number | null {
  const denominator = value.denominator ?? 0;
  return denominator === 0 ? null : (value.numerator ?? 0) / denominator;
}

/** The 95% noise band of a change of a proportion (binomial model of each period's rate). */
export function binomialBand(current: PeriodValue, baseline: PeriodValue): number | undefined {
  const r1 = ratioOf(current);
  const r0 = ratioOf(baseline);
  if (r1 === null || r0 === null) return undefined;
  const variance =
    (r1 * (1 - r1)) / (current.denominator ?? 1) + (r0 * (1 - r0)) / (baseline.denominator ?? 1);
  return Z95 * Math.sqrt(variance);
}

/** A contributor carrying at least this share of a change is drilled into. */
export const DOMINANT_SHARE = 0.5;

/**
 * Whether to split a contributor's own change further: it carries at least half of a change that is beyond
 * noise (or untested). Splitting noise only finds more noise.
 */
export function worthDrilling(share: number, beyondNoise: boolean | null): boolean {
  return beyondNoise !== false && Math.abs(share) >= DOMINANT_SHARE;
}

/** A change set against the same change a year earlier: what the seasonal pattern alone would have given. */
export interface SeasonalReference {
  /** current / baseline a year earlier. */
  readonly growth: number;
  /** The current value the baseline would have reached at last year's growth. */
  readonly expected: number;
  /** current − expected: the part of the change the season does not explain. */
  readonly unusual: number;
  /** The 95% noise band of `unusual` (delta method over the four periods' variances). */
  readonly band: number;
}

/**
 * The part of a change beyond the same change a year earlier: expected = baseline × (c′ / b′), with c′ and b′
 * the same two periods a year earlier. Var(unusual) ≈ Var(c) + g²·Var(b) + b²·Var(g), Var(g) ≈ g²·(Var(c′)/c′² +
 * Var(b′)/b′²). Undefined without variances or without a baseline a year earlier.
 */
export function seasonalReference(
  now: { readonly current: PeriodValue; readonly baseline: PeriodValue },
  lastYear: { readonly current: PeriodValue; readonly baseline: PeriodValue },
): SeasonalReference | undefined {
  const variances = [now.current, now.baseline, lastYear.current, lastYear.baseline].map(
    (value) => value.variance,
  );
  if (variances.some((variance) => variance === undefined)) return undefined;
  const [vc = 0, vb = 0, vc1 = 0, vb1 = 0] = variances as number[];
  const c1 = lastYear.current.value;
  const b1 = lastYear.baseline.value;
  if (!(b1 > 0) || !(c1 > 0)) return undefined;
  const growth = c1 / b1;
  const b = now.baseline.value;
  const expected = b * growth;
  const varianceOfGrowth = growth * growth * (vc1 / (c1 * c1) + vb1 / (b1 * b1));
  const variance = vc + growth * growth * vb + b * b * varianceOfGrowth;
  return { growth, expected, unusual: now.current.value - expected, band: Z95 * Math.sqrt(variance) };
}
