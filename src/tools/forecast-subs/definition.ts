import type { ToolDefinition } from '../framework/definition.js';
import { analyseForecastSubs } from './analyse.js';
import { forecastSubsInput } from './input.js';
import { type ForecastSubsResult, forecastSubsOutput } from './output.js';
import { type ForecastPlan, planForecastSubs } from './plan.js';
import { summariseForecastSubs } from './summary.js';

/** Subscribers ahead, as a stock and its flows, for a baseline and a what-if scenario. */
export const forecastSubs: ToolDefinition<ForecastPlan, ForecastSubsResult> = {
  name: 'forecast_subs',
  kind: 'forecast',
  scope: 'analytics:forecast',
  title: 'Forecast subscribers',
  purpose:
    'subscribers ahead with intervals and what-if scenarios (churn, acquisition, price, a campaign), and how accurate the model has been',
  description: (binding) =>
    `${binding.description ?? 'Forecasts subscribers.'} Example: "where will subscribers be in six months if churn rises a point?" is horizon 6, unit months, scenario {churn_rate_change_points: 1}.`,
  input: forecastSubsInput,
  output: forecastSubsOutput,
  plan: planForecastSubs,
  analyse: analyseForecastSubs,
  summarise: summariseForecastSubs,
};
