import { dayCount } from '../semantic/time-range.js';
import type { KnownEvents } from './interventions.js';
import { type Accuracy, BREAK_RATIO, churnRates, largestSpike } from './stock-flow.js';

/** Fewer days of history than this and the forecast says so. */
export const SHORT_HISTORY_DAYS = 56;

/** Days after a known price change within which a break in churn is that change's (not unexplained). */
const EXPLAINED_DAYS = 7;

/**
 * What a reader of a subscriber forecast must be told: a short history, a break in the churn rate that no known
 * price change explains (the model fits through it and does not expect it to repeat), and a backtest worse
 * than a seasonal naive forecast.
 */
export function forecastWarnings(history: {
  readonly days: readonly string[];
  readonly stock: readonly number[];
  readonly outflow: readonly number[];
  readonly accuracy: Accuracy | undefined;
  readonly events: KnownEvents;
}): string[] {
  const { days, accuracy } = history;
  const warnings: string[] = [];
  if (days.length < SHORT_HISTORY_DAYS)
    warnings.push(`Only ${days.length} days of history: the forecast and its accuracy are rough.`);
  const spike = largestSpike(churnRates(history.stock, history.outflow));
  const lastDay = days[days.length - 1] ?? '';
  // rates[j] is day j + 1's.
  const explained = (index: number) =>
    history.events.priceChanges.some(
      (change) => index + 1 >= change.step - EXPLAINED_DAYS && index + 1 <= change.step + EXPLAINED_DAYS,
    );
  if (spike !== undefined && spike.ratio >= BREAK_RATIO && !explained(spike.index)) {
    const from = days[spike.index + 1] ?? '';
    const ago = dayCount({ from, to: lastDay }) - 1;
    warnings.push(
      `The series broke on ${from}: churn in the 7 days from then ran ${spike.ratio.toFixed(1)}x its usual rate (${ago} days before the last day of data). The model fits through it and does not expect it to repeat; check for a price change or an outage then.`,
    );
  }
  if (accuracy !== undefined && accuracy.mase > accuracy.naiveMase)
    warnings.push(
      'On this series the model backtests worse than a seasonal naive forecast: read it with care.',
    );
  return warnings;
}
