import { basename } from 'node:path';
import { LRUCache } from 'lru-cache';
import type { Identity } from '../../auth/identity.js';
import { CallTooCostlyError, MarqueeError, QueryLimitError } from '../../errors.js';
import { DEFAULT_FAIRNESS, type FairnessOptions, FairQueue } from '../../guard/fair-queue.js';
import { currentCall } from '../../observe/call-trace.js';
import { processLog } from '../../observe/log.js';
import { compileDuplicateKeys, compileQuery, compileUnitOutcome } from '../../semantic/compile-query.js';
import type { CompiledQuery } from '../../semantic/compiled-query.js';
import { closest, quote } from '../../semantic/did-you-mean.js';
import {
  type FitProblem,
  fitWarehouse,
  readsOf,
  type WarehouseSchema,
} from '../../semantic/fit-warehouse.js';
import {
  COMPLETE_DAY_COLUMN,
  type DimensionFilter,
  FIRST_DAY_COLUMN,
  LAST_DAY_COLUMN,
  type QueryPlan,
  type UnitOutcomePlan,
} from '../../semantic/query-plan.js';
import {
  coveringRollup,
  rollupCompleteness,
  rollupsCompleteness,
  type Tier,
  tierKey,
  tierState,
  tiersOf,
  tierTable,
} from '../../semantic/rollups.js';
import {
  type AccessPolicy,
  joinKeyColumns,
  qualifiedTable,
  type Rollup,
  type SemanticLayer,
  type Tool,
} from '../../semantic/semantic-layer.js';
import { addDays, dayIn } from '../../semantic/time-range.js';
import { type DataState, DataVersion } from '../../warehouse/data-version.js';
import { describeWarehouse } from '../../warehouse/describe-warehouse.js';
import type { Row, Warehouse } from '../../warehouse/warehouse.js';
import { type Cached, cacheKey, ResultCache } from './result-cache.js';

export const FACT_TTL_MS = 60_000;
/** How a planning fact's key is told apart from a result's among the keys a call kept. */
const FACT_KEY = 'fact:';
/** The longest an answer is kept, whatever a model's TTL says: its cursor and chart links last 24 hours. */
const MAX_TTL_MS = 12 * 3_600_000;
const NO_ROLLUPS: ReadonlyMap<string, number> = new Map();
/** How long a check of the layer against the warehouse holds: long when they agree, short while they differ. */
const FIT_TTL_MS = 60_000;
const MISFIT_TTL_MS = 5_000;
const MAX_DIMENSION_VALUES = 1_000;
/** Trigram similarity from which a name looks like what was typed (or it contains it). */
const LOOKALIKE_SCORE = 0.3;

/** A plan listing the distinct combinations of `dimensions` of `model` (at most 1,000): no metric, no period. */
function listing(model: string, dimensions: readonly string[], more: Partial<QueryPlan> = {}): QueryPlan {
  return {
    model,
    metrics: [],
    dimensions,
    timeDimension: '',
    periods: [],
    distinct: true,
    filters: [],
    order: [],
    limit: MAX_DIMENSION_VALUES,
    ...more,
  };
}

/** How results are cached: a byte bound (0: nothing kept) and how often the data's watermark is read. */
export interface CacheOptions {
  readonly maxBytes: number;
  readonly dataCheckMs: number;
  readonly now?: () => number;
}

export const DEFAULT_CACHE: CacheOptions = { maxBytes: 256 * 1024 ** 2, dataCheckMs: 2_000 };

/**
 * How the service reads: its cache, whether queries a complete rollup covers read the rollup (default), and
 * how warehouse work is shared between tenants (default DEFAULT_FAIRNESS).
 */
export type ServiceOptions = CacheOptions & {
  readonly rollups?: boolean;
  readonly fairness?: FairnessOptions;
  /** The most rows one call may read, over all its statements (MARQUEE_CALL_MAX_ROWS_READ; unset: no bound). */
  readonly maxRowsReadPerCall?: number | undefined;
};

/** A fair guess at the memory a cached value takes: its JSON's length (a long list: from its first items). */
function approximateBytes(value: object): number {
  if (Array.isArray(value) && value.length > 16)
    return Math.ceil((JSON.stringify(value.slice(0, 16)).length / 16) * value.length) * 2;
  return JSON.stringify(value).length * 2;
}

/** A cached value's objects frozen: whoever reads a shared entry can never change it for the next reader. */
function frozen<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  for (const item of Object.values(value)) frozen(item);
  return Object.freeze(value);
}

/** Who is asking, with the access policy their roles give them (resolved once per request). */
export interface Caller {
  readonly identity: Identity;
  readonly policy: AccessPolicy;
  /** Read the warehouse afresh, not from the cache (the fresh rows are kept for the next asker). */
  readonly refresh?: boolean;
}

/** Whether every row filter of `policy` can be applied to queries on `model` (else they are refused). */
export function rowFiltersApply(layer: SemanticLayer, policy: AccessPolicy, model: string): boolean {
  const reachable = new Set(layer.reachableModels(model));
  return policy.rowFilters.every((filter) =>
    reachable.has(layer.dimensions.get(filter.dimension)?.model ?? ''),
  );
}

/**
 * Compiles and runs queries for a caller, and looks up the facts planning needs (cached briefly). Every query
 * passes through `compile`, which adds the caller's tenant and the row filters of its access policy.
 */
export class AnalyticsService {
  private readonly facts = new LRUCache<string, Promise<string | readonly Row[]>>({
    max: 5_000,
    ttl: FACT_TTL_MS,
  });
  private checked:
    | {
        until: number;
        problems: Promise<readonly FitProblem[]>;
        schema: Promise<WarehouseSchema>;
      }
    | undefined;

  /** Results and answers, by the hash of what they depend on (the data's version among it). */
  readonly cache: ResultCache<object>;
  /** Every tenant query's turn at the warehouse. */
  readonly fair: FairQueue;
  /** The watermark of the data the layer reads. */
  readonly data: DataVersion;

  /** The rollups complete for a data version, with their rows (read once per version). */
  private routing: { version: string; usable: Promise<ReadonlyMap<string, number>> } | undefined;
  private readonly rollupsOn: boolean;
  private readonly maxRowsReadPerCall: number | undefined;

  constructor(
    readonly layer: SemanticLayer,
    readonly warehouse: Warehouse,
    options: ServiceOptions = DEFAULT_CACHE,
  ) {
    this.cache = new ResultCache<object>(options.maxBytes, approximateBytes, options.now);
    this.fair = new FairQueue(options.fairness ?? DEFAULT_FAIRNESS);
    const reads = readsOf(layer);
    // The rollups' tables move the data's version too: building one changes what may be read.
    const rollups = [...layer.rollups.values()];
    this.data = new DataVersion(
      warehouse,
      {
        databases: [...new Set([...reads.databases, ...rollups.flatMap((rollup) => rollup.database ?? [])])],
        tables: [
          ...new Set([
            ...reads.tables,
            ...rollups.flatMap((rollup) => tiersOf(rollup).map((tier) => tierTable(rollup, tier).table)),
          ]),
        ],
      },
      options.dataCheckMs,
      options.now,
    );
    this.rollupsOn = options.rollups !== false && layer.rollups.size > 0;
    this.maxRowsReadPerCall = options.maxRowsReadPerCall;
  }

  /**
   * The rollups queries may read now, with their bytes: those built from the layer's definition and complete
   * (every row of their model accounted for), checked once per data version. A rollup not built, built from
   * another definition, or behind its model, is never read.
   */
  async usableRollups(): Promise<ReadonlyMap<string, number>> {
    if (!this.rollupsOn) return NO_ROLLUPS;
    const { version } = await this.data.current();
    if (this.routing?.version !== version) {
      const usable = this.completeRollups();
      const entry = { version, usable };
      this.routing = entry;
      usable.catch(() => {
        if (this.routing === entry) this.routing = undefined;
      });
    }
    return this.routing.usable;
  }

  /** Says once in the log why a rollup is not read (a missing table is not news: rollups may not be built). */
  private noteOnce(key: string, message: string): void {
    if (this.noted.has(key)) return;
    this.noted.add(key);
    processLog().warn(message);
  }

  private readonly noted = new Set<string>();

  private async completeRollups(): Promise<ReadonlyMap<string, number>> {
    const tiers = [...this.layer.rollups.values()].flatMap((rollup) =>
      tiersOf(rollup).map((tier) => ({ rollup, tier, key: tierKey(rollup.name, tier) })),
    );
    // One statement for every tier; where one is missing (not built), tier by tier.
    const together = await this.warehouse
      .query(rollupsCompleteness(this.layer, tiers))
      .catch(() => undefined);
    const rows =
      together === undefined
        ? await Promise.all(tiers.map(({ rollup, tier, key }) => this.tierRow(rollup, tier, key)))
        : tiers.map((_, index) => together.find((row) => Number(row.tier_index) === index));
    const usable = new Map<string, number>();
    tiers.forEach(({ rollup, tier, key }, index) => {
      const row = rows[index];
      const state = row === undefined ? undefined : tierState(this.layer, rollup, tier, row);
      if (state?.complete === true) usable.set(key, state.bytes);
      else if (state?.stale === true)
        this.noteOnce(
          key,
          `rollup ${key} was built from another definition: it is not read until marquee rollups build`,
        );
    });
    return usable;
  }

  /** One rollup tier's completeness row; undefined where its table is missing or it cannot be read. */
  private async tierRow(rollup: Rollup, tier: Tier, key: string): Promise<Row | undefined> {
    const [row] = await this.warehouse.query(rollupCompleteness(this.layer, rollup, tier)).catch((error) => {
      const message = (error as Error).message;
      if (!/unknown table|UNKNOWN_TABLE|does not exist/i.test(message))
        this.noteOnce(key, `rollup ${key} cannot be checked (${message}): it is not read`);
      return [] as Row[];
    });
    return row;
  }

  /**
   * How long results read from `model` (and the models it joins) may be kept: the shortest of their TTLs, and
   * never past MAX_TTL_MS (links in a kept answer must outlive it).
   */
  ttlOf(model: string): number {
    const seconds = Math.min(
      ...this.layer.reachableModels(model).map((name) => this.layer.models.get(name)?.cache_ttl ?? 0),
    );
    return Math.min(seconds * 1000, MAX_TTL_MS);
  }

  /** How long a tool's answers may be kept: the shortest TTL of every model its binding names. */
  ttlOfTool(tool: Tool): number {
    const named = new Set<string>([tool.model]);
    const walk = (value: unknown): void => {
      if (typeof value === 'string') {
        if (this.layer.models.has(value)) named.add(value);
      } else if (value !== null && typeof value === 'object')
        for (const item of Object.values(value)) walk(item);
    };
    walk(tool);
    return Math.min(...[...named].map((model) => this.ttlOf(model)));
  }

  /**
   * `load`ed once per key among concurrent callers and kept for `ttlMs` under the current data version (so new
   * data is never answered from the cache); `refresh` loads again, and `reread` reads the data's version afresh
   * first (once per call: the call's queries then share it). The key must hold everything else the value
   * depends on: the caller's tenant and policy, and the layer's version.
   */
  async cached<T extends object>(
    parts: unknown,
    ttlMs: number,
    load: (data: DataState) => Promise<T>,
    refresh = false,
    reread = refresh,
  ): Promise<Cached<T> & { data: DataState; key: string }> {
    const data = await this.data.current(reread);
    const key = cacheKey([this.layer.version, data.version, parts]);
    const got = await this.cache.get(key, ttlMs, async () => frozen(await load(data)), refresh);
    return { value: got.value as T, cached: got.cached, data, key };
  }

  /** Forgets kept results and planning facts (a refused question's, so asking again costs what it did). */
  forget(keys: readonly string[]): void {
    for (const key of keys)
      if (key.startsWith(FACT_KEY)) this.facts.delete(key.slice(FACT_KEY.length));
      else this.cache.delete(key);
  }

  /** The caller behind `identity`: refused (access_denied) when its roles have no policy. */
  caller(identity: Identity): Caller {
    return { identity, policy: this.layer.policyFor(identity.roles) };
  }

  /**
   * Compiles a plan for a caller without running it: tenant and policy row filters always included; read from
   * the smallest of the `usable` rollups that covers it (row filters included), else from its model.
   */
  compile(plan: QueryPlan, caller: Caller, usable: ReadonlyMap<string, number> = NO_ROLLUPS): CompiledQuery {
    const filtered = this.withRowFilters(plan, caller);
    const rollup = coveringRollup(this.layer, filtered, usable);
    const monthly = rollup !== undefined && usable.has(tierKey(rollup.name, 'month'));
    return compileQuery(this.layer, filtered, caller.identity.tenant, rollup, monthly);
  }

  /** The rollup a plan would read for this caller (undefined: its model). */
  rollupOf(plan: QueryPlan, caller: Caller, usable: ReadonlyMap<string, number>): string | undefined {
    return coveringRollup(this.layer, this.withRowFilters(plan, caller), usable)?.name;
  }

  /** Compiles per-unit outcomes of an experiment for a caller, its row filters applied to the units. */
  compileOutcome(plan: UnitOutcomePlan, caller: Caller): CompiledQuery {
    return compileUnitOutcome(this.layer, this.withRowFilters(plan, caller), caller.identity.tenant);
  }

  /** Runs a plan for a caller: refused, with the reason, while its models do not match the warehouse. */
  async run(plan: QueryPlan, caller: Caller): Promise<readonly Row[]> {
    return this.runCompiled(this.compile(plan, caller, await this.usableRollups()), plan.model, caller);
  }

  /**
   * Runs a compiled query on `model` for `caller` once the models it can read are known to match the
   * warehouse; its rows are cached (for the caller's tenant and policy, and the data's version) and frozen.
   */
  async runCompiled(query: CompiledQuery, model: string, caller: Caller): Promise<readonly Row[]> {
    await this.mustFit(model);
    const run = () =>
      this.cached(
        ['rows', this.scopeKey(caller), query.sql, query.parameters],
        this.ttlOf(model),
        // Its turn among the tenants' queries: one tenant's burst never queues every other tenant behind it.
        () => this.read(query, caller),
        caller.refresh === true,
        false,
      );
    try {
      const got = await run();
      // What this call read and kept: forgotten if the call ends refused for its cost (the door says so).
      if (!got.cached) currentCall()?.kept(got.key);
      return got.value;
    } catch (error) {
      // A statement another call was running when this one asked for it, stopped by that call's budget: this
      // call's own budget decides, so it runs the statement itself.
      if (error instanceof CallTooCostlyError && error.traceId !== currentCall()?.traceId)
        return (await run()).value;
      throw error;
    }
  }

  /**
   * One statement of the current call, in its turn: tagged with the call's trace (query_id, log_comment), held
   * to what is left of the call's read budget, and counted (rows and bytes read) against it. A call that has
   * read its budget is stopped before its next statement starts, naming the bound. Statements of one call
   * running at once are each sent what was left when they started, so together they may pass it before the call
   * stops (and a failed statement's reads are not reported by the engine).
   */
  private read(query: CompiledQuery, caller: Caller): Promise<Row[]> {
    const call = currentCall();
    const budget = this.maxRowsReadPerCall;
    const tenant = caller.identity.tenant;
    if (call === undefined) return this.fair.run(tenant, () => this.warehouse.query(query));
    const spent = () => budget !== undefined && call.readRows >= budget;
    const overBudget = () => new CallTooCostlyError(budget ?? 0, call.traceId);
    if (spent()) return Promise.reject(overBudget());
    const waited = call.enter('queue');
    return this.fair
      .run(tenant, () => {
        waited();
        // The call may have spent its budget while this statement waited for its turn.
        if (spent()) return Promise.reject(overBudget());
        return call.stage(
          'warehouse',
          async (span) => {
            const left = budget === undefined ? undefined : budget - call.readRows;
            let rows: Row[];
            try {
              rows = await this.warehouse.query(query, {
                queryId: call.queryId(span),
                comment: JSON.stringify({ service: 'marquee', trace_id: call.traceId, tool: call.tool }),
                ...(left === undefined ? {} : { maxRowsToRead: left }),
                onRead: ({ rows, bytes }) => {
                  call.read(rows, bytes);
                  span.setAttributes({ 'db.response.read_rows': rows, 'db.response.read_bytes': bytes });
                },
              });
            } catch (error) {
              // A server stopped the statement at what was left of the call's budget: the call's bound.
              if (error instanceof QueryLimitError && error.bound === 'call') {
                // It read past what was left (the engine reports no figure for a failed statement): the
                // budget is spent, so the call's statements still waiting for a turn never start.
                call.read(left ?? 0, 0);
                throw overBudget();
              }
              throw error;
            }
            // The embedded engine cannot stop a statement at the call's budget: the call stops after it.
            if (budget !== undefined && call.readRows > budget) throw overBudget();
            return rows;
          },
          { 'db.system.name': 'clickhouse', 'db.query.text': query.sql },
        );
      })
      .finally(waited);
  }

  /**
   * Every way the layer and the warehouse disagree (none: they match). Checked again after a minute, or after
   * a few seconds while they disagree, so fixing the warehouse or the layer is noticed without a restart.
   */
  async fit(now = Date.now()): Promise<readonly FitProblem[]> {
    if (this.checked === undefined || now >= this.checked.until) {
      const schema = describeWarehouse(this.warehouse, readsOf(this.layer));
      const problems = schema.then((described) => this.fitTo(described));
      this.checked = { until: Number.POSITIVE_INFINITY, problems, schema };
      problems.then(
        (found) => {
          if (this.checked?.problems === problems)
            this.checked = {
              until: now + (found.length === 0 ? FIT_TTL_MS : MISFIT_TTL_MS),
              problems,
              schema,
            };
        },
        () => {
          // An unreachable warehouse says nothing about the layer: ask again next time.
          if (this.checked?.problems === problems) this.checked = undefined;
        },
      );
    }
    return this.checked.problems;
  }

  /** The warehouse's tables and columns as the last check read them (read now when there was none). */
  schema(): Promise<WarehouseSchema> {
    return this.checked?.schema ?? describeWarehouse(this.warehouse, readsOf(this.layer));
  }

  /** Every way the layer and the warehouse described by `schema` disagree. */
  async fitTo(schema: WarehouseSchema): Promise<readonly FitProblem[]> {
    const found = fitWarehouse(this.layer, schema);
    // Data that would make figures wrong, once the tables are known to be there.
    return found.length > 0 ? found : this.duplicateJoinKeys();
  }

  /**
   * Joins whose target names one key on several rows (duplicates in a catalogue): every row joined to such a
   * key would count once per copy. Joins of the same table on the same keys share one query.
   */
  private async duplicateJoinKeys(): Promise<FitProblem[]> {
    const joins = [...this.layer.models.values()].flatMap((model) =>
      model.joins.map((join, index) => ({
        model,
        join,
        index,
        query: compileDuplicateKeys(this.layer, model.name, index),
      })),
    );
    const distinct = new Map<string, Promise<Row[]>>();
    for (const { query } of joins) {
      const key = JSON.stringify(query);
      if (!distinct.has(key)) distinct.set(key, this.warehouse.query(query));
    }
    const problems: FitProblem[] = [];
    for (const { model, join, index, query } of joins) {
      const [first] = (await distinct.get(JSON.stringify(query))) ?? [];
      if (first === undefined) continue;
      const target = this.layer.models.get(join.to);
      problems.push({
        model: model.name,
        ...this.layer.locate(
          'models',
          model.name,
          ['joins', index, 'on'],
          `Keys of ${quote(target === undefined ? join.to : qualifiedTable(target))} name several rows (e.g. ${quote(String(first._key))} on ${String(first._copies)} rows): a ${quote(model.name)} row joined to one counts once per copy; make (${joinKeyColumns(target ?? {}, join).join(', ')}) unique, or join on a key that is`,
        ),
      });
    }
    return problems;
  }

  /**
   * Refuses a query on `model` while a model it can read does not match the warehouse: retrying would not help,
   * an operator must. Tools on other models keep answering.
   */
  private async mustFit(model: string): Promise<void> {
    const reads = new Set(this.layer.reachableModels(model));
    const problems = (await this.fit()).filter((problem) => reads.has(problem.model));
    const [first] = problems;
    if (first === undefined) return;
    // A caller learns which part of the layer is broken, never the warehouse's own tables and columns.
    throw new MarqueeError(
      'layer_mismatch',
      `The semantic layer does not match the warehouse for this data (${problems.length} problem${problems.length === 1 ? '' : 's'}, first at ${basename(first.file)}:${first.line} ${first.path}); retrying will not help: an operator must fix the warehouse, or fix the layer and restart Marquee (marquee validate --warehouse lists every problem)`,
    );
  }

  /** A plan with the caller's row filters added; a row filter that cannot be applied refuses the query. */
  private withRowFilters<P extends { readonly model: string; readonly filters: readonly DimensionFilter[] }>(
    plan: P,
    caller: Caller,
  ): P {
    // Never run it unfiltered.
    if (!rowFiltersApply(this.layer, caller.policy, plan.model))
      throw new MarqueeError('access_denied', `Your access policy cannot be applied to ${plan.model} data`);
    return { ...plan, filters: [...plan.filters, ...caller.policy.rowFilters] };
  }

  /**
   * The first and last day of data of the tool's model that the caller may see (its tenant, its row filters):
   * what an answer says it covered. Never narrowed by a call's filters, so it says nothing of anyone's views.
   */
  async dataDays(
    caller: Caller,
    tool: Tool,
  ): Promise<{ first: string | null; last: string | null; complete: string | null }> {
    const rows = await this.fact(`days|${this.scopeKey(caller)}|${tool.name}`, () =>
      this.run(
        {
          model: tool.model,
          metrics: [],
          dimensions: [],
          timeDimension: this.layer.timeDimensionOf(tool),
          periods: [],
          coverage: true,
          filters: [],
          order: [],
        },
        caller,
      ),
    );
    const day = (value: unknown) => (typeof value === 'string' ? value : null);
    const last = day(rows[0]?.[LAST_DAY_COLUMN]);
    // A date column cannot say whether its last day is whole; a timestamp column can.
    const complete =
      rows[0]?.[COMPLETE_DAY_COLUMN] === undefined ? last : day(rows[0]?.[COMPLETE_DAY_COLUMN]);
    return { first: day(rows[0]?.[FIRST_DAY_COLUMN]), last, complete };
  }

  /**
   * The last complete day of data for the tool's model: the latest day present (for a timestamp column, the
   * latest whose data reaches its last hour), or yesterday when that day is today (still filling), in the
   * layer's zone. Relative periods end here, not at the wall clock.
   */
  async anchor(caller: Caller, tool: Tool, today = dayIn(this.layer.timeZone, new Date())): Promise<string> {
    const day = (await this.dataDays(caller, tool)).complete ?? addDays(today, -1);
    return day >= today ? addDays(today, -1) : day;
  }

  /** Distinct values of an enumerable dimension visible to the caller, sorted. */
  async values(caller: Caller, tool: Tool, dimension: string): Promise<string[]> {
    const rows = await this.distinct(caller, tool, [dimension]);
    return rows.map((row) => String(row[dimension] ?? '')).filter((value) => value !== '');
  }

  /** Distinct combinations of `dimensions` visible to the caller (at most 1,000), sorted. */
  async distinct(
    caller: Caller,
    tool: Pick<Tool, 'name' | 'model'>,
    dimensions: readonly string[],
  ): Promise<readonly Row[]> {
    return this.fact(`distinct|${this.scopeKey(caller)}|${tool.name}|${dimensions.join(',')}`, () => {
      // Read from the dimensions' own table (a region list should not scan every view) unless row filters
      // apply or they span tables: then through the tool's model, so the list shows only what the caller may see.
      const own = new Set(dimensions.map((name) => this.layer.dimensions.get(name)?.model ?? tool.model));
      const model =
        caller.policy.rowFilters.length > 0 || own.size !== 1 ? tool.model : ([...own][0] ?? tool.model);
      return this.run(listing(model, dimensions), caller);
    });
  }

  /**
   * Which of `values` of a dimension exist for the caller: looked up in the dimension's catalogue when it has
   * one (a few rows), and only the ones missing there in the tool's own rows (an id the catalogue lacks).
   */
  async existing(
    caller: Caller,
    tool: Pick<Tool, 'name' | 'model'>,
    dimension: string,
    values: readonly string[],
  ): Promise<Set<string>> {
    const lookup = (model: string, key: string, wanted: readonly string[]) =>
      this.fact(`exists|${this.scopeKey(caller)}|${tool.name}|${model}|${key}|${wanted.join('\u0000')}`, () =>
        this.run(listing(model, [key], { filters: [{ dimension: key, values: wanted }] }), caller),
      ).then((rows) => rows.map((row) => String(row[key] ?? '')));
    const found = new Set<string>();
    const catalogue = this.layer.catalogueOf(dimension);
    if (catalogue !== undefined && rowFiltersApply(this.layer, caller.policy, catalogue.model))
      for (const value of await lookup(catalogue.model, catalogue.key, values)) found.add(value);
    const missing = values.filter((value) => !found.has(value));
    if (missing.length > 0)
      for (const value of await lookup(tool.model, dimension, missing)) found.add(value);
    return found;
  }

  /**
   * Values of a dimension whose names (its `named_by`) look like `text`, best first (at most 5): the same name
   * in another case or with a typo for a short list (countries), a search of the names for a long one (titles).
   * None when the policy hides the names or the values.
   */
  async lookalikes(
    caller: Caller,
    tool: Pick<Tool, 'name' | 'model'>,
    dimension: string,
    text: string,
  ): Promise<{ value: string; name: string }[]> {
    const found = this.layer.dimensions.get(dimension);
    const naming = found?.named_by;
    const catalogue = this.layer.catalogueOf(dimension);
    const key = catalogue?.key ?? dimension;
    const hidden = caller.policy.hiddenDimensions;
    if (
      found === undefined ||
      naming === undefined ||
      hidden.has(naming) ||
      hidden.has(key) ||
      hidden.has(dimension)
    )
      return [];
    const pairs = (rows: readonly Row[]) =>
      rows.map((row) => ({ value: String(row[key] ?? ''), name: String(row[naming] ?? '') }));
    // The catalogue where the caller's row filters apply to it; else through the tool's rows, filtered.
    const model =
      catalogue !== undefined && rowFiltersApply(this.layer, caller.policy, catalogue.model)
        ? catalogue.model
        : tool.model;
    const wanted = text.toLowerCase();
    if (found.enumerable) {
      const all = pairs(await this.distinct(caller, { name: tool.name, model }, [key, naming]));
      const same = all.filter((pair) => pair.name.toLowerCase() === wanted);
      if (same.length > 0) return same.slice(0, 5);
      const best = closest(
        text,
        all.map((pair) => pair.name),
      );
      return all.filter((pair) => pair.name === best).slice(0, 5);
    }
    const search = async (dimension: string, minScore: number) =>
      pairs(
        await this.run(
          listing(model, [key, naming], { search: { dimension, text, minScore }, limit: 5 }),
          caller,
        ),
      );
    // The value itself in another case (AUR-0274) before names that look like it.
    const same = (await search(key, 1)).filter((pair) => pair.value.toLowerCase() === wanted);
    return same.length > 0 ? same : search(naming, LOOKALIKE_SCORE);
  }

  /** Facts, rows and answers differ by tenant and by access policy, never by anything else about the caller. */
  scopeKey(caller: Caller): string {
    return `${caller.identity.tenant}|${caller.policy.name}`;
  }

  /**
   * A fact loaded once per key while fresh and the data unchanged: concurrent askers share one load; a failed
   * load is not kept.
   */
  private async fact<T extends string | readonly Row[]>(key: string, load: () => Promise<T>): Promise<T> {
    const versioned = `${(await this.data.current()).version}|${key}`;
    const hit = this.facts.get(versioned);
    if (hit !== undefined) return hit as Promise<T>;
    const value = load();
    this.facts.set(versioned, value);
    currentCall()?.kept(`${FACT_KEY}${versioned}`);
    value.catch(() => {
      if (this.facts.get(versioned) === value) this.facts.delete(versioned);
    });
    return value;
  }
}
