import { quoteData } from '../../guard/untrusted-text.js';
import { quote } from '../../semantic/did-you-mean.js';
import type { Call, ToolPlan } from '../framework/definition.js';
import { describeFilters, formatCount, formatPoints, signOf } from '../framework/format.js';
import { formatP } from './analyse.js';
import type { CampaignResult, CompareCampaignsResult } from './output.js';
import type { ComparePlan } from './plan.js';

function percent(value: number, digits = 2): string {
  return `${(value * 100).toFixed(digits)}%`;
}

function money(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

function signed(value: number, digits: number): string {
  return `${signOf(value)}${Math.abs(value).toFixed(digits)}`;
}

function describeCampaign(c: CampaignResult): string {
  return `${c.label} ${c.name === null ? quote(c.campaign_id) : `${quoteData(c.name)} (${c.campaign_id})`}`;
}

/** An interval as "low to high". */
function range(bounds: readonly number[], format: (value: number) => string): string {
  return `${format(bounds[0] ?? Number.NaN)} to ${format(bounds[1] ?? Number.NaN)}`;
}

/** The verdict first, then each campaign, the secondary tests, filters and warnings. */
export function summariseCompareCampaigns(
  output: CompareCampaignsResult,
  { detail }: ToolPlan<ComparePlan>,
  call: Call,
): string {
  const { experiment } = detail;
  const [a, b] = output.campaigns as [CampaignResult, CampaignResult];
  const level = `${(output.confidence * 100).toFixed(output.confidence * 100 >= 99.5 ? 1 : 0)}%`;
  const lines: string[] = [];
  const test = output.tests.conversion_rate;
  const rateLine = (c: CampaignResult) =>
    `${percent(c.conversion_rate ?? 0)} of ${formatCount(c.funnel[experiment.units] ?? 0)} people reached`;
  if (output.verdict === 'not enough data' || test === null) {
    lines.push(`Verdict: not enough data to compare ${describeCampaign(a)} and ${describeCampaign(b)}.`);
  } else {
    const comparison = `${describeCampaign(a)} converted ${rateLine(a)} vs ${rateLine(b)} for ${describeCampaign(b)}: ${formatPoints(test.difference)} (${level} CI ${range(test.interval, formatPoints)}, z = ${signed(test.z, 2)}, p ${formatP(test.p_value)})`;
    if (output.verdict === 'no significant difference') {
      const detectable =
        output.minimum_detectable_difference === null
          ? ''
          : ` These samples detect differences of about ${formatPoints(output.minimum_detectable_difference).replace('+', '')} or more 80% of the time.`;
      lines.push(`Verdict: no significant difference at ${level} confidence. ${comparison}.${detectable}`);
    } else {
      lines.push(`Verdict: ${output.verdict} (${level} confidence). ${comparison}.`);
    }
  }
  const cost = experiment.cost === undefined ? undefined : call.layer.metrics.get(experiment.cost);
  for (const c of [a, b]) {
    if (c.conversion_rate === null) {
      lines.push(`${describeCampaign(c)}: too few people to show.`);
      continue;
    }
    const parts: string[] = [];
    const dates = c.launch === null ? '' : `, ${c.launch} to ${c.end ?? '?'}`;
    parts.push(
      `${experiment.funnel.map((metric) => `${metric} ${formatCount(c.funnel[metric] ?? 0)}`).join(', ')} (conversion ${percent(c.conversion_rate)})`,
    );
    if (c.spend !== null)
      parts.push(
        `${cost?.name ?? 'spend'} ${money(c.spend)}${c.cost_per_acquisition === null ? '' : `, ${money(c.cost_per_acquisition)} per conversion`}`,
      );
    if (c.lift !== null && c.holdout !== null) {
      parts.push(
        `lift over holdout ${formatPoints(c.lift.absolute)} (holdout ${percent(c.holdout.conversion_rate)} of ${formatCount(c.holdout.units)}; ${level} CI ${range(c.lift.interval, formatPoints)}, p ${formatP(c.lift.p_value)}${c.lift.significant ? '' : ', not significant'}; about ${formatCount(c.lift.incremental_conversions)} incremental conversions${c.lift.cost_per_incremental_acquisition === null ? '' : `, ${money(c.lift.cost_per_incremental_acquisition)} each`})`,
      );
    }
    if (c.retention !== null)
      parts.push(
        `${c.retention.days}-day retention ${percent(c.retention.rate, 1)} of ${formatCount(c.retention.cohort)} converted`,
      );
    if (c.engagement !== null && experiment.engagement !== undefined)
      parts.push(
        `${c.engagement.mean.toFixed(1)} ${experiment.engagement.metric} per converted subscriber in ${experiment.engagement.days} days`,
      );
    lines.push(`${describeCampaign(c)}${dates}: ${parts.join('; ')}.`);
  }
  const retention = output.tests.retention;
  if (retention !== null && a.retention !== null && b.retention !== null) {
    lines.push(
      `Retention A vs B: ${percent(a.retention.rate, 1)} vs ${percent(b.retention.rate, 1)}, ${formatPoints(retention.difference)} (${level} CI ${range(retention.interval, formatPoints)}, p ${formatP(retention.p_value)}${retention.significant ? '' : ', not significant'}).`,
    );
  }
  const engagement = output.tests.engagement;
  if (
    engagement !== null &&
    a.engagement !== null &&
    b.engagement !== null &&
    experiment.engagement !== undefined
  ) {
    lines.push(
      `${experiment.engagement.description} A vs B: ${a.engagement.mean.toFixed(1)} vs ${b.engagement.mean.toFixed(1)}, ${signed(engagement.difference, 1)} (${level} CI ${range(engagement.interval, (value) => signed(value, 1))}, Welch t = ${signed(engagement.t, 2)}, p ${formatP(engagement.p_value)}${engagement.significant ? '' : ', not significant'}).`,
    );
  }
  if (output.filters.length > 0) lines.push(`Filters: ${describeFilters(output.filters)}.`);
  for (const warning of output.warnings) lines.push(`Warning: ${warning}`);
  if (output.aligned.length > 0) {
    const more =
      output.page.next_cursor === null ? '' : `; more: call again with cursor "${output.page.next_cursor}"`;
    lines.push(
      `By days since launch (cumulative, rows ${output.page.offset + 1}-${output.page.offset + output.aligned.length})${more}.`,
    );
  }
  return lines.join('\n');
}
