import { z } from 'zod';
import { filterArguments, text } from '../framework/common-args.js';
import type { SchemaContext } from '../framework/definition.js';

export const DEFAULT_ELASTICITY = -0.5;

const isoDate = text.describe('YYYY-MM-DD');

/** forecast_subs' arguments: horizon, a what-if scenario, and the layer's filters. */
export function forecastSubsInput({ binding, policy }: SchemaContext) {
  return z.strictObject({
    horizon: z
      .number()
      .int()
      .min(1)
      .max(366)
      .optional()
      .describe('How far ahead, in `unit`s (default 6 months; at most 366 days).'),
    unit: z.enum(['days', 'weeks', 'months']).optional().describe('Unit of the horizon (default months).'),
    scenario: z
      .strictObject({
        churn_rate_change_pct: z
          .number()
          .min(-90)
          .max(500)
          .optional()
          .describe('Relative change of the churn rate in percent: 10 means 10% more cancellations.'),
        churn_rate_change_points: z
          .number()
          .min(-20)
          .max(20)
          .optional()
          .describe(
            'Change of the monthly churn rate in percentage points: 1 means a 4% monthly churn becomes 5% ("churn rises a point").',
          ),
        acquisition_change_pct: z
          .number()
          .min(-100)
          .max(500)
          .optional()
          .describe('Relative change of sign-ups in percent.'),
        price_change_pct: z.number().min(-90).max(300).optional().describe('A price change in percent.'),
        price_change_date: isoDate
          .optional()
          .describe('First day of the new price (default: the first forecast day).'),
        price_elasticity: z
          .number()
          .min(-5)
          .max(0)
          .optional()
          .describe(
            `Elasticity of sign-ups to price; churn moves by the opposite amount: with -0.5, +10% price means -5% sign-ups and +5% churn. Default: the responses estimated from this tenant's own price changes when its history has any (the answer's events.price_response), else ${DEFAULT_ELASTICITY}.`,
          ),
        campaign_uplift_pct: z
          .number()
          .min(0)
          .max(500)
          .optional()
          .describe('Extra sign-ups from a campaign, in percent.'),
        campaign_start: isoDate
          .optional()
          .describe('First day of the campaign (default: the first forecast day).'),
        campaign_end: isoDate
          .optional()
          .describe('Last day of the campaign (default: the end of the horizon).'),
      })
      .optional()
      .describe('What-if adjustments to the flows; without it only the baseline is forecast.'),
    ...filterArguments(binding, policy),
  });
}
