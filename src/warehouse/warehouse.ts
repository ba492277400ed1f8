import type { CompiledQuery } from '../semantic/compiled-query.js';

/** One result row as the warehouse returns it: 64-bit integers arrive as strings. */
export type Row = Record<string, unknown>;

/** Read-only access for tools: every query runs under the configured limits. */
export interface Warehouse {
  readonly kind: 'embedded' | 'remote';
  /** Runs one compiled read-only query and returns its rows. */
  query(query: CompiledQuery): Promise<Row[]>;
  /** Resolves when the warehouse answers; throws WarehouseUnavailableError otherwise. */
  ping(): Promise<void>;
  /** The connection for DDL and inserts (seeding, tests); never handed to a tool. */
  admin(): AdminConnection;
  close(): Promise<void>;
}

/** Writes and DDL, outside the read-only limits. */
export interface AdminConnection {
  command(sql: string, parameters?: Record<string, unknown>): Promise<void>;
  query(sql: string, parameters?: Record<string, unknown>): Promise<Row[]>;
  insert(table: string, rows: readonly Row[]): Promise<void>;
}
