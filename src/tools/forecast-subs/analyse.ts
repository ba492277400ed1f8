import { LRUCache } from 'lru-cache';
import { forecastWarnings } from '../../analysis/forecast-warnings.js';
import {
  describeResponses,
  type Interval95,
  type KnownEvents,
  type Responses,
  splitAt,
} from '../../analysis/interventions.js';
import { roundTo, toNumber } from '../../analysis/period-results.js';
import {
  backtest,
  forecastFlows,
  projectStock,
  type Scenario,
  type StockPath,
} from '../../analysis/stock-flow.js';
import { ArgumentError, MarqueeError } from '../../errors.js';
import { addDays, dayCount, explicitRange } from '../../semantic/time-range.js';
import { filtersOutput } from '../framework/common-args.js';
import type { Analysis, Call, Results, ToolPlan } from '../framework/definition.js';
import { describeFilters } from '../framework/format.js';
import { cacheKey } from '../framework/result-cache.js';
import { DEFAULT_ELASTICITY } from './input.js';
import type { ForecastSubsResult } from './output.js';
import { CAMPAIGNS, type ForecastPlan, HISTORY, PRICE_CHANGES } from './plan.js';

const BACKTEST_ORIGINS = 3;
const BACKTEST_MAX_HORIZON = 28;
const MAX_ROWS = 60;
/** Fewer days of history than this and there is nothing to forecast from. */
const MIN_HISTORY_DAYS = 14;

/** Fitted flow models, their backtest and baseline, by a hash of what they came from (a few hundred at most). */
const FITTED = new LRUCache<string, Fitted>({ max: 256 });
interface Fitted {
  readonly flows: ReturnType<typeof forecastFlows>;
  readonly accuracy: ReturnType<typeof backtest>;
  readonly baseline: StockPath;
}

/** The models fitted on `inputs`, fitted now only when these inputs were never fitted before. */
function fittedFor(inputs: unknown, fitModels: () => Fitted): Fitted {
  const key = cacheKey(inputs);
  let found = FITTED.get(key);
  if (found === undefined) {
    found = fitModels();
    FITTED.set(key, found);
  }
  return found;
}

interface ScenarioArgs {
  churn_rate_change_pct?: number;
  churn_rate_change_points?: number;
  acquisition_change_pct?: number;
  price_change_pct?: number;
  price_change_date?: string;
  price_elasticity?: number;
  campaign_uplift_pct?: number;
  campaign_start?: string;
  campaign_end?: string;
}

/**
 * The scenario in steps from the first forecast day; dates are checked against the horizon. A price change
 * moves the flows as the history's own price changes did when there were any (`estimated`), else by the
 * caller's or the default elasticity.
 */
function scenarioOf(args: ScenarioArgs, first: string, last: string, estimated: boolean): Scenario {
  const step = (field: string, day: string | undefined, fallback: number): number => {
    if (day === undefined) return fallback;
    const range = explicitRange(day, day, `scenario.${field}`);
    if (range.from < first || range.from > last) {
      throw new ArgumentError(
        `scenario.${field}`,
        `scenario.${field} ${JSON.stringify(day)} is outside the forecast, ${first} to ${last}`,
      );
    }
    return dayCount({ from: first, to: range.from }) - 1;
  };
  const horizon = dayCount({ from: first, to: last });
  let campaign: Scenario['campaign'];
  if (args.campaign_uplift_pct !== undefined) {
    const from = step('campaign_start', args.campaign_start, 0);
    const to = step('campaign_end', args.campaign_end, horizon - 1);
    if (to < from) {
      throw new ArgumentError(
        'scenario.campaign_start',
        `scenario.campaign_start ${JSON.stringify(args.campaign_start)} is after campaign_end ${JSON.stringify(args.campaign_end)}; swap them`,
      );
    }
    campaign = { upliftPct: args.campaign_uplift_pct, from, to };
  }
  return {
    churnRateChangePct: args.churn_rate_change_pct,
    churnRateChangePoints: args.churn_rate_change_points,
    acquisitionChangePct: args.acquisition_change_pct,
    priceChange:
      args.price_change_pct === undefined
        ? undefined
        : {
            pct: args.price_change_pct,
            from: step('price_change_date', args.price_change_date, 0),
            elasticity: args.price_elasticity ?? (estimated ? undefined : DEFAULT_ELASTICITY),
          },
    campaign,
  };
}

/** Up to 60 days of the path: every day for short horizons, else evenly spaced, always ending at the horizon. */
function pathRows(first: string, baseline: StockPath, scenario: StockPath | undefined) {
  const n = baseline.mean.length;
  const step = n <= MAX_ROWS ? 1 : Math.ceil(n / MAX_ROWS);
  const indices: number[] = [];
  for (let i = n - 1; i >= 0; i -= step) indices.unshift(i);
  return indices.map((i) => ({
    date: addDays(first, i),
    baseline: Math.round(baseline.mean[i] ?? 0),
    baseline_lower95: Math.round(baseline.lower95[i] ?? 0),
    baseline_upper95: Math.round(baseline.upper95[i] ?? 0),
    ...(scenario === undefined
      ? {}
      : {
          scenario: Math.round(scenario.mean[i] ?? 0),
          scenario_lower95: Math.round(scenario.lower95[i] ?? 0),
          scenario_upper95: Math.round(scenario.upper95[i] ?? 0),
        }),
  }));
}

/**
 * The known events of the history's days (day 0 its first): price changes by the percent change of the summed
 * prices of a day, campaigns by their first and last day. Events before the history are left out; those after
 * it are scheduled.
 */
function knownEvents(results: Results, plan: ForecastPlan, firstDay: string): KnownEvents {
  const step = (day: unknown) => dayCount({ from: firstDay, to: String(day) }) - 1;
  const prices = plan.binding.prices;
  const campaigns = plan.binding.campaigns;
  return {
    priceChanges:
      prices === undefined
        ? []
        : results.rows(PRICE_CHANGES).flatMap((row) => {
            const before = toNumber(row[prices.old_price]) ?? 0;
            const after = toNumber(row[prices.new_price]) ?? 0;
            const day = String(row[prices.date] ?? '');
            if (!(before > 0) || day < firstDay) return [];
            return [{ step: step(day), pct: 100 * (after / before - 1) }];
          }),
    campaigns:
      campaigns === undefined
        ? []
        : results.rows(CAMPAIGNS).flatMap((row) => {
            const end = String(row[campaigns.end] ?? '');
            if (end < firstDay) return [];
            const kind = campaigns.kind === undefined ? undefined : row[campaigns.kind];
            // Absent from the row when the caller's policy hides it.
            return [
              {
                from: step(row[campaigns.start]),
                to: step(end),
                ...(kind === undefined || kind === null ? {} : { kind: String(kind) }),
              },
            ];
          }),
  };
}

const rounded = (interval: Interval95, digits = 2) => ({
  value: roundTo(interval.value, digits),
  lower95: roundTo(interval.lower95, digits),
  upper95: roundTo(interval.upper95, digits),
});

/** The known events and their estimated responses, as the answer reports them. */
function eventsOutput(
  events: KnownEvents,
  responses: Responses,
  days: readonly string[],
  scenario: Scenario | undefined,
  withheld: readonly string[],
): ForecastSubsResult['events'] {
  const described = describeResponses(responses);
  const firstDay = days[0] ?? '';
  const assumed = scenario?.priceChange?.elasticity;
  const split = splitAt(events, days.length);
  return {
    prices: events.priceChanges.map((change) => ({
      date: addDays(firstDay, change.step),
      change_pct: roundTo(change.pct, 2),
    })),
    campaigns: {
      in_history: split.past.campaigns.length,
      scheduled: split.future.campaigns.length,
    },
    price_response:
      assumed !== undefined
        ? { source: 'assumed', elasticity: assumed }
        : described.churn === undefined
          ? null
          : {
              source: 'estimated',
              from_changes: described.churn.changes,
              churn_jump_pct: rounded(described.churn.jump, 3),
              churn_jump_shape: described.churn.shape,
              churn_lasting_pct: rounded(described.churn.lasting, 3),
              churn_elasticity_91_days: rounded(described.churn.elasticity, 3),
              signups_pct: described.signups === undefined ? null : rounded(described.signups, 3),
            },
    campaign_lift_pct: described.campaignLift === undefined ? null : rounded(described.campaignLift),
    campaign_lift_by_kind: described.campaignKinds.map(({ kind, campaigns, lift }) => ({
      kind,
      campaigns,
      lift_pct: rounded(lift),
    })),
    withheld: [...withheld],
  };
}

/** Sign-ups and churn rate forecast, the stock projected for the baseline and the scenario, and a backtest. */
export function analyseForecastSubs(
  { detail }: ToolPlan<ForecastPlan>,
  results: Results,
  call: Call,
): Analysis<ForecastSubsResult> {
  const { binding, horizonDays, historyFrom, timeDimension } = detail;
  const filters = results.filters;
  if (results.withheld(HISTORY).length > 0) {
    throw new MarqueeError(
      'too_small',
      `The subscribers${filters.length > 0 ? ` of ${describeFilters(filters)}` : ''} are too few on some days to forecast without describing individuals: choose a larger group`,
    );
  }
  const days: string[] = [];
  const stock: number[] = [];
  const inflow: number[] = [];
  const outflow: number[] = [];
  for (const row of results.rows(HISTORY)) {
    days.push(String(row[timeDimension] ?? ''));
    stock.push(toNumber(row[binding.stock]) ?? 0);
    inflow.push(toNumber(row[binding.inflow]) ?? 0);
    outflow.push(toNumber(row[binding.outflow]) ?? 0);
  }
  if (days.length < MIN_HISTORY_DAYS) {
    throw new ArgumentError(
      filters.length > 0 ? (filters[0]?.argument ?? 'filters') : 'horizon',
      `Only ${days.length} days of subscriber history${filters.length > 0 ? ` for ${describeFilters(filters)}` : ''}; at least ${MIN_HISTORY_DAYS} are needed to forecast`,
    );
  }
  const lastDay = days[days.length - 1] ?? historyFrom;
  const first = addDays(lastDay, 1);
  const last = addDays(lastDay, horizonDays);
  const events = knownEvents(results, detail, days[0] ?? historyFrom);
  const history = { stock, inflow, outflow };
  const start = stock[stock.length - 1] ?? 0;
  // The models and the baseline depend only on the history, the horizon and the known events, never on the
  // scenario: fitted and projected once for them (about 40 fits with the backtest, 500 sample paths), then
  // reused by every scenario asked of the same history.
  const fitted = fittedFor({ history, horizonDays, periods: binding.seasonal_periods, events }, () => {
    const models = forecastFlows(history, horizonDays, binding.seasonal_periods, events);
    return {
      flows: models,
      baseline: projectStock(start, models, horizonDays),
      accuracy: backtest(history, {
        horizon: Math.min(horizonDays, BACKTEST_MAX_HORIZON),
        origins: BACKTEST_ORIGINS,
        period: binding.seasonal_periods[0] ?? 7,
        periods: binding.seasonal_periods,
        models,
        events,
      }),
    };
  });
  const { flows, accuracy, baseline } = fitted;
  const responses = flows.known?.responses ?? {};
  const scenarioArgs = call.args.scenario as ScenarioArgs | undefined;
  const scenario =
    scenarioArgs === undefined
      ? undefined
      : scenarioOf(scenarioArgs, first, last, responses.churn !== undefined);
  const alternative = scenario === undefined ? undefined : projectStock(start, flows, horizonDays, scenario);
  const at = (path: StockPath) => {
    const i = horizonDays - 1;
    return {
      mean: Math.round(path.mean[i] ?? 0),
      lower80: Math.round(path.lower80[i] ?? 0),
      upper80: Math.round(path.upper80[i] ?? 0),
      lower95: Math.round(path.lower95[i] ?? 0),
      upper95: Math.round(path.upper95[i] ?? 0),
    };
  };
  const baselineAt = at(baseline);
  const scenarioAt = alternative === undefined ? null : at(alternative);
  const rows = pathRows(first, baseline, alternative);
  const output: ForecastSubsResult = {
    metric: binding.stock,
    current: { date: lastDay, value: Math.round(start) },
    history: {
      from: days[0] ?? historyFrom,
      to: lastDay,
      days: days.length,
      weekly: days
        .map((date, i) => ({ date, value: Math.round(stock[i] ?? 0) }))
        .filter((_, i) => (days.length - 1 - i) % 7 === 0),
    },
    horizon: { from: first, to: last, days: horizonDays },
    baseline: baselineAt,
    scenario: scenarioAt,
    difference: scenarioAt === null ? null : scenarioAt.mean - baselineAt.mean,
    scenario_applied:
      scenarioArgs === undefined
        ? null
        : Object.fromEntries(Object.entries(scenarioArgs).filter(([, value]) => value !== undefined)),
    models: { inflow: flows.inflow.model, churn_rate: flows.churnRate.model },
    accuracy:
      accuracy === undefined
        ? null
        : {
            origins: accuracy.origins,
            horizon_days: accuracy.horizon,
            mase: roundTo(accuracy.mase, 3),
            smape: roundTo(accuracy.smape, 3),
            seasonal_naive_mase: roundTo(accuracy.naiveMase, 3),
            seasonal_naive_smape: roundTo(accuracy.naiveSmape, 3),
            coverage95: roundTo(accuracy.coverage95, 3),
          },
    events: eventsOutput(events, responses, days, scenario, detail.eventsWithheld),
    warnings: forecastWarnings({ days, stock, outflow, accuracy, events }),
    filters: filtersOutput(filters),
    rows,
  };
  return { output, rows: rows.length, table: { columns: Object.keys(rows[0] ?? {}), rows } };
}
