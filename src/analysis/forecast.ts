import { type EtsFit, type EtsSpec, fitEts, forecastEts, simulateEts, type Trend } from './ets.js';
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
  /** The chosen model, e.g. "ETS(A,Ad,A) period 7 on log" or "… + seasonal naive 7 with drift". */
  readonly model: string;
  /** One sample path of the future on the series' scale; `normal` draws N(0, 1). */
  readonly simulate: (normal: () => number) => number[];
  /** The same model form (method and ETS specification, no new selection) fitted to another history. */
  readonly refit?: (y: readonly number[], horizon: number) => Forecast;
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

/**
 * A method Marquee chooses per series: plain ETS (any candidate, by AICc), or ETS without a linear trend
 * averaged with the seasonal naive forecast with drift of the shortest season, so strong stable cycles (hours
 * of the day, days of the week) are carried over instead of extrapolated.
 */
interface Method {
  readonly combine: boolean;
  readonly specs: (length: number) => EtsSpec[];
}

function methods(periods: readonly number[]): Method[] {
  return [
    { combine: false, specs: (length) => candidates(length, periods) },
    {
      combine: true,
      specs: (length) => candidates(length, periods).filter((spec) => spec.trend !== 'additive'),
    },
  ];
}

function bestFit(series: readonly number[], specs: readonly EtsSpec[]): EtsFit {
  let best: EtsFit | undefined;
  for (const spec of specs) {
    const fit = fitEts(series, spec);
    if (best === undefined || fit.aicc < best.aicc) best = fit;
  }
  if (best === undefined) throw new Error('Cannot forecast an empty series');
  return best;
}

/** A fitted model's forecast on the modelling scale, with the combination's shift from the ETS mean. */
interface Scaled {
  readonly fit: EtsFit;
  readonly mean: number[];
  readonly variance: number[];
  /** Combined mean minus ETS mean, per step (zeros without a combination). */
  readonly shift: number[];
  readonly season: number | undefined;
}

function project(
  series: readonly number[],
  fit: EtsFit,
  horizon: number,
  combine: boolean,
  periods: readonly number[],
): Scaled {
  const base = forecastEts(fit, horizon);
  const season = combine
    ? periods.filter((period) => period > 1 && series.length >= period).sort((a, b) => a - b)[0]
    : undefined;
  if (season === undefined) return { fit, ...base, shift: base.mean.map(() => 0), season };
  const n = series.length;
  const drift =
    ((series[n - 1] ?? 0) - (series[(n - 1) % season] ?? 0)) / Math.max(1, Math.floor((n - 1) / season));
  const mean = base.mean.map((value, i) => {
    const naive = (series[n - season + (i % season)] ?? value) + drift * (Math.floor(i / season) + 1);
    return (value + naive) / 2;
  });
  return {
    fit,
    mean,
    variance: base.variance,
    shift: mean.map((value, i) => value - (base.mean[i] ?? 0)),
    season,
  };
}

function meanAbsoluteError(actual: readonly number[], forecast: readonly number[]): number {
  let sum = 0;
  actual.forEach((value, i) => {
    sum += Math.abs(value - (forecast[i] ?? 0));
  });
  return sum / Math.max(1, actual.length);
}

/** The Forecast of a fitted method: back on the series' scale, with intervals, sampling and refitting. */
function finish(scaled: Scaled, log: boolean, method: Method, periods: readonly number[]): Forecast {
  const back = (value: number) => (log ? Math.exp(value) : value);
  const interval = (level: number): Interval => {
    const z = normalQuantile(1 - (1 - level) / 2);
    return {
      lower: scaled.mean.map((m, i) => back(m - z * Math.sqrt(scaled.variance[i] ?? 0))),
      upper: scaled.mean.map((m, i) => back(m + z * Math.sqrt(scaled.variance[i] ?? 0))),
    };
  };
  const model = `${describe(scaled.fit, log)}${scaled.season === undefined ? '' : ` + seasonal naive ${scaled.season} with drift`}`;
  return {
    mean: scaled.mean.map(back),
    intervals: { 80: interval(0.8), 95: interval(0.95) },
    model,
    simulate: (normal) =>
      simulateEts(scaled.fit, scaled.mean.length, normal).map((value, i) =>
        back(value + (scaled.shift[i] ?? 0)),
      ),
    refit: (y, horizon) => {
      const refitLog = log && y.every((value) => value > 0);
      const series = refitLog ? y.map(Math.log) : [...y];
      const fit = fitEts(series, scaled.fit.spec);
      return finish(project(series, fit, horizon, method.combine, periods), refitLog, method, periods);
    },
  };
}

/**
 * Forecasts `y` `horizon` steps ahead with 80% and 95% prediction intervals. Two methods compete per series:
 * additive-error ETS (no, additive or damped trend; each candidate seasonality; chosen by AICc), and ETS
 * without a linear trend averaged with the seasonal naive forecast with drift. The one with the smaller error
 * on the last `horizon` values (fitted without them) is refitted on the whole history. A positive series is
 * modelled on the log scale, so seasonal and trend effects scale with the level and intervals stay positive;
 * intervals are the analytic ETS intervals, centred on the chosen forecast.
 */
export function forecastSeries(y: readonly number[], options: ForecastOptions): Forecast {
  const { horizon, periods } = options;
  const log = y.length > 0 && y.every((value) => value > 0);
  const series = log ? y.map(Math.log) : [...y];
  const back = (value: number) => (log ? Math.exp(value) : value);
  const pool = methods(periods);
  let chosen = pool[0] as Method;
  if (series.length >= 3 * horizon + 8) {
    const training = series.slice(0, series.length - horizon);
    const holdout = y.slice(y.length - horizon);
    let bestError = Number.POSITIVE_INFINITY;
    for (const method of pool) {
      const trial = project(
        training,
        bestFit(training, method.specs(training.length)),
        horizon,
        method.combine,
        periods,
      );
      const error = meanAbsoluteError(holdout, trial.mean.map(back));
      if (error < bestError) {
        bestError = error;
        chosen = method;
      }
    }
  }
  const fit = bestFit(series, chosen.specs(series.length));
  return finish(project(series, fit, horizon, chosen.combine, periods), log, chosen, periods);
}
