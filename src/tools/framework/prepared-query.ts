import { MarqueeError } from '../../errors.js';
import {
  ALL_TIME,
  type Cells,
  type DisclosureTable,
  namesOf,
  type Span,
  type Threshold,
} from '../../guard/disclosure-table.js';
import { distinctPeopleMetric, traitsOf } from '../../semantic/metric-traits.js';
import {
  type DimensionFilter,
  distinctColumn,
  type Measure,
  PEOPLE_COLUMN,
  PERIOD_COLUMN,
  peopleColumn,
  pinnedValue,
  type QueryPlan,
  UNITS_COLUMN,
  varianceColumn,
} from '../../semantic/query-plan.js';
import type { AccessPolicy, SemanticLayer } from '../../semantic/semantic-layer.js';
import { bucketEnd } from '../../semantic/time-range.js';
import type { Row } from '../../warehouse/warehouse.js';
import type { PlannedQuery } from './definition.js';

/** One query as it runs: its plan with the privacy measures, and how the privacy rules read its rows. */
export interface Prepared {
  readonly name: string;
  /** The query as the tool planned it. */
  readonly source: PlannedQuery;
  /** The query as it runs: with the privacy measures, and its page cut after the rules. */
  readonly planned: PlannedQuery;
  readonly table: Omit<DisclosureTable, 'rows' | 'name'>;
  /** Privacy applies: the query's groups are checked against the minimums. */
  readonly protected: boolean;
  /** Rows are time buckets (finer than the periods). */
  readonly grained: boolean;
  /** Days are merged into runs about enough people (`coarsen`), not suppressed. */
  readonly merged: boolean;
  /** A page the plan asked for in SQL, cut after the privacy rules instead. */
  readonly page?: { readonly offset: number; readonly limit: number | undefined } | undefined;
}

/** What a stage ran, kept so that later stages are protected together with it. */
export interface Ran {
  readonly prepared: Prepared;
  readonly rows: readonly Row[];
}

/** The earlier and the later of two ISO dates. */
const earlier = (a: string, b: string): string => (a <= b ? a : b);
const later = (a: string, b: string): string => (a >= b ? a : b);

/** A query with the measures its policy needs, and how the privacy rules read its rows. */
export function prepareQuery(
  layer: SemanticLayer,
  name: string,
  planned: PlannedQuery,
  policy: AccessPolicy,
  determined = 0,
): Prepared {
  const k = policy.minGroupSize;
  if ('outcome' in planned) {
    const plan = planned.outcome;
    refuseDistinct(layer, plan.model, policy);
    const sizes: Threshold[] =
      k !== undefined && counts(layer, plan.model) ? [{ column: UNITS_COLUMN, min: k }] : [];
    return {
      name,
      source: planned,
      planned,
      grained: false,
      merged: false,
      protected: sizes.length > 0,
      table: {
        universe: JSON.stringify({
          outcome: { ...plan, groupBy: [], filters: [] },
          ...universeOf(plan.filters),
        }),
        keys: plan.groupBy,
        fixed: fixedOf(plan.filters),
        span: () => ALL_TIME,
        coverage: ALL_TIME,
        sizes,
        cohorts: [],
      },
    };
  }
  const plan = planned.query;
  const measures: Measure[] = [];
  const sizes: Threshold[] = [];
  const cohorts: { columns: string[]; people: Threshold }[] = [];
  const people = layer.models.get(plan.model)?.people;
  if (k !== undefined && typeof people === 'string') {
    measures.push({ column: PEOPLE_COLUMN, metric: people });
    sizes.push({ column: PEOPLE_COLUMN, min: k });
    const byCohort = new Map<string, string[]>();
    for (const name of plan.metrics) {
      const cohort = cohortOf(layer, name);
      if (cohort === undefined || cohort === people) continue;
      byCohort.set(cohort, [...(byCohort.get(cohort) ?? []), name, varianceColumn(name)]);
    }
    for (const [cohort, columns] of byCohort) {
      measures.push({ column: peopleColumn(cohort), metric: cohort });
      cohorts.push({ columns, people: { column: peopleColumn(cohort), min: k } });
    }
  }
  const reachable = new Set(layer.reachableModels(plan.model));
  for (const [dimension, count] of policy.minDistinct) {
    const model = layer.dimensions.get(dimension)?.model;
    if (model === undefined || !reachable.has(model)) continue;
    measures.push({ column: distinctColumn(dimension), distinct: dimension });
    sizes.push({ column: distinctColumn(dimension), min: count });
  }
  const guarded = sizes.length > 0;
  if ('coarsen' in planned && planned.coarsen !== undefined) {
    const summed = [...plan.metrics].map((metric) => layer.metrics.get(metric));
    if (
      summed.some((metric) => metric === undefined || !traitsOf(layer, metric).additive) ||
      cohorts.length > 0
    )
      throw new Error(`Query ${name} merges days, which only additive metrics of one population allow`);
    if (sizes.some((threshold) => threshold.column !== PEOPLE_COLUMN))
      throw new Error(`Query ${name} merges days, which distinct counts do not allow`);
  }
  const periods = plan.periods;
  const hull: Span =
    periods.length === 0
      ? ALL_TIME
      : [
          periods.map((period) => period.from).reduce(earlier),
          periods.map((period) => period.to).reduce(later),
        ];
  const grain = plan.grain;
  const span = (row: Cells): Span => {
    if (plan.byPeriod === true) {
      const period = periods[Number(row[PERIOD_COLUMN])];
      return period === undefined ? hull : [period.from, period.to];
    }
    if (grain === undefined) return hull;
    const start = String(row[plan.timeDimension] ?? '');
    const end = bucketEnd(start, grain);
    return [later(start, hull[0]), earlier(end, hull[1])];
  };
  // Under the privacy rules a page is cut after them (they need every group), never in SQL.
  const page =
    guarded && (plan.limit !== undefined || (plan.offset ?? 0) > 0)
      ? { offset: plan.offset ?? 0, limit: plan.limit }
      : undefined;
  return {
    name,
    source: planned,
    planned: {
      ...planned,
      query: { ...plan, measures, ...(page === undefined ? {} : { limit: undefined, offset: undefined }) },
    },
    page,
    grained: grain !== undefined,
    merged: planned.coarsen !== undefined,
    protected: guarded,
    table: {
      universe: JSON.stringify({
        model: plan.model,
        search: plan.search ?? null,
        distinct: plan.distinct === true,
        ...universeOf(plan.filters),
      }),
      keys: plan.dimensions,
      fixed: fixedOf(plan.filters),
      span,
      coverage: hull,
      // Dimensions added only because the keys determine them do not make totals a breakdown.
      single: plan.dimensions.length === determined && plan.byPeriod !== true && grain === undefined,
      totals: plan.dimensions.length === determined && grain === undefined,
      sizes,
      cohorts,
    },
  };
}

/**
 * Each protected query grouped also by the dimensions its keys determine (a country's region, a title's
 * genre) that another table of its universe groups by: the groups do not change, but the privacy rules now
 * see that the region's groups are split by the countries', and protect the one by the other.
 */
export function withDetermined(
  layer: SemanticLayer,
  prepared: readonly Prepared[],
  earlier: readonly Ran[],
  policy: AccessPolicy,
): Prepared[] {
  const keys = new Map<string, Set<string>>();
  for (const query of [...earlier.map((ran) => ran.prepared), ...prepared]) {
    const set = keys.get(query.table.universe) ?? new Set<string>();
    for (const key of query.table.keys) set.add(key);
    keys.set(query.table.universe, set);
  }
  return prepared.map((query) => {
    const source = query.source;
    if (!query.protected || query.merged || !('query' in source)) return query;
    const plan = source.query;
    const known = [...plan.dimensions, ...Object.keys(query.table.fixed)];
    const extra = [...(keys.get(query.table.universe) ?? [])].filter(
      (dimension) => !plan.dimensions.includes(dimension) && layer.determines(plan.model, known, dimension),
    );
    if (extra.length === 0) return query;
    const grouped = { ...source, query: { ...plan, dimensions: [...plan.dimensions, ...extra] } };
    return prepareQuery(layer, query.name, grouped, policy, extra.length);
  });
}

/**
 * A query of the same rows and groups with no figures (nor their order and page): the shape of the privacy
 * rules' own queries (sizes, shares, extreme values), whose `measures` and other `changes` are given.
 */
export function withoutFigures(plan: QueryPlan, changes: Partial<QueryPlan>): QueryPlan {
  return {
    ...plan,
    metrics: [],
    variances: undefined,
    coverage: false,
    order: [],
    limit: undefined,
    offset: undefined,
    ...changes,
  };
}

/** The people metric of a query's model when it counts distinct people (values can share them). */
export function distinctPeople(layer: SemanticLayer, planned: PlannedQuery): string | undefined {
  if (!('query' in planned)) return undefined;
  const metric = distinctPeopleMetric(layer, planned.query.model);
  return metric !== undefined && metric.where === undefined && metric.column !== undefined
    ? metric.name
    : undefined;
}

/** Whether a model's rows are about people (its `people` metric names them). */
function counts(layer: SemanticLayer, model: string): boolean {
  return typeof layer.models.get(model)?.people === 'string';
}

/** The cohort a metric describes: its own `people`, or its ratio parts'. */
function cohortOf(layer: SemanticLayer, name: string): string | undefined {
  const metric = layer.metrics.get(name);
  if (metric === undefined) return undefined;
  if (metric.people !== undefined) return metric.people;
  const parts = traitsOf(layer, metric).parts;
  return parts?.numerator.people ?? parts?.denominator.people;
}

/** Per-unit outcomes cannot count distinct members: a policy that needs it is refused, never ignored. */
function refuseDistinct(layer: SemanticLayer, model: string, policy: AccessPolicy): void {
  const reachable = new Set(layer.reachableModels(model));
  for (const dimension of policy.minDistinct.keys()) {
    if (reachable.has(layer.dimensions.get(dimension)?.model ?? ''))
      throw new MarqueeError('access_denied', `Your access policy cannot be applied to ${model} outcomes`);
  }
}

/** Whether `child`'s groups split `parent`'s: the same rows, more coordinates or finer time, within its time. */
export function splits(parent: Prepared, child: Prepared): boolean {
  if (parent === child || parent.table.universe !== child.table.universe) return false;
  const outer = namesOf(parent.table);
  const inner = namesOf(child.table);
  if (![...outer].every((name) => inner.has(name))) return false;
  const finer = inner.size > outer.size || (child.grained && !parent.grained);
  const [from, to] = child.table.coverage;
  return finer && from >= parent.table.coverage[0] && to <= parent.table.coverage[1];
}

/** The filters a tool's answer must not be told apart by: list filters (several values or alternatives). */
function universeOf(filters: readonly DimensionFilter[]) {
  const listed = filters
    .filter((filter) => pinnedValue(filter, filters) === undefined)
    .map((filter) => [filter.group ?? '', filter.dimension, [...filter.values].map(String).sort()])
    .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  return { filters: listed };
}

function fixedOf(filters: readonly DimensionFilter[]): Record<string, string> {
  const fixed: Record<string, string> = {};
  for (const filter of filters) {
    const value = pinnedValue(filter, filters);
    if (value !== undefined) fixed[filter.dimension] = value;
  }
  return fixed;
}
