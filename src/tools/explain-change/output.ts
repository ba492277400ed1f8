import { z } from 'zod';
import { filtersSchema, periodSchema } from '../framework/common-args.js';

const contributorSchema = z.object({
  segment: z.string(),
  current: z.number().nullable(),
  baseline: z.number().nullable(),
  change: z.number(),
  share: z.number(),
  mix: z.number().nullable(),
  rate: z.number().nullable(),
  z: z.number().nullable(),
  /** Two-sided p-value of z. */
  p_value: z.number().nullable(),
  /** A discovery among the breakdown's segments at a 5% false discovery rate (Benjamini–Hochberg). */
  beyond_noise: z.boolean().nullable(),
});
export const breakdownSchema = z.object({
  dimension: z.string(),
  /** Share of the change carried by the listed contributors. */
  listed_share: z.number().nullable(),
  /** Share of the change carried by segments that moved beyond noise. */
  significant_share: z.number().nullable(),
  contributors: z.array(contributorSchema),
});
export type Breakdown = z.infer<typeof breakdownSchema>;

/** What explain_change answers (the door adds `summary` and `privacy`). */
export const explainChangeOutput = z.object({
  metric: z.string(),
  method: z.enum(['additive', 'mix_rate', 'approximate']),
  period: periodSchema,
  baseline: periodSchema,
  current_value: z.number().nullable(),
  baseline_value: z.number().nullable(),
  change: z.object({ absolute: z.number().nullable(), percent: z.number().nullable() }),
  noise_band_95: z.number().nullable(),
  /** Whether the change is beyond what chance (or, with last_year, the season plus chance) explains. */
  beyond_noise: z.boolean().nullable(),
  /** What makes the two periods not like for like (a period the data covers in part, unequal lengths). */
  warnings: z.array(z.string()),
  /** What beyond_noise judged the change against: chance alone, or the same change a year earlier. */
  judged_against: z.enum(['noise', 'last_year']),
  /** The same two periods a year earlier, and the part of this change their change does not explain. */
  last_year: z
    .object({
      period: periodSchema,
      baseline: periodSchema,
      change_percent: z.number().nullable(),
      expected: z.number(),
      unusual: z.number(),
      band_95: z.number(),
    })
    .nullable(),
  top_contributor: z
    .object({ dimension: z.string(), segment: z.string(), change: z.number(), share: z.number() })
    .nullable(),
  breakdowns: z.array(breakdownSchema),
  drill_down: z
    .object({ dimension: z.string(), segment: z.string(), breakdowns: z.array(breakdownSchema) })
    .nullable(),
  filters: filtersSchema,
});
export type ExplainChangeResult = z.infer<typeof explainChangeOutput>;
