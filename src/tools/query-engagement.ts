import type { CallToolResult, McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import {
  type Change,
  changeOf,
  type Mover,
  periodTotals,
  roundMetric,
  toNumber,
  topMovers,
} from '../analysis/period-results.js';
import type { Identity } from '../auth/identity.js';
import { ArgumentError } from '../errors.js';
import { neutralise, quoteData } from '../guard/untrusted-text.js';
import {
  type AnalyticsPlan,
  type AnalyticsRequest,
  MAX_GROUP_BY,
  planAnalytics,
} from '../semantic/plan-query.js';
import { GRAINS, GROUP_SIZE_COLUMN, PERIOD_COLUMN, SUPPRESSED_COLUMN } from '../semantic/query-plan.js';
import type { AccessPolicy, Metric, SemanticLayer, Tool } from '../semantic/semantic-layer.js';
import { COMPARISONS } from '../semantic/time-range.js';
import type { Row } from '../warehouse/warehouse.js';
import type { AnalyticsService } from './analytics-service.js';
import { auditedCall, type CallFacts, type Envelope } from './audited-call.js';
import {
  filterArguments,
  filterValues,
  pageArguments,
  pageSchema,
  schemaCache,
  TIME_RANGE_HELP,
  text,
  timeRange,
  timeRangeArgument,
  visibleNames,
} from './common-args.js';
import type { CursorCodec, CursorState } from './cursor.js';
import { describeFilters, formatChange, formatTable, formatValue } from './format.js';

export const QUERY_ENGAGEMENT = 'query_engagement';
/** The OAuth scope a caller needs to see and call query_engagement. */
export const QUERY_ENGAGEMENT_SCOPE = 'analytics:engagement';
export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

/** The tool's arguments: built from the semantic layer, so metric, dimension and filter lists are its own. */
function inputSchema(layer: SemanticLayer, tool: Tool, policy: AccessPolicy) {
  const { metrics, dimensions } = visibleNames(layer, tool, policy);
  const filters = filterArguments(tool, policy);
  return z.strictObject({
    metrics: z
      .array(text)
      .min(1)
      .max(10)
      .optional()
      .describe(
        `Metrics to compute (default ${tool.default_metrics.filter((name) => !policy.hiddenMetrics.has(name)).join(', ')}). Available: ${metrics.map((m) => `${m.name} (${m.description})`).join('; ')}`,
      ),
    time_range: timeRange.optional().describe(TIME_RANGE_HELP),
    ...filters,
    group_by: z
      .array(text)
      .max(MAX_GROUP_BY)
      .optional()
      .describe(
        `Up to ${MAX_GROUP_BY} dimensions to break results down by: ${dimensions.map((d) => `${d.name} (${d.description})`).join('; ')}`,
      ),
    grain: z
      .enum(GRAINS)
      .optional()
      .describe(`Time bucket for a trend: rows per ${GRAINS.join(', ')}.`),
    compare_to: z
      .enum(COMPARISONS)
      .optional()
      .describe(
        'Compare with the previous period of the same length (or previous calendar month/quarter/year) or the same dates a year earlier; adds changes and the top movers behind them.',
      ),
    ...pageArguments('Rows', DEFAULT_LIMIT, MAX_LIMIT),
  });
}

const value = z.union([z.string(), z.number(), z.null()]);
const periodSchema = z.object({ label: z.string(), from: z.string(), to: z.string() });
const changeSchema = z.object({ absolute: z.number().nullable(), percent: z.number().nullable() });

export const queryEngagementOutput = z.object({
  summary: z.string(),
  period: periodSchema.extend({
    first_day_with_data: z.string().nullable(),
    last_day_with_data: z.string().nullable(),
  }),
  comparison: periodSchema.nullable(),
  filters: z.array(
    z.object({
      argument: z.string(),
      dimension: z.string(),
      values: z.array(z.union([z.string(), z.number()])),
    }),
  ),
  metrics: z.array(z.object({ name: z.string(), description: z.string(), format: z.string() })),
  totals: z.record(z.string(), z.number().nullable()),
  comparison_totals: z.record(z.string(), z.number().nullable()).nullable(),
  changes: z.record(z.string(), changeSchema).nullable(),
  top_movers: z.array(
    z.object({
      dimension: z.string(),
      value: z.string(),
      metric: z.string(),
      current: z.number().nullable(),
      previous: z.number().nullable(),
      change: z.number().nullable(),
      percent: z.number().nullable(),
    }),
  ),
  columns: z.array(z.string()),
  rows: z.array(z.record(z.string(), value)),
  page: pageSchema,
  privacy: z.object({
    min_group_size: z.object({ metric: z.string(), k: z.number() }).nullable(),
    suppressed_groups: z.number(),
    totals_suppressed: z.boolean(),
  }),
});
export type QueryEngagementOutput = z.infer<typeof queryEngagementOutput>;

/** What the tool needs from the server: the layer, the warehouse, the cursor key, the envelope and who is asking. */
export interface ToolContext extends Envelope {
  readonly service: AnalyticsService;
  readonly cursors: CursorCodec;
  readonly identity: () => Identity;
}

type Args = Record<string, unknown> & { cursor?: string; limit?: number };

const schemaFor = schemaCache(inputSchema);

/** Registers query_engagement when the semantic layer binds it. */
export function registerQueryEngagement(server: McpServer, context: ToolContext): void {
  const layer = context.service.layer;
  const tool = layer.tools.get(QUERY_ENGAGEMENT);
  if (tool === undefined) return;
  const schema = schemaFor(layer, tool, context.service.policy(context.identity()));
  server.registerTool(
    QUERY_ENGAGEMENT,
    {
      title: 'Query engagement',
      description: `${tool.description ?? 'Engagement metrics.'} Returns totals for a period, optional breakdowns and trends, the change against a comparison period with the segments that drove it, and a page of rows. Tenant scope comes from your identity.`,
      inputSchema: schema,
      outputSchema: queryEngagementOutput,
      annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true },
    },
    (args) =>
      auditedCall(context, context.identity(), QUERY_ENGAGEMENT, args, () =>
        queryEngagement(context, tool, args as Args),
      ),
  );
}

function toRequest(tool: Tool, args: Args, offset: number): AnalyticsRequest {
  const filters = filterValues(tool, args);
  return {
    metrics: args.metrics as string[] | undefined,
    timeRange: timeRangeArgument(args.time_range),
    groupBy: args.group_by as string[] | undefined,
    grain: args.grain as AnalyticsRequest['grain'],
    compareTo: args.compare_to as AnalyticsRequest['compareTo'],
    filters,
    limit: args.limit ?? DEFAULT_LIMIT,
    offset,
  };
}

/** The one planning step shared by running a call and explaining it. */
async function planCall(context: ToolContext, tool: Tool, callArgs: Args) {
  const identity = context.identity();
  const resumed = context.cursors.resume(QUERY_ENGAGEMENT, callArgs);
  const { offset, anchor } = resumed;
  const args = resumed.args as Args;
  const request = toRequest(tool, args, offset);
  const facts = await context.service.planningFacts(identity, tool, request);
  const plan = planAnalytics(
    context.service.layer,
    tool,
    request,
    anchor === undefined ? facts : { ...facts, anchor },
    context.service.policy(identity),
  );
  return { identity, args, offset, anchor: anchor ?? facts.anchor, plan };
}

/** The SQL and parameters a call would run, named by purpose, without running them. */
export async function explainQueryEngagement(context: ToolContext, callArgs: unknown) {
  const tool = context.service.layer.tools.get(QUERY_ENGAGEMENT);
  if (tool === undefined)
    throw new ArgumentError('tool', `The semantic layer does not bind ${QUERY_ENGAGEMENT}`);
  const parsed = schemaFor(context.service.layer, tool, context.service.policy(context.identity())).safeParse(
    callArgs,
  );
  if (!parsed.success) {
    throw new ArgumentError(
      'arguments',
      parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '),
    );
  }
  const { identity, plan } = await planCall(context, tool, parsed.data as Args);
  return {
    rows: context.service.compile(plan.rows, identity),
    totals: context.service.compile(plan.totals, identity),
    ...Object.fromEntries(
      plan.movers.map((mover) => [
        `movers_by_${mover.dimension}`,
        context.service.compile(mover.plan, identity),
      ]),
    ),
    ...(plan.suppressed === undefined
      ? {}
      : { suppressed_groups: context.service.compile(plan.suppressed, identity) }),
  };
}

async function queryEngagement(
  context: ToolContext,
  tool: Tool,
  callArgs: Args,
): Promise<{ result: CallToolResult; facts: CallFacts }> {
  const service = context.service;
  const { identity, args, offset, anchor, plan } = await planCall(context, tool, callArgs);
  const [pageRows, totalRows, suppressedRows, ...moverRows] = await Promise.all([
    service.run(plan.rows, identity),
    service.run(plan.totals, identity),
    plan.suppressed === undefined ? Promise.resolve([]) : service.run(plan.suppressed, identity),
    ...plan.movers.map((mover) => service.run(mover.plan, identity)),
  ]);
  const hasMore = pageRows.length > plan.limit;
  const cursorState: CursorState = { tool: QUERY_ENGAGEMENT, args, anchor, offset: offset + plan.limit };
  const output = shapeOutput(
    plan,
    pageRows.slice(0, plan.limit),
    totalRows,
    moverRows,
    Number(suppressedRows[0]?.[SUPPRESSED_COLUMN] ?? 0),
    hasMore ? context.cursors.encode(cursorState) : null,
  );
  return {
    result: {
      content: [
        { type: 'text', text: output.summary },
        { type: 'text', text: formatTable(output.columns, output.rows) },
      ],
      structuredContent: output,
    },
    facts: { rows: output.rows.length, suppressedGroups: output.privacy.suppressed_groups },
  };
}

function shapeOutput(
  plan: AnalyticsPlan,
  rows: readonly Row[],
  totalRows: readonly Row[],
  moverRows: readonly Row[][],
  suppressedGroups: number,
  nextCursor: string | null,
): QueryEngagementOutput {
  // A period whose whole population is under the minimum group size is itself suppressed.
  const small = (row: Row): boolean =>
    plan.minGroupSize !== undefined && Number(row[GROUP_SIZE_COLUMN]) < plan.minGroupSize.k;
  const suppressedPeriods = new Set(totalRows.filter(small).map((row) => String(row[PERIOD_COLUMN])));
  const [current, previous] = periodTotals(
    totalRows.filter((row) => !small(row)),
    plan.metrics,
  ).map((totals, index) =>
    suppressedPeriods.has(String(index))
      ? { ...totals, values: nulls(plan.metrics), raw: nulls(plan.metrics) }
      : totals,
  );
  const comparing = plan.comparison !== undefined && previous !== undefined;
  const changes: Record<string, Change> = {};
  for (const metric of plan.metrics) {
    const change = changeOf(current?.raw[metric.name] ?? null, previous?.raw[metric.name] ?? null);
    const precision = 10 ** (metric.decimals + 2);
    changes[metric.name] = {
      ...change,
      absolute: change.absolute === null ? null : Math.round(change.absolute * precision) / precision,
    };
  }
  const primary = plan.metrics[0];
  const movers: Mover[] =
    primary === undefined
      ? []
      : plan.movers.flatMap((mover, index) => topMovers(moverRows[index] ?? [], mover.dimension, primary));
  movers.sort((a, b) => Math.abs(b.change ?? 0) - Math.abs(a.change ?? 0));

  const timeColumn = plan.grain === undefined ? [] : [plan.tool.time_dimension];
  const columns = [...timeColumn, ...plan.groupBy, ...plan.metrics.map((metric) => metric.name)];
  const shapedRows = rows.map((row) => {
    const shaped: Record<string, string | number | null> = {};
    for (const column of [...timeColumn, ...plan.groupBy])
      shaped[column] = row[column] === null ? null : neutralise(String(row[column] ?? ''));
    for (const metric of plan.metrics) shaped[metric.name] = roundMetric(metric, toNumber(row[metric.name]));
    return shaped;
  });

  const output: QueryEngagementOutput = {
    summary: '',
    period: {
      label: plan.period.label,
      from: plan.period.from,
      to: plan.period.to,
      first_day_with_data: current?.firstDay ?? null,
      last_day_with_data: current?.lastDay ?? null,
    },
    comparison: plan.comparison === undefined ? null : { ...plan.comparison },
    filters: plan.filters.map((filter) => ({
      argument: filter.argument,
      dimension: filter.dimension,
      values: [...filter.values],
    })),
    metrics: plan.metrics.map((metric) => ({
      name: metric.name,
      description: metric.description,
      format: metric.format,
    })),
    totals: current?.values ?? {},
    comparison_totals: comparing ? (previous?.values ?? null) : null,
    changes: comparing ? changes : null,
    top_movers: movers.slice(0, 5),
    columns,
    rows: shapedRows,
    page: { offset: plan.offset, limit: plan.limit, returned: shapedRows.length, next_cursor: nextCursor },
    privacy: {
      min_group_size: plan.minGroupSize === undefined ? null : { ...plan.minGroupSize },
      suppressed_groups: suppressedGroups,
      totals_suppressed: suppressedPeriods.has('0'),
    },
  };
  output.summary = summarize(plan, output);
  return output;
}

function nulls(metrics: readonly Metric[]): Record<string, number | null> {
  return Object.fromEntries(metrics.map((metric) => [metric.name, null]));
}

function summarize(plan: AnalyticsPlan, output: QueryEngagementOutput): string {
  const lines: string[] = [];
  const filters = describeFilters(output.filters);
  const covered =
    output.period.first_day_with_data === null
      ? 'no data in this period'
      : output.period.first_day_with_data === plan.period.from &&
          output.period.last_day_with_data === plan.period.to
        ? 'data for every day'
        : `data from ${output.period.first_day_with_data} to ${output.period.last_day_with_data}`;
  lines.push(
    `Engagement for ${plan.period.label === `${plan.period.from} to ${plan.period.to}` ? plan.period.label : `${plan.period.label} (${plan.period.from} to ${plan.period.to})`}${filters === '' ? '' : `, ${filters}`}: ${covered}.`,
  );
  if (plan.comparison !== undefined) lines.push(`Compared with the ${plan.comparison.label}.`);
  for (const metric of plan.metrics) {
    const value = formatValue(metric, output.totals[metric.name] ?? null);
    const change = output.changes?.[metric.name];
    const previous = output.comparison_totals?.[metric.name] ?? null;
    lines.push(
      change === undefined
        ? `- ${metric.name}: ${value}`
        : `- ${metric.name}: ${value}, ${formatChange(metric, change.absolute, change.percent)} vs ${formatValue(metric, previous)}`,
    );
  }
  const primary = plan.metrics[0];
  if (primary !== undefined && output.top_movers.length > 0) {
    const movers = output.top_movers.map(
      (mover) =>
        `${mover.dimension} ${quoteData(mover.value)} ${formatChange(primary, mover.change, mover.percent)}`,
    );
    lines.push(`Top movers in ${primary.name}: ${movers.join('; ')}.`);
  }
  const breakdown = [
    ...(plan.grain === undefined ? [] : [`per ${plan.grain}`]),
    ...(plan.groupBy.length === 0 ? [] : [`by ${plan.groupBy.join(' and ')}`]),
  ].join(', ');
  const privacy = output.privacy;
  if (privacy.min_group_size !== null && (privacy.suppressed_groups > 0 || privacy.totals_suppressed)) {
    const floor = `fewer than ${privacy.min_group_size.k} ${privacy.min_group_size.metric}`;
    if (privacy.totals_suppressed) lines.push(`Totals are withheld: this selection has ${floor}.`);
    if (privacy.suppressed_groups > 0) {
      lines.push(
        `${privacy.suppressed_groups} group(s) with ${floor} are withheld for privacy and not in the rows.`,
      );
    }
  }
  const first = plan.offset + 1;
  const range = output.rows.length === 0 ? 'no rows' : `rows ${first}-${plan.offset + output.rows.length}`;
  lines.push(
    `${range}${breakdown === '' ? '' : ` (${breakdown})`}${output.page.next_cursor === null ? '.' : `; more rows: call again with cursor "${output.page.next_cursor}".`}`,
  );
  return lines.join('\n');
}
