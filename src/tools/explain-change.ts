import type { CallToolResult, McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import {
  type Contribution,
  type Decomposition,
  decomposeAdditive,
  decomposeRatio,
  noiseBand,
  type PeriodValue,
  type SegmentChange,
  Z95,
} from '../analysis/decompose-change.js';
import { changeOf, toNumber } from '../analysis/period-results.js';
import { quoteData } from '../guard/untrusted-text.js';
import { type AnalyticsPlan, type AnalyticsRequest, planAnalytics } from '../semantic/plan-query.js';
import { PERIOD_COLUMN, type QueryPlan, varianceColumn } from '../semantic/query-plan.js';
import type { AccessPolicy, Metric, SemanticLayer, Tool } from '../semantic/semantic-layer.js';
import { COMPARISONS } from '../semantic/time-range.js';
import type { Row } from '../warehouse/warehouse.js';
import { auditedCall, type CallFacts } from './audited-call.js';
import {
  filterArguments,
  filterValues,
  schemaCache,
  TIME_RANGE_HELP,
  text,
  timeRange,
  timeRangeArgument,
  visibleNames,
} from './common-args.js';
import { describeFilters, formatChange, formatValue } from './format.js';
import type { ToolContext } from './query-engagement.js';

export const EXPLAIN_CHANGE = 'explain_change';
/** The OAuth scope a caller needs to see and call explain_change. */
export const EXPLAIN_CHANGE_SCOPE = 'analytics:engagement';
const DEFAULT_TOP = 5;
/** A contributor carrying at least this share of the change is drilled into. */
const DOMINANT_SHARE = 0.5;

function inputSchema(layer: SemanticLayer, tool: Tool, policy: AccessPolicy) {
  const { metrics, dimensions } = visibleNames(layer, tool, policy);
  const defaults = tool.mover_dimensions.filter((name) => !policy.hiddenDimensions.has(name));
  return z.strictObject({
    metric: text
      .optional()
      .describe(
        `The metric whose change to explain (default ${tool.default_metrics[0]}). Available: ${metrics.map((m) => `${m.name} (${m.description})`).join('; ')}`,
      ),
    time_range: timeRange.optional().describe(TIME_RANGE_HELP),
    compare_to: z
      .enum(COMPARISONS)
      .optional()
      .describe(
        'The baseline: the previous period of the same length (default) or the same dates a year earlier.',
      ),
    baseline: z
      .strictObject({
        from: text.describe('First day, YYYY-MM-DD'),
        to: text.describe('Last day, YYYY-MM-DD'),
      })
      .optional()
      .describe('Explicit baseline dates, instead of compare_to.'),
    ...filterArguments(tool, policy),
    dimensions: z
      .array(text)
      .min(1)
      .max(6)
      .optional()
      .describe(
        `Dimensions to split the change across (default ${defaults.join(', ')}). Available: ${dimensions.map((d) => d.name).join(', ')}`,
      ),
    top: z
      .number()
      .int()
      .min(1)
      .max(20)
      .optional()
      .describe(`Contributors listed per dimension (default ${DEFAULT_TOP}).`),
  });
}

const schemaFor = schemaCache(inputSchema);

const contributorSchema = z.object({
  segment: z.string(),
  current: z.number().nullable(),
  baseline: z.number().nullable(),
  change: z.number(),
  share: z.number(),
  mix: z.number().nullable(),
  rate: z.number().nullable(),
  z: z.number().nullable(),
  beyond_noise: z.boolean().nullable(),
});
const breakdownSchema = z.object({
  dimension: z.string(),
  /** Share of the change carried by the listed contributors. */
  listed_share: z.number().nullable(),
  /** Share of the change carried by segments that moved beyond noise. */
  significant_share: z.number().nullable(),
  contributors: z.array(contributorSchema),
});
const periodSchema = z.object({ label: z.string(), from: z.string(), to: z.string() });

export const explainChangeOutput = z.object({
  summary: z.string(),
  metric: z.string(),
  method: z.enum(['additive', 'mix_rate', 'approximate']),
  period: periodSchema,
  baseline: periodSchema,
  current_value: z.number().nullable(),
  baseline_value: z.number().nullable(),
  change: z.object({ absolute: z.number().nullable(), percent: z.number().nullable() }),
  noise_band_95: z.number().nullable(),
  beyond_noise: z.boolean().nullable(),
  top_contributor: z
    .object({ dimension: z.string(), segment: z.string(), change: z.number(), share: z.number() })
    .nullable(),
  breakdowns: z.array(breakdownSchema),
  drill_down: z
    .object({ dimension: z.string(), segment: z.string(), breakdowns: z.array(breakdownSchema) })
    .nullable(),
  filters: z.array(
    z.object({
      argument: z.string(),
      dimension: z.string(),
      values: z.array(z.union([z.string(), z.number()])),
    }),
  ),
});
export type ExplainChangeOutput = z.infer<typeof explainChangeOutput>;
type Breakdown = z.infer<typeof breakdownSchema>;

type Method = ExplainChangeOutput['method'];

/** How a metric's change can be split: exactly (sums, counts), into mix and rate (ratios of counts), or roughly. */
function methodOf(layer: SemanticLayer, metric: Metric): Method {
  if (metric.aggregation === 'count' || metric.aggregation === 'sum') return 'additive';
  if (metric.aggregation !== 'ratio') return 'approximate';
  const denominator = layer.metrics.get(metric.denominator ?? '');
  return denominator?.aggregation === 'count' || denominator?.aggregation === 'sum'
    ? 'mix_rate'
    : 'approximate';
}

/** Rates that are proportions of counts (e.g. completion rate) get a binomial noise model. */
function isProportion(layer: SemanticLayer, metric: Metric): boolean {
  const numerator = layer.metrics.get(metric.numerator ?? '');
  const denominator = layer.metrics.get(metric.denominator ?? '');
  return numerator?.aggregation === 'count' && denominator?.aggregation === 'count';
}

/** Registers explain_change when the semantic layer binds it. */
export function registerExplainChange(server: McpServer, context: ToolContext): void {
  const layer = context.service.layer;
  const tool = layer.tools.get(EXPLAIN_CHANGE);
  if (tool === undefined) return;
  server.registerTool(
    EXPLAIN_CHANGE,
    {
      title: 'Explain a change',
      description: `${tool.description ?? 'Why a metric moved.'} Splits the change of one metric between a period and a baseline (default: the previous period of the same length) across dimensions, ranks the contributors by their share of the change, separates mix from rate effects for ratio metrics, drills into a dominant contributor, and says how much of the change is beyond statistical noise.`,
      inputSchema: schemaFor(layer, tool, context.service.policy(context.identity())),
      outputSchema: explainChangeOutput,
      annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true },
    },
    (args) =>
      auditedCall(context, context.identity(), EXPLAIN_CHANGE, args, () =>
        explainChange(context, tool, args as Record<string, unknown>),
      ),
  );
}

/** One period's value per segment (and the totals when `dimension` is undefined). */
function periodValues(
  rows: readonly Row[],
  metric: Metric,
  dimension: string | undefined,
  withVariance: boolean,
): Map<string, { current: PeriodValue; baseline: PeriodValue }> {
  const segments = new Map<string, { current: PeriodValue; baseline: PeriodValue }>();
  const empty: PeriodValue = { value: 0, variance: 0, numerator: 0, denominator: 0 };
  const read = (row: Row): PeriodValue => ({
    value: toNumber(row[metric.name]) ?? 0,
    variance: withVariance ? (toNumber(row[varianceColumn(metric.name)]) ?? 0) : undefined,
    numerator: metric.numerator === undefined ? undefined : (toNumber(row[metric.numerator]) ?? 0),
    denominator: metric.denominator === undefined ? undefined : (toNumber(row[metric.denominator]) ?? 0),
  });
  for (const row of rows) {
    const key = dimension === undefined ? '' : String(row[dimension] ?? '');
    const entry = segments.get(key) ?? { current: empty, baseline: empty };
    if (String(row[PERIOD_COLUMN]) === '0') entry.current = read(row);
    else if (String(row[PERIOD_COLUMN]) === '1') entry.baseline = read(row);
    segments.set(key, entry);
  }
  return segments;
}

function decompose(
  layer: SemanticLayer,
  metric: Metric,
  rows: readonly Row[],
  dimension: string,
  totals: { current: PeriodValue; baseline: PeriodValue },
): Decomposition {
  const withVariance = methodOf(layer, metric) === 'additive';
  const segments: SegmentChange[] = [...periodValues(rows, metric, dimension, withVariance)].map(
    ([segment, values]) => ({
      segment,
      ...values,
    }),
  );
  return metric.aggregation === 'ratio'
    ? decomposeRatio(segments, totals, isProportion(layer, metric))
    : decomposeAdditive(segments, totals.current.value - totals.baseline.value);
}

const finite = (value: number | undefined): number | null =>
  value === undefined || !Number.isFinite(value) ? null : value;

function breakdown(dimension: string, decomposition: Decomposition, top: number): Breakdown {
  const listed = decomposition.contributions.slice(0, top);
  const total = decomposition.totalChange;
  return {
    dimension,
    listed_share:
      total === 0 ? null : listed.reduce((sum, contribution) => sum + contribution.change, 0) / total,
    significant_share: finite(decomposition.significantShare),
    contributors: listed.map((contribution: Contribution) => ({
      segment: contribution.segment,
      current: finite(contribution.current),
      baseline: finite(contribution.baseline),
      change: contribution.change,
      share: contribution.share,
      mix: finite(contribution.mix),
      rate: finite(contribution.rate),
      z: finite(contribution.z),
      beyond_noise: contribution.z === undefined ? null : Math.abs(contribution.z) >= Z95,
    })),
  };
}

async function explainChange(
  context: ToolContext,
  tool: Tool,
  args: Record<string, unknown>,
): Promise<{ result: CallToolResult; facts: CallFacts }> {
  const { service } = context;
  const { layer } = service;
  const identity = context.identity();
  const policy = service.policy(identity);
  const metricName = (args.metric as string | undefined) ?? tool.default_metrics[0] ?? '';
  const requested = layer.metrics.get(metricName);
  const parts =
    requested?.aggregation === 'ratio' ? [requested.numerator ?? '', requested.denominator ?? ''] : [];
  const request: AnalyticsRequest = {
    metrics: [metricName, ...parts],
    timeRange: timeRangeArgument(args.time_range),
    compareTo:
      args.baseline === undefined
        ? ((args.compare_to as AnalyticsRequest['compareTo']) ?? 'previous_period')
        : undefined,
    baseline: args.baseline as AnalyticsRequest['baseline'],
    breakdown: args.dimensions as string[] | undefined,
    filters: filterValues(tool, args),
    limit: 1,
    offset: 0,
  };
  const facts = await service.planningFacts(identity, tool, request);
  const plan = planAnalytics(layer, tool, request, facts, policy);
  const metric = plan.metrics[0] as Metric;
  const method = methodOf(layer, metric);
  const variances = method === 'additive' ? [metric.name] : [];
  const withVariance = (query: QueryPlan): QueryPlan => ({ ...query, variances });
  const top = (args.top as number | undefined) ?? DEFAULT_TOP;

  const [totalRows, ...breakdownRows] = await Promise.all([
    service.run(withVariance(plan.totals), identity),
    ...plan.movers.map((mover) => service.run(withVariance(mover.plan), identity)),
  ]);
  const totals = periodValues(totalRows, metric, undefined, method === 'additive').get('') ?? {
    current: { value: 0, variance: 0, numerator: 0, denominator: 0 },
    baseline: { value: 0, variance: 0, numerator: 0, denominator: 0 },
  };
  const decompositions = plan.movers.map((mover, index) =>
    decompose(layer, metric, breakdownRows[index] ?? [], mover.dimension, totals),
  );
  const breakdowns = plan.movers.map((mover, index) =>
    breakdown(mover.dimension, decompositions[index] as Decomposition, top),
  );

  // The contributor with the largest change across every dimension; drill into it when it dominates.
  let topContributor: ExplainChangeOutput['top_contributor'] = null;
  decompositions.forEach((decomposition, index) => {
    const first = decomposition.contributions[0];
    const dimension = plan.movers[index]?.dimension;
    if (
      first !== undefined &&
      dimension !== undefined &&
      (topContributor === null || Math.abs(first.change) > Math.abs(topContributor.change))
    ) {
      topContributor = { dimension, segment: first.segment, change: first.change, share: first.share };
    }
  });
  const currentValue = metric.aggregation === 'ratio' ? ratioOf(totals.current) : totals.current.value;
  const baselineValue = metric.aggregation === 'ratio' ? ratioOf(totals.baseline) : totals.baseline.value;
  const change = changeOf(currentValue, baselineValue);
  const band =
    method === 'additive'
      ? noiseBand(totals.current, totals.baseline)
      : metric.aggregation === 'ratio' && isProportion(layer, metric)
        ? binomialBand(totals.current, totals.baseline)
        : undefined;
  const beyondNoise =
    band === undefined || change.absolute === null ? null : Math.abs(change.absolute) > band;
  // Splitting noise further only finds more noise: drill down only into a change that is real (or untested).
  const drillDown =
    beyondNoise === false ? null : await drill(context, plan, metric, variances, topContributor, top);
  const comparison = plan.comparison ?? plan.period;
  const output: ExplainChangeOutput = {
    summary: '',
    metric: metric.name,
    method,
    period: { label: plan.period.label, from: plan.period.from, to: plan.period.to },
    baseline: { label: comparison.label, from: comparison.from, to: comparison.to },
    current_value: currentValue,
    baseline_value: baselineValue,
    change: { absolute: change.absolute, percent: change.percent },
    noise_band_95: finite(band),
    beyond_noise: beyondNoise,
    top_contributor: topContributor,
    breakdowns,
    drill_down: drillDown,
    filters: plan.filters.map((filter) => ({
      argument: filter.argument,
      dimension: filter.dimension,
      values: [...filter.values],
    })),
  };
  output.summary = summarize(metric, output);
  return {
    result: { content: [{ type: 'text', text: output.summary }], structuredContent: output },
    facts: { rows: breakdowns.reduce((sum, b) => sum + b.contributors.length, 0), suppressedGroups: 0 },
  };
}

function ratioOf(value: PeriodValue): number | null {
  const denominator = value.denominator ?? 0;
  return denominator === 0 ? null : (value.numerator ?? 0) / denominator;
}

function binomialBand(current: PeriodValue, baseline: PeriodValue): number | undefined {
  const r1 = ratioOf(current);
  const r0 = ratioOf(baseline);
  if (r1 === null || r0 === null) return undefined;
  const variance =
    (r1 * (1 - r1)) / (current.denominator ?? 1) + (r0 * (1 - r0)) / (baseline.denominator ?? 1);
  return Z95 * Math.sqrt(variance);
}

/** Splits the dominant contributor's own change across the other dimensions. */
async function drill(
  context: ToolContext,
  plan: AnalyticsPlan,
  metric: Metric,
  variances: readonly string[],
  top: ExplainChangeOutput['top_contributor'],
  count: number,
): Promise<ExplainChangeOutput['drill_down']> {
  if (top === null || Math.abs(top.share) < DOMINANT_SHARE) return null;
  const others = plan.movers.filter((mover) => mover.dimension !== top.dimension);
  if (others.length === 0) return null;
  const { service } = context;
  const identity = context.identity();
  const layer = service.layer;
  const within = { dimension: top.dimension, values: [top.segment] };
  const narrowed = (query: QueryPlan): QueryPlan => ({
    ...query,
    variances,
    filters: [...query.filters, within],
  });
  const [totalRows, ...rows] = await Promise.all([
    service.run(narrowed(plan.totals), identity),
    ...others.map((mover) => service.run(narrowed(mover.plan), identity)),
  ]);
  const totals = periodValues(totalRows, metric, undefined, variances.length > 0).get('');
  if (totals === undefined) return null;
  return {
    dimension: top.dimension,
    segment: top.segment,
    breakdowns: others.map((mover, index) =>
      breakdown(mover.dimension, decompose(layer, metric, rows[index] ?? [], mover.dimension, totals), count),
    ),
  };
}

function percentOf(share: number): string {
  return `${Math.round(share * 100)}%`;
}

function describeContributor(
  metric: Metric,
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

function summarize(metric: Metric, output: ExplainChangeOutput): string {
  const lines: string[] = [];
  const filters = describeFilters(output.filters);
  const change = formatChange(metric, output.change.absolute, output.change.percent);
  const values = `from ${formatValue(metric, output.baseline_value)} to ${formatValue(metric, output.current_value)}`;
  const periods = `${output.period.label} (${output.period.from} to ${output.period.to}) against the ${output.baseline.label}`;
  lines.push(
    `${metric.name} changed ${change}, ${values}: ${periods}${filters === '' ? '' : `, ${filters}`}.`,
  );
  const band = output.noise_band_95 === null ? '' : `±${formatValue(metric, output.noise_band_95)}`;
  if (output.noise_band_95 === null) {
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
    lines.push(
      `By ${b.dimension}: ${b.contributors.map((c) => describeContributor(metric, c, shares)).join('; ')}${noise}.`,
    );
  }
  return lines.join('\n');
}
