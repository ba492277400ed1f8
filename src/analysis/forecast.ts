import { type EtsFit, type EtsSpec, fitEts, forecastEts, type Trend } from './ets.js';
import { normalQuantile } from './statistics.js';

export interface ForecastOptions {
  readonly horizon: number;
  /**
   * Candidate seasonal periods (in steps), e.g. [7] for daily data, [24, 168] for hourly; each is tried when
   * the history covers two of it.
   */
  readonly periods: readonly number[];
}

export interface Interval {
  readonly lower: number[];
  readonly upper: number[];
}

export interface Forecast {
  readonly mean: number[];
  readonly intervals: { readonly 80: Interval; readonly 95: Interval };
  /** The chosen model, e.g. "ETS(A,Ad,A) period 7 on log" or "ETS(A,N,A) period 24 on log + seasonal naive 24". */
  readonly model: string;
}

const TRENDS: readonly Trend[] = ['none', 'additive', 'damped'];

/** The candidate ETS models a history of `length` supports. */
export function candidates(length: number, periods: readonly number[]): EtsSpec[] {
  const seasonalities = [1, ...periods.filter((period) => period > 1 && length >= 2 * period + 4)];
  return seasonalities.flatMap((period) => TRENDS.map((trend) => ({ trend, period })));
}

function describe(fit: EtsFit, log: boolean): string {
  const trend = { none: 'N', additive: 'A', damped: 'Ad' }[fit.spec.trend];
  const season = fit.spec.period > 1 ? `A) period ${fit.spec.period}` : 'N)';
  return `ETS(A,${trend},${season}${log ? ' on log' : ''}`;
}

/** A forecast on the modelling scale (log for positive series): means and variances per step. */
interface ScaledForecast {
  readonly mean: number[];
  readonly variance: number[];
  readonly model: string;
}

/** The AICc-best ETS model among `specs`, forecast `horizon` steps. */
function bestEts(
  series: readonly number[],
  specs: readonly EtsSpec[],
  horizon: number,
  log: boolean,
): ScaledForecast {
  let best: EtsFit | undefined;
  for (const spec of specs) {
    const fit = fitEts(series, spec);
    if (best === undefined || fit.aicc < best.aicc) best = fit;
  }
  if (best === undefined) throw new Error('Cannot forecast an empty series');
  return { ...forecastEts(best, horizon), model: describe(best, log) };
}

/** The methods Marquee chooses between per series, by a holdout of the last `horizon` values. */
type Method = (series: readonly number[], horizon: number, log: boolean) => ScaledForecast;

function methods(periods: readonly number[]): Method[] {
  const ets: Method = (series, horizon, log) =>
    bestEts(series, candidates(series.length, periods), horizon, log);
  // ETS without a linear trend, averaged with the seasonal naive forecast of the shortest season: strong,
  // stable cycles (hours of the day, days of the week) are carried over instead of extrapolated.
  const combined: Method = (series, horizon, log) => {
    const season = periods.filter((period) => period > 1 && series.length >= period).sort((a, b) => a - b)[0];
    const base = bestEts(
      series,
      candidates(series.length, periods).filter((spec) => spec.trend !== 'additive'),
      horizon,
      log,
    );
    if (season === undefined) return base;
    // Seasonal naive with drift: last season repeated, moved by the average change per season.
    const n = series.length;
    const drift =
      ((series[n - 1] ?? 0) - (series[(n - 1) % season] ?? 0)) / Math.max(1, Math.floor((n - 1) / season));
    const mean = base.mean.map((value, i) => {
      const naive = (series[n - season + (i % season)] ?? value) + drift * (Math.floor(i / season) + 1);
      return (value + naive) / 2;
    });
    return { mean, variance: base.variance, model: `${base.model} + seasonal naive ${season} with drift` };
  };
  return [ets, combined];
}

function meanAbsoluteError(actual: readonly number[], forecast: readonly number[]): number {
  let sum = 0;
  actual.forEach((value, i) => {
    sum += Math.abs(value - (forecast[i] ?? 0));
  });
  return sum / Math.max(1, actual.length);
}

/**
 * Forecasts `y` `horizon` steps ahead with 80% and 95% prediction intervals. Two methods compete per series:
 * additive-error ETS (no, additive or damped trend; each candidate seasonality; chosen by AICc), and ETS
 * without a linear trend averaged with the seasonal naive forecast. The one with the smaller error on the
 * last `horizon` values (fitted without them) is refitted on the whole history. A positive series is modelled
 * on the log scale, so seasonal and trend effects scale with the level and intervals stay positive;
 * intervals are the analytic ETS intervals, centred on the chosen forecast.
 */
export function forecastSeries(y: readonly number[], options: ForecastOptions): Forecast {
  const { horizon } = options;
  const log = y.length > 0 && y.every((value) => value > 0);
  const series = log ? y.map(Math.log) : [...y];
  const back = (value: number) => (log ? Math.exp(value) : value);
  const pool = methods(options.periods);
  let chosen = pool[0] as Method;
  if (series.length >= 3 * horizon + 8) {
    const training = series.slice(0, series.length - horizon);
    const holdout = y.slice(y.length - horizon);
    let bestError = Number.POSITIVE_INFINITY;
    for (const method of pool) {
      const error = meanAbsoluteError(holdout, method(training, horizon, log).mean.map(back));
      if (error < bestError) {
        bestError = error;
        chosen = method;
      }
    }
  }
  const { mean, variance, model } = chosen(series, horizon, log);
  const interval = (level: number): Interval => {
    const z = normalQuantile(1 - (1 - level) / 2);
    return {
      lower: mean.map((m, i) => back(m - z * Math.sqrt(variance[i] ?? 0))),
      upper: mean.map((m, i) => back(m + z * Math.sqrt(variance[i] ?? 0))),
    };
  };
  return { mean: mean.map(back), intervals: { 80: interval(0.8), 95: interval(0.95) }, model };
}
