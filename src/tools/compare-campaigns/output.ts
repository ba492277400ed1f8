import { z } from 'zod';
import { VERDICTS } from '../../analysis/verdict.js';
import { filtersSchema, pageSchema } from '../framework/common-args.js';

/** [low, high]; an array, not a tuple, so every JSON Schema draft clients use reads it. */
const interval = z.array(z.number()).length(2);
export const proportionTestSchema = z.object({
  difference: z.number(),
  interval,
  z: z.number(),
  p_value: z.number(),
  significant: z.boolean(),
});
export const welchSchema = z.object({
  difference: z.number(),
  interval,
  t: z.number(),
  df: z.number(),
  p_value: z.number(),
  significant: z.boolean(),
});
const campaignSchema = z.object({
  label: z.enum(['A', 'B']),
  campaign_id: z.string(),
  name: z.string().nullable(),
  launch: z.string().nullable(),
  end: z.string().nullable(),
  /** The treatment arm's funnel, metric by metric (null when too few people to show). */
  funnel: z.record(z.string(), z.number().nullable()),
  conversion_rate: z.number().nullable(),
  spend: z.number().nullable(),
  cost_per_acquisition: z.number().nullable(),
  holdout: z.object({ units: z.number(), conversions: z.number(), conversion_rate: z.number() }).nullable(),
  lift: z
    .object({
      absolute: z.number(),
      relative: z.number().nullable(),
      interval,
      p_value: z.number(),
      significant: z.boolean(),
      incremental_conversions: z.number(),
      cost_per_incremental_acquisition: z.number().nullable(),
    })
    .nullable(),
  split: z
    .object({
      control_share: z.number(),
      planned_share: z.number(),
      chi_square: z.number(),
      p_value: z.number(),
      mismatch: z.boolean(),
    })
    .nullable(),
  retention: z
    .object({ days: z.number(), cohort: z.number(), retained: z.number(), rate: z.number() })
    .nullable(),
  engagement: z.object({ units: z.number(), mean: z.number(), sd: z.number() }).nullable(),
});
export type CampaignResult = z.infer<typeof campaignSchema>;

/** What compare_campaigns answers (the door adds `summary` and `privacy`). */
export const compareCampaignsOutput = z.object({
  verdict: z.enum(VERDICTS),
  confidence: z.number(),
  /** What the verdict is about: the treatment conversion rates of the two campaigns. */
  primary_metric: z.string(),
  /** Campaign A, then campaign B. */
  campaigns: z.array(campaignSchema).length(2),
  tests: z.object({
    conversion_rate: proportionTestSchema.nullable(),
    retention: proportionTestSchema.nullable(),
    engagement: welchSchema.nullable(),
  }),
  /** The smallest conversion-rate difference these sample sizes detect with 80% power. */
  minimum_detectable_difference: z.number().nullable(),
  warnings: z.array(z.string()),
  filters: filtersSchema,
  /** Cumulative treatment reach, conversions, rate and lift over holdout of each campaign, by days since launch. */
  aligned: z.array(z.record(z.string(), z.number().nullable())),
  page: pageSchema,
});
export type CompareCampaignsResult = z.infer<typeof compareCampaignsOutput>;
