import { z } from 'zod';
import { type AppliedFilter, DEFAULT_TIME_RANGE } from '../../semantic/plan-query.js';
import type { AccessPolicy, SemanticLayer, Tool } from '../../semantic/semantic-layer.js';
import { CALENDAR_PERIODS, RELATIVE_PERIODS } from '../../semantic/time-range.js';

/** Every string argument is short; every list is bounded. */
export const text = z.string().min(1).max(200);
export const oneOrMany = z.union([text, z.array(text).min(1).max(100)]);

/** A named period or explicit inclusive dates; a bare year may come as a number. */
export const timeRange = z.union([
  text,
  z.number().int().min(1900).max(2200),
  z.strictObject({
    from: text.describe('First day, YYYY-MM-DD'),
    to: text.describe('Last day, inclusive, YYYY-MM-DD'),
  }),
]);

/** What a time_range takes, and its default (none: the argument is only a filter). */
export function timeRangeHelp(fallback: string | undefined): string {
  return `A calendar period (${CALENDAR_PERIODS.join(', ')}), a relative one (${RELATIVE_PERIODS.join(', ')}), or {from, to} inclusive ISO dates. Relative periods end at the last complete day of data; last_month, last_quarter and last_year are the last complete ones.${fallback === undefined ? '' : ` Default ${fallback}.`}`;
}

export const TIME_RANGE_HELP = timeRangeHelp(DEFAULT_TIME_RANGE);

/** A list argument that also takes one name alone (`metrics: "views"` is `["views"]`). */
export function namesList(max: number, min = 1) {
  return z.union([text, z.array(text).min(min).max(max)]);
}

/** A list argument as a list, whether it came as one name or several. */
export function asList(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.map(String) : [String(value)];
}

/** The filter arguments a tool's YAML binds (geo, device, ...), minus those whose dimensions are hidden. */
export function filterArguments(
  tool: Tool,
  policy: AccessPolicy,
): Record<string, z.ZodOptional<typeof oneOrMany>> {
  const filters: Record<string, z.ZodOptional<typeof oneOrMany>> = {};
  for (const [name, filter] of Object.entries(tool.filters)) {
    const visible = filter.dimensions.filter((dimension) => !policy.hiddenDimensions.has(dimension));
    if (visible.length === 0) continue;
    const over = visible.join(' or ');
    filters[name] = oneOrMany
      .optional()
      .describe(`${filter.description ?? `Filter on ${over}.`} One value or a list (matched on ${over}).`);
  }
  return filters;
}

/** The filter arguments of a call, each as a list of strings. */
export function filterValues(tool: Tool, args: Readonly<Record<string, unknown>>): Record<string, string[]> {
  const filters: Record<string, string[]> = {};
  for (const name of Object.keys(tool.filters)) {
    const value = args[name];
    if (value !== undefined) filters[name] = Array.isArray(value) ? value.map(String) : [String(value)];
  }
  return filters;
}

/** Metrics and dimensions of a tool's model that a policy lets the caller see, for schema descriptions. */
export function visibleNames(layer: SemanticLayer, tool: Tool, policy: AccessPolicy) {
  return {
    metrics: layer.metricsFor(tool.model).filter((metric) => !policy.hiddenMetrics.has(metric.name)),
    dimensions: layer
      .dimensionsFor(tool.model)
      .filter((dimension) => !policy.hiddenDimensions.has(dimension.name)),
  };
}

/** The time_range argument as the planner takes it: a year given as a number becomes its name. */
export function timeRangeArgument(value: unknown): string | { from: string; to: string } | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return String(value);
  return value as string | { from: string; to: string };
}

/** A named period of an answer: its label and inclusive dates. */
export const periodSchema = z.object({ label: z.string(), from: z.string(), to: z.string() });

/** The filters an answer applied, as the caller asked for them. */
export const filtersSchema = z.array(
  z.object({
    argument: z.string(),
    dimension: z.string(),
    values: z.array(z.union([z.string(), z.number()])),
  }),
);

/** Applied filters as an answer reports them. */
export function filtersOutput(filters: readonly AppliedFilter[]): z.infer<typeof filtersSchema> {
  return filters.map((filter) => ({
    argument: filter.argument,
    dimension: filter.dimension,
    values: [...filter.values],
  }));
}

/** Where a page sits in its results, and the signed cursor of the next one (null on the last page). */
export const pageSchema = z.object({
  offset: z.number(),
  limit: z.number(),
  returned: z.number(),
  next_cursor: z.string().nullable(),
});

/** The next_cursor of a previous call: alone, or with the same arguments as that call. */
export const cursorArgument = z
  .string()
  .min(1)
  .max(4_000)
  .optional()
  .describe('next_cursor from a previous call, to fetch the next page of the same query (pass it alone).');

/** The `limit` and `cursor` arguments of a paginated tool; `what` names a page's rows ("Rows", "Results"). */
export function pageArguments(what: string, defaultLimit: number, maxLimit: number) {
  return {
    limit: z
      .number()
      .int()
      .min(1)
      .max(maxLimit)
      .optional()
      .describe(`${what} per page (default ${defaultLimit}, at most ${maxLimit}).`),
    cursor: cursorArgument,
  };
}
