import { z } from 'zod';
import { roundMetric, toNumber } from '../../analysis/period-results.js';
import { quoteData } from '../../guard/untrusted-text.js';
import type { QueryPlan } from '../../semantic/query-plan.js';
import { SCORE_COLUMN } from '../../semantic/query-plan.js';
import type { AccessPolicy, Tool } from '../../semantic/semantic-layer.js';
import { addDays, dayIn, explicitRange, type Period, resolveNamedPeriod } from '../../semantic/time-range.js';
import {
  pageArguments,
  pageSchema,
  periodSchema,
  text,
  timeRange,
  timeRangeArgument,
  timeRangeHelp,
} from '../framework/common-args.js';
import type { SchemaContext, ToolDefinition, ToolPlan } from '../framework/definition.js';
import { formatValue, shapeRow } from '../framework/format.js';

/** Search below this trigram similarity (and without a substring match) is not a match. */
const MIN_SCORE = 0.4;
const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 50;
const RESULTS = 'results';
const TOTALS = 'totals';
/** How a period selects rows that last a while: running on any of its days, or starting in it. */
const TIME_MATCHES = ['active', 'started'] as const;

/** What makes one lookup tool: its name, scope, what a result is called, and which arguments it takes. */
export interface LookupSpec {
  readonly name: string;
  readonly scope: string;
  readonly title: string;
  readonly purpose: string;
  /** What one result is called in summaries: "title", "campaign". */
  readonly noun: string;
  readonly queryRequired: boolean;
  readonly withPeriod: boolean;
}

const value = z.union([z.string(), z.number(), z.null()]);
export const lookupOutput = z.object({
  query: z.string().nullable(),
  /** Whether a result's searched name is the query itself (case aside); null without a query. */
  exact_match: z.boolean().nullable(),
  period: periodSchema.nullable(),
  /** With a period over rows that last (campaigns): whether it selected those active in it or started in it. */
  period_match: z.enum(['active', 'started']).nullable(),
  rows: z.array(z.record(z.string(), value)),
  /** The metrics over every row selected (all pages), with their units. */
  totals: z.record(z.string(), z.number().nullable()).nullable(),
  page: pageSchema,
});
export type LookupResult = z.infer<typeof lookupOutput>;

interface LookupPlan {
  readonly query: string | undefined;
  /** Whether the period selected rows active in it (not only those starting in it). */
  readonly active: boolean;
  readonly period: Period | undefined;
  readonly columns: readonly (readonly [string, string])[];
  readonly metrics: readonly string[];
  readonly limit: number;
  readonly offset: number;
}

/** A lookup's result columns a policy lets the caller see. */
function visibleColumns(binding: Tool, policy: AccessPolicy): [string, string][] {
  return Object.entries(binding.columns).filter(([, dimension]) => !policy.hiddenDimensions.has(dimension));
}

/** A lookup tool over a searched catalogue, paged with signed cursors. */
export function lookupTool(spec: LookupSpec): ToolDefinition<LookupPlan, LookupResult> {
  return {
    name: spec.name,
    kind: 'lookup',
    scope: spec.scope,
    title: spec.title,
    purpose: spec.purpose,
    description: (binding) =>
      `${binding.description ?? spec.title} Returns each ${spec.noun}'s identifier (use it in the other tools) and details, best matches first.`,
    input: ({ binding }: SchemaContext) => {
      const query = text.describe(
        `Part of the ${spec.noun}'s name; case and small typos do not matter (searched on ${binding.search ?? 'the name'}).`,
      );
      return z.strictObject({
        // Optional in the schema even when required, so that a cursor can come alone.
        query: spec.queryRequired
          ? query.describe(`Required. ${query.description}`).optional()
          : query.optional(),
        ...(spec.withPeriod && binding.time_dimension !== undefined
          ? {
              time_range: timeRange
                .optional()
                .describe(
                  `${binding.end_dimension === undefined ? `Only ${spec.noun}s starting in this period` : `Only ${spec.noun}s active in this period (any day in common)`}; without it, all. ${timeRangeHelp(undefined)} Here relative periods end yesterday: ${spec.noun}s are not a stream of data.`,
                ),
              ...(binding.end_dimension === undefined
                ? {}
                : {
                    time_match: z
                      .enum(TIME_MATCHES)
                      .optional()
                      .describe(
                        `How time_range selects ${spec.noun}s: "active" (default: running on any day of it) or "started" (their first day in it).`,
                      ),
                  }),
            }
          : {}),
        ...pageArguments('Results', DEFAULT_LIMIT, MAX_LIMIT),
      });
    },
    output: lookupOutput,
    required: spec.queryRequired ? ['query'] : [],
    paginated: true,
    // A lookup whose identifying column or searched name the policy hides would only be an oracle for it.
    offered: ({ binding, policy }) => {
      const [identifying] = Object.values(binding.columns);
      return (
        (identifying === undefined || !policy.hiddenDimensions.has(identifying)) &&
        (binding.search === undefined || !policy.hiddenDimensions.has(binding.search))
      );
    },
    async plan(call): Promise<ToolPlan<LookupPlan>> {
      const { args, binding, policy } = call;
      const query = typeof args.query === 'string' ? args.query.trim() : undefined;
      const limit = (args.limit as number | undefined) ?? DEFAULT_LIMIT;
      // A named period resolves against the anchor the first page used, so later pages do not shift.
      let period: Period | undefined;
      let anchor = call.anchor;
      const range = timeRangeArgument(args.time_range);
      if (typeof range === 'string') {
        // A catalogue is not a stream of data that stops somewhere: "last month" is the calendar's, ending
        // yesterday in the layer's zone (a campaign that ended in July is not "last month" in November).
        anchor ??= addDays(dayIn(call.layer.timeZone, new Date()), -1);
        period = resolveNamedPeriod(range, anchor);
      } else if (range !== undefined) {
        period = explicitRange(range.from, range.to);
      }
      const columns = visibleColumns(binding, policy);
      const metrics = binding.default_metrics.filter((metric) => !policy.hiddenMetrics.has(metric));
      const search: QueryPlan['search'] =
        query === undefined || query === '' || binding.search === undefined
          ? undefined
          : { dimension: binding.search, text: query, minScore: MIN_SCORE };
      const time = binding.time_dimension;
      // Newest first when the catalogue is dated, else by the identifying column (which ends every order).
      const order: QueryPlan['order'] = time === undefined ? [] : [{ key: time, direction: 'desc' }];
      const overlap =
        binding.end_dimension !== undefined && period !== undefined && args.time_match !== 'started'
          ? { end: binding.end_dimension }
          : undefined;
      const plan: QueryPlan = {
        model: binding.model,
        metrics,
        dimensions: columns.map(([, dimension]) => dimension),
        timeDimension: time ?? '',
        periods: period === undefined ? [] : [period],
        overlap,
        distinct: metrics.length === 0,
        search,
        filters: [],
        order,
        limit: limit + 1,
        offset: call.offset,
      };
      // The metrics over every row selected, not only this page's: what they come to together.
      const totals: QueryPlan = {
        ...plan,
        dimensions: [],
        distinct: false,
        order: [],
        limit: undefined,
        offset: undefined,
      };
      return {
        queries: {
          [RESULTS]: { query: plan },
          ...(metrics.length === 0 ? {} : { [TOTALS]: { query: totals } }),
        },
        filters: [],
        anchor: anchor ?? '',
        detail: {
          query,
          period,
          columns,
          metrics,
          limit,
          offset: call.offset,
          active: overlap !== undefined,
        },
      };
    },
    analyse({ detail, anchor }, results, call) {
      const rows = results.rows(RESULTS);
      const page = rows.slice(0, detail.limit);
      const shaped = page.map((row) => {
        const out = shapeRow(call.layer, row, detail.columns, detail.metrics);
        if (detail.query !== undefined && detail.query !== '')
          out.match = Math.round((toNumber(row[SCORE_COLUMN]) ?? 0) * 100) / 100;
        return out;
      });
      const searched = call.binding.search;
      const wanted = detail.query?.toLowerCase();
      // Known only when the searched name is one of the result's columns.
      const shown = detail.columns.some(([, dimension]) => dimension === searched);
      const exact =
        wanted === undefined || wanted === '' || searched === undefined || !shown
          ? null
          : rows.some((row) => String(row[searched] ?? '').toLowerCase() === wanted);
      const output: LookupResult = {
        query: detail.query ?? null,
        exact_match: exact,
        period:
          detail.period === undefined
            ? null
            : { label: detail.period.label, from: detail.period.from, to: detail.period.to },
        period_match:
          detail.period === undefined || call.binding.end_dimension === undefined
            ? null
            : detail.active
              ? 'active'
              : 'started',
        rows: shaped,
        totals:
          detail.metrics.length === 0
            ? null
            : Object.fromEntries(
                detail.metrics.map((name) => {
                  const metric = call.layer.metrics.get(name);
                  const value = toNumber(results.rows(TOTALS)[0]?.[name]);
                  return [name, metric === undefined ? null : roundMetric(metric, value)];
                }),
              ),
        page: {
          offset: detail.offset,
          limit: detail.limit,
          returned: shaped.length,
          next_cursor:
            rows.length > detail.limit ? call.nextCursor(detail.offset + detail.limit, anchor) : null,
        },
      };
      return {
        output,
        rows: shaped.length,
        table: { columns: [...detail.columns.map(([column]) => column), ...detail.metrics], rows: shaped },
      };
    },
    summarise(output, { detail }, { layer }) {
      const columns = detail.columns.map(([column]) => column);
      const when =
        output.period === null
          ? ''
          : ` ${output.period_match === 'active' ? 'active in' : 'starting'} ${output.period.label}`;
      const what = [output.query === null ? '' : ` matching ${quoteData(output.query)}`, when].join('');
      if (output.rows.length === 0) {
        return output.query === null
          ? `No ${spec.noun}s${what}.`
          : `No ${spec.noun} matches ${quoteData(output.query)}${when}; try a shorter part of the name.`;
      }
      const [idColumn, nameColumn, ...rest] = columns;
      const items = output.rows.map((row) => {
        const details = rest.map((column) => row[column]).filter((cell) => cell !== null && cell !== '');
        return `${quoteData(String(row[nameColumn ?? ''] ?? ''))} (${[row[idColumn ?? ''], ...details].join(', ')})`;
      });
      const first = output.page.offset + 1;
      const more =
        output.page.next_cursor === null ? '' : `; more: call again with cursor "${output.page.next_cursor}"`;
      const inexact =
        output.exact_match === false && output.query !== null
          ? `No ${spec.noun} is named exactly ${quoteData(output.query)}; the closest, `
          : '';
      const heading = `${spec.noun[0]?.toUpperCase()}${spec.noun.slice(1)}s${what}, ${first}-${output.page.offset + output.rows.length}${output.query === null ? '' : ', best first'}`;
      const together = Object.entries(output.totals ?? {}).map(([name, value]) => {
        const metric = layer.metrics.get(name);
        return metric === undefined ? '' : `${name} ${formatValue(metric, value)}`;
      });
      const whole =
        output.period === null ? '' : `, each ${spec.noun}'s whole figure, not only within the period`;
      const sum =
        together.length === 0 ? '' : ` All of them together (every page${whole}): ${together.join(', ')}.`;
      return `${inexact}${inexact === '' ? heading : heading.charAt(0).toLowerCase() + heading.slice(1)}: ${items.join('; ')}${more}.${sum}`;
    },
  };
}
