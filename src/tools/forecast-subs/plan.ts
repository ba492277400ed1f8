import { DAYS_PER_MONTH } from '../../analysis/stock-flow.js';
import { ArgumentError } from '../../errors.js';
import type { ForecastDef } from '../../semantic/schema.js';
import { addDays, addMonths, dayCount } from '../../semantic/time-range.js';
import type { Call, ToolPlan } from '../framework/definition.js';

/** Days of history the flows are fitted on. */
const HISTORY_DAYS = 365;
const MAX_HORIZON_DAYS = 366;
const UNITS = { days: 1, weeks: 7, months: DAYS_PER_MONTH } as const;
export const HISTORY = 'history';

/** forecast_subs' planning results. */
export interface ForecastPlan {
  readonly binding: ForecastDef;
  readonly horizonDays: number;
  readonly historyFrom: string;
  readonly timeDimension: string;
}

/** The daily stock and flows of the last year, for the caller's filters. */
export async function planForecastSubs(call: Call): Promise<ToolPlan<ForecastPlan>> {
  const { args, binding } = call;
  const forecast = binding.forecast as ForecastDef;
  const unit = (args.unit as keyof typeof UNITS | undefined) ?? 'months';
  const horizon = (args.horizon as number | undefined) ?? 6;
  const tooFar = (days: number) =>
    new ArgumentError(
      'horizon',
      `horizon is ${days} days; at most ${MAX_HORIZON_DAYS} days (12 months, 52 weeks)`,
    );
  if (Math.ceil(horizon * UNITS[unit]) > MAX_HORIZON_DAYS + 3) throw tooFar(Math.ceil(horizon * UNITS[unit]));
  const [filters, anchor] = await Promise.all([
    call.facts.filters(binding, args),
    call.facts.anchor(binding),
  ]);
  // Months are calendar months from the last day of data: six months after 2026-10-31 is 2027-04-30.
  const horizonDays =
    unit === 'months' && Number.isInteger(horizon)
      ? dayCount({ from: addDays(anchor, 1), to: addMonths(anchor, horizon) })
      : Math.ceil(horizon * UNITS[unit]);
  if (horizonDays > MAX_HORIZON_DAYS) throw tooFar(horizonDays);
  const historyFrom = addDays(anchor, -(HISTORY_DAYS - 1));
  return {
    queries: {
      [HISTORY]: {
        query: {
          model: binding.model,
          metrics: [forecast.stock, forecast.inflow, forecast.outflow],
          dimensions: [],
          timeDimension: call.layer.timeDimensionOf(binding),
          grain: 'day',
          periods: [{ from: historyFrom, to: anchor, label: 'history' }],
          filters,
          order: [],
        },
      },
    },
    filters,
    anchor,
    detail: {
      binding: forecast,
      horizonDays,
      historyFrom,
      timeDimension: call.layer.timeDimensionOf(binding),
    },
  };
}
