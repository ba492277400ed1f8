import { digest } from '../semantic/digest.js';
import type { Warehouse } from './warehouse.js';

/** The state of the data an answer is computed from: a version that changes with it, and when it last did. */
export interface DataState {
  /** Changes whenever rows are written to (or merged in) a table the layer reads. */
  readonly version: string;
  /** When the newest part of those tables was written (ISO, UTC), or null when the engine keeps no parts. */
  readonly asOf: string | null;
}

/**
 * The watermark of the tables the layer reads: their active parts' rows, bytes and newest write time (bytes
 * tell a table rebuilt within the same second with as many rows, another rollup state function), read
 * from `system.parts` (one small query) at most once every `everyMs`; concurrent askers share one read, and a
 * failed read is not kept. Tables without parts (views, Distributed tables on a server) do not move it: their
 * answers are kept only as long as their model's cache TTL.
 */
export class DataVersion {
  private last: { at: number; state: Promise<DataState> } | undefined;

  constructor(
    private readonly warehouse: Warehouse,
    private readonly reads: { readonly databases: readonly string[]; readonly tables: readonly string[] },
    private readonly everyMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The current state, read again once the last read is `everyMs` old, or now when `force`d. */
  current(force = false): Promise<DataState> {
    const now = this.now();
    if (force || this.last === undefined || now - this.last.at >= this.everyMs) {
      const state = this.read();
      const entry = { at: now, state };
      this.last = entry;
      state.catch(() => {
        if (this.last === entry) this.last = undefined;
      });
    }
    return this.last.state;
  }

  private async read(): Promise<DataState> {
    const rows = await this.warehouse.query({
      sql: `SELECT database, table, toString(sum(rows)) AS rows, toString(count()) AS parts,
          toString(sum(bytes_on_disk)) AS bytes, toString(max(toUnixTimestamp(modification_time))) AS written
        FROM system.parts
        WHERE active AND table IN {tables:Array(String)}
          AND (database IN {databases:Array(String)} OR database = currentDatabase())
        GROUP BY database, table ORDER BY database, table`,
      parameters: { tables: [...this.reads.tables], databases: [...this.reads.databases] },
    });
    const newest = Math.max(0, ...rows.map((row) => Number(row.written)));
    return {
      version: digest(rows),
      asOf: newest > 0 ? new Date(newest * 1000).toISOString() : null,
    };
  }
}
