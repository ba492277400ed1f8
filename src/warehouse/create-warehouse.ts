import { mkdir } from 'node:fs/promises';
import {
  type ClickHouseClient,
  type ClickHouseClientConfigOptions,
  ClickHouseLogLevel,
  createClient,
} from '@clickhouse/client';
import type { QueryLimits, WarehouseConfig } from '../config.js';
import type { CompiledQuery } from '../semantic/compiled-query.js';
import { ReaderPool } from './reader-pool.js';
import { translateError } from './translate-error.js';
import type { AdminConnection, Row, Warehouse } from './warehouse.js';

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
    output_format_json_quote_64bit_integers: '1',
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

/** Builds the warehouse from configuration: embedded chDB by default, a ClickHouse server with a URL. */
export function createWarehouse(config: WarehouseConfig): Warehouse {
  return config.kind === 'embedded' ? embeddedWarehouse(config) : remoteWarehouse(config);
}

function embeddedWarehouse(config: Extract<WarehouseConfig, { kind: 'embedded' }>): Warehouse {
  let connect: Promise<() => ClickHouseClient> | undefined;
  // Loaded lazily: a server deployment never loads the engine library.
  const connector = (): Promise<() => ClickHouseClient> => {
    connect ??= (async () => {
      await mkdir(config.dataDir, { recursive: true });
      const { createChdbConnection } = await import('chdb/connection');
      return () =>
        createClient({
          log: QUIET,
          // chdb's types target the deprecated client-common package; at run time it is the same interface.
          connection: createChdbConnection({ path: config.dataDir }) as unknown as NonNullable<
            ClickHouseClientConfigOptions['connection']
          >,
        });
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
    for (const [name, value] of Object.entries(readSettings(config.limits))) {
      await client.command({ query: `SET ${name} = ${/^\d+$/.test(value) ? value : `'${value}'`}` });
    }
    await client.command({ query: 'SET readonly = 1' });
    return client;
  });
  let admin: ClickHouseClient | undefined;
  const adminClient = async (): Promise<ClickHouseClient> => {
    admin ??= (await connector())();
    return admin;
  };
  return {
    kind: 'embedded',
    async query(query: CompiledQuery) {
      try {
        return await readers.use((client) => rows(client, query.sql, { ...query.parameters }));
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
  const admin = createClient(base);
  return {
    kind: 'remote',
    async query(query: CompiledQuery) {
      try {
        return await rows(reader, query.sql, { ...query.parameters });
      } catch (error) {
        throw translateError(error);
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
