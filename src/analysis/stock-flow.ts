/**
 * Subscribers as a stock and its flows: sign-ups and the churn rate are forecast separately, then
 * active(t) = active(t − 1) + new(t) − rate(t) · active(t − 1). Scenarios adjust the flows, never the stock.
 * Pure: no I/O.
 */
import { mase as maseOf, naiveScale, smape as smapeOf } from './accuracy.js';
import { type Forecast, forecastSeries } from './forecast.js';
import {
  churnFactor,
  drawResponses,
  estimatedResponses,
  fitChurnResponse,
  fitSignupResponses,
  type KnownEvents,
  NO_EVENTS,
  type PriceChange,
  type ResponseDraw,
  type Responses,
  signupFactor,
  splitAt,
} from './interventions.js';
import { forecastGrowth, forecastRate, WINDOW as LEVEL_DAYS } from './stationary-rate.js';

/** Days per month, for monthly churn rates. */
export const DAYS_PER_MONTH = 30.4375;

/** A what-if, in steps (days) from the first forecast day. Percentages are percent (10 = +10%). */
export interface Scenario {
  /** Relative change of the churn rate: 10 means 10% more cancellations at the same stock. */
  readonly churnRateChangePct?: number | undefined;
  /** Absolute change of the monthly churn rate, in percentage points: 1 means 4.4% a month becomes 5.4%. */
  readonly churnRateChangePoints?: number | undefined;
  /** Relative change of sign-ups. */
  readonly acquisitionChangePct?: number | undefined;
  /**
   * A price change from step `from`. With an `elasticity`, sign-ups move by elasticity × pct and the churn rate
   * by −elasticity × pct; without one, both move as the history's own price changes moved them (the flows'
   * estimated responses, drawn with their uncertainty on each sample path).
   */
  readonly priceChange?:
    | { readonly pct: number; readonly from: number; readonly elasticity?: number | undefined }
    | undefined;
  /** Extra sign-ups from a campaign over steps [from, to]. */
  readonly campaign?: { readonly upliftPct: number; readonly from: number; readonly to: number } | undefined;
}

export interface StockPath {
  readonly mean: number[];
  readonly lower80: number[];
  readonly upper80: number[];
  readonly lower95: number[];
  readonly upper95: number[];
  readonly inflow: number[];
  readonly outflow: number[];
}

export interface FlowModels {
  readonly inflow: Forecast;
  readonly churnRate: Forecast;
  /**
   * The known events (days numbered from the history's first) the flows were cleaned of, their estimated
   * responses, and the history's length in days (the first forecast day's number).
   */
  readonly known?: { readonly events: KnownEvents; readonly responses: Responses; readonly days: number };
}

/** A daily history of the stock and its flows, aligned. */
export interface FlowHistory {
  readonly stock: readonly number[];
  readonly inflow: readonly number[];
  readonly outflow: readonly number[];
}

/** Above this share of zero days a flow is modelled on its own scale, not the log scale. */
const MAX_ZERO_SHARE = 0.05;

/**
 * A flow as its model takes it. Positive flows are modelled on the log scale; a few zero days (a quiet day of
 * churn) become half the smallest positive value, a day like the quietest ones, not a near-infinite dip
 * (1e-9 is −20.7 on the log scale, which one day moved a six-month forecast by 13%). With more zero days
 * the flow stays as it is, and the forecaster models it on its own scale.
 */
export function positive(values: readonly number[]): number[] {
  const zeros = values.filter((value) => !(value > 0)).length;
  if (zeros === 0 || zeros > MAX_ZERO_SHARE * values.length) return values.map((value) => Math.max(value, 0));
  const smallest = Math.min(...values.filter((value) => value > 0));
  return values.map((value) => (value > 0 ? value : smallest / 2));
}

/** Daily churn rates: churned(t) / active(t − 1). */
export function churnRates(stock: readonly number[], outflow: readonly number[]): number[] {
  const rates: number[] = [];
  for (let t = 1; t < stock.length; t++) {
    const before = stock[t - 1] ?? 0;
    rates.push(before > 0 ? (outflow[t] ?? 0) / before : 0);
  }
  return rates;
}

/**
 * Forecasts the flows of a history `horizon` days ahead. Known events are interventions: their responses are
 * estimated from the history, the flows are fitted on the history cleaned of them, and the projection puts
 * them back. With `refit`, the models chosen before are refitted (same form, no new selection).
 */
export function forecastFlows(
  history: FlowHistory,
  horizon: number,
  periods: readonly number[],
  events: KnownEvents = NO_EVENTS,
  refit?: FlowModels,
): FlowModels {
  const days = history.stock.length;
  const period = periods[0] ?? 7;
  const { past } = splitAt(events, days);
  // rates[j] is day j + 1's: the change of day d is the rates' d − 1.
  const rates = positive(churnRates(history.stock, history.outflow));
  const signups = positive(history.inflow);
  const logable = (values: readonly number[]) => values.every((value) => value > 0);
  const responses: Responses = {
    churn: logable(rates)
      ? fitChurnResponse(
          rates,
          past.priceChanges.map((change) => ({ ...change, step: change.step - 1 })),
          period,
        )
      : undefined,
    ...(logable(signups) ? fitSignupResponses(signups, past, period) : {}),
  };
  const estimate = estimatedResponses(responses);
  const cleanRates = withoutBreaks(
    rates.map((rate, j) => rate / Math.max(churnFactor(past.priceChanges, estimate, j + 1), 1e-6)),
  );
  const cleanSignups = signups.map(
    (value, t) => value / signupFactor(past, estimate, t, responses.campaignLifts),
  );
  return {
    // Sign-ups with many zero days cannot be taken on the log scale: ETS on their own scale.
    inflow:
      refit?.inflow.refit?.(cleanSignups, horizon) ??
      (logable(cleanSignups)
        ? forecastGrowth(cleanSignups, horizon, period)
        : forecastSeries(cleanSignups, { horizon, periods })),
    churnRate: refit?.churnRate.refit?.(cleanRates, horizon) ?? forecastRate(cleanRates, horizon, period),
    known: { events, responses, days },
  };
}

/** A break at least this many times the series' median (a week of churn after a price rise) is an event. */
export const BREAK_RATIO = 1.5;

/**
 * A daily rate with its breaks taken out: each week-long spike (a price rise, a billing failure) replaced by
 * the median of the series, so that the model fits the usual days and does not carry one event forward as
 * permanent noise. A lasting shift after the event stays in the data.
 */
export function withoutBreaks(rates: readonly number[]): number[] {
  const cleaned = [...rates];
  const sorted = [...rates].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  for (let round = 0; round < 8; round++) {
    const spike = largestSpike(cleaned);
    if (spike === undefined || spike.ratio < BREAK_RATIO) break;
    for (let i = spike.index; i < spike.index + 7 && i < cleaned.length; i++) cleaned[i] = median;
  }
  return cleaned;
}

/** A scenario's price change as a known change (step numbered like the forecast's days from 0), or none. */
function scenarioChanges(scenario: Scenario): PriceChange[] {
  const price = scenario.priceChange;
  return price === undefined ? [] : [{ step: price.from, pct: price.pct }];
}

function adjustRate(
  rate: number,
  step: number,
  scenario: Scenario,
  draw: ResponseDraw,
  changes: readonly PriceChange[],
): number {
  let adjusted = rate * (1 + (scenario.churnRateChangePct ?? 0) / 100);
  const price = scenario.priceChange;
  if (price !== undefined && step >= price.from)
    adjusted *=
      price.elasticity === undefined
        ? churnFactor(changes, draw, step)
        : 1 - (price.elasticity * price.pct) / 100;
  const points = scenario.churnRateChangePoints ?? 0;
  if (points !== 0) {
    const monthly = 1 - (1 - adjusted) ** DAYS_PER_MONTH + points / 100;
    adjusted = 1 - (1 - Math.min(Math.max(monthly, 0), 0.999)) ** (1 / DAYS_PER_MONTH);
  }
  return Math.max(0, adjusted);
}

function adjustInflow(value: number, step: number, scenario: Scenario, draw: ResponseDraw): number {
  let adjusted = value * (1 + (scenario.acquisitionChangePct ?? 0) / 100);
  const price = scenario.priceChange;
  if (price !== undefined && step >= price.from)
    adjusted *=
      price.elasticity === undefined
        ? Math.exp(draw.signupsPerPricePct * price.pct)
        : 1 + (price.elasticity * price.pct) / 100;
  const campaign = scenario.campaign;
  if (campaign !== undefined && step >= campaign.from && step <= campaign.to)
    adjusted *= 1 + campaign.upliftPct / 100;
  return Math.max(0, adjusted);
}

/** Sample paths per projection: enough for stable 2.5% and 97.5% quantiles, fast enough for a tool call. */
const PATHS = 500;

/** A seeded N(0, 1) generator (mulberry32 and Box–Muller): the same call always gives the same intervals. */
export function seededNormal(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    const u = Math.max(uniform(), 1e-12);
    const v = uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    spare = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  };
}

/**
 * What every sample path of one projection shares: the known events split at the first forecast day, the
 * responses' estimates, sign-ups' multiplier from past events on each forecast day, and for each past price
 * change the share of the churn level's days that predate it (its lasting shift is uncertain only that far:
 * a change long past is in the level already).
 */
function knownOnForecastDays(flows: FlowModels, horizon: number) {
  const known = flows.known ?? { events: NO_EVENTS, responses: {}, days: 0 };
  const { past, future } = splitAt(known.events, known.days);
  const estimate = estimatedResponses(known.responses);
  return {
    days: known.days,
    future,
    estimate,
    pastSignups: Array.from({ length: horizon }, (_, i) =>
      signupFactor(past, estimate, known.days + i, known.responses.campaignLifts),
    ),
    pastChanges: past.priceChanges.map((change) => ({
      change,
      before: Math.min(1, Math.max(0, (change.step + LEVEL_DAYS - known.days) / LEVEL_DAYS)),
    })),
  };
}

/**
 * The stock a pair of flow paths gives under a scenario, with the known events put back: past ones at their
 * estimated responses, ones not yet happened at this path's `draw`.
 */
function stockPath(
  start: number,
  inflow: readonly number[],
  rates: readonly number[],
  scenario: Scenario,
  known: ReturnType<typeof knownOnForecastDays>,
  draw: ResponseDraw,
) {
  const { estimate, future } = known;
  // Arrays built once per path, not once per day.
  const pastDraws = known.pastChanges.map(({ change, before }) => ({
    changes: [change],
    draw: { ...draw, lasting: estimate.lasting + before * (draw.lasting - estimate.lasting) },
  }));
  const scenarioChange = scenarioChanges(scenario);
  const stock: number[] = [];
  const inflows: number[] = [];
  const outflows: number[] = [];
  let level = start;
  // Loops, not callbacks: this runs for every day of every draw of every projection and backtest.
  for (let i = 0; i < inflow.length; i++) {
    const day = known.days + i;
    const signups = adjustInflow(
      (inflow[i] ?? 0) * (known.pastSignups[i] ?? 1) * signupFactor(future, draw, day),
      i,
      scenario,
      draw,
    );
    let rate = (rates[i] ?? 0) * churnFactor(future.priceChanges, draw, day);
    for (const past of pastDraws) rate *= churnFactor(past.changes, past.draw, day);
    const churned = adjustRate(rate, i, scenario, draw, scenarioChange) * level;
    level = level + signups - churned;
    stock.push(level);
    inflows.push(signups);
    outflows.push(churned);
  }
  return { stock, inflows, outflows };
}

function quantile(sorted: ArrayLike<number>, p: number): number {
  const position = p * (sorted.length - 1);
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return (sorted[low] ?? 0) + ((sorted[high] ?? 0) - (sorted[low] ?? 0)) * (position - low);
}

/**
 * The stock path from `start` under a scenario: its mean and quantiles over sample paths of both flows' models (each path's errors carried through the
 * model's own states, so day-to-day noise averages out and level shifts persist), the flows independent.
 */
export function projectStock(
  start: number,
  flows: FlowModels,
  horizon: number,
  scenario: Scenario = {},
): StockPath {
  const responses = flows.known?.responses ?? {};
  const known = knownOnForecastDays(flows, horizon);
  const point = stockPath(
    start,
    flows.inflow.mean.slice(0, horizon),
    flows.churnRate.mean.slice(0, horizon),
    scenario,
    known,
    known.estimate,
  );
  const { inflow: inflowModel, churnRate: rateModel } = flows;
  const normal = seededNormal(20_261_121);
  // Per day, the stock of every path (typed arrays: sorted natively, as numbers, without a comparator).
  const samples = Array.from({ length: horizon }, () => new Float64Array(PATHS));
  for (let k = 0; k < PATHS; k++) {
    const draw = drawResponses(responses, normal);
    const path = stockPath(
      start,
      inflowModel.simulate(normal),
      rateModel.simulate(normal),
      scenario,
      known,
      draw,
    ).stock;
    if (path.length !== horizon) throw new Error(`A simulated path has ${path.length} days, not ${horizon}`);
    for (const [i, values] of samples.entries()) values[k] = path[i] ?? 0;
  }
  const sorted = samples.map((values) => values.sort());
  const at = (p: number) => sorted.map((values) => Math.max(0, quantile(values, p)));
  // The point forecast is what it is called: the mean of the simulated stock (the stock from the flows'
  // point forecasts is neither its mean nor its median once the flows are uncertain).
  const mean = sorted.map((values) => {
    let sum = 0;
    for (const value of values) sum += value;
    return Math.max(0, sum / values.length);
  });
  return {
    mean,
    lower80: at(0.1),
    upper80: at(0.9),
    lower95: at(0.025),
    upper95: at(0.975),
    inflow: point.inflows,
    outflow: point.outflows,
  };
}

export interface Accuracy {
  readonly origins: number;
  readonly horizon: number;
  readonly mase: number;
  readonly smape: number;
  readonly naiveMase: number;
  readonly naiveSmape: number;
  /** Share of the backtest's actual values inside the 95% interval. */
  readonly coverage95: number;
}

/**
 * Rolling-origin backtest of the stock forecast on its own history: from each of `origins` origins `horizon`
 * days apart, fit the flows on what came before, project the stock, and score it against what happened, with
 * MASE (scaled by the in-sample seasonal naive error, lag `period`) and sMAPE, beside the seasonal naive
 * forecast of the stock itself.
 */
export function backtest(
  { stock, inflow, outflow }: FlowHistory,
  options: {
    horizon: number;
    origins: number;
    period: number;
    periods: readonly number[];
    /** The models chosen on the whole history: refitted at each origin (same form, no new selection). */
    models?: FlowModels | undefined;
    /** Known events, as announced: at each origin, those after it are scheduled. */
    events?: KnownEvents | undefined;
  },
): Accuracy | undefined {
  const { horizon, period } = options;
  let mase = 0;
  let smape = 0;
  let naiveMase = 0;
  let naiveSmape = 0;
  let used = 0;
  let inside = 0;
  let points = 0;
  for (let k = options.origins; k >= 1; k--) {
    const origin = stock.length - k * horizon;
    if (origin < Math.max(4 * period, 28)) continue;
    const history = {
      stock: stock.slice(0, origin),
      inflow: inflow.slice(0, origin),
      outflow: outflow.slice(0, origin),
    };
    const actual = stock.slice(origin, origin + horizon);
    const flows = forecastFlows(history, horizon, options.periods, options.events, options.models);
    const projected = projectStock(history.stock[origin - 1] ?? 0, flows, horizon);
    const path = projected.mean;
    actual.forEach((value, i) => {
      if (value >= (projected.lower95[i] ?? 0) && value <= (projected.upper95[i] ?? 0)) inside++;
      points++;
    });
    const naive = actual.map((_, i) => history.stock[origin - period + (i % period)] ?? 0);
    if (!(naiveScale(history.stock, period) > 0)) continue;
    const score = (forecast: readonly number[]) => ({
      mase: maseOf(history.stock, actual, forecast, period),
      smape: smapeOf(actual, forecast),
    });
    const model = score(path);
    const baseline = score(naive);
    mase += model.mase;
    smape += model.smape;
    naiveMase += baseline.mase;
    naiveSmape += baseline.smape;
    used++;
  }
  if (used === 0) return undefined;
  return {
    origins: used,
    horizon,
    mase: mase / used,
    smape: smape / used,
    naiveMase: naiveMase / used,
    naiveSmape: naiveSmape / used,
    coverage95: inside / Math.max(1, points),
  };
}

/**
 * The largest break in a daily rate series: the 7-day window whose mean is furthest above the series' median,
 * as a multiple of it (a spike in churn after a price change shows as 2× or more).
 */
export function largestSpike(
  values: readonly number[],
  window = 7,
): { index: number; ratio: number } | undefined {
  if (values.length < 4 * window) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  if (!(median > 0)) return undefined;
  let best: { index: number; ratio: number } | undefined;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i] ?? 0;
    if (i >= window) sum -= values[i - window] ?? 0;
    if (i >= window - 1) {
      const ratio = sum / window / median;
      if (best === undefined || ratio > best.ratio) best = { index: i - window + 1, ratio };
    }
  }
  return best;
}
