import { z } from 'zod';
import { filtersSchema } from '../framework/common-args.js';

const band = z.object({
  mean: z.number(),
  lower80: z.number(),
  upper80: z.number(),
  lower95: z.number(),
  upper95: z.number(),
});
const period = z.object({ from: z.string(), to: z.string(), days: z.number() });
const interval = z.object({ value: z.number(), lower95: z.number(), upper95: z.number() });

/** What forecast_subs answers (the door adds `summary` and `privacy`). */
export const forecastSubsOutput = z.object({
  metric: z.string(),
  current: z.object({ date: z.string(), value: z.number() }),
  history: period.extend({
    /** The stock every 7 days, ending on the last day of data: the history a chart draws before the forecast. */
    weekly: z.array(z.object({ date: z.string(), value: z.number() })),
  }),
  horizon: period,
  baseline: band,
  scenario: band.nullable(),
  /** Scenario minus baseline at the horizon. */
  difference: z.number().nullable(),
  scenario_applied: z.record(z.string(), z.union([z.number(), z.string()])).nullable(),
  models: z.object({ inflow: z.string(), churn_rate: z.string() }),
  accuracy: z
    .object({
      origins: z.number(),
      horizon_days: z.number(),
      mase: z.number(),
      smape: z.number(),
      seasonal_naive_mase: z.number(),
      seasonal_naive_smape: z.number(),
      /** Share of backtest days whose actual value fell inside the 95% interval. */
      coverage95: z.number(),
    })
    .nullable(),
  /**
   * Known events the model treats as interventions (taken out of the history before fitting, put back on the
   * forecast days), and the responses estimated from them, per +1% of price, with 95% intervals.
   */
  events: z.object({
    prices: z.array(z.object({ date: z.string(), change_pct: z.number() })),
    campaigns: z.object({ in_history: z.number(), scheduled: z.number() }),
    price_response: z
      .union([
        z.object({
          source: z.literal('estimated'),
          from_changes: z.number(),
          /** The churn rate's jump on the day a price rise of 1% takes effect, in percent. */
          churn_jump_pct: interval,
          /** How the jump goes: fading with a half-life, or a step of some days. */
          churn_jump_shape: z.string(),
          /** The churn rate's lasting change, in percent. */
          churn_lasting_pct: interval,
          /** The mean change of the churn rate over the 91 days after, in percent: its price elasticity. */
          churn_elasticity_91_days: interval,
          /** Sign-ups' lasting change, in percent. */
          signups_pct: interval.nullable(),
        }),
        z.object({ source: z.literal('assumed'), elasticity: z.number() }),
      ])
      .nullable(),
    /** Sign-ups' lift while one campaign runs, in percent. */
    campaign_lift_pct: interval.nullable(),
    /**
     * By the kind the layer names (the region a campaign targets, say): the history's campaigns of that kind and
     * their lift, which a scheduled campaign of the kind is expected to repeat (its 95% interval spans how much
     * they differ).
     */
    campaign_lift_by_kind: z.array(z.object({ kind: z.string(), campaigns: z.number(), lift_pct: interval })),
    /** Kinds of events the caller's access policy does not let the forecast read: noise to the model. */
    withheld: z.array(z.string()),
  }),
  warnings: z.array(z.string()),
  filters: filtersSchema,
  /** The path, daily up to 60 days, then at most 60 evenly spaced days ending at the horizon. */
  rows: z.array(z.record(z.string(), z.union([z.string(), z.number(), z.null()]))),
});
export type ForecastSubsResult = z.infer<typeof forecastSubsOutput>;
