import { LRUCache } from 'lru-cache';
import type { Identity } from '../auth/identity.js';
import { MarqueeError } from '../errors.js';
import { compileQuery, compileUnitOutcome } from '../semantic/compile-query.js';
import type { CompiledQuery } from '../semantic/compiled-query.js';
import {
  type AnalyticsRequest,
  type AppliedFilter,
  dimensionsNeedingValues,
  type PlanningFacts,
  planFilters,
} from '../semantic/plan-query.js';
import {
  type DimensionFilter,
  LAST_DAY_COLUMN,
  type QueryPlan,
  type UnitOutcomePlan,
} from '../semantic/query-plan.js';
import type { AccessPolicy, SemanticLayer, Tool } from '../semantic/semantic-layer.js';
import { addDays, formatDate } from '../semantic/time-range.js';
import type { Row, Warehouse } from '../warehouse/warehouse.js';
import { filterValues } from './common-args.js';

const FACT_TTL_MS = 60_000;
const MAX_DIMENSION_VALUES = 1_000;

/**
 * Runs planned queries for a caller, and looks up the facts planning needs (cached briefly). Every query
 * passes through `compile`, which adds the caller's tenant and the row filters of its access policy.
 */
export class AnalyticsService {
  private readonly facts = new LRUCache<string, string | Row[]>({ max: 5_000, ttl: FACT_TTL_MS });

  constructor(
    readonly layer: SemanticLayer,
    readonly warehouse: Warehouse,
  ) {}

  /** The access policy of `identity`. */
  policy(identity: Identity): AccessPolicy {
    return this.layer.policyFor(identity.roles);
  }

  /** Compiles a plan for `identity` without running it: tenant and policy row filters always included. */
  compile(plan: QueryPlan, identity: Identity): CompiledQuery {
    return compileQuery(this.layer, this.withRowFilters(plan, identity), identity.tenant);
  }

  /** Runs a plan for `identity`. */
  async run(plan: QueryPlan, identity: Identity): Promise<Row[]> {
    return this.warehouse.query(this.compile(plan, identity));
  }

  /** Runs per-unit outcomes of an experiment for `identity`, its row filters applied to the units. */
  async runUnitOutcome(plan: UnitOutcomePlan, identity: Identity): Promise<Row[]> {
    return this.warehouse.query(
      compileUnitOutcome(this.layer, this.withRowFilters(plan, identity), identity.tenant),
    );
  }

  /** A plan with the caller's row filters added; a row filter that cannot be applied refuses the query. */
  private withRowFilters<P extends { readonly model: string; readonly filters: readonly DimensionFilter[] }>(
    plan: P,
    identity: Identity,
  ): P {
    const { rowFilters } = this.policy(identity);
    const reachable = new Set(this.layer.reachableModels(plan.model));
    for (const filter of rowFilters) {
      const model = this.layer.dimensions.get(filter.dimension)?.model;
      // Never run it unfiltered.
      if (model === undefined || !reachable.has(model)) {
        throw new MarqueeError('access_denied', `Your access policy cannot be applied to ${plan.model} data`);
      }
    }
    return { ...plan, filters: [...plan.filters, ...rowFilters] };
  }

  /**
   * The filter arguments of a call checked against the warehouse's values (did-you-mean on a typo) and the
   * caller's policy, with the anchor day of the tool's data.
   */
  async checkedFilters(
    identity: Identity,
    tool: Tool,
    args: Record<string, unknown>,
  ): Promise<{ filters: AppliedFilter[]; anchor: string }> {
    const requested = filterValues(tool, args);
    const facts = await this.planningFacts(identity, tool, { filters: requested, limit: 0, offset: 0 });
    return {
      filters: planFilters(this.layer, tool, requested, facts, this.policy(identity)),
      anchor: facts.anchor,
    };
  }

  /** The anchor and dimension values planning `request` needs. */
  async planningFacts(identity: Identity, tool: Tool, request: AnalyticsRequest): Promise<PlanningFacts> {
    const dimensions = dimensionsNeedingValues(this.layer, tool, request);
    const [anchor, lists] = await Promise.all([
      this.anchor(identity, tool),
      Promise.all(dimensions.map((dimension) => this.values(identity, tool, dimension))),
    ]);
    return { anchor, values: new Map(dimensions.map((dimension, index) => [dimension, lists[index] ?? []])) };
  }

  /**
   * The last complete day of data for the tool's model: the latest day present, or the day before it when
   * that day is today (still filling). Relative periods end here, not at the wall clock.
   */
  async anchor(identity: Identity, tool: Tool, today = formatDate(new Date())): Promise<string> {
    return this.cached(`anchor|${this.scopeKey(identity)}|${tool.name}`, async () => {
      const rows = await this.run(
        {
          model: tool.model,
          metrics: [],
          dimensions: [],
          timeDimension: tool.time_dimension,
          periods: [],
          coverage: true,
          filters: [],
          order: [],
        },
        identity,
      );
      const last = rows[0]?.[LAST_DAY_COLUMN];
      const day = typeof last === 'string' && last > '1970-01-01' ? last : addDays(today, -1);
      return day >= today ? addDays(today, -1) : day;
    });
  }

  /** Distinct values of an enumerable dimension visible to `identity`, sorted. */
  async values(identity: Identity, tool: Tool, dimension: string): Promise<string[]> {
    const rows = await this.distinct(identity, tool, [dimension]);
    return rows.map((row) => String(row[dimension] ?? '')).filter((value) => value !== '');
  }

  /** Distinct combinations of `dimensions` visible to `identity` (at most 1,000), sorted. */
  async distinct(
    identity: Identity,
    tool: Pick<Tool, 'name' | 'model'>,
    dimensions: readonly string[],
  ): Promise<Row[]> {
    return this.cached(`distinct|${this.scopeKey(identity)}|${tool.name}|${dimensions.join(',')}`, () => {
      // Read from the dimensions' own table (a region list should not scan every view) unless row filters
      // apply or they span tables: then through the tool's model, so the list shows only what the caller may see.
      const own = new Set(dimensions.map((name) => this.layer.dimensions.get(name)?.model ?? tool.model));
      const model =
        this.policy(identity).rowFilters.length > 0 || own.size !== 1
          ? tool.model
          : ([...own][0] ?? tool.model);
      return this.run(
        {
          model,
          metrics: [],
          dimensions,
          timeDimension: '',
          periods: [],
          distinct: true,
          filters: [],
          order: [],
          limit: MAX_DIMENSION_VALUES,
        },
        identity,
      );
    });
  }

  /** Facts differ by tenant and by access policy, never by anything else about the caller. */
  private scopeKey(identity: Identity): string {
    return `${identity.tenant}|${this.policy(identity).name}`;
  }

  private async cached<T extends string | Row[]>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.facts.get(key);
    if (hit !== undefined) return hit as T;
    const value = await load();
    this.facts.set(key, value);
    return value;
  }
}
