import { readFileSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ClickHouseClient,
  type ClickHouseClientConfigOptions,
  ClickHouseLogLevel,
  type ClickHouseSettings,
  createClient,
  parseError,
} from '@clickhouse/client';
import type { QueryLimits, WarehouseConfig } from '../config.js';
import { MarqueeError, QueryLimitError } from '../errors.js';
import type { CompiledQuery } from '../semantic/compiled-query.js';
import { DEFAULT_BREAKER, withBreaker } from './circuit-breaker.js';
import { ReaderPool } from './reader-pool.js';
import { translateError } from './translate-error.js';
import type { AdminConnection, QueryOptions, Row, Warehouse } from './warehouse.js';

// Failures surface as MarqueeErrors and are logged once, by the caller that handles them.
const QUIET = { level: ClickHouseLogLevel.OFF };

/** Settings every read runs under; 64-bit integers are quoted so both engines return the same JSON. */
function readSettings(limits: QueryLimits): Record<string, string> {
  return {
    max_execution_time: String(limits.maxExecutionSeconds),
    ...(limits.maxRowsToRead === undefined
      ? {}
      : { max_rows_to_read: String(limits.maxRowsToRead), read_overflow_mode: 'throw' }),
    max_result_rows: String(limits.maxResultRows),
    result_overflow_mode: 'throw',
    max_memory_usage: String(limits.maxMemoryBytes),
    // A grouping past a quarter of that spills to disk instead of failing at the limit, and several reads at
    // once stay within memory (per-viewer groupings at 100 M events: 1.8 GB resident, 0.7 GB spilling).
    max_bytes_before_external_group_by: String(Math.floor(limits.maxMemoryBytes / 4)),
    output_format_json_quote_64bit_integers: '1',
    // Buckets of Date32 and DateTime64 days (toMonday, toStartOfMonth) are Date32, not wrapped into Date.
    enable_extended_results_for_datetime_functions: '1',
  };
}

async function rows(
  client: ClickHouseClient,
  query: string,
  parameters?: Record<string, unknown>,
): Promise<Row[]> {
  const result = await client.query({ query, query_params: parameters ?? {}, format: 'JSONEachRow' });
  return result.json<Row>();
}

/**
 * A tool's read: in the JSON format, whose `statistics` say what the engine read from storage (both engines
 * write them; chDB reports no summary otherwise). `settings` go with the query (a server only).
 */
async function read(
  client: ClickHouseClient,
  query: CompiledQuery,
  options: QueryOptions,
  settings?: ClickHouseSettings,
): Promise<Row[]> {
  const result = await client.query({
    query: query.sql,
    query_params: { ...query.parameters },
    format: 'JSON',
    ...(options.queryId === undefined ? {} : { query_id: options.queryId }),
    ...(settings === undefined ? {} : { clickhouse_settings: settings }),
  });
  const body = await result.json<Row>();
  // A server that fails after the answer began writes the exception into the JSON (ClickHouse 24.11 and later).
  const exception = (body as { exception?: unknown }).exception;
  if (typeof exception === 'string') throw parseError(exception);
  const statistics = body.statistics;
  if (statistics !== undefined)
    options.onRead?.({ rows: Number(statistics.rows_read), bytes: Number(statistics.bytes_read) });
  return body.data;
}

function adminConnection(client: ClickHouseClient): AdminConnection {
  return {
    async command(sql, parameters) {
      await client.command({ query: sql, query_params: parameters ?? {} });
    },
    query: (sql, parameters) => rows(client, sql, parameters),
    async insert(table, values) {
      await client.insert({ table, values: [...values], format: 'JSONEachRow' });
    },
  };
}

/**
 * Builds the warehouse from configuration: embedded chDB by default, a ClickHouse server with a URL. An
 * embedded directory must exist unless `create` says to make it (seeding does; serving never does).
 */
export function createWarehouse(config: WarehouseConfig, options: { create?: boolean } = {}): Warehouse {
  return config.kind === 'embedded'
    ? embeddedWarehouse(config, options.create === true)
    : // A server can go away and come back: behind a breaker, a dead one answers at once and is tried again later.
      withBreaker(remoteWarehouse(config), config.breaker ?? DEFAULT_BREAKER);
}

function embeddedWarehouse(
  config: Extract<WarehouseConfig, { kind: 'embedded' }>,
  create: boolean,
): Warehouse {
  let connect: Promise<() => ClickHouseClient> | undefined;
  // Loaded lazily: a server deployment never loads the engine library.
  const connector = (): Promise<() => ClickHouseClient> => {
    connect ??= (async () => {
      if (create) await mkdir(config.dataDir, { recursive: true });
      else await mustExist(config.dataDir);
      const { createChdbConnection } = await import('chdb/connection');
      return () => {
        try {
          return createClient({
            log: QUIET,
            // chdb's types target the deprecated client-common package; at run time it is the same interface.
            connection: createChdbConnection({ path: config.dataDir }) as unknown as NonNullable<
              ClickHouseClientConfigOptions['connection']
            >,
          });
        } catch (error) {
          throw lockedBy(config.dataDir) ?? error;
        }
      };
    })().catch((error: unknown) => {
      connect = undefined;
      throw error;
    });
    return connect;
  };
  // chDB keeps SET on the connection and breaks on a per-query readonly setting, so each reader is
  // configured once: limits first, then readonly=1, after which no setting may change.
  const readers = new ReaderPool(config.readers, async () => {
    const client = (await connector())();
    if (config.database !== undefined) await useDatabase(client, config.database);
    for (const [name, value] of Object.entries(readSettings(config.limits))) {
      await client.command({ query: `SET ${name} = ${/^\d+$/.test(value) ? value : `'${value}'`}` });
    }
    await client.command({ query: 'SET readonly = 1' });
    return client;
  });
  let admin: ClickHouseClient | undefined;
  const adminClient = async (): Promise<ClickHouseClient> => {
    if (admin === undefined) {
      const client = (await connector())();
      // Seeding creates the database first (and then uses it); until then the admin works in the default one.
      if (config.database !== undefined && (await databaseExists(client, config.database)))
        await client.command({ query: `USE ${config.database}` });
      admin = client;
    }
    return admin;
  };
  return {
    kind: 'embedded',
    async query(query: CompiledQuery, options: QueryOptions = {}) {
      try {
        // A reader's settings were fixed before it turned read-only: no comment, no tighter bound per query.
        return await readers.use(async (client) => {
          try {
            return await read(client, query, options);
          } catch (error) {
            // chDB leaves a failed JSON-format query's envelope in the session's output, ahead of the next
            // result on that reader: one throwaway read takes it out before the reader serves again.
            await client
              .query({ query: 'SELECT 1', format: 'JSON' })
              .then((result) => result.text())
              .catch(() => undefined);
            throw error;
          }
        });
      } catch (error) {
        throw translateError(error);
      }
    },
    async ping() {
      try {
        await readers.use((client) => rows(client, 'SELECT 1'));
      } catch (error) {
        throw translateError(error);
      }
    },
    admin() {
      const lazy = async <R>(work: (connection: AdminConnection) => Promise<R>): Promise<R> =>
        work(adminConnection(await adminClient()));
      return {
        command: (sql, parameters) => lazy((c) => c.command(sql, parameters)),
        query: (sql, parameters) => lazy((c) => c.query(sql, parameters)),
        insert: (table, values) => lazy((c) => c.insert(table, values)),
      };
    },
    async close() {
      await Promise.all([...readers.drain().map((client) => client.close()), admin?.close()]);
    },
  };
}

/** The directory of an embedded warehouse, which serving never creates: a typo must not become an empty one. */
async function mustExist(dataDir: string): Promise<void> {
  const found = await stat(dataDir).catch(() => undefined);
  if (found?.isDirectory() !== true)
    throw new MarqueeError(
      'warehouse_missing',
      `There is no warehouse at ${dataDir} (MARQUEE_DATA_DIR): run "marquee seed" to build the demo warehouse there, or point MARQUEE_DATA_DIR at your chDB data directory`,
    );
}

/**
 * Why a directory would not open when another process holds it: the engine's status file names a live
 * process. Retrying does not help, so this is not "temporarily unavailable".
 */
function lockedBy(dataDir: string): MarqueeError | undefined {
  let pid: number;
  try {
    pid = Number(/PID:\s*(\d+)/.exec(readFileSync(join(dataDir, 'status'), 'utf8'))?.[1]);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return new MarqueeError(
    'warehouse_locked',
    `Cannot open the warehouse at ${dataDir}: it is open in another process (pid ${pid}), and an embedded warehouse serves one process at a time; retrying will not help: stop that process (another marquee?), or set MARQUEE_DATA_DIR to another directory`,
  );
}

async function databaseExists(client: ClickHouseClient, database: string): Promise<boolean> {
  const found = await rows(client, 'SELECT count() AS n FROM system.databases WHERE name = {name:String}', {
    name: database,
  });
  return Number(found[0]?.n) > 0;
}

/** Makes `database` the connection's default (CLICKHOUSE_DATABASE); a missing one is named, not retried. */
async function useDatabase(client: ClickHouseClient, database: string): Promise<void> {
  if (!(await databaseExists(client, database)))
    throw new MarqueeError(
      'database_missing',
      `The database ${JSON.stringify(database)} (CLICKHOUSE_DATABASE) does not exist in the warehouse: create it, or unset CLICKHOUSE_DATABASE`,
    );
  // The name is checked against IDENTIFIER when configuration is read.
  await client.command({ query: `USE ${database}` });
}

function remoteWarehouse(config: Extract<WarehouseConfig, { kind: 'remote' }>): Warehouse {
  const base = {
    log: QUIET,
    url: config.url,
    max_open_connections: config.readers,
    request_timeout: (config.limits.maxExecutionSeconds + 5) * 1000,
    ...(config.user === undefined ? {} : { username: config.user }),
    ...(config.password === undefined ? {} : { password: config.password }),
    ...(config.database === undefined ? {} : { database: config.database }),
  };
  // A server refuses other settings in the same request once readonly=1 is set, so reads send
  // readonly=2 (no writes, no DDL) with their limits; a read-only ClickHouse user is the second wall.
  const reader = createClient({
    ...base,
    clickhouse_settings: { ...readSettings(config.limits), readonly: '2' },
  });
  const admin = createClient({
    ...base,
    ...(config.admin === undefined
      ? {}
      : { username: config.admin.user, password: config.admin.password ?? '' }),
  });
  return {
    kind: 'remote',
    async query(query: CompiledQuery, options: QueryOptions = {}) {
      // A tighter bound than the configured one replaces it for this statement (never loosens it).
      const configured = config.limits.maxRowsToRead ?? Number.POSITIVE_INFINITY;
      const tighter =
        options.maxRowsToRead !== undefined && options.maxRowsToRead < configured
          ? Math.max(1, options.maxRowsToRead)
          : undefined;
      const settings: ClickHouseSettings = {
        ...(options.comment === undefined ? {} : { log_comment: options.comment }),
        ...(tighter === undefined ? {} : { max_rows_to_read: String(tighter), read_overflow_mode: 'throw' }),
      };
      try {
        return await read(reader, query, options, settings);
      } catch (error) {
        const translated = translateError(error);
        if (
          tighter !== undefined &&
          translated instanceof QueryLimitError &&
          translated.limit === 'rows read'
        )
          throw new QueryLimitError(translated.limit, { cause: error }, 'call');
        throw translated;
      }
    },
    async ping() {
      const result = await reader.ping();
      if (!result.success) throw translateError(result.error);
    },
    admin: () => adminConnection(admin),
    async close() {
      await Promise.all([reader.close(), admin.close()]);
    },
  };
}
