import { coarsen, FROM_COLUMN } from '../../guard/coarsen.js';
import { smallContributions } from '../../guard/contributions.js';
import type { Cells, DisclosureTable } from '../../guard/disclosure-table.js';
import { disclose, type UnionNeed, type UnionSizes } from '../../guard/suppress.js';
import { neutralise } from '../../guard/untrusted-text.js';
import type { CompiledQuery } from '../../semantic/compiled-query.js';
import type { AppliedFilter } from '../../semantic/plan-query.js';
import { ONLY_COLUMN, PEOPLE_COLUMN, type QueryPlan } from '../../semantic/query-plan.js';
import type { SemanticLayer } from '../../semantic/semantic-layer.js';
import type { Row } from '../../warehouse/warehouse.js';
import type { AnalyticsService, Caller } from './analytics-service.js';
import type { PlannedQuery, Results } from './definition.js';
import {
  contributionChecks,
  type Drops,
  dropFrom,
  dropKey,
  type LeftOut,
  leftOutOf,
  withoutDropped,
} from './list-filters.js';
import { distinctPeople, type Prepared, prepareQuery, type Ran, withDetermined } from './prepared-query.js';

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
      prepareQuery(this.layer, name, planned, caller.policy),
    );
    const compiled: Record<string, CompiledQuery> = {};
    for (const query of prepared) compiled[query.name] = this.compile(query.planned, caller);
    for (const check of contributionChecks(prepared, filters))
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
    let prepared = withDetermined(
      this.layer,
      Object.entries(queries).map(([name, planned]) =>
        prepareQuery(this.layer, name, dropFrom(planned, drops), caller.policy),
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
      prepared = withDetermined(
        this.layer,
        Object.entries(queries).map(([name, planned]) =>
          prepareQuery(this.layer, name, dropFrom(planned, all), caller.policy),
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
      const dropped = all.get(dropKey(split.filter.group, split.filter.dimension));
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

  /**
   * Each value's share of every protected query's groups (for list filters), and the values whose share of
   * the selection as a whole is under a minimum: those are left out of the answer.
   */
  private async contributions(
    prepared: readonly Prepared[],
    filters: readonly AppliedFilter[],
    caller: Caller,
  ): Promise<{ found: Map<string, Set<string>>; splits: Shadow[] }> {
    const checks = contributionChecks(prepared, filters);
    // Where people are a distinct count, values can share people: what a list loses without a value is the
    // people who have that value only, which must be none or at least the minimum too.
    const marginals = checks.flatMap((check) => {
      const unit = check.top ? distinctPeople(this.layer, check.prepared.planned) : undefined;
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
        const group = found.get(dropKey(filter.group, filter.dimension)) ?? new Set<string>();
        group.add(String(value));
        found.set(dropKey(filter.group, filter.dimension), group);
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

/** A row as a tool may see it: no privacy columns, warehouse text neutralised. */
function publishable(row: Row): Row {
  const out: Row = {};
  for (const [column, value] of Object.entries(row)) {
    if (PRIVATE_COLUMN.test(column)) continue;
    out[column] = typeof value === 'string' ? neutralise(value) : value;
  }
  return out;
}
