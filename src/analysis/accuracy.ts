/** Forecast accuracy as the M4 competition measured it (Makridakis et al., 2020). */

/** sMAPE in percent: mean of 200·|y − f| / (|y| + |f|). */
export function smape(actual: readonly number[], forecast: readonly number[]): number {
  let sum = 0;
  actual.forEach((value, i) => {
    const f = forecast[i] ?? 0;
    sum += (200 * Math.abs(value - f)) / (Math.abs(value) + Math.abs(f) || 1);
  });
  return sum / Math.max(1, actual.length);
}

/** The in-sample mean absolute error of the seasonal naive forecast with lag `m`: MASE's denominator. */
export function naiveScale(history: readonly number[], m: number): number {
  let sum = 0;
  for (let t = m; t < history.length; t++) sum += Math.abs((history[t] ?? 0) - (history[t - m] ?? 0));
  return sum / Math.max(1, history.length - m);
}

/** MASE: mean absolute error scaled by the history's seasonal naive error (lag `m`). */
export function mase(
  history: readonly number[],
  actual: readonly number[],
  forecast: readonly number[],
  m: number,
): number {
  let sum = 0;
  actual.forEach((value, i) => {
    sum += Math.abs(value - (forecast[i] ?? 0));
  });
  return sum / Math.max(1, actual.length) / naiveScale(history, m);
}
