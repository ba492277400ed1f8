import {
  type AliasedRawBuilder,
  type Expression,
  type RawBuilder,
  type SelectQueryBuilder,
  type SqlBool,
  sql,
} from 'kysely';
import { aggregateFunction, ROLLUP_MERGES } from './aggregate-functions.js';
import { type AnyDatabase, compilerDb, toClickHouse, typed } from './clickhouse-compiler.js';
import type { CompiledQuery } from './compiled-query.js';
import { distinctPeopleMetric, isAdditive } from './metric-traits.js';
import {
  COMPLETE_DAY_COLUMN,
  FIRST_DAY_COLUMN,
  type Grain,
  LAST_DAY_COLUMN,
  MEAN_COLUMN,
  type Measure,
  ONLY_COLUMN,
  PERIOD_COLUMN,
  type QueryPlan,
  SCORE_COLUMN,
  SET_COLUMN,
  UNITS_COLUMN,
  type UnitOutcomePlan,
  VARIANCE_COLUMN,
  varianceColumn,
} from './query-plan.js';
import { metricColumn, rollupSource } from './rollups.js';
import type { DimensionType, FilterValue } from './schema.js';
import {
  type Dimension,
  joinKeyColumns,
  type Metric,
  type Model,
  qualifiedTable,
  type Rollup,
  type SemanticLayer,
} from './semantic-layer.js';
import {
  addDays,
  addMonths,
  bucketEnd,
  type DateRange,
  EARLIEST_DAY,
  LATEST_DAY,
  type Period,
} from './time-range.js';

type Fragment = RawBuilder<unknown>;

/** The column of a per-unit step: the unit (a viewer) a row of it sums. */
const UNIT_COLUMN = '_unit';

const GRAIN_FUNCTIONS: Record<Exclude<Grain, 'day'>, string> = {
  week: 'toMonday',
  month: 'toStartOfMonth',
  quarter: 'toStartOfQuarter',
  year: 'toStartOfYear',
};

// Days travel as Date32 (1900 to 2299): a Date parameter would clamp a day before 1970 to 1970-01-01.
const PARAMETER_TYPES: Record<DimensionType, 'String' | 'Date32' | 'Int64' | 'Float64'> = {
  string: 'String',
  date: 'Date32',
  timestamp: 'Date32',
  integer: 'Int64',
  number: 'Float64',
};

/** `model`.`column`, from allow-listed names only. */
function column(model: string, name: string): Fragment {
  return sql`${sql.ref(`${model}.${name}`)}`;
}

/** Only our own fixed function names ever reach raw SQL. */
function call(fn: string, ...args: Fragment[]): Fragment {
  return sql`${sql.raw(fn)}(${sql.join(args)})`;
}

function literal(value: FilterValue): ReturnType<typeof typed> {
  if (typeof value === 'string') return typed(value, 'String');
  if (typeof value === 'boolean') return typed(value ? 1 : 0, 'Int64');
  return typed(value, Number.isInteger(value) ? 'Int64' : 'Float64');
}

/**
 * The SQL expression of a metric, ratios expanded from their parts; `only` restricts the rows it aggregates.
 * Read from a `rollup`, a kept metric merges its state (its `where` was applied when the state was kept).
 */
export function metricExpression(
  layer: SemanticLayer,
  metric: Metric,
  only?: Fragment,
  rollup?: Rollup,
): Fragment {
  if (metric.aggregation === 'ratio') {
    const numerator = layer.metrics.get(metric.numerator ?? '');
    const denominator = layer.metrics.get(metric.denominator ?? '');
    if (numerator === undefined || denominator === undefined)
      throw new Error(`Ratio metric ${metric.name} is incomplete`);
    return scaled(
      metric,
      sql`(${metricExpression(layer, numerator, only, rollup)}) / nullIf(${metricExpression(layer, denominator, only, rollup)}, 0)`,
    );
  }
  const model = metric.model ?? metric.baseModel;
  if (rollup !== undefined) {
    const merge = ROLLUP_MERGES[metric.aggregation];
    if (merge === undefined || !rollup.metrics.includes(metric.name))
      throw new Error(`Rollup ${rollup.name} does not keep ${metric.name}`);
    const state = column(model, metricColumn(metric.name));
    const [aggregation, combinator] = merge;
    return scaled(
      metric,
      only === undefined
        ? call(aggregateFunction(aggregation, combinator), state)
        : call(aggregateFunction(aggregation, `${combinator}If`), state, only),
    );
  }
  const aggregation = metric.aggregation;
  const args = metric.column === undefined ? [] : [column(model, metric.column)];
  const conditions = Object.entries(metric.where ?? {}).map(
    ([name, value]) => sql`${column(model, name)} = ${literal(value)}`,
  );
  if (only !== undefined) conditions.push(only);
  const aggregate =
    conditions.length === 0
      ? call(aggregateFunction(aggregation), ...args)
      : call(aggregateFunction(aggregation, 'If'), ...args, sql.join(conditions, sql` AND `));
  return scaled(metric, aggregate);
}

/**
 * The variance of a count or sum metric under a (compound) Poisson model, scaled like the metric. Rows about
 * people are not independent: one viewer's views move together. So where the model says whose rows they are
 * (a distinct-count `people` metric), the people are the units: the sum over people of the square of each
 * one's own total (a compound Poisson over people). Otherwise each row is one: the count itself, or the sum of
 * squares. Undefined for other aggregations.
 */
export function varianceExpression(layer: SemanticLayer, metric: Metric): Fragment | undefined {
  if (!isAdditive(metric)) return undefined;
  const model = metric.model ?? metric.baseModel;
  const conditions = Object.entries(metric.where ?? {}).map(
    ([name, value]) => sql`${column(model, name)} = ${literal(value)}`,
  );
  // count(column) counts the rows where it is not NULL: so does its variance.
  if (metric.aggregation === 'count' && metric.column !== undefined)
    conditions.push(sql`isNotNull(${column(model, metric.column)})`);
  const where = conditions.length === 0 ? undefined : sql.join(conditions, sql` AND `);
  const unit = unitOf(layer, model);
  if (unit !== undefined) {
    const value =
      metric.aggregation === 'count'
        ? sql`toFloat64(1)`
        : sql`toFloat64(${column(model, metric.column ?? '')})`;
    // A Map argument, not the (keys, values) arrays: 3× faster at 100 M events, the same sums.
    const args = [sql`map(${column(model, unit)}, ${value})`, ...(where === undefined ? [] : [where])];
    const totals = call('mapValues', call(where === undefined ? 'sumMap' : 'sumMapIf', ...args));
    return scaledSquares(metric, sql`arraySum(arrayMap(${sql.raw('s -> s * s')}, ${totals}))`);
  }
  let expression: Fragment;
  if (metric.aggregation === 'count') {
    expression = where === undefined ? call('count') : call('countIf', where);
  } else {
    const value = column(model, metric.column ?? '');
    const square = sql`${value} * ${value}`;
    expression = where === undefined ? call('sum', square) : call('sumIf', square, where);
  }
  return scaledSquares(metric, expression);
}

/** A sum of squares of a metric's values, scaled as the metric is (by the square of its factor). */
function scaledSquares(metric: Metric, squares: Fragment): Fragment {
  const factor = (metric.multiply_by ?? 1) / (metric.divide_by ?? 1);
  return factor === 1 ? squares : sql`(${squares}) * ${typed(factor * factor, 'Float64')}`;
}

/** The column naming the person behind each row of `model`: its `people` metric's distinct-counted column. */
function unitOf(layer: SemanticLayer, model: string): string | undefined {
  const metric = distinctPeopleMetric(layer, model);
  return metric !== undefined && (metric.model ?? metric.baseModel) === model ? metric.column : undefined;
}

function scaled(metric: Metric, expression: Fragment): Fragment {
  let result = expression;
  if (metric.multiply_by !== undefined) result = sql`(${result}) * ${typed(metric.multiply_by, 'Float64')}`;
  if (metric.divide_by !== undefined) result = sql`(${result}) / ${typed(metric.divide_by, 'Float64')}`;
  return result;
}

/** The layer's time zone, as a parameter (it comes from YAML, and still never enters SQL text). */
function zoneOf(layer: SemanticLayer): Fragment {
  return sql`${typed(layer.timeZone, 'String')}`;
}

/**
 * A dimension's value: its column, a timestamp read as its calendar day in the layer's zone, and with a grain
 * the first day of its bucket (weeks start on Monday) in that zone. Days are Date32 (1900 to 2299); the
 * readers' extended datetime results keep buckets of old days from wrapping around.
 */
function dimensionExpression(layer: SemanticLayer, dimension: Dimension, grain?: Grain): Fragment {
  const expression = column(dimension.model, dimension.column);
  const zone = dimension.type === 'timestamp' ? [zoneOf(layer)] : [];
  if (grain !== undefined && grain !== 'day') return call(GRAIN_FUNCTIONS[grain], expression, ...zone);
  return dimension.type === 'timestamp' ? call('toDate32', expression, ...zone) : expression;
}

/**
 * One table, filtered to the tenant (and, for the base model, to the periods) before any join. A table the
 * layer declares shared by every tenant (a catalogue) has no tenant column and is read whole.
 */
function scopedTable(model: Model, tenant: string, extra?: Expression<SqlBool>) {
  return tenantRows(model, tenant, extra).as(model.name);
}

/** The rows of one table for `tenant` (every row of a shared one), narrowed by `extra`. */
function tenantRows(model: Model, tenant: string, extra?: Expression<SqlBool>) {
  let query = compilerDb.selectFrom(qualifiedTable(model)).selectAll();
  if (model.tenant_column !== undefined)
    query = query.where(sql<SqlBool>`${sql.ref(model.tenant_column)} = ${typed(tenant, 'String')}`);
  else if (model.shared !== true)
    throw new Error(`Model ${model.name} has neither a tenant column nor shared`);
  return extra === undefined ? query : query.where(extra);
}

/** Whole months of `periods` (as ranges of first days) and the days around them, in the periods' order. */
export function splitMonths(periods: readonly DateRange[]): { months: DateRange[]; days: DateRange[] } {
  const months: DateRange[] = [];
  const days: DateRange[] = [];
  for (const period of periods) {
    const start = monthOf(period.from);
    const first = start === period.from ? start : addMonths(start, 1);
    const last = monthOf(period.to);
    const lastWhole = bucketEnd(last, 'month') === period.to ? last : addMonths(last, -1);
    if (first > lastWhole) {
      days.push(period);
      continue;
    }
    months.push({ from: first, to: lastWhole });
    if (period.from < first) days.push({ from: period.from, to: addDays(first, -1) });
    const end = bucketEnd(lastWhole, 'month');
    if (end < period.to) days.push({ from: addDays(end, 1), to: period.to });
  }
  return { months, days };
}

/** The first day of a day's month. */
const monthOf = (day: string): string => `${day.slice(0, 7)}-01`;

/**
 * A rollup read in two tiers, filtered to the tenant: its monthly table for the whole months of the periods
 * (a row per month, dated its first day) and its daily table for the days around them. Every row still falls in
 * its period, so the periods, buckets of a month or longer and every sum read the same as from the days.
 */
function tieredTable(
  daily: Model,
  tenant: string,
  monthly: { readonly tier: Model; readonly time: Dimension; readonly periods: readonly DateRange[] },
) {
  const { months, days } = splitMonths(monthly.periods);
  const day = sql`${sql.ref(monthly.time.column)}`;
  const within = (ranges: readonly DateRange[]) =>
    sql<SqlBool>`(${sql.join(
      ranges.map(
        (range) => sql`${day} BETWEEN ${typed(range.from, 'Date32')} AND ${typed(range.to, 'Date32')}`,
      ),
      sql` OR `,
    )})`;
  const wholeMonths = tenantRows(monthly.tier, tenant, within(months));
  return days.length === 0
    ? wholeMonths.as(daily.name)
    : wholeMonths.unionAll(tenantRows(daily, tenant, within(days))).as(daily.name);
}

/**
 * Whether `target` (the column of a day dimension) falls in `period`: a date column between the two days, a
 * timestamp from the first day's midnight in the layer's zone up to (not including) the next midnight after
 * the last day. Both compare the column itself, so its sorting key still prunes.
 */
function inPeriod(
  layer: SemanticLayer,
  time: Dimension,
  target: Fragment,
  period: DateRange,
): RawBuilder<SqlBool> {
  if (time.type !== 'timestamp')
    return sql<SqlBool>`${target} BETWEEN ${typed(period.from, 'Date32')} AND ${typed(period.to, 'Date32')}`;
  const midnight = (day: string) =>
    call('toDateTime64', sql`${typed(day, 'Date32')}`, sql`${typed(0, 'UInt64')}`, zoneOf(layer));
  return sql<SqlBool>`(${target} >= ${midnight(period.from)} AND ${target} < ${midnight(addDays(period.to, 1))})`;
}

/** Rows lasting from `start` to `end` (both day dimensions) that are active in `period`: any day in common. */
function activeIn(
  layer: SemanticLayer,
  start: Dimension,
  end: Dimension,
  period: DateRange,
): RawBuilder<SqlBool> {
  const endsAfter = inPeriod(layer, end, sql`${sql.ref(end.column)}`, { from: period.from, to: LATEST_DAY });
  const startsBefore = inPeriod(layer, start, sql`${sql.ref(start.column)}`, {
    from: EARLIEST_DAY,
    to: period.to,
  });
  return sql<SqlBool>`(${startsBefore} AND (${endsAfter} OR ${sql.ref(end.column)} IS NULL))`;
}

/** The periods as a condition on the base table's own time column (inside its subquery, so the key is used). */
function periodCondition(
  layer: SemanticLayer,
  plan: Pick<QueryPlan, 'timeDimension' | 'periods' | 'overlap'>,
): Expression<SqlBool> {
  const dimension = mustGet(layer.dimensions, plan.timeDimension, 'dimension');
  const target = sql`${sql.ref(dimension.column)}`;
  if (plan.overlap !== undefined) {
    const end = mustGet(layer.dimensions, plan.overlap.end, 'dimension');
    const ranges = plan.periods.map((period) => activeIn(layer, dimension, end, period));
    return sql<SqlBool>`(${sql.join(ranges, sql` OR `)})`;
  }
  const ranges = plan.periods.map((period) => inPeriod(layer, dimension, target, period));
  return ranges.length === 1
    ? (ranges[0] as RawBuilder<SqlBool>)
    : sql<SqlBool>`(${sql.join(ranges, sql` OR `)})`;
}

function mustGet<T>(map: ReadonlyMap<string, T>, name: string, kind: string): T {
  const value = map.get(name);
  if (value === undefined) throw new Error(`Unknown ${kind} ${name} in a plan`);
  return value;
}

/**
 * The rows of `base` for `tenant` that pass `filters`, with the joins the dimensions and filters need. Every
 * table is filtered by the tenant inside its own subquery, before any join; `where` narrows the base table
 * inside its subquery (so its sorting key is used).
 */
function filteredSource(
  layer: SemanticLayer,
  base: Model,
  tenant: string,
  needs: {
    dimensions: readonly Dimension[];
    filters: readonly {
      dimension: Dimension;
      values: readonly (string | number)[];
      group?: string | undefined;
    }[];
    where?: Expression<SqlBool> | undefined;
    /** A rollup's monthly tier, and the periods (on its day column) to read from it where months are whole. */
    monthly?:
      | { readonly tier: Model; readonly time: Dimension; readonly periods: readonly DateRange[] }
      | undefined;
  },
) {
  const usedModels = new Set(
    [...needs.dimensions, ...needs.filters.map((filter) => filter.dimension)].map((d) => d.model),
  );
  let query = compilerDb.selectFrom(
    needs.monthly === undefined
      ? scopedTable(base, tenant, needs.where)
      : tieredTable(base, tenant, needs.monthly),
  );
  for (const join of base.joins) {
    if (!usedModels.has(join.to)) continue;
    const joined = mustGet(layer.models, join.to, 'model');
    query = query.leftJoin(scopedTable(joined, tenant), (on) => {
      let condition = on;
      for (const [local, remote] of Object.entries(join.on)) {
        condition = condition.onRef(`${base.name}.${local}`, '=', `${joined.name}.${remote}`);
      }
      return condition;
    });
  }
  // Filters of one group are alternatives (a country or a region); groups and lone filters all hold together.
  const groups = new Map<string, RawBuilder<SqlBool>[]>();
  needs.filters.forEach((filter, index) => {
    const type = PARAMETER_TYPES[filter.dimension.type];
    const values = filter.values.map((value) => typed(value, type));
    const condition = sql<SqlBool>`${dimensionExpression(layer, filter.dimension)} IN (${sql.join(values)})`;
    const key = filter.group === undefined ? `#${index}` : `=${filter.group}`;
    groups.set(key, [...(groups.get(key) ?? []), condition]);
  });
  for (const conditions of groups.values()) {
    query = query.where(
      conditions.length === 1
        ? (conditions[0] as RawBuilder<SqlBool>)
        : sql<SqlBool>`(${sql.join(conditions, sql` OR `)})`,
    );
  }
  return query;
}

/** The index (as a string) of the period a row falls in, "" for none. */
function periodIndex(layer: SemanticLayer, time: Dimension, periods: readonly Period[]): Fragment {
  const branches = periods.flatMap((period, index) => [
    inPeriod(layer, time, column(time.model, time.column), period),
    sql`${typed(String(index), 'String')}`,
  ]);
  return sql`multiIf(${sql.join(branches)}, ${typed('', 'String')})`;
}

/** The expression of a privacy measure: a metric counting people, distinct values or an extreme value. */
function measureExpression(layer: SemanticLayer, measure: Measure, rollup?: Rollup): Fragment {
  if ('metric' in measure)
    return metricExpression(layer, mustGet(layer.metrics, measure.metric, 'metric'), undefined, rollup);
  if ('distinct' in measure)
    return call(
      'uniqExact',
      dimensionExpression(layer, mustGet(layer.dimensions, measure.distinct, 'dimension')),
    );
  const value = dimensionExpression(layer, mustGet(layer.dimensions, measure.of, 'dimension'));
  return call(measure.extreme, sql`ifNull(toString(${value}), ${typed('', 'String')})`);
}

/**
 * A model's column as a day: a timestamp (a dimension of that type declares it) read in the layer's zone.
 * `value` is the column as the query names it (qualified by its model unless said otherwise).
 */
function dayOfColumn(
  layer: SemanticLayer,
  model: string,
  name: string,
  value: Fragment = column(model, name),
): Fragment {
  const timestamp = [...layer.dimensions.values()].some(
    (dimension) => dimension.model === model && dimension.column === name && dimension.type === 'timestamp',
  );
  return timestamp ? call('toDate32', value, zoneOf(layer)) : value;
}

/** Dimensions a measure reads (to join their models). */
function measuredDimensions(layer: SemanticLayer, measures: readonly Measure[]): Dimension[] {
  return measures.flatMap((measure) => {
    if ('distinct' in measure) return [mustGet(layer.dimensions, measure.distinct, 'dimension')];
    if ('of' in measure) return [mustGet(layer.dimensions, measure.of, 'dimension')];
    return [];
  });
}

/**
 * The rows of the small groups of another shape: `(its group keys) IN (the keys of its groups under a
 * minimum)`, each side computed over the same filtered, tenant-scoped source.
 */
function inSmallGroups(
  layer: SemanticLayer,
  base: Model,
  tenant: string,
  plan: QueryPlan,
  filters: Parameters<typeof filteredSource>[3]['filters'],
  time: Dimension | undefined,
  rollup: Rollup | undefined,
  tierFor: (periods: readonly Period[]) => Parameters<typeof filteredSource>[3]['monthly'],
): { condition: RawBuilder<SqlBool>; dimensions: Dimension[] } | undefined {
  const shape = plan.within;
  if (shape === undefined) return undefined;
  const dimensions = shape.dimensions.map((name) => mustGet(layer.dimensions, name, 'dimension'));
  const keys: Fragment[] = [];
  if (time !== undefined && shape.grain !== undefined)
    keys.push(dimensionExpression(layer, time, shape.grain));
  if (time !== undefined && shape.byPeriod === true) keys.push(periodIndex(layer, time, shape.periods));
  for (const dimension of dimensions) keys.push(dimensionExpression(layer, dimension));
  const groups = filteredSource(layer, base, tenant, {
    dimensions: [...dimensions, ...measuredDimensions(layer, shape.below)],
    filters,
    where:
      shape.periods.length === 0
        ? undefined
        : periodCondition(layer, { timeDimension: plan.timeDimension, periods: shape.periods }),
    monthly: tierFor(shape.periods),
  });
  const aliases = keys.map((_, index) => `_g${index}`);
  const small = groups
    .select(keys.map((key, index) => key.as(aliases[index] as string)))
    .groupBy(aliases.map((alias) => sql`${sql.id(alias)}`))
    .having(
      sql<SqlBool>`${sql.join(
        shape.below.map(
          (measure) => sql`${measureExpression(layer, measure, rollup)} < ${typed(measure.min, 'Int64')}`,
        ),
        sql` OR `,
      )}`,
    );
  return { condition: sql<SqlBool>`(${sql.join(keys)}) IN (${small})`, dimensions };
}

/**
 * Compiles a validated plan to one ClickHouse query for `tenant`. Every table is filtered by the tenant inside
 * its own subquery, before any join, so a join can never bring in another tenant's rows. With a `rollup` that
 * covers the plan (coveringRollup), the model's rows are read from the rollup's table: the same columns,
 * summed per day, with a state per metric.
 */
export function compileQuery(
  layer: SemanticLayer,
  plan: QueryPlan,
  tenant: string,
  rollup?: Rollup,
  monthly = false,
): CompiledQuery {
  const base =
    rollup === undefined ? mustGet(layer.models, plan.model, 'model') : rollupSource(layer, rollup);
  // A rollup's monthly tier serves the whole months of a plan that buckets by month or longer (or not at all).
  const coarse = (grain: Grain | undefined) => grain === undefined || (grain !== 'day' && grain !== 'week');
  const tier =
    rollup !== undefined &&
    monthly &&
    coarse(plan.grain) &&
    (plan.within === undefined || coarse(plan.within.grain))
      ? rollupSource(layer, rollup, 'month')
      : undefined;
  const tierFor = (periods: readonly Period[]) =>
    tier === undefined || periods.length === 0 || splitMonths(periods).months.length === 0
      ? undefined
      : { tier, time: mustGet(layer.dimensions, plan.timeDimension, 'dimension'), periods };
  const needsTime =
    plan.periods.length > 0 ||
    plan.grain !== undefined ||
    plan.coverage === true ||
    plan.within !== undefined;
  const time = needsTime ? mustGet(layer.dimensions, plan.timeDimension, 'dimension') : undefined;
  const dimensions = plan.dimensions.map((name) => mustGet(layer.dimensions, name, 'dimension'));
  const filters = plan.filters.map((filter) => ({
    ...filter,
    dimension: mustGet(layer.dimensions, filter.dimension, 'dimension'),
  }));
  const metrics = plan.metrics.map((name) => mustGet(layer.metrics, name, 'metric'));

  const searched =
    plan.search === undefined ? undefined : mustGet(layer.dimensions, plan.search.dimension, 'dimension');
  const inPeriods = plan.periods.length === 0 ? undefined : periodCondition(layer, plan);
  const small = inSmallGroups(layer, base, tenant, plan, filters, time, rollup, tierFor);
  const split =
    plan.marginal === undefined ? undefined : mustGet(layer.dimensions, plan.marginal.dimension, 'dimension');
  let query = filteredSource(layer, base, tenant, {
    dimensions: [
      ...dimensions,
      ...(searched === undefined ? [] : [searched]),
      ...measuredDimensions(layer, plan.measures ?? []),
      ...(small?.dimensions ?? []),
      ...(split === undefined ? [] : [split]),
    ],
    filters,
    where: inPeriods,
    monthly: tierFor(plan.periods),
  });
  if (small !== undefined) query = query.where(small.condition);

  const selections: AliasedRawBuilder<unknown, string>[] = [];
  const groupKeys: string[] = [];
  let score: Fragment | undefined;
  if (searched !== undefined && plan.search !== undefined) {
    const needle = typed(plan.search.text, 'String');
    const haystack = dimensionExpression(layer, searched);
    score = sql`greatest(if(positionCaseInsensitiveUTF8(${haystack}, ${needle}) > 0, 1, 0), ngramSearchCaseInsensitiveUTF8(${haystack}, ${needle}))`;
  }
  if (time !== undefined && plan.grain !== undefined) {
    selections.push(dimensionExpression(layer, time, plan.grain).as(time.name));
    groupKeys.push(time.name);
  }
  if (time !== undefined && plan.byPeriod === true && plan.periods.length > 0) {
    selections.push(periodIndex(layer, time, plan.periods).as(PERIOD_COLUMN));
    groupKeys.push(PERIOD_COLUMN);
  }
  for (const dimension of dimensions) {
    selections.push(dimensionExpression(layer, dimension).as(dimension.name));
    groupKeys.push(dimension.name);
  }
  if (split !== undefined && plan.marginal !== undefined) {
    // Per unit (a viewer) in each group: its values of the split dimension; then, per group and value, the
    // units with that value only.
    const unit = mustGet(layer.metrics, plan.marginal.unit, 'metric');
    const value = dimensionExpression(layer, split);
    const units = query
      .select([
        ...selections,
        column(unit.model ?? unit.baseModel, unit.column ?? '').as(UNIT_COLUMN),
        sql`any(${value})`.as('_value'),
        sql`uniqExact(${value})`.as('_values'),
      ])
      .groupBy([...groupKeys, UNIT_COLUMN].map((key) => sql`${sql.id(key)}`));
    const only = compilerDb
      .selectFrom(units.as('units'))
      .select([
        ...groupKeys.map((key) => sql`${sql.id(key)}`.as(key)),
        sql`${sql.id('_value')}`.as(split.name),
        sql`count()`.as(ONLY_COLUMN),
      ])
      .where(sql<SqlBool>`${sql.id('_values')} = ${typed(1, 'Int64')}`)
      .groupBy([...groupKeys.map((key) => sql`${sql.id(key)}`), sql`${sql.id('_value')}`]);
    return toClickHouse(only.compile());
  }
  const units = perUnit(layer, plan, metrics, rollup);
  if (units !== undefined)
    return compilePerUnit(layer, plan, query, { selections, groupKeys }, metrics, units);
  if (plan.distinct !== true) {
    for (const metric of metrics)
      selections.push(metricExpression(layer, metric, undefined, rollup).as(metric.name));
  }
  for (const name of plan.variances ?? []) {
    const variance = varianceExpression(layer, mustGet(layer.metrics, name, 'metric'));
    if (variance !== undefined) selections.push(variance.as(varianceColumn(name)));
  }
  if (time !== undefined && plan.coverage === true) {
    // The extremes of the column, then their days (the same days, without reading each row as a day); none
    // without rows. A timestamp's last day is complete once its data reaches that day's last hour.
    const value = column(time.model, time.column);
    const zone = zoneOf(layer);
    const day = (extreme: Fragment) =>
      time.type === 'timestamp' ? call('toDate32', extreme, zone) : extreme;
    const unlessEmpty = (expression: Fragment) => sql`if(count() = 0, NULL, ${expression})`;
    selections.push(
      unlessEmpty(day(call('min', value))).as(FIRST_DAY_COLUMN),
      unlessEmpty(day(call('max', value))).as(LAST_DAY_COLUMN),
    );
    if (time.type === 'timestamp') {
      const hourLater = call('addHours', call('max', value), sql`${typed(1, 'Int64')}`);
      selections.push(
        unlessEmpty(call('subtractDays', call('toDate32', hourLater, zone), sql`${typed(1, 'Int64')}`)).as(
          COMPLETE_DAY_COLUMN,
        ),
      );
    }
  }

  let select = query.select(selections);
  if (score !== undefined && plan.search !== undefined) {
    select = select.select(sql`max(${score})`.as(SCORE_COLUMN));
    select = select.where(sql<SqlBool>`${score} >= ${typed(plan.search.minScore, 'Float64')}`);
  }
  const sets = plan.groupingSets;
  if (sets !== undefined) {
    // One grouping per set: the time bucket and period always, and the set's dimensions.
    const always = groupKeys.filter((key) => !plan.dimensions.includes(key));
    const grouping = sets.map(
      (set) => sql`(${sql.join([...always, ...set].map((key) => sql`${sql.id(key)}`))})`,
    );
    select = select
      .select(sql`grouping(${sql.join(plan.dimensions.map((key) => sql`${sql.id(key)}`))})`.as(SET_COLUMN))
      .groupBy(sql`GROUPING SETS (${sql.join(grouping)})`);
  } else if (groupKeys.length > 0) select = select.groupBy(groupKeys.map((key) => sql`${sql.id(key)}`));
  for (const measure of plan.measures ?? [])
    select = select.select(measureExpression(layer, measure, rollup).as(measure.column));

  return ordered(select, plan, sets === undefined ? groupKeys : [], score !== undefined);
}

/**
 * A grouped select ordered as the plan asks (the search score first where it searches), then by every group key
 * so that pages split a total order and no row repeats or goes missing; its page; compiled.
 */
function ordered(
  select: SelectQueryBuilder<AnyDatabase, string, object>,
  plan: QueryPlan,
  groupKeys: readonly string[],
  scored: boolean,
): CompiledQuery {
  const orderKeys = [...(scored ? [{ key: SCORE_COLUMN, direction: 'desc' as const }] : []), ...plan.order];
  for (const key of groupKeys)
    if (!orderKeys.some((order) => order.key === key)) orderKeys.push({ key, direction: 'asc' });
  let result = select;
  for (const order of orderKeys) result = result.orderBy(sql`${sql.id(order.key)}`, order.direction);
  if (plan.limit !== undefined) result = result.limit(typed(plan.limit, 'UInt64') as unknown as number);
  if (plan.offset !== undefined && plan.offset > 0)
    result = result.offset(typed(plan.offset, 'UInt64') as unknown as number);
  return toClickHouse(result.compile());
}

/**
 * Whether a plan's per-unit variances can be computed in two steps: each unit's (a viewer's) totals per group
 * first, then per group their sums, sums of squares and distinct units. It can where every figure is a count
 * or sum of the model whose people are the units, or the distinct count of those units (the group size).
 */
function perUnit(
  layer: SemanticLayer,
  plan: QueryPlan,
  metrics: readonly Metric[],
  rollup: Rollup | undefined,
): PerUnit | undefined {
  if (
    (plan.variances?.length ?? 0) === 0 ||
    rollup !== undefined ||
    plan.groupingSets !== undefined ||
    plan.coverage === true ||
    plan.search !== undefined ||
    plan.marginal !== undefined ||
    plan.distinct === true
  )
    return undefined;
  const unit = unitOf(layer, plan.model);
  const people = distinctPeopleMetric(layer, plan.model);
  if (unit === undefined || people === undefined || people.where !== undefined) return undefined;
  const counted = people.aggregation;
  if (counted !== 'count_distinct' && counted !== 'approx_count_distinct') return undefined;
  const variances = (plan.variances ?? []).map((name) => mustGet(layer.metrics, name, 'metric'));
  const ofModel = (metric: Metric) => (metric.model ?? metric.baseModel) === plan.model;
  if (![...metrics, ...variances].every((metric) => isAdditive(metric) && ofModel(metric))) return undefined;
  const measures = plan.measures ?? [];
  if (!measures.every((measure) => 'metric' in measure && measure.metric === people.name)) return undefined;
  return { unit, counted, variances };
}

/** How a plan's per-unit variances are computed in two steps: its units' column, how people are counted. */
interface PerUnit {
  readonly unit: string;
  readonly counted: 'count_distinct' | 'approx_count_distinct';
  readonly variances: readonly Metric[];
}

/**
 * Per-unit variances in two steps (see `perUnit`): the same figures as `varianceExpression`'s map of units per
 * group, 2–3× faster at 100 M events (a unit's totals are a hash aggregation, not a sorted map per group).
 * Squares are taken in floating point, as the map's are: an integer total squared could wrap around.
 */
function compilePerUnit(
  layer: SemanticLayer,
  plan: QueryPlan,
  query: SelectQueryBuilder<AnyDatabase, string, object>,
  keys: { selections: AliasedRawBuilder<unknown, string>[]; groupKeys: string[] },
  metrics: readonly Metric[],
  by: PerUnit,
): CompiledQuery {
  const summed = [...new Map([...metrics, ...by.variances].map((metric) => [metric.name, metric])).values()];
  const partOf = (metric: Metric) => `_part_${metric.name}`;
  const part = (metric: Metric) => sql.id(partOf(metric));
  const unscaled = (metric: Metric): Metric => ({ ...metric, multiply_by: undefined, divide_by: undefined });
  const units = query
    .select([
      ...keys.selections,
      column(plan.model, by.unit).as(UNIT_COLUMN),
      ...summed.map((metric) => metricExpression(layer, unscaled(metric)).as(partOf(metric))),
    ])
    .groupBy([...keys.groupKeys, UNIT_COLUMN].map((key) => sql`${sql.id(key)}`));
  const select = compilerDb
    .selectFrom(units.as('units'))
    .select([
      ...keys.groupKeys.map((key) => sql`${sql.id(key)}`.as(key)),
      ...metrics.map((metric) => scaled(metric, sql`sum(${part(metric)})`).as(metric.name)),
      ...by.variances.map((metric) =>
        scaledSquares(metric, sql`sum(toFloat64(${part(metric)}) * toFloat64(${part(metric)}))`).as(
          varianceColumn(metric.name),
        ),
      ),
      ...(plan.measures ?? []).map((measure) =>
        call(aggregateFunction(by.counted), sql`${sql.id(UNIT_COLUMN)}`).as(measure.column),
      ),
    ]);
  const grouped =
    keys.groupKeys.length === 0 ? select : select.groupBy(keys.groupKeys.map((key) => sql`${sql.id(key)}`));
  return ordered(grouped, plan, keys.groupKeys, false);
}

/**
 * Per-unit outcomes summarised per group, for Welch's t-test: each row of the plan's model is a unit; its
 * value is the metric (of another model) over its rows joined on the unit columns in the `days` from the unit's
 * `since` column. Units without a `since` value are left out; units with no matching rows count as 0. Returns
 * one row per group with `_units`, `_mean` and `_variance` (n − 1).
 */
export function compileUnitOutcome(
  layer: SemanticLayer,
  plan: UnitOutcomePlan,
  tenant: string,
): CompiledQuery {
  const base = mustGet(layer.models, plan.model, 'model');
  const groups = plan.groupBy.map((name) => mustGet(layer.dimensions, name, 'dimension'));
  const metric = mustGet(layer.metrics, plan.metric, 'metric');
  const target = mustGet(layer.models, metric.baseModel, 'model');
  if (target.time_column === undefined) throw new Error(`Model ${target.name} has no time column`);
  const filters = plan.filters.map((filter) => ({
    ...filter,
    dimension: mustGet(layer.dimensions, filter.dimension, 'dimension'),
  }));
  const since = dayOfColumn(layer, base.name, plan.since);
  const units = () =>
    filteredSource(layer, base, tenant, { dimensions: groups, filters }).where(
      sql<SqlBool>`${since} IS NOT NULL`,
    );
  const keys = Object.entries(plan.join);
  // Only the rows of the units' own keys are read from the metric's (large) table.
  const unitKeys = units().select(keys.map(([local], index) => column(base.name, local).as(`_k${index}`)));
  const targetKeys = sql`(${sql.join(keys.map(([, remote]) => sql.ref(remote)))})`;
  // And only the days some unit's window covers: the table's days from the first unit's start to the last
  // one's end (a campaign's months, not the table's years).
  const rawDay = dayOfColumn(layer, target.name, target.time_column, sql.ref(target.time_column));
  const first = units().select(sql`min(${since})`.as('_first'));
  const last = units().select(sql`max(${since})`.as('_last'));
  const targetRows = scopedTable(
    target,
    tenant,
    sql<SqlBool>`${targetKeys} IN (${unitKeys}) AND ${rawDay} >= (${first}) AND ${rawDay} < (${last}) + ${typed(plan.days, 'Int64')}`,
  );
  const day = dayOfColumn(layer, target.name, target.time_column);
  const window = sql`${day} >= ${since} AND ${day} < ${since} + ${typed(plan.days, 'Int64')}`;
  const outcomes = units()
    .leftJoin(targetRows, (on) => {
      let condition = on;
      for (const [local, remote] of keys)
        condition = condition.onRef(`${base.name}.${local}`, '=', `${target.name}.${remote}`);
      return condition;
    })
    .select([
      ...groups.map((group) => dimensionExpression(layer, group).as(group.name)),
      metricExpression(layer, metric, window).as('_value'),
    ])
    .groupBy([
      ...groups.map((group) => sql`${sql.id(group.name)}`),
      ...keys.map(([local]) => column(base.name, local)),
      since,
    ]);
  let summary = compilerDb
    .selectFrom(outcomes.as('units'))
    .select([
      ...groups.map((group) => sql`${sql.id(group.name)}`.as(group.name)),
      sql`count()`.as(UNITS_COLUMN),
      sql`avg(${sql.id('_value')})`.as(MEAN_COLUMN),
      sql`varSamp(${sql.id('_value')})`.as(VARIANCE_COLUMN),
    ])
    .groupBy(groups.map((group) => sql`${sql.id(group.name)}`));
  for (const group of groups) summary = summary.orderBy(sql`${sql.id(group.name)}`);
  return toClickHouse(summary.compile());
}

/**
 * The keys of a join's target that name more than one of its rows (per tenant for a tenant table): each
 * would count a joined row once per copy. At most 3 examples, with `_copies`; for `validate --warehouse`.
 */
export function compileDuplicateKeys(layer: SemanticLayer, model: string, joinIndex: number): CompiledQuery {
  const join = mustGet(layer.models, model, 'model').joins[joinIndex];
  if (join === undefined) throw new Error(`Model ${model} has no join ${joinIndex}`);
  const target = mustGet(layer.models, join.to, 'model');
  const keys = joinKeyColumns(target, join).map((name) => sql.ref(name));
  const select = compilerDb
    .selectFrom(qualifiedTable(target))
    .select([sql`toString(tuple(${sql.join(keys)}))`.as('_key'), sql`count()`.as('_copies')])
    .groupBy(keys)
    .having(sql<SqlBool>`count() > ${typed(1, 'Int64')}`)
    .orderBy(sql`${sql.id('_copies')}`, 'desc')
    .limit(typed(3, 'UInt64') as unknown as number);
  return toClickHouse(select.compile());
}
