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

/** What forecast_subs answers (the door adds `summary` and `privacy`). */
export const forecastSubsOutput = z.object({
  metric: z.string(),
  current: z.object({ date: z.string(), value: z.number() }),
  history: period,
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
  warnings: z.array(z.string()),
  filters: filtersSchema,
  /** The path, daily up to 60 days, then at most 60 evenly spaced days ending at the horizon. */
  rows: z.array(z.record(z.string(), z.union([z.string(), z.number(), z.null()]))),
});
export type ForecastSubsResult = z.infer<typeof forecastSubsOutput>;
