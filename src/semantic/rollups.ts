import type { QueryPlan } from './query-plan.js';
import type { FilterValue } from './schema.js';
import {
  type Metric,
  type Model,
  qualifiedTable,
  type Rollup,
  type SemanticLayer,
} from './semantic-layer.js';

/** The comment on a rollup's table and view: Marquee made them (another seed or build may replace them). */
export const ROLLUP_COMMENT = 'marquee rollup';

/** The rollup column counting the model's rows behind each rollup row: what says a rollup is complete. */
export const ROWS_COLUMN = '_rows';

/** The rollup column holding a metric's state. */
export const metricColumn = (metric: string): string => `m_${metric}`;

/** A rollup's tiers: by day (its table), and by month when it keeps one (`<table>_by_month`). */
export type Tier = 'day' | 'month';

/** The table of a rollup's tier. */
export function tierTable(rollup: Rollup, tier: Tier): Pick<Rollup, 'table' | 'database'> {
  return { table: tier === 'day' ? rollup.table : `${rollup.table}_by_month`, database: rollup.database };
}

/** The tiers a rollup keeps. */
export function tiersOf(rollup: Rollup): Tier[] {
  return rollup.monthly ? ['day', 'month'] : ['day'];
}

/** The key of a rollup's tier among the usable ones: its name, and `<name>:month` for the monthly tier. */
export const tierKey = (rollup: string, tier: Tier): string => (tier === 'day' ? rollup : `${rollup}:month`);

/** The model a rollup sums, as the compiler reads it: the same name and columns, the tier's table. */
export function rollupSource(layer: SemanticLayer, rollup: Rollup, tier: Tier = 'day'): Model {
  const model = layer.models.get(rollup.model);
  if (model === undefined) throw new Error(`Rollup ${rollup.name} sums an unknown model`);
  const { database: _database, ...rest } = model;
  const table = tierTable(rollup, tier);
  return {
    ...rest,
    table: table.table,
    ...(table.database === undefined ? {} : { database: table.database }),
  };
}

/** Columns a rollup keeps per row (besides its states): the tenant column, the day, its dimensions' columns. */
export function rollupKeys(layer: SemanticLayer, rollup: Rollup): string[] {
  const model = layer.models.get(rollup.model);
  const columns = rollup.dimensions.map((name) => layer.dimensions.get(name)?.column ?? name);
  return [
    ...new Set([
      ...(model?.tenant_column === undefined ? [] : [model.tenant_column]),
      model?.time_column ?? '',
      ...columns,
    ]),
  ].filter((column) => column !== '');
}

/** Whether `metric` can be answered from `rollup`: kept there, or a ratio of metrics that can. */
function answers(layer: SemanticLayer, rollup: Rollup, metric: Metric | undefined, depth = 0): boolean {
  if (metric === undefined || depth > 10) return false;
  if (metric.aggregation === 'ratio')
    return (
      answers(layer, rollup, layer.metrics.get(metric.numerator ?? ''), depth + 1) &&
      answers(layer, rollup, layer.metrics.get(metric.denominator ?? ''), depth + 1)
    );
  return rollup.metrics.includes(metric.name);
}

/** Whether `rollup` holds a dimension: one of its own, its day, or one joined through columns it keeps. */
function reaches(layer: SemanticLayer, rollup: Rollup, dimension: string, timeDimension: string): boolean {
  const found = layer.dimensions.get(dimension);
  if (found === undefined) return false;
  if (found.model === rollup.model)
    return dimension === timeDimension || rollup.dimensions.includes(dimension);
  const join = layer.models.get(rollup.model)?.joins.find((candidate) => candidate.to === found.model);
  if (join === undefined) return false;
  const kept = new Set(rollupKeys(layer, rollup));
  return Object.keys(join.on).every((column) => kept.has(column));
}

/** The day dimension of a model: the date dimension declaring its time column (what rollups sum by). */
export function dayDimensionOf(layer: SemanticLayer, model: string): string | undefined {
  const time = layer.models.get(model)?.time_column;
  return [...layer.dimensions.values()].find(
    (dimension) => dimension.model === model && dimension.column === time && dimension.type === 'date',
  )?.name;
}

/**
 * The smallest rollup (by its rows, among those `usable`: built and complete) that answers `plan` exactly as
 * the model's table would: every dimension it groups, filters or measures by is in the rollup or joined
 * through it, every metric and privacy measure is kept there, and the plan needs nothing per row (per-viewer
 * shares, variances, text search, coverage of the raw column, overlapping spans). Undefined: read the model.
 */
export function coveringRollup(
  layer: SemanticLayer,
  plan: QueryPlan,
  usable: ReadonlyMap<string, number>,
): Rollup | undefined {
  if (
    usable.size === 0 ||
    plan.marginal !== undefined ||
    (plan.variances?.length ?? 0) > 0 ||
    plan.search !== undefined ||
    plan.coverage === true ||
    plan.overlap !== undefined
  )
    return undefined;
  const day = dayDimensionOf(layer, plan.model);
  const timed = plan.periods.length > 0 || plan.grain !== undefined || plan.within !== undefined;
  if (timed && (day === undefined || plan.timeDimension !== day)) return undefined;
  const measures = [...(plan.measures ?? []), ...(plan.within?.below ?? [])];
  const dimensions = [
    ...plan.dimensions,
    ...plan.filters.map((filter) => filter.dimension),
    ...(plan.within?.dimensions ?? []),
    ...measures.flatMap((measure) =>
      'distinct' in measure ? [measure.distinct] : 'of' in measure ? [measure.of] : [],
    ),
  ];
  const metrics = [
    ...(plan.distinct === true ? [] : plan.metrics),
    ...measures.flatMap((measure) => ('metric' in measure ? [measure.metric] : [])),
  ];
  let best: { rollup: Rollup; rows: number } | undefined;
  for (const rollup of layer.rollups.values()) {
    const rows = usable.get(rollup.name);
    if (rows === undefined || rollup.model !== plan.model) continue;
    if (!dimensions.every((dimension) => reaches(layer, rollup, dimension, day ?? ''))) continue;
    if (!metrics.every((metric) => answers(layer, rollup, layer.metrics.get(metric)))) continue;
    if (best === undefined || rows < best.rows) best = { rollup, rows };
  }
  return best?.rollup;
}

/** A validated identifier, backquoted (the layer's names pass a stricter pattern before they get here). */
function ident(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`Not an identifier: ${name}`);
  return `\`${name}\``;
}

/** A table's (database.)name, each part backquoted. */
export function quotedTable(model: Pick<Model, 'table' | 'database'>): string {
  return qualifiedTable(model).split('.').map(ident).join('.');
}

/**
 * A constant of the layer (a metric's `where` value) as SQL text: a materialised view's definition cannot take
 * query parameters. Only numbers and strings from the validated YAML reach here, never a caller's value.
 */
function constant(value: FilterValue): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`Not a finite number: ${value}`);
    return String(value);
  }
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** A metric's state expression over the model's rows, its `where` folded in. */
function stateOf(metric: Metric): string {
  const conditions = Object.entries(metric.where ?? {}).map(
    ([column, value]) => `${ident(column)} = ${constant(value)}`,
  );
  const condition = conditions.length === 0 ? undefined : conditions.join(' AND ');
  const value = metric.column === undefined ? undefined : ident(metric.column);
  switch (metric.aggregation) {
    case 'count': {
      // count(column) skips NULLs: so does its state.
      const counted = [
        ...(value === undefined ? [] : [`isNotNull(${value})`]),
        ...(condition === undefined ? [] : [condition]),
      ];
      return `sumSimpleState(toUInt64(${counted.length === 0 ? '1' : counted.join(' AND ')}))`;
    }
    case 'sum':
      return `sumSimpleState(${condition === undefined ? value : `if(${condition}, ${value}, 0)`})`;
    case 'min':
    case 'max':
      if (condition !== undefined) throw new Error(`A rollup cannot keep ${metric.aggregation} with where`);
      return `${metric.aggregation}SimpleState(${value})`;
    case 'approx_count_distinct':
      return condition === undefined ? `uniqState(${value})` : `uniqIfState(${value}, ${condition})`;
    default:
      throw new Error(`A rollup cannot keep ${metric.aggregation}`);
  }
}

/**
 * The SELECT that sums the model's rows into a rollup tier's rows (optionally of one month, `{month:UInt32}`);
 * the monthly tier dates each row its month's first day.
 */
export function rollupSelect(
  layer: SemanticLayer,
  rollup: Rollup,
  oneMonth = false,
  tier: Tier = 'day',
): string {
  const model = layer.models.get(rollup.model);
  if (model === undefined || model.time_column === undefined)
    throw new Error(`Rollup ${rollup.name} needs a model with a time column`);
  const keys = rollupKeys(layer, rollup).map(ident);
  const states = rollup.metrics.map((name) => {
    const metric = layer.metrics.get(name);
    if (metric === undefined) throw new Error(`Rollup ${rollup.name} keeps an unknown metric ${name}`);
    return `${stateOf(metric)} AS ${ident(metricColumn(name))}`;
  });
  const time = ident(model.time_column);
  const where = oneMonth ? ` WHERE toYYYYMM(${time}) = {month:UInt32}` : '';
  const from =
    tier === 'day'
      ? quotedTable(model)
      : `(SELECT * REPLACE (toStartOfMonth(${time}) AS ${time}) FROM ${quotedTable(model)})`;
  return `SELECT ${[...keys, `sumSimpleState(toUInt64(1)) AS ${ident(ROWS_COLUMN)}`, ...states].join(', ')} FROM ${from}${where} GROUP BY ${keys.join(', ')}`;
}

/** The statements that create a rollup tier's table and the view keeping it current (empty: a backfill fills it). */
export function rollupDdl(
  layer: SemanticLayer,
  rollup: Rollup,
  tier: Tier = 'day',
): { create: string[]; drop: string[] } {
  const model = layer.models.get(rollup.model);
  const table = tierTable(rollup, tier);
  const name = quotedTable(table);
  const view = quotedTable({ ...table, table: `${table.table}_mv` });
  const keys = rollupKeys(layer, rollup).map(ident);
  const select = rollupSelect(layer, rollup, false, tier);
  return {
    drop: [`DROP VIEW IF EXISTS ${view}`, `DROP TABLE IF EXISTS ${name}`],
    create: [
      `CREATE TABLE IF NOT EXISTS ${name} ENGINE = AggregatingMergeTree PARTITION BY toYYYYMM(${ident(model?.time_column ?? '')}) ORDER BY (${keys.join(', ')}) COMMENT '${ROLLUP_COMMENT}' EMPTY AS ${select}`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${view} TO ${name} AS ${select} COMMENT '${ROLLUP_COMMENT}'`,
    ],
  };
}

/** Rows of the model, and of its rows a rollup tier accounts for: equal when the tier is complete. */
export function rollupCompleteness(layer: SemanticLayer, rollup: Rollup, tier: Tier = 'day'): string {
  const model = layer.models.get(rollup.model);
  const table = quotedTable(tierTable(rollup, tier));
  return `SELECT (SELECT count() FROM ${quotedTable(model ?? rollup)}) AS model_rows, (SELECT sum(${ident(ROWS_COLUMN)}) FROM ${table}) AS accounted, (SELECT count() FROM ${table}) AS rollup_rows`;
}
