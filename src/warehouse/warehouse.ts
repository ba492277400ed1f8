import type { CompiledQuery } from '../semantic/compiled-query.js';

/** One result row as the warehouse returns it: 64-bit integers arrive as strings. */
export type Row = Record<string, unknown>;

/** What the engine says a statement read from storage (its `statistics`). */
export interface ReadStats {
  readonly rows: number;
  readonly bytes: number;
}

/** How one read is tagged and bounded beyond the configured limits. */
export interface QueryOptions {
  /** The ClickHouse `query_id` (unique while it runs): a server's `system.query_log` finds the call by it. */
  readonly queryId?: string;
  /** The `log_comment` setting, on a server (an embedded reader's settings are fixed once it is read-only). */
  readonly comment?: string;
  /** A bound on the rows this statement may read, tighter than the configured one (a server stops at it). */
  readonly maxRowsToRead?: number;
  /** Told what the statement read, as the engine reports it. */
  readonly onRead?: (stats: ReadStats) => void;
}

/** Read-only access for tools: every query runs under the configured limits. */
export interface Warehouse {
  readonly kind: 'embedded' | 'remote';
  /** Runs one compiled read-only query and returns its rows. */
  query(query: CompiledQuery, options?: QueryOptions): Promise<Row[]>;
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
