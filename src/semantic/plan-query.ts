import { ArgumentError } from '../errors.js';
import { quote, unknownNameMessage } from './did-you-mean.js';
import {
  type DimensionFilter,
  type Grain,
  type OrderKey,
  pinnedValue,
  type QueryPlan,
} from './query-plan.js';
import type { AccessPolicy, Metric, SemanticLayer, Tool } from './semantic-layer.js';
import {
  type Comparison,
  comparisonPeriod,
  explicitRange,
  type Period,
  resolveNamedPeriod,
} from './time-range.js';

/** A tool call in semantic terms, after the tool's own schema has checked shapes. */
export interface AnalyticsRequest {
  readonly metrics?: readonly string[] | undefined;
  readonly timeRange?: string | { readonly from: string; readonly to: string } | undefined;
  readonly groupBy?: readonly string[] | undefined;
  readonly grain?: Grain | undefined;
  readonly compareTo?: Comparison | undefined;
  /** An explicit baseline period, instead of `compareTo`. */
  readonly baseline?: { readonly from: string; readonly to: string } | undefined;
  /** Dimensions to break changes down by, instead of the tool's mover dimensions. */
  readonly breakdown?: readonly string[] | undefined;
  /** Filter arguments of the tool (as named in its YAML) with the values asked for. */
  readonly filters: Readonly<Record<string, readonly string[]>>;
  readonly limit: number;
  readonly offset: number;
}

/** What the planner needs from the warehouse: the anchor day and the known values of enumerable dimensions. */
export interface PlanningFacts {
  readonly anchor: string;
  readonly values: ReadonlyMap<string, readonly string[]>;
  /** For other filtered dimensions whose values are checked: the asked-for values that exist. */
  readonly known?: ReadonlyMap<string, ReadonlySet<string>>;
  /** For a filter value nothing has (by `argument|value`): values whose names look like it, best first. */
  readonly lookalikes?: ReadonlyMap<string, readonly { readonly value: string; readonly name: string }[]>;
}

/** The key of a filter value's look-alikes in PlanningFacts. */
export const lookalikeKey = (argument: string, value: string): string => `${argument}|${value}`;

/** A filter as the reader asked for it, for saying back what was applied; one argument's filters are alternatives. */
export interface AppliedFilter extends DimensionFilter {
  readonly argument: string;
  readonly group: string;
}

/** The queries one call needs, planned once and shared by running and explaining. */
export interface AnalyticsPlan {
  readonly tool: Tool;
  readonly metrics: readonly Metric[];
  readonly period: Period;
  readonly comparison: Period | undefined;
  readonly groupBy: readonly string[];
  readonly grain: Grain | undefined;
  readonly filters: readonly AppliedFilter[];
  readonly limit: number;
  readonly offset: number;
  /** Every row group of the period (pages are cut after the privacy rules, which need them all). */
  readonly rows: QueryPlan;
  /** A trend's buckets in the comparison period (with a grain and a comparison): each row's earlier bucket. */
  readonly comparisonRows?: QueryPlan | undefined;
  /** Totals of the period and of its comparison, with the days that had data. */
  readonly totals: QueryPlan;
  /** Per-dimension breakdowns of both periods, for top movers (only with a comparison). */
  readonly movers: readonly { readonly dimension: string; readonly plan: QueryPlan }[];
}

/** The policy of a caller no access policy restricts. */
export const OPEN_POLICY: AccessPolicy = {
  name: '',
  rowFilters: [],
  hiddenMetrics: new Set(),
  hiddenDimensions: new Set(),
  minGroupSize: undefined,
  minDistinct: new Map(),
};

export const DEFAULT_TIME_RANGE = 'last_28_days';
export const MAX_GROUP_BY = 2;

/** Enumerable dimensions whose values planning `request` must know (filters on them are checked). */
export function dimensionsNeedingValues(
  layer: SemanticLayer,
  tool: Tool,
  request: AnalyticsRequest,
): string[] {
  const needed = new Set<string>();
  for (const [argument, values] of Object.entries(request.filters)) {
    if (values.length === 0) continue;
    for (const name of tool.filters[argument]?.dimensions ?? []) {
      if (layer.dimensions.get(name)?.enumerable === true) needed.add(name);
    }
  }
  return [...needed];
}

/** Validates a request against the semantic layer and plans its queries; every mistake is an ArgumentError. */
export function planAnalytics(
  layer: SemanticLayer,
  tool: Tool,
  request: AnalyticsRequest,
  facts: PlanningFacts,
  policy: AccessPolicy = OPEN_POLICY,
): AnalyticsPlan {
  // Hidden names are simply unknown to this caller: errors and suggestions never mention them.
  const metricNames = layer
    .metricsFor(tool.model)
    .map((metric) => metric.name)
    .filter((name) => !policy.hiddenMetrics.has(name));
  const defaults = tool.default_metrics.filter((name) => !policy.hiddenMetrics.has(name));
  const metrics = (request.metrics ?? defaults).map((name) => {
    const metric = layer.metrics.get(name);
    if (metric === undefined || metric.baseModel !== tool.model || policy.hiddenMetrics.has(name)) {
      throw new ArgumentError('metrics', unknownNameMessage('metric', name, metricNames));
    }
    return metric;
  });
  if (metrics.length === 0)
    throw new ArgumentError('metrics', `metrics is empty; allowed: ${metricNames.join(', ')}`);

  const dimensionNames = layer
    .dimensionsFor(tool.model)
    .map((dimension) => dimension.name)
    .filter((name) => !policy.hiddenDimensions.has(name));
  const time = layer.timeDimensionOf(tool);
  let grain = request.grain;
  const groupBy: string[] = [];
  for (const name of request.groupBy ?? []) {
    if (!dimensionNames.includes(name))
      throw new ArgumentError('group_by', unknownNameMessage('dimension', name, dimensionNames));
    if (name === time) grain ??= 'day';
    else if (!groupBy.includes(name)) groupBy.push(name);
  }
  if ((request.groupBy ?? []).length > MAX_GROUP_BY) {
    throw new ArgumentError(
      'group_by',
      `group_by takes at most ${MAX_GROUP_BY} dimensions, got ${(request.groupBy ?? []).length}`,
    );
  }

  const period =
    request.timeRange === undefined
      ? resolveNamedPeriod(DEFAULT_TIME_RANGE, facts.anchor)
      : typeof request.timeRange === 'string'
        ? resolveNamedPeriod(request.timeRange, facts.anchor)
        : explicitRange(request.timeRange.from, request.timeRange.to);
  const comparison =
    request.baseline !== undefined
      ? {
          ...explicitRange(request.baseline.from, request.baseline.to, 'baseline'),
          label: `baseline (${request.baseline.from} to ${request.baseline.to})`,
        }
      : request.compareTo === undefined
        ? undefined
        : comparisonPeriod(period, request.compareTo);

  if (comparison !== undefined && comparison.from <= period.to && comparison.to >= period.from) {
    throw new ArgumentError(
      request.baseline === undefined ? 'compare_to' : 'baseline',
      `The baseline ${comparison.from} to ${comparison.to} overlaps the period ${period.from} to ${period.to}: choose a baseline that ends before ${period.from}`,
    );
  }
  const filters = planFilters(layer, tool, request.filters, facts, policy);
  const base = {
    model: tool.model,
    metrics: metrics.map((metric) => metric.name),
    timeDimension: time,
    filters,
  };
  const primary = metrics[0]?.name ?? '';
  const order: OrderKey[] = grain !== undefined ? [{ key: time, direction: 'asc' }] : [];
  if (groupBy.length > 0) order.push({ key: primary, direction: 'desc' });
  const periods = comparison === undefined ? [period] : [period, comparison];
  // A breakdown with a comparison carries each group's value in both periods (a trend's buckets do not pair).
  const paired = comparison !== undefined && groupBy.length > 0 && grain === undefined;
  const rows: QueryPlan = paired
    ? { ...base, dimensions: groupBy, periods, byPeriod: true, order }
    : { ...base, dimensions: groupBy, grain, periods: [period], order };
  // A trend with a comparison: the same buckets over the comparison period, each paired with its row by date.
  const comparisonRows: QueryPlan | undefined =
    comparison !== undefined && grain !== undefined
      ? { ...base, dimensions: groupBy, grain, periods: [comparison], order }
      : undefined;
  const totals: QueryPlan = {
    ...base,
    dimensions: [],
    periods,
    byPeriod: true,
    order: [],
  };
  // Movers break the change down by what was grouped on and by the tool's usual suspects; a dimension
  // pinned to one value by a filter has nothing to break down.
  const pinned = new Set(
    filters.filter((filter) => pinnedValue(filter, filters) !== undefined).map((filter) => filter.dimension),
  );
  for (const name of request.breakdown ?? []) {
    if (!dimensionNames.includes(name)) {
      throw new ArgumentError('dimensions', unknownNameMessage('dimension', name, dimensionNames));
    }
    // Days of two different periods are different segments: one that exists only in the baseline would be
    // "the largest contributor" of any change.
    if (name === time)
      throw new ArgumentError(
        'dimensions',
        `dimensions: ${quote(name)} is a day, and a change is split across segments both periods share, not across days; to see when it changed, ask for the daily or weekly series with its comparison (grain: "day" or "week", compare_to) instead`,
      );
  }
  const moverDimensions = [...new Set([...groupBy, ...(request.breakdown ?? tool.mover_dimensions)])].filter(
    (name) => !pinned.has(name) && !policy.hiddenDimensions.has(name),
  );
  const movers =
    comparison === undefined
      ? []
      : moverDimensions.map((dimension) => ({
          dimension,
          plan: {
            ...base,
            dimensions: [dimension],
            periods,
            byPeriod: true,
            order: [],
          } satisfies QueryPlan,
        }));
  return {
    tool,
    metrics,
    period,
    comparison,
    groupBy,
    grain,
    filters,
    limit: request.limit,
    offset: request.offset,
    rows,
    comparisonRows,
    totals,
    movers,
  };
}

/** Non-enumerable dimensions of a request's filters whose values are checked (an id a catalogue lists or names). */
export function dimensionsToCheck(
  layer: SemanticLayer,
  tool: Tool,
  request: Pick<AnalyticsRequest, 'filters'>,
): { dimension: string; values: string[] }[] {
  const checked = new Map<string, Set<string>>();
  for (const [argument, values] of Object.entries(request.filters)) {
    for (const name of tool.filters[argument]?.dimensions ?? []) {
      const dimension = layer.dimensions.get(name);
      if (dimension === undefined || dimension.enumerable || dimension.type !== 'string') continue;
      if (dimension.named_by === undefined && layer.catalogueOf(name) === undefined) continue;
      const set = checked.get(name) ?? new Set<string>();
      for (const value of values) set.add(value.trim());
      checked.set(name, set);
    }
  }
  return [...checked].map(([dimension, values]) => ({ dimension, values: [...values].sort() }));
}

/** The dimensions a filter argument's values may match: the filter's, less those the policy hides. */
export function visibleDimensions(tool: Tool, argument: string, policy: AccessPolicy): string[] {
  return (tool.filters[argument]?.dimensions ?? []).filter((name) => !policy.hiddenDimensions.has(name));
}

/** The filter values of a request that match no dimension of their argument, with the dimensions tried. */
export function unmatchedValues(
  layer: SemanticLayer,
  tool: Tool,
  requested: Readonly<Record<string, readonly string[]>>,
  facts: PlanningFacts,
  policy: AccessPolicy,
): { argument: string; value: string; dimensions: string[] }[] {
  const unmatched: { argument: string; value: string; dimensions: string[] }[] = [];
  for (const [argument, values] of Object.entries(requested)) {
    const dimensions = visibleDimensions(tool, argument, policy);
    for (const raw of values) {
      const value = raw.trim();
      try {
        if (matchValue(layer, dimensions, value, facts) === undefined)
          unmatched.push({ argument, value, dimensions });
      } catch {
        // A malformed number is its own error, raised by planFilters.
      }
    }
  }
  return unmatched;
}

/** Checks a request's filter arguments: each value matched to its dimension and spelled as the warehouse has it. */
export function planFilters(
  layer: SemanticLayer,
  tool: Tool,
  requested: Readonly<Record<string, readonly string[]>>,
  facts: PlanningFacts,
  policy: AccessPolicy,
): AppliedFilter[] {
  const applied: AppliedFilter[] = [];
  for (const [argument, values] of Object.entries(requested)) {
    const filter = tool.filters[argument];
    const dimensions = visibleDimensions(tool, argument, policy);
    if (filter === undefined || dimensions.length === 0) {
      throw new ArgumentError(argument, unknownNameMessage('filter', argument, Object.keys(tool.filters)));
    }
    const byDimension = new Map<string, (string | number)[]>();
    for (const raw of values) {
      const value = raw.trim();
      const match = matchValue(layer, dimensions, value, facts);
      if (match === undefined)
        throw new ArgumentError(argument, unknownValueMessage(argument, value, dimensions, facts));
      const list = byDimension.get(match.dimension) ?? [];
      if (!list.includes(match.value)) list.push(match.value);
      byDimension.set(match.dimension, list);
    }
    for (const [dimension, list] of byDimension)
      applied.push({ argument, group: argument, dimension, values: list });
  }
  return applied;
}

/**
 * Why a filter value matched nothing, with what to pass instead: values whose names look like it (`"BR"
 * (Brazil)` for "Brasil", a title's id for its name), else the closest values.
 */
function unknownValueMessage(
  argument: string,
  value: string,
  dimensions: readonly string[],
  facts: PlanningFacts,
): string {
  const lookalikes = facts.lookalikes?.get(lookalikeKey(argument, value)) ?? [];
  const known = dimensions.flatMap((name) => facts.values.get(name) ?? []);
  if (lookalikes.length > 0) {
    const named = lookalikes.map((item) => `${quote(item.value)} (${item.name})`).join(', ');
    return `Unknown ${argument} value ${quote(value)}: did you mean ${named}? Pass the value itself, not its name${known.length > 0 && known.length <= 40 ? `; allowed: ${known.join(', ')}` : ''}`;
  }
  if (known.length > 0) return unknownNameMessage(`${argument} value`, value, known);
  return `Unknown ${argument} value ${quote(value)}: nothing has it${dimensions.length > 0 ? ` as its ${dimensions.join(' or ')}` : ''}; look the value up first (by name) and pass what it returns`;
}

/** The dimension a filter value belongs to, with the value spelled as the warehouse spells it. */
function matchValue(
  layer: SemanticLayer,
  dimensions: readonly string[],
  value: string,
  facts: PlanningFacts,
): { dimension: string; value: string | number } | undefined {
  for (const name of dimensions) {
    const dimension = layer.dimensions.get(name);
    if (dimension === undefined) continue;
    if (dimension.enumerable) {
      const known = facts.values.get(name) ?? [];
      const found =
        known.find((candidate) => candidate === value) ??
        known.find((c) => c.toLowerCase() === value.toLowerCase());
      if (found !== undefined) return { dimension: name, value: found };
      continue;
    }
    // A checked dimension (an id with a catalogue) matches only values that exist.
    const known = facts.known?.get(name);
    if (known !== undefined && !known.has(value)) continue;
    return { dimension: name, value: parseTyped(dimension.type, value, name) };
  }
  return undefined;
}

function parseTyped(type: string, value: string, dimension: string): string | number {
  if (type === 'integer' || type === 'number') {
    const number = Number(value);
    if (value === '' || !Number.isFinite(number) || (type === 'integer' && !Number.isInteger(number))) {
      throw new ArgumentError(dimension, `Invalid ${dimension} ${quote(value)}: expected a ${type}`);
    }
    return number;
  }
  return value;
}
