import { createHmac, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import stringify from 'safe-stable-stringify';
import { IDENTIFIER } from '../semantic/schema.js';
import type { AdminConnection } from '../warehouse/warehouse.js';
import { processLog } from './log.js';

/** How a call ended. */
export type Outcome =
  | 'ok'
  | 'tool_error'
  | 'internal_error'
  | 'unauthenticated'
  | 'forbidden'
  | 'rate_limited'
  | 'invalid_request';

/** One record per call: who asked what, what came back, how long it took; never the arguments themselves. */
export interface AuditRecord {
  readonly tenant: string;
  readonly subject: string;
  readonly tool: string;
  readonly argumentHash: string;
  readonly resultHash: string;
  readonly rows: number;
  readonly latencyMs: number;
  readonly cacheHit: boolean;
  readonly redactions: number;
  readonly suppressedGroups: number;
  readonly outcome: Outcome;
  readonly errorClass: string;
  /** Refused before any identity was established (a bad token, Host, Origin or body): the refusal lane. */
  readonly anonymous?: boolean;
  /** The call's trace id (W3C, 32 hex): its spans, and its statements' `query_id` on a ClickHouse server. */
  readonly traceId?: string;
  /** Milliseconds each stage of the call was busy (auth, plan, queue, warehouse, summarise, chart). */
  readonly stages?: Readonly<Record<string, number>>;
  /** Rows and bytes the warehouse read for the call, as the engine reported them (0 from the cache). */
  readonly readRows?: number;
  readonly readBytes?: number;
}

function timestamp(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

export interface AuditOptions {
  /** Where rows go; without one, records are only logged. */
  readonly sink?: AdminConnection | undefined;
  /** Marquee's own database in the warehouse (default `marquee`), never the user's: created when needed. */
  readonly database?: string;
  /** The table in it (default `audit`). */
  readonly table?: string;
  readonly logger?: Logger;
  readonly flushIntervalMs?: number;
  /** Records kept while the warehouse is unreachable; beyond it the oldest are dropped and counted. */
  readonly maxBuffered?: number;
  /**
   * Refusals without an identity (a bad token, Host or body) itemised per flush (default 1,000); past it they
   * are counted, and the count is one record (`tool` REFUSALS_NOT_ITEMISED, `rows` the count). They are kept
   * apart from every other record, so a flood of them never pushes an identified caller's record out.
   */
  readonly maxRefusals?: number;
  /**
   * The server secret argument and result hashes are keyed with (HMAC-SHA256), so a short argument cannot be
   * recovered by hashing guesses; replicas share it to compare hashes. Random (per process) when not given.
   */
  readonly key?: string | Buffer;
}

/** The `tool` of the record counting refusals without an identity past the itemised bound (`rows`: how many). */
export const REFUSALS_NOT_ITEMISED = '(refusals not itemised)';

/** Columns the audit table gained after its first version: added to an older table when first written. */
const ADDED_COLUMNS = [
  'trace_id String',
  'read_rows UInt64',
  'read_bytes UInt64',
  'stage_ms Map(LowCardinality(String), Float64)',
];

/** Longest a stored name may be (tool, subject, tenant, error class): attacker-chosen text is cut to it. */
const MAX_STORED_TEXT = 160;

/** Control, bidi-override and zero-width characters; line breaks and tabs among them. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]+/g;

/**
 * A string as the audit stores it: unprintable characters (line breaks among them) replaced by a space, at most
 * MAX_STORED_TEXT characters. Nothing else is rewritten, so a subject like `system:serviceaccount:…` is stored
 * as it is, and queries by tenant or subject find it.
 */
function stored(text: string): string {
  return text
    .slice(0, MAX_STORED_TEXT * 4)
    .replace(UNPRINTABLE, ' ')
    .replace(/ {2,}/g, ' ')
    .trim()
    .slice(0, MAX_STORED_TEXT);
}

/**
 * Writes audit records to the log at once and to a warehouse table in batches, off the request path.
 * `close()` flushes what is left, so a clean stop loses nothing.
 */
export class AuditLog {
  private buffer: (AuditRecord & { time: Date })[] = [];
  /** Refusals without an identity, itemised up to maxRefusals per flush, and those counted past it. */
  private refusals: (AuditRecord & { time: Date })[] = [];
  private unitemised = 0;
  /** Records dropped since start (the warehouse unreachable past the buffer). */
  private droppedTotal = 0;
  /** Who hears of every record as it is made (metrics), itemised or counted. */
  private readonly listeners: ((record: AuditRecord) => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private ready: Promise<void> | undefined;
  /** The table lacks the columns added since its version, and the writer may not add them. */
  private legacy = false;
  private dropped = 0;
  /** The audit table, qualified by Marquee's own database. */
  readonly table: string;
  private readonly database: string;
  private readonly logger: Logger;
  private readonly flushIntervalMs: number;
  private readonly maxBuffered: number;
  private readonly maxRefusals: number;
  private readonly key: string | Buffer;

  constructor(private readonly options: AuditOptions = {}) {
    this.key = options.key ?? randomBytes(32);
    const database = options.database ?? 'marquee';
    const table = options.table ?? 'audit';
    if (!IDENTIFIER.test(database) || !IDENTIFIER.test(table))
      throw new Error(`Invalid audit table name ${JSON.stringify(`${database}.${table}`)}`);
    this.database = database;
    this.table = `${database}.${table}`;
    this.logger = options.logger ?? processLog();
    this.flushIntervalMs = options.flushIntervalMs ?? 1_000;
    this.maxBuffered = options.maxBuffered ?? 100_000;
    this.maxRefusals = options.maxRefusals ?? 1_000;
  }

  /** The keyed hash of an argument or result (canonical JSON): comparable across calls, not reversible. */
  hash(value: unknown): string {
    let text: string;
    try {
      text = stringify(value) ?? '';
    } catch {
      // A value nested too deep to serialise (an attacker's body) still gets a record, with a marked hash.
      text = '(unhashable)';
    }
    return createHmac('sha256', this.key).update(text).digest('hex');
  }

  /**
   * Records one call: logged now, written with the next batch. Names are stored without unprintable characters
   * and cut short (`stored`); refusals without an identity past the bound are only counted.
   */
  record(given: AuditRecord): void {
    const record: AuditRecord = {
      ...given,
      tenant: stored(given.tenant),
      subject: stored(given.subject),
      tool: stored(given.tool),
      errorClass: stored(given.errorClass),
    };
    this.tell(record);
    if (record.outcome === 'unauthenticated' || record.anonymous === true) {
      if (this.refusals.length >= this.maxRefusals) {
        this.unitemised++;
        this.schedule();
        return;
      }
      this.refusals.push({ ...record, time: new Date() });
    } else {
      this.buffer.push({ ...record, time: new Date() });
      if (this.buffer.length > this.maxBuffered) {
        this.dropped += this.buffer.length - this.maxBuffered;
        this.droppedTotal += this.buffer.length - this.maxBuffered;
        this.buffer.splice(0, this.buffer.length - this.maxBuffered);
      }
    }
    this.logger.info({ audit: record }, 'call');
    this.schedule();
  }

  /** Tells the listeners of a record once it is kept (or counted); a listener's failure never loses it. */
  private tell(record: AuditRecord): void {
    if (this.listeners.length === 0) return;
    queueMicrotask(() => {
      for (const listener of this.listeners)
        try {
          listener(record);
        } catch (error) {
          this.logger.warn({ err: error }, 'an audit listener failed');
        }
    });
  }

  /** Calls `listener` with every record from now on (as stored), itemised or only counted. */
  listen(listener: (record: AuditRecord) => void): void {
    this.listeners.push(listener);
  }

  /** Records waiting to be written, records dropped since start, refusals counted but not itemised yet. */
  stats(): { queued: number; dropped: number; unitemised: number } {
    return {
      queued: this.buffer.length + this.refusals.length,
      dropped: this.droppedTotal,
      unitemised: this.unitemised,
    };
  }

  /** Starts the flush timer, when there is a sink and none is pending. */
  private schedule(): void {
    if (this.options.sink !== undefined && this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Writes everything buffered so far; on failure the records stay buffered for the next attempt. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  /** Flushes and stops the timer: call on shutdown. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
    const unwritten = this.buffer.length + this.refusals.length + this.unitemised;
    if (unwritten > 0) this.logger.error({ unwritten }, 'audit records not written');
  }

  /**
   * Creates Marquee's database and the audit table when missing, and says so once. A table an earlier version
   * created gains the columns added since (trace id, reads, stage times); where the writer may not add them,
   * records are written without them, and the log says once what to run.
   */
  private async create(sink: AdminConnection): Promise<void> {
    const found = await sink.query(`EXISTS TABLE ${this.table}`);
    if (Number(found[0]?.result) === 1) {
      const has = new Set(
        (
          await sink.query(
            'SELECT name FROM system.columns WHERE database = {database:String} AND table = {table:String}',
            { database: this.database, table: this.table.slice(this.database.length + 1) },
          )
        ).map((row) => String(row.name)),
      );
      const missing = ADDED_COLUMNS.filter((column) => !has.has(column.split(' ')[0] ?? ''));
      try {
        for (const column of missing)
          await sink.command(`ALTER TABLE ${this.table} ADD COLUMN IF NOT EXISTS ${column}`);
        this.legacy = false;
      } catch (error) {
        this.legacy = true;
        const statements = missing.map((column) => `ALTER TABLE ${this.table} ADD COLUMN ${column}`);
        this.logger.warn(
          { err: (error as Error).message, run: statements },
          `the audit table ${this.table} lacks columns added since it was created, and Marquee may not add them: records are written without them until they are added`,
        );
      }
      return;
    }
    await sink.command(`CREATE DATABASE IF NOT EXISTS ${this.database}`);
    await sink.command(
      `CREATE TABLE IF NOT EXISTS ${this.table} (time DateTime64(3, 'UTC'), tenant LowCardinality(String), subject String,
        tool LowCardinality(String), argument_hash String, result_hash String, rows UInt32, latency_ms Float64,
        cache_hit Bool, redactions UInt32, suppressed_groups UInt32, outcome LowCardinality(String),
        error_class LowCardinality(String), ${ADDED_COLUMNS.join(', ')}) ENGINE = MergeTree ORDER BY (tenant, time)`,
    );
    this.logger.info({ table: this.table }, `created the audit table ${this.table}`);
  }

  /** The count of refusals without an identity past the itemised bound, as one record (none when there were none). */
  private unitemisedRecord(count: number): (AuditRecord & { time: Date })[] {
    if (count === 0) return [];
    return [
      {
        time: new Date(),
        tenant: '',
        subject: '',
        tool: REFUSALS_NOT_ITEMISED,
        argumentHash: '',
        resultHash: '',
        rows: count,
        latencyMs: 0,
        cacheHit: false,
        redactions: 0,
        suppressedGroups: 0,
        outcome: 'unauthenticated',
        errorClass: 'not_itemised',
      },
    ];
  }

  private async write(): Promise<void> {
    const sink = this.options.sink;
    if (sink === undefined) return;
    if (this.buffer.length === 0 && this.refusals.length === 0 && this.unitemised === 0) return;
    const calls = this.buffer;
    const refusals = this.refusals;
    const unitemised = this.unitemised;
    const batch = [...calls, ...refusals, ...this.unitemisedRecord(unitemised)];
    this.buffer = [];
    this.refusals = [];
    this.unitemised = 0;
    try {
      this.ready ??= this.create(sink);
      await this.ready;
      await sink.insert(
        this.table,
        batch.map((r) => ({
          time: timestamp(r.time),
          tenant: r.tenant,
          subject: r.subject,
          tool: r.tool,
          argument_hash: r.argumentHash,
          result_hash: r.resultHash,
          rows: r.rows,
          latency_ms: r.latencyMs,
          cache_hit: r.cacheHit,
          redactions: r.redactions,
          suppressed_groups: r.suppressedGroups,
          outcome: r.outcome,
          error_class: r.errorClass,
          ...(this.legacy
            ? {}
            : {
                trace_id: r.traceId ?? '',
                read_rows: r.readRows ?? 0,
                read_bytes: r.readBytes ?? 0,
                stage_ms: r.stages ?? {},
              }),
        })),
      );
      if (unitemised > 0)
        this.logger.warn({ unitemised }, 'refusals past the itemised bound, counted in one record');
      if (this.dropped > 0) {
        this.logger.error(
          { dropped: this.dropped },
          'audit records dropped while the warehouse was unreachable',
        );
        this.dropped = 0;
      }
    } catch (error) {
      this.ready = undefined;
      // Back for the next attempt: calls ahead of newer calls, refusals within their bound (the rest counted).
      this.buffer = [...calls, ...this.buffer];
      const kept = [...refusals, ...this.refusals];
      this.refusals = kept.slice(0, this.maxRefusals);
      this.unitemised += unitemised + kept.length - this.refusals.length;
      this.logger.warn(
        { err: (error as Error).message, buffered: this.buffer.length },
        'audit write failed; will retry',
      );
    }
  }
}
