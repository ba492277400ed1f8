import { DAYS_PER_MONTH } from '../../analysis/stock-flow.js';
import { ArgumentError } from '../../errors.js';
import type { AppliedFilter } from '../../semantic/plan-query.js';
import type { DimensionFilter } from '../../semantic/query-plan.js';
import type { ForecastDef } from '../../semantic/schema.js';
import { addDays, addMonths, dayCount } from '../../semantic/time-range.js';
import { rowFiltersApply } from '../framework/analytics-service.js';
import type { Call, PlannedQuery, ToolPlan } from '../framework/definition.js';

/** Days of history the flows are fitted on. */
const HISTORY_DAYS = 365;
const MAX_HORIZON_DAYS = 366;
const UNITS = { days: 1, weeks: 7, months: DAYS_PER_MONTH } as const;
export const HISTORY = 'history';
export const PRICE_CHANGES = 'prices';
export const CAMPAIGNS = 'campaigns';

/** forecast_subs' planning results. */
export interface ForecastPlan {
  readonly binding: ForecastDef;
  readonly horizonDays: number;
  readonly historyFrom: string;
  readonly timeDimension: string;
  /** Known events the caller's policy does not let the forecast read (they are then noise to the model). */
  readonly eventsWithheld: readonly string[];
}

/**
 * The call's filters as they apply to an event table: a group of filters (a country OR a region) narrows the
 * events only when every filter of it maps to a dimension of theirs; otherwise the events apply across it.
 */
function eventFilters(
  filters: readonly AppliedFilter[],
  map: Readonly<Record<string, string>>,
): DimensionFilter[] {
  const groups = new Map<string, AppliedFilter[]>();
  for (const filter of filters) groups.set(filter.group, [...(groups.get(filter.group) ?? []), filter]);
  return [...groups.values()].flatMap((group) =>
    group.every((filter) => map[filter.argument] !== undefined)
      ? group.map((filter) => ({ ...filter, dimension: map[filter.argument] as string }))
      : [],
  );
}

/** The queries of the known events the layer declares and the caller may read, and those withheld. */
function eventQueries(call: Call, forecast: ForecastDef, filters: readonly AppliedFilter[]) {
  const { layer, policy } = call;
  const queries: Record<string, PlannedQuery> = {};
  const withheld: string[] = [];
  const declared = [
    forecast.prices === undefined
      ? undefined
      : {
          name: PRICE_CHANGES,
          what: 'price changes',
          dimensions: [forecast.prices.date],
          metrics: [forecast.prices.old_price, forecast.prices.new_price],
          map: forecast.prices.filters,
        },
    forecast.campaigns === undefined
      ? undefined
      : {
          name: CAMPAIGNS,
          what: 'campaigns',
          dimensions: [
            forecast.campaigns.id,
            forecast.campaigns.start,
            forecast.campaigns.end,
            // A kind the caller may not see is left out, not the campaigns: they are then all of one kind.
            ...(forecast.campaigns.kind === undefined || policy.hiddenDimensions.has(forecast.campaigns.kind)
              ? []
              : [forecast.campaigns.kind]),
          ],
          metrics: [],
          map: forecast.campaigns.filters,
        },
  ];
  for (const events of declared) {
    if (events === undefined) continue;
    const model = layer.dimensions.get(events.dimensions[0] ?? '')?.model ?? '';
    const hidden =
      events.metrics.some((metric) => policy.hiddenMetrics.has(metric)) ||
      events.dimensions.some((dimension) => policy.hiddenDimensions.has(dimension));
    if (hidden || !rowFiltersApply(layer, policy, model)) {
      withheld.push(events.what);
      continue;
    }
    queries[events.name] = {
      query: {
        model,
        metrics: events.metrics,
        dimensions: events.dimensions,
        timeDimension: '',
        periods: [],
        filters: eventFilters(filters, events.map),
        order: [],
      },
    };
  }
  return { queries, withheld };
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
  const events = eventQueries(call, forecast, filters);
  return {
    queries: {
      ...events.queries,
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
      eventsWithheld: events.withheld,
    },
  };
}
