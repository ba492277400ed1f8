import type { CallToolResult, McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { toNumber } from '../analysis/period-results.js';
import { quoteData } from '../guard/untrusted-text.js';
import type { QueryPlan } from '../semantic/query-plan.js';
import { SCORE_COLUMN } from '../semantic/query-plan.js';
import type { Tool } from '../semantic/semantic-layer.js';
import { explicitRange, type Period, resolveNamedPeriod } from '../semantic/time-range.js';
import { auditedCall, type CallFacts } from './audited-call.js';
import {
  pageArguments,
  pageSchema,
  required,
  TIME_RANGE_HELP,
  text,
  timeRange,
  timeRangeArgument,
} from './common-args.js';
import { formatTable, shapeRow } from './format.js';
import type { ToolContext } from './query-engagement.js';

/** Search below this trigram similarity (and without a substring match) is not a match. */
const MIN_SCORE = 0.4;
const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 50;

interface LookupSpec {
  readonly name: string;
  readonly scope: string;
  readonly title: string;
  /** What one result is called in summaries: "title", "campaign". */
  readonly noun: string;
  readonly queryRequired: boolean;
  readonly withPeriod: boolean;
}

export const FIND_CONTENT: LookupSpec = {
  name: 'find_content',
  scope: 'analytics:engagement',
  title: 'Find content',
  noun: 'title',
  queryRequired: true,
  withPeriod: false,
};

export const LIST_CAMPAIGNS: LookupSpec = {
  name: 'list_campaigns',
  scope: 'analytics:campaigns',
  title: 'List campaigns',
  noun: 'campaign',
  queryRequired: false,
  withPeriod: true,
};

const value = z.union([z.string(), z.number(), z.null()]);
export const lookupOutput = z.object({
  summary: z.string(),
  query: z.string().nullable(),
  period: z.object({ label: z.string(), from: z.string(), to: z.string() }).nullable(),
  rows: z.array(z.record(z.string(), value)),
  page: pageSchema,
});
export type LookupOutput = z.infer<typeof lookupOutput>;

function inputSchema(spec: LookupSpec, tool: Tool) {
  const query = text.describe(
    `Part of the ${spec.noun}'s name; case and small typos do not matter (searched on ${tool.search ?? 'the name'}).`,
  );
  return z.strictObject({
    // Optional in the schema even when required, so that a cursor can come alone.
    query: spec.queryRequired
      ? query.describe(`Required. ${query.description}`).optional()
      : query.optional(),
    ...(spec.withPeriod
      ? {
          time_range: timeRange
            .optional()
            .describe(`Only ${spec.noun}s starting in this period. ${TIME_RANGE_HELP}`),
        }
      : {}),
    ...pageArguments('Results', DEFAULT_LIMIT, MAX_LIMIT),
  });
}

/** Registers a lookup tool when the semantic layer binds it. */
export function lookupRegistrar(spec: LookupSpec) {
  return (server: McpServer, context: ToolContext): void => {
    const tool = context.service.layer.tools.get(spec.name);
    if (tool === undefined) return;
    server.registerTool(
      spec.name,
      {
        title: spec.title,
        description: `${tool.description ?? spec.title} Returns each ${spec.noun}'s identifier (use it in the other tools) and details, best matches first.`,
        inputSchema: inputSchema(spec, tool),
        outputSchema: lookupOutput,
        annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true },
      },
      (args) =>
        auditedCall(context, context.identity(), spec.name, args, () =>
          lookup(context, spec, tool, args as Record<string, unknown>),
        ),
    );
  };
}

async function lookup(
  context: ToolContext,
  spec: LookupSpec,
  tool: Tool,
  callArgs: Record<string, unknown>,
): Promise<{ result: CallToolResult; facts: CallFacts }> {
  const { service } = context;
  const identity = context.identity();
  const policy = service.policy(identity);
  const { args, offset, anchor: resumedAnchor } = context.cursors.resume(spec.name, callArgs);
  const query = spec.queryRequired
    ? required(args, 'query').trim()
    : typeof args.query === 'string'
      ? args.query.trim()
      : undefined;
  const limit = (args.limit as number | undefined) ?? DEFAULT_LIMIT;
  // A named period resolves against the anchor the first page used, so later pages do not shift.
  let period: Period | undefined;
  let anchor = resumedAnchor;
  const range = timeRangeArgument(args.time_range);
  if (typeof range === 'string') {
    anchor ??= await service.anchor(identity, tool);
    period = resolveNamedPeriod(range, anchor);
  } else if (range !== undefined) {
    period = explicitRange(range.from, range.to);
  }
  const columns = Object.entries(tool.columns).filter(
    ([, dimension]) => !policy.hiddenDimensions.has(dimension),
  );
  const metrics = tool.default_metrics.filter((metric) => !policy.hiddenMetrics.has(metric));
  const plan: QueryPlan = {
    model: tool.model,
    metrics,
    dimensions: columns.map(([, dimension]) => dimension),
    timeDimension: tool.time_dimension,
    periods: period === undefined ? [] : [period],
    distinct: metrics.length === 0,
    search:
      query === undefined || query === '' || tool.search === undefined
        ? undefined
        : { dimension: tool.search, text: query, minScore: MIN_SCORE },
    filters: [],
    order: [{ key: tool.time_dimension, direction: 'desc' }],
    limit: limit + 1,
    offset,
  };
  const rows = await service.run(plan, identity);
  const page = rows.slice(0, limit);
  const shaped = page.map((row) => {
    const out = shapeRow(service.layer, row, columns, metrics);
    if (plan.search !== undefined) out.match = Math.round((toNumber(row[SCORE_COLUMN]) ?? 0) * 100) / 100;
    return out;
  });
  const nextCursor =
    rows.length > limit
      ? context.cursors.encode({ tool: spec.name, args, anchor: anchor ?? '', offset: offset + limit })
      : null;
  const output: LookupOutput = {
    summary: '',
    query: query ?? null,
    period: period === undefined ? null : { label: period.label, from: period.from, to: period.to },
    rows: shaped,
    page: { offset, limit, returned: shaped.length, next_cursor: nextCursor },
  };
  output.summary = summarize(
    spec,
    output,
    columns.map(([column]) => column),
  );
  return {
    result: {
      content: [
        { type: 'text', text: output.summary },
        { type: 'text', text: formatTable([...columns.map(([column]) => column), ...metrics], shaped) },
      ],
      structuredContent: output,
    },
    facts: { rows: shaped.length, suppressedGroups: 0 },
  };
}

function summarize(spec: LookupSpec, output: LookupOutput, columns: readonly string[]): string {
  const what = [
    output.query === null ? '' : ` matching ${quoteData(output.query)}`,
    output.period === null ? '' : ` starting ${output.period.label}`,
  ].join('');
  if (output.rows.length === 0) {
    return output.query === null
      ? `No ${spec.noun}s${what}.`
      : `No ${spec.noun} matches ${quoteData(output.query)}${output.period === null ? '' : ` starting ${output.period.label}`}; try a shorter part of the name.`;
  }
  const [idColumn, nameColumn, ...rest] = columns;
  const items = output.rows.map((row) => {
    const details = rest.map((column) => row[column]).filter((value) => value !== null && value !== '');
    return `${quoteData(String(row[nameColumn ?? ''] ?? ''))} (${[row[idColumn ?? ''], ...details].join(', ')})`;
  });
  const first = output.page.offset + 1;
  const more =
    output.page.next_cursor === null ? '' : `; more: call again with cursor "${output.page.next_cursor}"`;
  return `${spec.noun[0]?.toUpperCase()}${spec.noun.slice(1)}s${what}, ${first}-${output.page.offset + output.rows.length}${output.query === null ? '' : ', best first'}: ${items.join('; ')}${more}.`;
}
