import { closest, quote } from './did-you-mean.js';
import type { Problem } from './load-semantic-layer.js';
import type { DimensionType, Section } from './schema.js';
import type { Model, SemanticLayer } from './semantic-layer.js';

/**
 * What the warehouse holds: database → table → column → ClickHouse type (for the databases the layer reads),
 * the connection's database, and the databases holding each table name the layer uses (to point at them).
 */
export interface WarehouseSchema {
  readonly currentDatabase: string;
  readonly tables: ReadonlyMap<string, ReadonlyMap<string, ReadonlyMap<string, string>>>;
  readonly elsewhere?: ReadonlyMap<string, readonly string[]>;
}

/** The database and table a model reads: its own database, the table's qualifier, or the connection's. */
export function tableOfModel(model: Model, currentDatabase: string): { database: string; table: string } {
  const [first, second] = model.table.split('.');
  if (second !== undefined) return { database: first ?? '', table: second };
  return { database: model.database ?? currentDatabase, table: model.table };
}

/** What a layer reads: the databases it names (its other tables are in the connection's) and its table names. */
export function readsOf(layer: SemanticLayer): { databases: string[]; tables: string[] } {
  const tables = [...layer.models.values()].map((model) => tableOfModel(model, ''));
  return {
    databases: [...new Set(tables.map((table) => table.database).filter((database) => database !== ''))],
    tables: [...new Set(tables.map((table) => table.table))],
  };
}

/** A problem between the layer and the warehouse, with the model whose queries it spoils. */
export type FitProblem = Problem & { readonly model: string };

/** `LowCardinality(Nullable(String))` → `String`: the type a value of the column has. */
function baseType(type: string): string {
  const wrapped = /^(?:LowCardinality|Nullable)\((.*)\)$/.exec(type);
  return wrapped === null ? type : baseType(wrapped[1] ?? '');
}

const KINDS = {
  text: /^(String|FixedString\(\d+\)|Enum(8|16)?\(.*\)|UUID|IPv4|IPv6)$/,
  date: /^Date(32)?$/,
  timestamp: /^DateTime(64)?(\(.*\))?$/,
  integer: /^U?Int(8|16|32|64|128|256)$|^Bool$/,
  number: /^(U?Int(8|16|32|64|128|256)|Float(32|64)|BFloat16|Decimal(32|64|128|256)?\(.*\)|Bool)$/,
} satisfies Record<string, RegExp>;

/** What a column of `type` can be declared as in the layer, for a message that says what to write instead. */
function declarableAs(type: string): DimensionType | undefined {
  const base = baseType(type);
  if (KINDS.date.test(base)) return 'date';
  if (KINDS.timestamp.test(base)) return 'timestamp';
  if (KINDS.integer.test(base)) return 'integer';
  if (KINDS.number.test(base)) return 'number';
  if (KINDS.text.test(base)) return 'string';
  return undefined;
}

/** What a join compares a column as: text, a number or a day (columns of different kinds never match). */
function joinKind(type: string): string {
  const kind = declarableAs(type);
  if (kind === 'integer' || kind === 'number') return 'number';
  if (kind === 'date' || kind === 'timestamp') return 'day';
  return kind ?? baseType(type);
}

/** Whether a column of `type` serves a dimension of `declared` type. */
function serves(declared: DimensionType, type: string): boolean {
  const base = baseType(type);
  switch (declared) {
    case 'string':
      // Compared with text parameters and shown as text: anything but containers converts.
      return !/^(Array|Map|Tuple|Nested|Object|JSON|Variant|Dynamic)\b/.test(base);
    case 'date':
      return KINDS.date.test(base);
    case 'timestamp':
      return KINDS.timestamp.test(base);
    case 'integer':
      return KINDS.integer.test(base);
    case 'number':
      return KINDS.number.test(base);
  }
}

/** What a column must be, said so that the YAML's author knows what to change. */
function typeAdvice(declared: DimensionType, type: string): string {
  const instead = declarableAs(type);
  if ((declared === 'date' || declared === 'timestamp') && instead !== 'date' && instead !== 'timestamp')
    return `is ${type}, which cannot be a ${declared} dimension: point it at a Date, Date32, DateTime or DateTime64 column`;
  const hint =
    instead === 'timestamp' && declared === 'date'
      ? ": declare type: timestamp (read as its calendar day in the layer's time zone)"
      : instead === 'date' && declared === 'timestamp'
        ? ': declare type: date'
        : instead !== undefined && instead !== declared
          ? `: declare type: ${instead}, or point at another column`
          : '';
  return `is ${type}, which cannot be a ${declared} dimension${hint}`;
}

/**
 * Every way the layer and the warehouse disagree, each at its YAML position: missing databases, tables and
 * columns (did-you-mean), and columns whose types the layer cannot use (days, numbers, tenants).
 */
export function fitWarehouse(layer: SemanticLayer, schema: WarehouseSchema): FitProblem[] {
  const problems: FitProblem[] = [];
  /** The model whose queries a problem spoils (a dimension's, a metric's, a tool's). */
  const modelOf = (section: Section, name: string): string => {
    if (section === 'dimensions') return layer.dimensions.get(name)?.model ?? name;
    if (section === 'metrics') return layer.metrics.get(name)?.baseModel ?? name;
    if (section === 'tools') return layer.tools.get(name)?.model ?? name;
    return name;
  };
  const at = (section: Section, name: string, path: PropertyKey[], message: string) =>
    problems.push({ ...layer.locate(section, name, path, message), model: modelOf(section, name) });
  /** The columns of a model's table, or undefined (with a problem) when it is missing. */
  const columnsOf = new Map<string, ReadonlyMap<string, string> | undefined>();
  for (const model of layer.models.values()) {
    const { database, table } = tableOfModel(model, schema.currentDatabase);
    const tables = schema.tables.get(database);
    const where = model.table.includes('.') || model.database === undefined ? ['table'] : ['database'];
    if (tables === undefined) {
      const suggestion = closest(database, schema.tables.keys());
      at(
        'models',
        model.name,
        where,
        `Database ${quote(database)} does not exist in the warehouse${suggestion === undefined ? '' : `: did you mean ${quote(suggestion)}?`}`,
      );
      columnsOf.set(model.name, undefined);
      continue;
    }
    const columns = tables.get(table);
    if (columns === undefined) {
      const qualified = model.table.includes('.') || model.database !== undefined;
      const suggestion = closest(table, tables.keys());
      const listed = [...tables.keys()].sort();
      const others = (schema.elsewhere?.get(table) ?? []).filter((other) => other !== database);
      const hint =
        others.length > 0
          ? `; it is in database ${others.map(quote).join(', ')}: write table: ${others[0]}.${table}${qualified ? '' : ', or set CLICKHOUSE_DATABASE'}`
          : suggestion !== undefined
            ? `: did you mean ${quote(qualified ? `${database}.${suggestion}` : suggestion)}?`
            : listed.length === 0
              ? ` (database ${quote(database)} has no tables)`
              : `; tables of ${quote(database)}: ${listed.slice(0, 30).join(', ')}`;
      at(
        'models',
        model.name,
        ['table'],
        `Table ${quote(`${database}.${table}`)} does not exist in the warehouse${hint}`,
      );
      columnsOf.set(model.name, undefined);
      continue;
    }
    columnsOf.set(model.name, columns);
  }

  /** The type of `column` of `model`, or undefined (with a problem at `path`) when it is missing. */
  const typeOf = (
    model: string,
    column: string,
    section: Section,
    name: string,
    path: PropertyKey[],
  ): string | undefined => {
    const columns = columnsOf.get(model);
    if (columns === undefined) return undefined;
    const type = columns.get(column);
    if (type === undefined) {
      const suggestion = closest(column, columns.keys());
      at(
        section,
        name,
        path,
        `Column ${quote(column)} does not exist in ${quote(layer.models.get(model)?.table ?? model)}${suggestion === undefined ? '' : `: did you mean ${quote(suggestion)}?`}; columns: ${[...columns.keys()].join(', ')}`,
      );
    }
    return type;
  };

  for (const model of layer.models.values()) {
    if (model.tenant_column !== undefined) {
      const type = typeOf(model.name, model.tenant_column, 'models', model.name, ['tenant_column']);
      if (type !== undefined && !KINDS.text.test(baseType(type)))
        at(
          'models',
          model.name,
          ['tenant_column'],
          `The tenant column ${quote(model.tenant_column)} is ${type}; tenants are compared as text, so it must be String, LowCardinality(String), FixedString or an Enum`,
        );
    }
    if (model.time_column !== undefined) {
      const type = typeOf(model.name, model.time_column, 'models', model.name, ['time_column']);
      const kind = type === undefined ? undefined : declarableAs(type);
      if (type !== undefined && kind !== 'date' && kind !== 'timestamp')
        at(
          'models',
          model.name,
          ['time_column'],
          `The time column ${quote(model.time_column)} is ${type}; it must be Date, Date32, DateTime or DateTime64`,
        );
    }
    for (const [index, join] of model.joins.entries()) {
      for (const [local, remote] of Object.entries(join.on)) {
        const path = ['joins', index, 'on', local];
        const mine = typeOf(model.name, local, 'models', model.name, path);
        const theirs = typeOf(join.to, remote, 'models', model.name, path);
        if (mine !== undefined && theirs !== undefined && joinKind(mine) !== joinKind(theirs))
          at(
            'models',
            model.name,
            path,
            `Column ${quote(local)} (${mine}) cannot be joined to ${quote(remote)} (${theirs}) of ${quote(layer.models.get(join.to)?.table ?? join.to)}: join columns must both be text, both numbers or both days`,
          );
      }
    }
  }

  for (const dimension of layer.dimensions.values()) {
    const type = typeOf(dimension.model, dimension.column, 'dimensions', dimension.name, ['column']);
    if (type !== undefined && !serves(dimension.type, type))
      at(
        'dimensions',
        dimension.name,
        ['type'],
        `Column ${quote(dimension.column)} ${typeAdvice(dimension.type, type)}`,
      );
  }

  for (const metric of layer.metrics.values()) {
    if (metric.aggregation === 'ratio') continue;
    const model = metric.model ?? metric.baseModel;
    if (metric.column !== undefined) {
      const type = typeOf(model, metric.column, 'metrics', metric.name, ['column']);
      // Figures are numbers: a min or max of a date or text column could not be shown as one.
      const numeric = ['sum', 'avg', 'min', 'max'].includes(metric.aggregation);
      if (type !== undefined && numeric && !serves('number', type))
        at(
          'metrics',
          metric.name,
          ['column'],
          `Column ${quote(metric.column)} is ${type}; ${quote(metric.aggregation)} needs a number column`,
        );
    }
    for (const column of Object.keys(metric.where ?? {}))
      typeOf(model, column, 'metrics', metric.name, ['where', column]);
  }

  for (const tool of layer.tools.values()) {
    const engagement = tool.experiment?.engagement;
    if (engagement === undefined) continue;
    const target = layer.metrics.get(engagement.metric)?.baseModel ?? '';
    for (const [local, remote] of Object.entries(engagement.join)) {
      typeOf(tool.model, local, 'tools', tool.name, ['experiment', 'engagement', 'join', local]);
      typeOf(target, remote, 'tools', tool.name, ['experiment', 'engagement', 'join', local]);
    }
    typeOf(tool.model, engagement.since, 'tools', tool.name, ['experiment', 'engagement', 'since']);
  }
  return problems;
}
