import { quoteData } from '../../guard/untrusted-text.js';
import type { ToolPlan } from '../framework/definition.js';
import { describeFilters, formatChange, formatValue, signOf } from '../framework/format.js';
import type { Breakdown, ExplainChangeResult } from './output.js';
import type { ExplainPlan } from './plan.js';

function percentOf(share: number): string {
  const rounded = Math.round(share * 100);
  return `${rounded < 0 ? '−' : ''}${Math.abs(rounded)}%`;
}

function describeContributor(
  metric: ExplainPlan['metric'],
  contributor: Breakdown['contributors'][number],
  share: boolean,
): string {
  const change = formatChange(metric, contributor.change, null);
  const effects =
    contributor.mix === null || contributor.rate === null
      ? ''
      : ` (mix ${formatChange(metric, contributor.mix, null)}, rate ${formatChange(metric, contributor.rate, null)})`;
  return `${quoteData(contributor.segment)} ${change}${effects}${share ? `, ${percentOf(contributor.share)}` : ''}`;
}

/** The change, whether it is beyond noise, its largest contributors and the drill-down, in a few lines. */
export function summariseExplainChange(
  output: ExplainChangeResult,
  { detail }: ToolPlan<ExplainPlan>,
): string {
  const { metric } = detail;
  const lines: string[] = [];
  const filters = describeFilters(output.filters);
  const periods = `${output.period.label} (${output.period.from} to ${output.period.to}) against the ${output.baseline.label}`;
  if (output.current_value === null && output.baseline_value === null && output.change.absolute === null) {
    lines.push(
      `${metric.name} cannot be explained for ${periods}${filters === '' ? '' : `, ${filters}`}: the selection is too small to show.`,
    );
    return lines.join('\n');
  }
  const change = formatChange(metric, output.change.absolute, output.change.percent);
  const values = `from ${formatValue(metric, output.baseline_value)} to ${formatValue(metric, output.current_value)}`;
  lines.push(
    `${metric.name} changed ${change}, ${values}: ${periods}${filters === '' ? '' : `, ${filters}`}.`,
  );
  lines.push(...output.warnings);
  const band = output.noise_band_95 === null ? '' : `±${formatValue(metric, output.noise_band_95)}`;
  const ly = output.last_year;
  if (ly !== null) {
    const then = `${ly.period.from} to ${ly.period.to} against ${ly.baseline.from} to ${ly.baseline.to}`;
    const was =
      ly.change_percent === null
        ? 'n/a'
        : `${signOf(ly.change_percent)}${Math.abs(ly.change_percent).toFixed(1)}%`;
    const rest = `${formatChange(metric, ly.unusual, null)} (95% band ±${formatValue(metric, ly.band_95)})`;
    lines.push(
      `A year earlier the same change was ${was} (${then}); at that rate ${metric.name} would have been ${formatValue(metric, ly.expected)}, so ${
        output.beyond_noise === true
          ? `${rest} of this change is beyond the seasonal pattern and beyond noise.`
          : `the remaining ${rest} is within noise: this is the usual seasonal change, not an unusual one.`
      }`,
    );
  } else if (output.noise_band_95 === null) {
    lines.push('No noise model applies to this metric, so the split below has no significance test.');
  } else if (output.beyond_noise === true) {
    lines.push(`The change is beyond noise (the 95% noise band is ${band}).`);
  } else {
    lines.push(`The change is within noise (95% band ${band}): it cannot be told apart from chance.`);
  }
  if (output.method === 'approximate') {
    lines.push(`${metric.name} does not split exactly across segments; shares are approximate.`);
  }
  // Shares of a change that is within noise are meaningless (they divide by almost nothing): effects only.
  const shares = output.beyond_noise !== false;
  const top = output.top_contributor;
  if (top !== null) {
    const share = shares ? ` (${percentOf(top.share)} of the change)` : '';
    const segment = `${top.dimension} ${quoteData(top.segment)}`;
    lines.push(`Largest contributor: ${segment}, ${formatChange(metric, top.change, null)}${share}.`);
  }
  const drill = output.drill_down;
  const inner = drill?.breakdowns
    .map((b) => ({ dimension: b.dimension, contributor: b.contributors[0] }))
    .filter((entry) => entry.contributor !== undefined)
    .sort((a, b) => Math.abs(b.contributor?.change ?? 0) - Math.abs(a.contributor?.change ?? 0))[0];
  if (drill !== null && inner?.contributor !== undefined) {
    const part = `${inner.dimension} ${quoteData(inner.contributor.segment)}`;
    const amount = formatChange(metric, inner.contributor.change, null);
    lines.push(
      `Within ${drill.dimension} ${quoteData(drill.segment)}, the largest part is ${part}: ${amount} (${percentOf(inner.contributor.share)} of that change).`,
    );
  }
  for (const b of output.breakdowns) {
    const noise =
      b.significant_share === null || !shares
        ? ''
        : `; ${percentOf(b.significant_share)} of the change is in segments beyond noise`;
    const parts =
      b.contributors.length === 0
        ? 'every segment is withheld for privacy'
        : b.contributors.map((c) => describeContributor(metric, c, shares)).join('; ');
    lines.push(`By ${b.dimension}: ${parts}${noise}.`);
  }
  if (shares && output.breakdowns.some((b) => b.significant_share !== null))
    lines.push(
      `Segments beyond noise are those whose change from the baseline stays significant when all segments of their breakdown are tested together (Benjamini–Hochberg, 5% false discovery rate)${output.judged_against === 'last_year' ? '; unlike the verdict above, they are not set against the seasonal pattern' : ''}.`,
    );
  return lines.join('\n');
}
