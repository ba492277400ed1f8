import { ArgumentError, MarqueeError } from '../../errors.js';
import { coarsen, FROM_COLUMN } from '../../guard/coarsen.js';
import { smallContributions } from '../../guard/contributions.js';
import {
  ALL_TIME,
  type Cells,
  type DisclosureTable,
  type Span,
  type Threshold,
} from '../../guard/disclosure-table.js';
import { disclose, type UnionNeed, type UnionSizes } from '../../guard/suppress.js';
import { neutralise } from '../../guard/untrusted-text.js';
import type { CompiledQuery } from '../../semantic/compiled-query.js';
import { traitsOf } from '../../semantic/metric-traits.js';
import type { AppliedFilter } from '../../semantic/plan-query.js';
import {
  type DimensionFilter,
  distinctColumn,
  type Measure,
  ONLY_COLUMN,
  PEOPLE_COLUMN,
  PERIOD_COLUMN,
  peopleColumn,
  type QueryPlan,
  UNITS_COLUMN,
  varianceColumn,
} from '../../semantic/query-plan.js';
import type { AccessPolicy, SemanticLayer } from '../../semantic/semantic-layer.js';
import { bucketEnd } from '../../semantic/time-range.js';
import type { Row } from '../../warehouse/warehouse.js';
import type { AnalyticsService, Caller } from './analytics-service.js';
import type { PlannedQuery, Results } from './definition.js';

/** Values of list filters left out of an answer, by filter group and dimension. */
export type Drops = ReadonlyMap<string, ReadonlySet<string>>;

/** A filter value left out because its own contribution was under the minimum group size. */
export interface LeftOut {
  readonly argument: string;
  readonly value: string | number;
}

/** One query as it runs: its plan with the privacy measures, and how the privacy rules read its rows. */
interface Prepared {
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
  /** A page the plan asked for in SQL, cut after the privacy rules instead. */
  readonly page?: { readonly offset: number; readonly limit: number | undefined } | undefined;
}

/** What a stage ran, kept so that later stages are protected together with it. */
interface Ran {
  readonly prepared: Prepared;
  readonly rows: readonly Row[];
}

/** The state of a call after a stage: what the tool may see, and what the next stage must respect. */
export interface Execution {
  readonly results: Results;
  readonly drops: Drops;
  readonly leftOut: readonly LeftOut[];
  /** Distinct groups the privacy rules withheld, and whether a total was among them. */
  readonly withheldGroups: number;
  readonly totalsWithheld: boolean;
  /** Whether this stage had to leave out a value earlier stages used: the call must start again. */
  readonly restart: boolean;
  readonly ran: readonly Ran[];
  readonly shadows: readonly Shadow[];
}

/** A query's groups split by one list-filter dimension: each kept value's share of each group. */
interface Shadow {
  readonly query: string;
  readonly filter: AppliedFilter;
  readonly rows: readonly Row[];
}

/** The earlier and the later of two ISO dates. */
const earlier = (a: string, b: string): string => (a <= b ? a : b);
const later = (a: string, b: string): string => (a >= b ? a : b);

const key = (group: string, dimension: string) => `${group}\u0000${dimension}`;

/** Privacy columns never leave the executor. */
const PRIVATE_COLUMN = /^_(people|distinct)(_|$)/;

/**
 * Runs plans for a caller: the seam where every query passes (and where caching, rollups and tracing plug
 * in). It adds the measures the privacy rules need, leaves out list-filter values whose own contribution is
 * under the minimum, merges or suppresses groups, and neutralises every string before a tool sees it.
 */
export class Executor {
  constructor(private readonly service: AnalyticsService) {}

  private get layer(): SemanticLayer {
    return this.service.layer;
  }

  /** The SQL a stage would run, privacy checks included, without running it. */
  explain(
    queries: Readonly<Record<string, PlannedQuery>>,
    caller: Caller,
    filters: readonly AppliedFilter[],
  ): Record<string, CompiledQuery> {
    const prepared = Object.entries(queries).map(([name, planned]) =>
      this.prepare(name, planned, caller.policy),
    );
    const compiled: Record<string, CompiledQuery> = {};
    for (const query of prepared) compiled[query.name] = this.compile(query.planned, caller);
    for (const check of this.contributionChecks(prepared, filters))
      compiled[`privacy_check_${check.query}_${check.filter.dimension}`] = this.compile(
        check.planned,
        caller,
      );
    return compiled;
  }

  /**
   * Runs one stage. List-filter values whose contribution is too small are left out first (a later stage that
   * finds one more asks for a restart); the rows of this and earlier stages then pass the privacy rules
   * together.
   */
  async run(
    queries: Readonly<Record<string, PlannedQuery>>,
    caller: Caller,
    filters: readonly AppliedFilter[],
    drops: Drops = new Map(),
    previous?: Execution,
  ): Promise<Execution> {
    const applied = withoutDropped(filters, drops);
    const earlier = previous?.ran ?? [];
    let prepared = this.withDetermined(
      Object.entries(queries).map(([name, planned]) =>
        this.prepare(name, dropFrom(planned, drops), caller.policy),
      ),
      earlier,
      caller.policy,
    );
    const { found, splits } = await this.contributions(prepared, applied, caller);
    const all = new Map([...drops].map(([group, values]) => [group, new Set(values)]));
    for (const [group, values] of found) all.set(group, new Set([...(all.get(group) ?? []), ...values]));
    if (found.size > 0) {
      if (previous !== undefined)
        return { ...previous, drops: all, restart: true, leftOut: leftOutOf(filters, all) };
      prepared = this.withDetermined(
        Object.entries(queries).map(([name, planned]) =>
          this.prepare(name, dropFrom(planned, all), caller.policy),
        ),
        earlier,
        caller.policy,
      );
    }
    const effective = withoutDropped(filters, all);
    const rows = await Promise.all(prepared.map((query) => this.fetch(query.planned, caller)));
    const ran: Ran[] = [
      ...(previous?.ran ?? []),
      ...prepared.map((query, index) => ({ prepared: query, rows: rows[index] ?? [] })),
    ];
    // Each value's share of each group, for the values kept: what asking without one would reveal.
    const kept = splits.map((split) => {
      const dropped = all.get(key(split.filter.group, split.filter.dimension));
      return {
        ...split,
        rows: split.rows.filter((row) => dropped?.has(String(row[split.filter.dimension])) !== true),
      };
    });
    const shadows = [...(previous?.shadows ?? []), ...kept];
    return this.protect(ran, shadows, effective, all, leftOutOf(filters, all), caller);
  }

  /** The rows every stage so far may show, under the privacy rules applied to all of them together. */
  private async protect(
    ran: readonly Ran[],
    shadows: readonly Shadow[],
    filters: readonly AppliedFilter[],
    drops: Drops,
    leftOut: readonly LeftOut[],
    caller: Caller,
  ): Promise<Execution> {
    const tables: DisclosureTable[] = [];
    const open = new Map<string, readonly Row[]>();
    const withheldRows = new Map<string, Row[]>();
    for (const { prepared, rows } of ran) {
      const { planned, table, name } = prepared;
      if (!prepared.protected) {
        open.set(name, rows);
        continue;
      }
      let shown: readonly Row[] = rows;
      let span = table.span;
      const splitBy = shadows.filter((shadow) => shadow.query === name);
      if ('query' in planned && planned.coarsen !== undefined) {
        const people = table.sizes[0];
        if (people === undefined) throw new Error(`Query ${name} merges days but has no people count`);
        const runs = coarsen(rows, {
          ...planned.coarsen,
          sums: [...planned.query.metrics, ...table.sizes.map((threshold) => threshold.column)],
          people,
          // Each list value's share of each series is cut at the same places, so no run reveals a small share.
          constraints: splitBy.map((shadow) => ({ rows: shadow.rows, series: shadow.filter.dimension })),
        });
        shown = runs.rows;
        withheldRows.set(name, runs.withheld);
        const along = planned.coarsen.along;
        span = (row) => [String(row[FROM_COLUMN] ?? ''), String(row[along] ?? '')];
      }
      tables.push({ ...table, name, rows: shown, span });
      if ('query' in planned && planned.coarsen !== undefined) continue;
      for (const shadow of splitBy) {
        const dimension = shadow.filter.dimension;
        tables.push({
          ...table,
          name: `${name}|${dimension}`,
          keys: [...table.keys, dimension],
          rows: shadow.rows,
          shadow: dimension,
          single: false,
          totals: false,
        });
      }
    }
    const answer = disclose(tables);
    const disclosure = answer.suppress(await this.unions(answer.needs, ran, caller));
    const clean = (rows: readonly Row[]): Row[] => rows.map(publishable);
    const shownRows = new Map<string, Row[]>();
    for (const [name, rows] of open) shownRows.set(name, clean(rows));
    for (const [name, rows] of disclosure.rows) {
      const page = ran.find((entry) => entry.prepared.name === name)?.prepared.page;
      const cut =
        page === undefined
          ? rows
          : rows.slice(page.offset, page.limit === undefined ? undefined : page.offset + page.limit);
      shownRows.set(name, clean(cut));
    }
    return {
      results: {
        rows: (name) => shownRows.get(name) ?? [],
        withheld: (name) => [...(withheldRows.get(name) ?? []), ...(disclosure.withheld.get(name) ?? [])],
        filters,
      },
      drops,
      leftOut,
      withheldGroups: disclosure.withheldGroups,
      totalsWithheld: disclosure.totalsWithheld,
      restart: false,
      ran,
      shadows,
    };
  }

  /**
   * Counts the people of the union of each table's small groups within each group of a table it splits, where
   * only that tells whether one more group must be withheld (one query per such pair of tables).
   */
  private async unions(
    needed: readonly UnionNeed[],
    ran: readonly Ran[],
    caller: Caller,
  ): Promise<UnionSizes> {
    if (needed.length === 0) return () => undefined;
    const plans = new Map(ran.map(({ prepared }) => [prepared.name, prepared]));
    const needs = needed.flatMap((need) => {
      const parent = plans.get(need.parent.name)?.planned;
      const child = plans.get(need.child.name)?.planned;
      if (parent === undefined || child === undefined || !('query' in parent) || !('query' in child))
        return [];
      if (child.coarsen !== undefined) return [];
      const measures = child.query.measures ?? [];
      const below = need.child.sizes.flatMap((threshold) => {
        const measure = measures.find((candidate) => candidate.column === threshold.column);
        return measure === undefined ? [] : [{ ...measure, min: threshold.min }];
      });
      const plan: QueryPlan = {
        ...parent.query,
        metrics: [],
        variances: undefined,
        coverage: false,
        order: [],
        limit: undefined,
        offset: undefined,
        measures: below.map(({ min: _min, ...measure }) => measure),
        within: {
          dimensions: child.query.dimensions,
          grain: child.query.grain,
          periods: child.query.periods,
          byPeriod: child.query.byPeriod,
          below,
        },
      };
      return [{ need, plan }];
    });
    const rows = await Promise.all(needs.map(({ plan }) => this.service.run(plan, caller)));
    const coordinates = (table: DisclosureTable, row: Cells) =>
      JSON.stringify([...table.keys.map((key) => String(row[key] ?? '')), table.span(row)]);
    const sizes = new Map<string, Map<string, Cells>>();
    needs.forEach(({ need }, index) => {
      const byParent = new Map((rows[index] ?? []).map((row) => [coordinates(need.parent, row), row]));
      sizes.set(`${need.parent.name}\u0000${need.child.name}`, byParent);
    });
    return (need, parent) =>
      sizes.get(`${need.parent.name}\u0000${need.child.name}`)?.get(coordinates(need.parent, parent));
  }

  private fetch(planned: PlannedQuery, caller: Caller): Promise<Row[]> {
    return this.service.warehouse.query(this.compile(planned, caller));
  }

  private compile(planned: PlannedQuery, caller: Caller): CompiledQuery {
    return 'outcome' in planned
      ? this.service.compileOutcome(planned.outcome, caller)
      : this.service.compile(planned.query, caller);
  }

  /** A query with the measures its policy needs, and how the privacy rules read its rows. */
  private prepare(name: string, planned: PlannedQuery, policy: AccessPolicy, determined = 0): Prepared {
    const k = policy.minGroupSize;
    if ('outcome' in planned) {
      const plan = planned.outcome;
      this.refuseDistinct(plan.model, policy);
      const sizes: Threshold[] =
        k !== undefined && this.counts(plan.model) ? [{ column: UNITS_COLUMN, min: k }] : [];
      return {
        name,
        source: planned,
        planned,
        grained: false,
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
    const people = this.layer.models.get(plan.model)?.people;
    if (k !== undefined && typeof people === 'string') {
      measures.push({ column: PEOPLE_COLUMN, metric: people });
      sizes.push({ column: PEOPLE_COLUMN, min: k });
      const byCohort = new Map<string, string[]>();
      for (const name of plan.metrics) {
        const cohort = this.cohortOf(name);
        if (cohort === undefined || cohort === people) continue;
        byCohort.set(cohort, [...(byCohort.get(cohort) ?? []), name, varianceColumn(name)]);
      }
      for (const [cohort, columns] of byCohort) {
        measures.push({ column: peopleColumn(cohort), metric: cohort });
        cohorts.push({ columns, people: { column: peopleColumn(cohort), min: k } });
      }
    }
    const reachable = new Set(this.layer.reachableModels(plan.model));
    for (const [dimension, count] of policy.minDistinct) {
      const model = this.layer.dimensions.get(dimension)?.model;
      if (model === undefined || !reachable.has(model)) continue;
      measures.push({ column: distinctColumn(dimension), distinct: dimension });
      sizes.push({ column: distinctColumn(dimension), min: count });
    }
    const guarded = sizes.length > 0;
    if ('coarsen' in planned && planned.coarsen !== undefined) {
      const summed = [...plan.metrics].map((metric) => this.layer.metrics.get(metric));
      if (
        summed.some((metric) => metric === undefined || !traitsOf(this.layer, metric).additive) ||
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
  private withDetermined(
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
      if (!query.protected || !('query' in source) || source.coarsen !== undefined) return query;
      const plan = source.query;
      const known = [...plan.dimensions, ...Object.keys(query.table.fixed)];
      const extra = [...(keys.get(query.table.universe) ?? [])].filter(
        (dimension) =>
          !plan.dimensions.includes(dimension) && this.layer.determines(plan.model, known, dimension),
      );
      if (extra.length === 0) return query;
      const grouped = { ...source, query: { ...plan, dimensions: [...plan.dimensions, ...extra] } };
      return this.prepare(query.name, grouped, policy, extra.length);
    });
  }

  /** The people metric of a query's model when it counts distinct people (values can share them). */
  private distinctPeople(planned: PlannedQuery): string | undefined {
    if (!('query' in planned)) return undefined;
    const people = this.layer.models.get(planned.query.model)?.people;
    const metric = typeof people === 'string' ? this.layer.metrics.get(people) : undefined;
    const distinct =
      metric?.aggregation === 'count_distinct' || metric?.aggregation === 'approx_count_distinct';
    return distinct && metric?.where === undefined && metric.column !== undefined ? metric.name : undefined;
  }

  /** Whether a model's rows are about people (its `people` metric names them). */
  private counts(model: string): boolean {
    return typeof this.layer.models.get(model)?.people === 'string';
  }

  /** The cohort a metric describes: its own `people`, or its ratio parts'. */
  private cohortOf(name: string): string | undefined {
    const metric = this.layer.metrics.get(name);
    if (metric === undefined) return undefined;
    if (metric.people !== undefined) return metric.people;
    const parts = traitsOf(this.layer, metric).parts;
    return parts?.numerator.people ?? parts?.denominator.people;
  }

  /** Per-unit outcomes cannot count distinct members: a policy that needs it is refused, never ignored. */
  private refuseDistinct(model: string, policy: AccessPolicy): void {
    const reachable = new Set(this.layer.reachableModels(model));
    for (const dimension of policy.minDistinct.keys()) {
      if (reachable.has(this.layer.dimensions.get(dimension)?.model ?? ''))
        throw new MarqueeError('access_denied', `Your access policy cannot be applied to ${model} outcomes`);
    }
  }

  /**
   * For every list filter (an argument with several values) and every protected query of the selection as a
   * whole (one no other query of the stage splits further) not already split by the filtered dimension: the
   * same query split by it, sizes only, to see each value's own contribution to the selection.
   */
  private contributionChecks(prepared: readonly Prepared[], filters: readonly AppliedFilter[]) {
    const groups = new Map<string, AppliedFilter[]>();
    for (const filter of filters) groups.set(filter.group, [...(groups.get(filter.group) ?? []), filter]);
    const checks: {
      query: string;
      filter: AppliedFilter;
      planned: PlannedQuery;
      prepared: Prepared;
      /** A query of the selection as a whole: a value too small here is left out of the answer. */
      top: boolean;
    }[] = [];
    for (const group of groups.values()) {
      if (group.reduce((count, filter) => count + filter.values.length, 0) < 2) continue;
      for (const filter of group) {
        for (const query of prepared) {
          if (!query.protected || query.table.keys.includes(filter.dimension)) continue;
          const top = !prepared.some((parent) => splits(parent, query));
          const planned: PlannedQuery =
            'outcome' in query.planned
              ? {
                  outcome: {
                    ...query.planned.outcome,
                    groupBy: [...query.planned.outcome.groupBy, filter.dimension],
                  },
                }
              : {
                  query: {
                    ...query.planned.query,
                    dimensions: [...query.planned.query.dimensions, filter.dimension],
                    metrics: [],
                    variances: undefined,
                    coverage: false,
                    order: [],
                  },
                };
          checks.push({ query: query.name, filter, planned, prepared: query, top });
        }
      }
    }
    return checks;
  }

  /**
   * Each value's share of every protected query's groups (for list filters), and the values whose share of
   * the selection as a whole is under a minimum: those are left out of the answer.
   */
  private async contributions(
    prepared: readonly Prepared[],
    filters: readonly AppliedFilter[],
    caller: Caller,
  ): Promise<{ found: Map<string, Set<string>>; splits: Shadow[] }> {
    const checks = this.contributionChecks(prepared, filters);
    // Where people are a distinct count, values can share people: what a list loses without a value is the
    // people who have that value only, which must be none or at least the minimum too.
    const marginals = checks.flatMap((check) => {
      const unit = check.top ? this.distinctPeople(check.prepared.planned) : undefined;
      const plan = check.prepared.planned;
      if (unit === undefined || !('query' in plan)) return [];
      const marginal: PlannedQuery = {
        query: {
          ...plan.query,
          metrics: [],
          measures: undefined,
          variances: undefined,
          coverage: false,
          order: [],
          marginal: { dimension: check.filter.dimension, unit },
        },
      };
      return [{ check, planned: marginal }];
    });
    const [rows, only] = await Promise.all([
      Promise.all(checks.map((check) => this.fetch(check.planned, caller))),
      Promise.all(marginals.map((marginal) => this.fetch(marginal.planned, caller))),
    ]);
    const found = new Map<string, Set<string>>();
    const leaveOut = (filter: AppliedFilter, values: Iterable<string | number>) => {
      for (const value of values) {
        const group = found.get(key(filter.group, filter.dimension)) ?? new Set<string>();
        group.add(String(value));
        found.set(key(filter.group, filter.dimension), group);
      }
    };
    checks.forEach((check, index) => {
      if (!check.top) return;
      const { filter, prepared: query } = check;
      leaveOut(
        filter,
        smallContributions(rows[index] ?? [], filter.dimension, filter.values, query.table.sizes),
      );
    });
    marginals.forEach(({ check }, index) => {
      const min =
        check.prepared.table.sizes.find((threshold) => threshold.column === PEOPLE_COLUMN)?.min ?? 0;
      const small = (only[index] ?? []).filter((row) => {
        const count = Number(row[ONLY_COLUMN] ?? 0);
        return count > 0 && count < min;
      });
      const { filter } = check;
      leaveOut(
        filter,
        filter.values.filter((value) => small.some((row) => String(row[filter.dimension]) === String(value))),
      );
    });
    return {
      found,
      splits: checks.map((check, index) => ({
        query: check.query,
        filter: check.filter,
        rows: rows[index] ?? [],
      })),
    };
  }
}

/** Whether `child`'s groups split `parent`'s: the same rows, more coordinates or finer time, within its time. */
function splits(parent: Prepared, child: Prepared): boolean {
  if (parent === child || parent.table.universe !== child.table.universe) return false;
  const names = (query: Prepared) => new Set([...query.table.keys, ...Object.keys(query.table.fixed)]);
  const outer = names(parent);
  const inner = names(child);
  if (![...outer].every((name) => inner.has(name))) return false;
  const finer = inner.size > outer.size || (child.grained && !parent.grained);
  const [from, to] = child.table.coverage;
  return finer && from >= parent.table.coverage[0] && to <= parent.table.coverage[1];
}

/** The filters a tool's answer must not be told apart by: list filters (several values or alternatives). */
function universeOf(filters: readonly DimensionFilter[]) {
  const listed = filters
    .filter((filter) => fixedFilter(filter, filters) === undefined)
    .map((filter) => [filter.group ?? '', filter.dimension, [...filter.values].map(String).sort()])
    .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  return { filters: listed };
}

/** A filter that pins its dimension to one value (alone in its group): a coordinate of every row. */
function fixedFilter(filter: DimensionFilter, all: readonly DimensionFilter[]): string | undefined {
  if (filter.values.length !== 1) return undefined;
  if (filter.group !== undefined && all.some((other) => other !== filter && other.group === filter.group))
    return undefined;
  return String(filter.values[0]);
}

function fixedOf(filters: readonly DimensionFilter[]): Record<string, string> {
  const fixed: Record<string, string> = {};
  for (const filter of filters) {
    const value = fixedFilter(filter, filters);
    if (value !== undefined) fixed[filter.dimension] = value;
  }
  return fixed;
}

/** Filters without the dropped values; a list filter left with no value refuses the call. */
function withoutDropped<F extends DimensionFilter>(filters: readonly F[], drops: Drops): F[] {
  const kept: F[] = [];
  const groups = new Set<string>();
  for (const filter of filters) {
    const dropped = filter.group === undefined ? undefined : drops.get(key(filter.group, filter.dimension));
    const values = filter.values.filter((value) => dropped?.has(String(value)) !== true);
    if (filter.group !== undefined) groups.add(filter.group);
    if (values.length > 0) kept.push({ ...filter, values });
  }
  for (const group of groups) {
    if (kept.some((filter) => filter.group === group)) continue;
    const argument = (filters.find((filter) => filter.group === group) as { argument?: string } | undefined)
      ?.argument;
    throw new ArgumentError(
      argument ?? group,
      `Every value of ${argument ?? group} describes too few people in this selection to be shown on its own: choose larger groups or a wider time range`,
    );
  }
  return kept;
}

function dropFrom(planned: PlannedQuery, drops: Drops): PlannedQuery {
  if (drops.size === 0) return planned;
  return 'outcome' in planned
    ? { outcome: { ...planned.outcome, filters: withoutDropped(planned.outcome.filters, drops) } }
    : { ...planned, query: { ...planned.query, filters: withoutDropped(planned.query.filters, drops) } };
}

function leftOutOf(filters: readonly AppliedFilter[], drops: Drops): LeftOut[] {
  return filters.flatMap((filter) => {
    const dropped = drops.get(key(filter.group, filter.dimension));
    return filter.values
      .filter((value) => dropped?.has(String(value)) === true)
      .map((value) => ({ argument: filter.argument, value }));
  });
}

/** A row as a tool may see it: no privacy columns, warehouse text neutralised. */
function publishable(row: Row): Row {
  const out: Row = {};
  for (const [column, value] of Object.entries(row)) {
    if (PRIVATE_COLUMN.test(column)) continue;
    out[column] = typeof value === 'string' ? neutralise(value) : value;
  }
  return out;
}
