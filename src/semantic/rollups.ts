import { createHash } from 'node:crypto';
import { aggregateFunction } from './aggregate-functions.js';
import type { QueryPlan } from './query-plan.js';
import type { FilterValue } from './schema.js';
import {
  type Metric,
  type Model,
  qualifiedTable,
  type Rollup,
  type SemanticLayer,
} from './semantic-layer.js';

/**
 * The comment on a rollup's table and view: Marquee made them (another seed or build may replace them). A
 * table's comment goes on with a fingerprint of the definition it was built from (see `rollupComment`).
 */
export const ROLLUP_COMMENT = 'marquee rollup';

/** Whether a table's or view's comment says Marquee made it as a rollup. */
export const isRollupComment = (comment: string): boolean => /^marquee rollup( [0-9a-f]{16})?$/.test(comment);

/**
 * A rollup tier's table comment: ROLLUP_COMMENT and a fingerprint of the rows it keeps (its SELECT). A table
 * built from another definition (another metric, another state function) is stale: never read, rebuilt.
 */
export function rollupComment(layer: SemanticLayer, rollup: Rollup, tier: Tier): string {
  const definition = `${tableEngine(layer, rollup)} AS ${rollupSelect(layer, rollup, false, tier)}`;
  return `${ROLLUP_COMMENT} ${createHash('sha256').update(definition).digest('hex').slice(0, 16)}`;
}

/**
 * A rollup table's engine: by month, sorted by tenant, then its dimensions, then the day (a question about one
 * country or device reads its own rows, not every row of its days), in granules of 256 rows (a row holds
 * distinct-count states of up to 12 KiB, so the default 8,192 would read most of a month for a few rows).
 */
function tableEngine(layer: SemanticLayer, rollup: Rollup): string {
  const model = layer.models.get(rollup.model);
  const keys = rollupKeys(layer, rollup).map(ident);
  return `ENGINE = AggregatingMergeTree PARTITION BY toYYYYMM(${ident(model?.time_column ?? '')}) ORDER BY (${keys.join(', ')}) SETTINGS index_granularity = 256`;
}

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

/** Columns a rollup keeps per row (besides its states), in its sort order: the tenant, its dimensions, the day. */
export function rollupKeys(layer: SemanticLayer, rollup: Rollup): string[] {
  const model = layer.models.get(rollup.model);
  const columns = rollup.dimensions.map((name) => layer.dimensions.get(name)?.column ?? name);
  return [
    ...new Set([
      ...(model?.tenant_column === undefined ? [] : [model.tenant_column]),
      ...columns,
      model?.time_column ?? '',
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
 * The smallest rollup (by its bytes, among those `usable`: built and complete) that answers `plan` exactly as
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
  let best: { rollup: Rollup; bytes: number } | undefined;
  for (const rollup of layer.rollups.values()) {
    const bytes = usable.get(rollup.name);
    if (bytes === undefined || rollup.model !== plan.model) continue;
    if (!dimensions.every((dimension) => reaches(layer, rollup, dimension, day ?? ''))) continue;
    if (!metrics.every((metric) => answers(layer, rollup, layer.metrics.get(metric)))) continue;
    if (best === undefined || bytes < best.bytes) best = { rollup, bytes };
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
      return condition === undefined
        ? `${aggregateFunction('approx_count_distinct', 'State')}(${value})`
        : `${aggregateFunction('approx_count_distinct', 'IfState')}(${value}, ${condition})`;
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
  const table = tierTable(rollup, tier);
  const name = quotedTable(table);
  const view = quotedTable({ ...table, table: `${table.table}_mv` });
  const select = rollupSelect(layer, rollup, false, tier);
  return {
    drop: [`DROP VIEW IF EXISTS ${view}`, `DROP TABLE IF EXISTS ${name}`],
    create: [
      `CREATE TABLE IF NOT EXISTS ${name} ${tableEngine(layer, rollup)} COMMENT '${rollupComment(layer, rollup, tier)}' EMPTY AS ${select}`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${view} TO ${name} AS ${select} COMMENT '${ROLLUP_COMMENT}'`,
    ],
  };
}

/** What the warehouse says of a rollup tier: whether it is complete and current, its rows and bytes. */
export interface TierState {
  /** Built from the layer's definition and accounting for every row of its model. */
  readonly complete: boolean;
  /** Built from another definition of the rollup (rebuild it). */
  readonly stale: boolean;
  readonly rows: number;
  readonly bytes: number;
  readonly modelRows: number;
}

/**
 * The statement reading a rollup tier's state: rows of the model, of its rows those the tier accounts for,
 * the tier's rows, bytes and comment (its definition's fingerprint). It fails where the tier's table is missing.
 */
export function rollupCompleteness(
  layer: SemanticLayer,
  rollup: Rollup,
  tier: Tier = 'day',
  index = 0,
): { sql: string; parameters: Record<string, string> } {
  const model = layer.models.get(rollup.model);
  const tierOf = tierTable(rollup, tier);
  const table = quotedTable(tierOf);
  const [database, name] = [`database${index}`, `table${index}`];
  const described = `FROM system.tables WHERE database = if({${database}:String} = '', currentDatabase(), {${database}:String}) AND name = {${name}:String}`;
  return {
    sql: `SELECT ${index} AS tier_index, (SELECT count() FROM ${quotedTable(model ?? rollup)}) AS model_rows, (SELECT sum(${ident(ROWS_COLUMN)}) FROM ${table}) AS accounted, (SELECT count() FROM ${table}) AS rollup_rows, (SELECT any(comment) ${described}) AS comment, (SELECT any(total_bytes) ${described}) AS bytes`,
    parameters: { [database]: tierOf.database ?? '', [name]: tierOf.table },
  };
}

/**
 * The states of several rollup tiers in one statement (`tier_index` says whose row is whose): a check of the
 * layer's rollups after each load is one statement, not one per tier. It fails as a whole when any tier's table
 * is missing; then ask tier by tier.
 */
export function rollupsCompleteness(
  layer: SemanticLayer,
  tiers: readonly { readonly rollup: Rollup; readonly tier: Tier }[],
): { sql: string; parameters: Record<string, string> } {
  const each = tiers.map(({ rollup, tier }, index) => rollupCompleteness(layer, rollup, tier, index));
  return {
    sql: each.map((statement) => statement.sql).join(' UNION ALL '),
    parameters: Object.assign({}, ...each.map((statement) => statement.parameters)),
  };
}

/** A rollup tier's state from its `rollupCompleteness` row. */
export function tierState(
  layer: SemanticLayer,
  rollup: Rollup,
  tier: Tier,
  row: Record<string, unknown>,
): TierState {
  const stale = String(row.comment) !== rollupComment(layer, rollup, tier);
  const rows = Number(row.rollup_rows);
  return {
    complete: !stale && String(row.model_rows) === String(row.accounted),
    stale,
    rows,
    // A tier whose size the engine does not tell is chosen after every measured one.
    bytes: row.bytes === null || row.bytes === undefined ? Number.POSITIVE_INFINITY : Number(row.bytes),
    modelRows: Number(row.model_rows),
  };
}
