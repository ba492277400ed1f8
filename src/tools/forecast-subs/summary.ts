import { quoteData } from '../../guard/untrusted-text.js';
import { describeFilters, formatCount } from '../framework/format.js';
import type { ForecastSubsResult } from './output.js';

const signed = (value: number, digits = 2) => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(digits)}%`;
const span = (interval: { lower95: number; upper95: number }, digits = 2) =>
  `95% ${signed(interval.lower95, digits)} to ${signed(interval.upper95, digits)}`;

/** What the model knew of price changes and campaigns, and what it estimated from them. */
function eventLines(events: ForecastSubsResult['events']): string[] {
  const lines: string[] = [];
  const response = events.price_response;
  const changes = events.prices.map((change) => `${change.date} ${signed(change.change_pct, 1)}`);
  if (response?.source === 'estimated') {
    lines.push(
      `Price changes (${changes.join(', ')}) are modelled as interventions, not noise. Per +1% of price, this history shows churn ${signed(response.churn_jump_pct.value)} on the day (the jump ${response.churn_jump_shape}), ${signed(response.churn_elasticity_91_days.value)} on average over 91 days (${span(response.churn_elasticity_91_days)}), lasting ${signed(response.churn_lasting_pct.value)} (${span(response.churn_lasting_pct)})${response.signups_pct === null ? '' : `; sign-ups ${signed(response.signups_pct.value)} (${span(response.signups_pct)})`}. A price scenario uses these, with their uncertainty.`,
    );
  } else if (response?.source === 'assumed') {
    lines.push(
      `The price scenario assumes an elasticity of ${response.elasticity}: sign-ups move by ${response.elasticity} × the price change and churn by the opposite${changes.length > 0 ? '' : events.withheld.includes('price changes') ? ' (your access policy does not cover the price changes it could be estimated from)' : ' (this history has no price change to estimate it from)'}.`,
    );
  }
  if (events.campaign_lift_pct !== null) {
    const lift = events.campaign_lift_pct;
    lines.push(
      `Campaigns (${events.campaigns.in_history} in the history${events.campaigns.scheduled > 0 ? `, ${events.campaigns.scheduled} scheduled in the forecast` : ''}) are modelled as interventions: sign-ups ran ${signed(lift.value, 1)} while one ran (${span(lift, 1)}).`,
    );
    const kinds = events.campaign_lift_by_kind;
    if (kinds.length > 0)
      lines.push(
        `By kind (a scheduled campaign is expected to lift as past ones of its kind did): ${kinds.map(({ kind, campaigns, lift_pct }) => `${quoteData(kind)} ${signed(lift_pct.value, 1)} (${campaigns} ${campaigns === 1 ? 'campaign' : 'campaigns'})`).join(', ')}.`,
      );
  }
  if (events.withheld.length > 0)
    lines.push(
      `Your access policy does not cover ${events.withheld.join(' or ')}: the model cannot tell their effects from noise.`,
    );
  return lines;
}

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
      `Scenario (${applied}): ${formatCount(s.mean)} (95% ${formatCount(s.lower95)} to ${formatCount(s.upper95)}), ${output.difference >= 0 ? '+' : '−'}${formatCount(Math.abs(output.difference))} vs baseline (${signed((100 * output.difference) / Math.max(1, b.mean), 1)}).`,
    );
  }
  lines.push(...eventLines(output.events));
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
