/**
 * Daily rates and flows forecast as a level (a churn rate, which returns to its level: not a random walk) or a
 * line (sign-ups of a growing service), with a weekly profile, on the log scale. Each day is the level or line
 * of the recent window, plus its weekday's profile, plus the day's own noise; the level or line itself is
 * uncertain by as much as it has been, historically, between a window and the days that followed it. So a
 * forecast's spread grows only as far as the series has really strayed from such a forecast, never without
 * bound. Pure: no I/O.
 */
import type { Forecast } from './forecast.js';
import { leastSquares, normalQuantile } from './statistics.js';

/** Days the level is the mean of. */
export const WINDOW = 91;
/** Days between the origins the level's own error is measured from. */
const STEP = 7;
/**
 * The share of the measured error a forecast's persistent shift carries: one whose 95% bands held 90–98% of
 * the time on every series of `npm run bench:forecast-subs-calibration`, with a step to spare (at 1 and 0.9 a
 * series with price rises held 100%; 0.75 held 91% on a smoothly growing one, 0.7 83%). README decision 31.
 */
const CALIBRATION = 0.8;

const mean = (values: readonly number[]) =>
  values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);

/** The level and weekday profile of `logs` over its last `WINDOW` days, and the days' spread around them. */
export function levelOf(logs: readonly number[], period: number) {
  const recent = logs.slice(-WINDOW);
  const start = logs.length - recent.length;
  const level = mean(recent);
  const profile = Array.from({ length: period }, (_, day) =>
    mean(recent.filter((_, i) => (start + i) % period === day).map((value) => value - level)),
  );
  const residuals = recent.map((value, i) => value - level - (profile[(start + i) % period] ?? 0));
  const spread = Math.sqrt(
    residuals.reduce((sum, value) => sum + value * value, 0) / Math.max(1, residuals.length - 1),
  );
  return { level, profile, spread };
}

/** What a fit of the window `logs[from, to)` expects on a day. */
type WindowFit = (from: number, to: number) => ((day: number) => number) | undefined;

/**
 * How far the mean of the next `days` days (or as many as the history can measure) has come from what a fit
 * of the window before expected, in this history: the root mean square over origins `STEP` days apart
 * (undefined when fewer than 3 origins, too few to tell).
 */
function measuredError(logs: readonly number[], days: number, fitWindow: WindowFit): number | undefined {
  const stretch = Math.max(1, Math.min(days, logs.length - WINDOW - 3 * STEP));
  const errors: number[] = [];
  for (let origin = WINDOW; origin + stretch <= logs.length; origin += STEP) {
    const at = fitWindow(origin - WINDOW, origin);
    if (at === undefined) continue;
    errors.push(mean(Array.from({ length: stretch }, (_, i) => (logs[origin + i] ?? 0) - at(origin + i))));
  }
  if (errors.length < 3) return undefined;
  return Math.sqrt(errors.reduce((sum, value) => sum + value * value, 0) / errors.length);
}

/** The level's error over `days` days, or over as long a stretch as the history can measure (0: too short). */
export function measuredLevelError(logs: readonly number[], days: number): number {
  return (
    measuredError(logs, days, (from, to) => {
      const level = mean(logs.slice(from, to));
      return () => level;
    }) ?? 0
  );
}

/**
 * A line through `logs[from, to)` with a weekday profile, by least squares: its expected value on any day (day
 * numbers as in `logs`) and the days' spread around it. Undefined when the days cannot fix a line.
 */
function lineOf(logs: readonly number[], period: number, from: number, to: number) {
  const days = Array.from({ length: to - from }, (_, i) => from + i);
  const row = (day: number) => [
    1,
    day - to,
    ...Array.from({ length: period - 1 }, (_, k) => (day % period === k + 1 ? 1 : 0)),
  ];
  const fit = leastSquares(
    days.map(row),
    days.map((day) => logs[day] ?? 0),
  );
  if (fit === undefined) return undefined;
  const at = (day: number) => row(day).reduce((sum, value, k) => sum + value * (fit.coefficients[k] ?? 0), 0);
  return { at, spread: Math.sqrt(fit.sigma2) };
}

/** A forecast on the log scale around `centre`: each path one persistent shift of sd `drift`, daily noise `spread`. */
function logForecast(
  centre: readonly number[],
  spread: number,
  drift: number,
  model: string,
  refit: (y: readonly number[], horizon: number) => Forecast,
): Forecast {
  const band = (p: number) => {
    const z = normalQuantile(1 - (1 - p) / 2);
    const sd = Math.sqrt(spread * spread + drift * drift);
    return {
      lower: centre.map((value) => Math.exp(value - z * sd)),
      upper: centre.map((value) => Math.exp(value + z * sd)),
    };
  };
  return {
    mean: centre.map(Math.exp),
    intervals: { 80: band(0.8), 95: band(0.95) },
    model,
    simulate: (normal) => {
      const shift = drift * normal();
      return centre.map((value) => Math.exp(value + shift + spread * normal()));
    },
    refit,
  };
}

/**
 * Forecasts a positive daily rate `horizon` days ahead as a level with a weekly profile: mean (the median on
 * the rate's scale), 80% and 95% intervals, and sample paths whose level error persists along the path.
 */
export function forecastRate(rates: readonly number[], horizon: number, period = 7): Forecast {
  const logs = rates.map((rate) => Math.log(rate));
  const { level, profile, spread } = levelOf(logs, period);
  const drift = measuredLevelError(logs, horizon);
  const centre = Array.from(
    { length: horizon },
    (_, step) => level + (profile[(logs.length + step) % period] ?? 0),
  );
  return logForecast(
    centre,
    spread,
    CALIBRATION * drift,
    `level of ${Math.min(WINDOW, logs.length)} days with a weekly profile on log (level error ${(CALIBRATION * drift).toFixed(3)})`,
    (y, h) => forecastRate(y, h, period),
  );
}

/**
 * Forecasts a positive daily flow `horizon` days ahead along the line (on the log scale: steady growth or
 * decline) of its last `WINDOW` days, with a weekly profile; the line's error is measured over this history as
 * the level's is in forecastRate. A history too short to measure a line's misses is forecast as a level.
 */
export function forecastGrowth(values: readonly number[], horizon: number, period = 7): Forecast {
  const logs = values.map((value) => Math.log(value));
  const line = lineOf(logs, period, Math.max(0, logs.length - WINDOW), logs.length);
  const drift = measuredError(logs, horizon, (from, to) => lineOf(logs, period, from, to)?.at);
  // A line whose misses cannot be measured (under about 16 weeks of days) would be trusted blindly: a level.
  if (line === undefined || drift === undefined) return forecastRate(values, horizon, period);
  // A flow that has strayed less from its level than from its line (bumps a line would extrapolate: campaigns the
  // caller cannot see) is forecast as a level.
  if (measuredLevelError(logs, horizon) < drift) return forecastRate(values, horizon, period);
  const centre = Array.from({ length: horizon }, (_, step) => line.at(logs.length + step));
  return logForecast(
    centre,
    line.spread,
    CALIBRATION * drift,
    `line of ${Math.min(WINDOW, logs.length)} days with a weekly profile on log (line error ${(CALIBRATION * drift).toFixed(3)})`,
    (y, h) => forecastGrowth(y, h, period),
  );
}
