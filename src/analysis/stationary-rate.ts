/**
 * A daily rate that returns to its level (a churn rate): not a random walk. On the log scale, each day is the
 * level of the recent window, plus its weekday's profile, plus the day's own noise; the level itself is
 * uncertain by as much as it has been, historically, between a window and the days that followed it. So a
 * forecast's spread grows only as far as the rate has really moved, never without bound. Pure: no I/O.
 */
import type { Forecast } from './forecast.js';
import { normalQuantile } from './statistics.js';

/** Days the level is the mean of. */
export const WINDOW = 91;
/** Days between the origins the level's own error is measured from. */
const STEP = 7;

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

/**
 * How far the mean of the next `days` days has come from the level of the window before, in this history:
 * the root mean square over origins `STEP` days apart (0 when the history is too short to tell).
 */
function levelError(logs: readonly number[], days: number): number {
  const errors: number[] = [];
  for (let origin = WINDOW; origin + days <= logs.length; origin += STEP) {
    const before = mean(logs.slice(origin - WINDOW, origin));
    const after = mean(logs.slice(origin, origin + days));
    errors.push(after - before);
  }
  if (errors.length < 3) return 0;
  return Math.sqrt(errors.reduce((sum, value) => sum + value * value, 0) / errors.length);
}

/** The level's error over `days` days, or over as long a stretch as the history can measure. */
export function measuredLevelError(logs: readonly number[], days: number): number {
  return levelError(logs, Math.max(1, Math.min(days, logs.length - WINDOW - 3 * STEP)));
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
    model: `level of ${Math.min(WINDOW, logs.length)} days with a weekly profile on log (level error ${drift.toFixed(3)})`,
    simulate: (normal) => {
      const shift = drift * normal();
      return centre.map((value) => Math.exp(value + shift + spread * normal()));
    },
    refit: (y, h) => forecastRate(y, h, period),
  };
}
