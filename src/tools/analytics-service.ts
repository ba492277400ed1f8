import { LRUCache } from 'lru-cache';
import { compileQuery } from '../semantic/compile-query.js';
import type { CompiledQuery } from '../semantic/compiled-query.js';
import {
  type AnalyticsRequest,
  dimensionsNeedingValues,
  type PlanningFacts,
} from '../semantic/plan-query.js';
import { LAST_DAY_COLUMN, type QueryPlan } from '../semantic/query-plan.js';
import type { SemanticLayer, Tool } from '../semantic/semantic-layer.js';
import { addDays, formatDate } from '../semantic/time-range.js';
import type { Row, Warehouse } from '../warehouse/warehouse.js';

const FACT_TTL_MS = 60_000;
const MAX_DIMENSION_VALUES = 1_000;

/** Runs planned queries for a tenant, and looks up the facts planning needs (cached briefly). */
export class AnalyticsService {
  private readonly facts = new LRUCache<string, string | string[]>({ max: 5_000, ttl: FACT_TTL_MS });

  constructor(
    readonly layer: SemanticLayer,
    readonly warehouse: Warehouse,
  ) {}

  /** Compiles a plan for `tenant` without running it. */
  compile(plan: QueryPlan, tenant: string): CompiledQuery {
    return compileQuery(this.layer, plan, tenant);
  }

  /** Runs a plan for `tenant`. */
  run(plan: QueryPlan, tenant: string): Promise<Row[]> {
    return this.warehouse.query(this.compile(plan, tenant));
  }

  /** The anchor and dimension values planning `request` needs. */
  async planningFacts(tenant: string, tool: Tool, request: AnalyticsRequest): Promise<PlanningFacts> {
    const dimensions = dimensionsNeedingValues(this.layer, tool, request);
    const [anchor, lists] = await Promise.all([
      this.anchor(tenant, tool),
      Promise.all(dimensions.map((dimension) => this.values(tenant, tool, dimension))),
    ]);
    return { anchor, values: new Map(dimensions.map((dimension, index) => [dimension, lists[index] ?? []])) };
  }

  /**
   * The last complete day of data for the tool's model: the latest day present, or the day before it when
   * that day is today (still filling). Relative periods end here, not at the wall clock.
   */
  async anchor(tenant: string, tool: Tool, today = formatDate(new Date())): Promise<string> {
    return this.cached(`anchor|${tenant}|${tool.name}`, async () => {
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
        tenant,
      );
      const last = rows[0]?.[LAST_DAY_COLUMN];
      const day = typeof last === 'string' && last > '1970-01-01' ? last : addDays(today, -1);
      return day >= today ? addDays(today, -1) : day;
    });
  }

  /** Distinct values of an enumerable dimension visible to `tenant`, sorted. */
  async values(tenant: string, tool: Tool, dimension: string): Promise<string[]> {
    return this.cached(`values|${tenant}|${tool.name}|${dimension}`, async () => {
      // Read from the dimension's own table: a region list should not scan every view.
      const model = this.layer.dimensions.get(dimension)?.model ?? tool.model;
      const rows = await this.run(
        {
          model,
          metrics: [],
          dimensions: [dimension],
          timeDimension: '',
          periods: [],
          distinct: true,
          filters: [],
          order: [],
          limit: MAX_DIMENSION_VALUES,
        },
        tenant,
      );
      return rows.map((row) => String(row[dimension] ?? '')).filter((value) => value !== '');
    });
  }

  private async cached<T extends string | string[]>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.facts.get(key);
    if (hit !== undefined) return hit as T;
    const value = await load();
    this.facts.set(key, value);
    return value;
  }
}
