import {
  DefaultQueryCompiler,
  DummyDriver,
  Kysely,
  type CompiledQuery as KyselyCompiledQuery,
  type QueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
} from 'kysely';
import type { CompiledQuery } from './compiled-query.js';
import { IDENTIFIER } from './schema.js';

/** ClickHouse parameter types Marquee emits; anything else is a programming error. */
const PARAMETER_TYPE = /^(String|Date|Date32|Int64|UInt64|Float64|Bool)$/;

/** A value with the ClickHouse type it is sent as: becomes `{pN:Type}` in SQL and `pN` in the parameters. */
export class TypedValue {
  constructor(
    readonly value: unknown,
    readonly type: string,
  ) {
    if (!PARAMETER_TYPE.test(type)) throw new Error(`Unsupported ClickHouse parameter type ${type}`);
  }
}

/** Wraps a value as a typed ClickHouse parameter. */
export function typed(
  value: unknown,
  type: 'String' | 'Date' | 'Date32' | 'Int64' | 'UInt64' | 'Float64' | 'Bool',
): TypedValue {
  return new TypedValue(value, type);
}

function inferType(value: unknown): TypedValue {
  if (value instanceof TypedValue) return value;
  if (typeof value === 'string') return new TypedValue(value, 'String');
  if (typeof value === 'boolean') return new TypedValue(value, 'Bool');
  if (typeof value === 'number' && Number.isInteger(value)) return new TypedValue(value, 'Int64');
  if (typeof value === 'number' && Number.isFinite(value)) return new TypedValue(value, 'Float64');
  throw new Error(`Cannot send ${typeof value} as a ClickHouse parameter`);
}

/**
 * Kysely compiler for ClickHouse: identifiers must be plain names (no escaping is ever needed, so none can
 * break out), every value becomes a typed `{pN:Type}` parameter, and nothing is ever inlined as a literal.
 */
class ClickHouseQueryCompiler extends DefaultQueryCompiler {
  protected override getLeftIdentifierWrapper(): string {
    return '`';
  }

  protected override getRightIdentifierWrapper(): string {
    return '`';
  }

  protected override sanitizeIdentifier(identifier: string): string {
    if (!IDENTIFIER.test(identifier)) throw new Error(`Refusing identifier ${JSON.stringify(identifier)}`);
    return identifier;
  }

  protected override appendValue(parameter: unknown): void {
    const { value, type } = inferType(parameter);
    this.addParameter(value);
    this.append(`{p${this.numParameters - 1}:${type}}`);
  }

  protected override appendImmediateValue(): void {
    throw new Error('Values are never inlined into ClickHouse SQL');
  }

  protected override appendStringLiteral(): void {
    throw new Error('String literals are never inlined into ClickHouse SQL');
  }
}

class ClickHouseDialect {
  createAdapter() {
    return new SqliteAdapter();
  }
  createDriver() {
    return new DummyDriver();
  }
  createIntrospector(db: Kysely<unknown>) {
    return new SqliteIntrospector(db);
  }
  createQueryCompiler(): QueryCompiler {
    return new ClickHouseQueryCompiler();
  }
}

// biome-ignore lint/suspicious/noExplicitAny: tables and columns come from the semantic layer at run time.
export type AnyDatabase = Record<string, any>;

/** A kysely instance that only compiles: it has no connection and never executes. */
export const compilerDb = new Kysely<AnyDatabase>({ dialect: new ClickHouseDialect() });

/** Turns kysely's positional parameters into the named `pN` map ClickHouse expects. */
export function toClickHouse(compiled: KyselyCompiledQuery): CompiledQuery {
  const parameters: Record<string, unknown> = {};
  compiled.parameters.forEach((value, index) => {
    parameters[`p${index}`] = value;
  });
  return Object.freeze({ sql: compiled.sql, parameters: Object.freeze(parameters) });
}
