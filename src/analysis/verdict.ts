import { normalQuantile, type TwoProportionTest } from './statistics.js';

/** Fewer conversions (or non-conversions) than this in either campaign and no verdict is given. */
export const MIN_CONVERSIONS = 30;
/** A holdout split this unlikely under the planned share is a sample ratio mismatch. */
export const SRM_ALPHA = 0.001;
/** The power at which the minimum detectable difference is stated. */
export const POWER = 0.8;

export const VERDICTS = ['A better', 'B better', 'no significant difference', 'not enough data'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** One campaign's treatment arm as the verdict sees it. */
export interface Arm {
  readonly units: number;
  readonly conversions: number;
}

/** Whether a campaign has enough conversions and non-conversions for a two-proportion z-test to be sound. */
export function enoughToCompare(arm: Arm): boolean {
  return arm.conversions >= MIN_CONVERSIONS && arm.units - arm.conversions >= MIN_CONVERSIONS;
}

/**
 * The verdict on two campaigns' conversion rates: a winner only when the test is significant at the
 * confidence level and both campaigns are large enough; "not enough data" when either is not (or is
 * withheld), never a winner declared from noise.
 */
export function verdictOf(test: TwoProportionTest | undefined, enough: boolean, confidence: number): Verdict {
  if (!enough || test === undefined) return 'not enough data';
  if (test.pValue >= 1 - confidence) return 'no significant difference';
  return test.difference > 0 ? 'A better' : 'B better';
}

/**
 * The smallest difference of conversion rates these sample sizes detect with `power` at the confidence level
 * (two-sided, pooled rate).
 */
export function minimumDetectableDifference(a: Arm, b: Arm, confidence: number, power = POWER): number {
  const pooled = (a.conversions + b.conversions) / (a.units + b.units);
  const spread = Math.sqrt(pooled * (1 - pooled) * (1 / a.units + 1 / b.units));
  return (normalQuantile(1 - (1 - confidence) / 2) + normalQuantile(power)) * spread;
}
