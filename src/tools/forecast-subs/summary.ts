import { describeFilters, formatCount } from '../framework/format.js';
import type { ForecastSubsResult } from './output.js';

/** The baseline and scenario at the horizon, the model, its backtest and the warnings. */
export function summariseForecastSubs(output: ForecastSubsResult): string {
  const accuracy = output.accuracy;
  const lines: string[] = [];
  const b = output.baseline;
  const where = output.filters.length > 0 ? ` (${describeFilters(output.filters)})` : '';
  lines.push(
    `Active subscribers${where}: ${formatCount(output.current.value)} on ${output.current.date}. Baseline for ${output.horizon.to} (${output.horizon.days} days ahead): ${formatCount(b.mean)} (80% ${formatCount(b.lower80)} to ${formatCount(b.upper80)}; 95% ${formatCount(b.lower95)} to ${formatCount(b.upper95)}).`,
  );
  if (output.scenario !== null && output.difference !== null) {
    const s = output.scenario;
    const applied = Object.entries(output.scenario_applied ?? {})
      .map(([key, value]) => `${key} ${value}`)
      .join(', ');
    lines.push(
      `Scenario (${applied}): ${formatCount(s.mean)} (95% ${formatCount(s.lower95)} to ${formatCount(s.upper95)}), ${output.difference >= 0 ? '+' : '−'}${formatCount(Math.abs(output.difference))} vs baseline (${((100 * output.difference) / Math.max(1, b.mean)).toFixed(1)}%).`,
    );
  }
  lines.push(
    `Model: sign-ups ${output.models.inflow}; churn rate ${output.models.churn_rate}; stock = previous + sign-ups − churn rate × previous. History ${output.history.from} to ${output.history.to}.`,
  );
  if (accuracy !== null) {
    lines.push(
      `Backtest on this series (${accuracy.origins} origins, ${accuracy.horizon_days} days ahead): MASE ${accuracy.mase.toFixed(2)}, sMAPE ${accuracy.smape.toFixed(2)}% (seasonal naive: MASE ${accuracy.seasonal_naive_mase.toFixed(2)}, sMAPE ${accuracy.seasonal_naive_smape.toFixed(2)}%); ${(accuracy.coverage95 * 100).toFixed(0)}% of the actual days fell inside the 95% interval.`,
    );
  } else {
    lines.push('Backtest: not enough history to measure accuracy.');
  }
  for (const warning of output.warnings) lines.push(`Warning: ${warning}`);
  return lines.join('\n');
}
