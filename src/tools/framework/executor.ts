import { coarsen, FROM_COLUMN } from '../../guard/coarsen.js';
import { smallContributions } from '../../guard/contributions.js';
import {
  type Cells,
  type DisclosureTable,
  isSmall,
  namesOf,
  type Threshold,
} from '../../guard/disclosure-table.js';
import { disclose, type UnionNeed, type UnionSizes } from '../../guard/suppress.js';
import { neutralise } from '../../guard/untrusted-text.js';
import type { CompiledQuery } from '../../semantic/compiled-query.js';
import type { AppliedFilter } from '../../semantic/plan-query.js';
import {
  extremeColumns,
  type Measure,
  ONLY_COLUMN,
  PEOPLE_COLUMN,
  PERIOD_COLUMN,
  type QueryPlan,
  SET_COLUMN,
} from '../../semantic/query-plan.js';
import type { SemanticLayer } from '../../semantic/semantic-layer.js';
import type { Period } from '../../semantic/time-range.js';
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
import {
  distinctPeople,
  type Prepared,
  prepareQuery,
  type Ran,
  withDetermined,
  withoutFigures,
} from './prepared-query.js';

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
  /** Nesting probes already run, by query and dimensions (a later stage protects earlier tables again). */
  readonly probes: ReadonlyMap<string, readonly Row[]>;
}

/** A query's groups split by one list-filter dimension: each kept value's share of each group. */
interface Shadow {
  readonly query: string;
  /** The list-filter dimensions splitting the query's groups. */
  readonly dimensions: readonly string[];
  readonly rows: readonly Row[];
  /** What each row must reach: the query's own sizes (a value's share), or the people a value alone brings. */
  readonly sizes: readonly Threshold[];
}

/** Measures of the least and greatest value of a dimension in each group, as text. */
const extremesOf = (dimension: string): Measure[] => [
  { column: extremeColumns(dimension).min, extreme: 'min', of: dimension },
  { column: extremeColumns(dimension).max, extreme: 'max', of: dimension },
];

/** Dimensions a table's groups each lie within one value of, and its rows (or its shadows') with that value. */
interface Nest {
  readonly dimensions: readonly string[];
  readonly within: (row: Row) => Row;
}

/** A group's identity: its coordinates (`keys`) and its span of days, as one string. */
function groupAt(keys: readonly string[], span: DisclosureTable['span'], row: Cells): string {
  return JSON.stringify([...keys.map((key) => String(row[key] ?? '')), span(row)]);
}

/** Privacy columns never leave the executor. */
const PRIVATE_COLUMN = /^_(people|distinct|nest)(_|$)/;

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
    usable?: ReadonlyMap<string, number>,
  ): Record<string, CompiledQuery> {
    const prepared = Object.entries(queries).map(([name, planned]) =>
      prepareQuery(this.layer, name, planned, caller.policy),
    );
    const compiled: Record<string, CompiledQuery> = {};
    for (const query of prepared) compiled[query.name] = this.compile(query.planned, caller, usable);
    for (const check of contributionChecks(prepared, filters))
      compiled[`privacy_check_${check.query}_${check.filters.map((filter) => filter.dimension).join('_')}`] =
        this.compile(check.planned, caller, usable);
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
    const earlier = previous?.ran ?? [];
    const all = new Map([...drops].map(([group, values]) => [group, new Set(values)]));
    const prepare = () =>
      withDetermined(
        this.layer,
        Object.entries(queries).map(([name, planned]) =>
          prepareQuery(this.layer, name, dropFrom(planned, all), caller.policy),
        ),
        earlier,
        caller.policy,
      );
    let prepared = prepare();
    let checked = await this.contributions(prepared, withoutDropped(filters, all), caller);
    // Leaving a value out changes what the others alone bring: check again until no value is too small.
    while (checked.found.size > 0) {
      for (const [group, values] of checked.found)
        all.set(group, new Set([...(all.get(group) ?? []), ...values]));
      if (previous !== undefined)
        return { ...previous, drops: all, restart: true, leftOut: leftOutOf(filters, all) };
      prepared = prepare();
      checked = await this.contributions(prepared, withoutDropped(filters, all), caller);
    }
    const effective = withoutDropped(filters, all);
    const rows = await this.fetchAll(
      prepared.map((query) => query.planned),
      caller,
    );
    const ran: Ran[] = [
      ...(previous?.ran ?? []),
      ...prepared.map((query, index) => ({ prepared: query, rows: rows[index] ?? [] })),
    ];
    const shadows = [...(previous?.shadows ?? []), ...checked.shadows];
    const probes = new Map(previous?.probes ?? []);
    return this.protect(ran, shadows, effective, all, leftOutOf(filters, all), caller, probes);
  }

  /** The rows every stage so far may show, under the privacy rules applied to all of them together. */
  private async protect(
    ran: readonly Ran[],
    shadows: readonly Shadow[],
    filters: readonly AppliedFilter[],
    drops: Drops,
    leftOut: readonly LeftOut[],
    caller: Caller,
    probes: Map<string, readonly Row[]>,
  ): Promise<Execution> {
    const tables: DisclosureTable[] = [];
    const open = new Map<string, readonly Row[]>();
    const withheldRows = new Map<string, Row[]>();
    const nests = await this.nestings(ran, caller, probes);
    for (const { prepared, rows: fetched } of ran) {
      const { planned, name } = prepared;
      if (!prepared.protected) {
        open.set(name, fetched);
        continue;
      }
      // Groups that lie within one group of another table's dimension carry it as a coordinate too.
      const nest = nests.get(name);
      const table =
        nest === undefined
          ? prepared.table
          : { ...prepared.table, keys: [...prepared.table.keys, ...nest.dimensions] };
      const rows = nest === undefined ? fetched : fetched.map(nest.within);
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
          constraints: splitBy.map((shadow) => ({ rows: shadow.rows, series: shadow.dimensions })),
        });
        shown = runs.rows;
        withheldRows.set(name, runs.withheld);
        const along = planned.coarsen.along;
        span = (row) => [String(row[FROM_COLUMN] ?? ''), String(row[along] ?? '')];
      }
      tables.push({ ...table, name, rows: shown, span });
      // Merged runs carry their list values' shares as constraints, not as shadow tables.
      if (prepared.merged) continue;
      splitBy.forEach((shadow, index) => {
        tables.push({
          ...table,
          name: `${name}|${shadow.dimensions.join('|')}|${index}`,
          keys: [...table.keys, ...shadow.dimensions],
          rows: nest === undefined ? shadow.rows : shadow.rows.map(nest.within),
          sizes: shadow.sizes,
          cohorts: [],
          shadow: shadow.dimensions,
          single: false,
          totals: false,
        });
      });
    }
    const answer = disclose(tables);
    const disclosure = answer.suppress(await this.unions(answer.needs, ran, caller));
    const clean = (rows: readonly Row[], added: readonly string[] = []): Row[] =>
      rows.map((row) => publishable(row, added));
    const shownRows = new Map<string, Row[]>();
    for (const [name, rows] of open) shownRows.set(name, clean(rows));
    for (const [name, rows] of disclosure.rows) {
      const page = ran.find((entry) => entry.prepared.name === name)?.prepared.page;
      const cut =
        page === undefined
          ? rows
          : rows.slice(page.offset, page.limit === undefined ? undefined : page.offset + page.limit);
      shownRows.set(name, clean(cut, nests.get(name)?.dimensions));
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
      probes,
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
      if (plans.get(need.child.name)?.merged === true) return [];
      const measures = child.query.measures ?? [];
      const below = need.child.sizes.flatMap((threshold) => {
        const measure = measures.find((candidate) => candidate.column === threshold.column);
        return measure === undefined ? [] : [{ ...measure, min: threshold.min }];
      });
      const plan = withoutFigures(parent.query, {
        measures: below.map(({ min: _min, ...measure }) => measure),
        within: {
          dimensions: child.query.dimensions,
          grain: child.query.grain,
          periods: child.query.periods,
          byPeriod: child.query.byPeriod,
          below,
        },
      });
      return [{ need, plan }];
    });
    const rows = await Promise.all(needs.map(({ plan }) => this.service.run(plan, caller)));
    // Coordinates as the queries group (a nested table's added coordinates are not in the union's rows).
    const coordinates = (table: DisclosureTable, row: Cells) =>
      groupAt(plans.get(table.name)?.table.keys ?? table.keys, table.span, row);
    const sizes = new Map<string, Map<string, Cells>>();
    needs.forEach(({ need }, index) => {
      const byParent = new Map((rows[index] ?? []).map((row) => [coordinates(need.parent, row), row]));
      sizes.set(`${need.parent.name}\u0000${need.child.name}`, byParent);
    });
    return (need, parent) =>
      sizes.get(`${need.parent.name}\u0000${need.child.name}`)?.get(coordinates(need.parent, parent));
  }

  /**
   * Where a protected table has groups under a minimum, the dimensions of other tables of its universe each of
   * its groups lies within one value of, in the data (every country within one region, though no declaration
   * says so): its groups then split the other table's, and the privacy rules protect the one by the other.
   * One more query per such table reads each group's least and greatest value of those dimensions.
   */
  private async nestings(
    ran: readonly Ran[],
    caller: Caller,
    probes: Map<string, readonly Row[]>,
  ): Promise<Map<string, Nest>> {
    const candidates = ran.flatMap(({ prepared, rows }) => {
      const { table, planned } = prepared;
      if (!prepared.protected || prepared.merged || !('query' in planned)) return [];
      if (!rows.some((row) => isSmall(row, table.sizes))) return [];
      const names = namesOf(table);
      const dimensions = [
        ...new Set(
          ran.flatMap(({ prepared: other }) =>
            other.protected && other.table.universe === table.universe && !other.merged
              ? other.table.keys
              : [],
          ),
        ),
      ].filter((dimension) => !names.has(dimension));
      if (dimensions.length === 0) return [];
      const probe: PlannedQuery = {
        query: withoutFigures(planned.query, { measures: dimensions.flatMap(extremesOf) }),
      };
      return [{ prepared, rows, dimensions, probe }];
    });
    const probed = await Promise.all(
      candidates.map(async ({ prepared, dimensions, probe }) => {
        const key = JSON.stringify([prepared.name, dimensions]);
        const known = probes.get(key);
        if (known !== undefined) return known;
        const rows = await this.fetch(probe, caller);
        probes.set(key, rows);
        return rows;
      }),
    );
    const nests = new Map<string, Nest>();
    candidates.forEach(({ prepared, rows, dimensions }, index) => {
      const { table } = prepared;
      const at = (row: Cells) => groupAt(table.keys, table.span, row);
      const byGroup = new Map((probed[index] ?? []).map((row) => [at(row), row]));
      const nested = dimensions.filter((dimension) => {
        const { min, max } = extremeColumns(dimension);
        return rows.every((row) => {
          const measures = byGroup.get(at(row));
          return measures?.[min] !== undefined && measures[min] === measures[max];
        });
      });
      if (nested.length === 0) return;
      // Each group's values, for its rows and for its shadows' (which split it by a list value).
      const values = new Map(
        rows.map((row) => {
          const measures = byGroup.get(at(row));
          const pairs = nested.map((dimension) => [dimension, measures?.[extremeColumns(dimension).min]]);
          return [at(row), Object.fromEntries(pairs)];
        }),
      );
      nests.set(prepared.name, { dimensions: nested, within: (row) => ({ ...row, ...values.get(at(row)) }) });
    });
    return nests;
  }

  /**
   * The rows of several queries of one stage. Queries of one family (familyOf: the same model, rows and
   * buckets, periods that one scan can split, no page of their own) that would read the same table run as one
   * scan with grouping sets; each gets back its own rows, columns and order.
   */
  private async fetchAll(planned: readonly PlannedQuery[], caller: Caller): Promise<(readonly Row[])[]> {
    const usable = await this.service.usableRollups();
    const families = new Map<string, number[]>();
    planned.forEach((query, index) => {
      if (!('query' in query)) return;
      const key = familyOf(query.query);
      if (key === undefined) return;
      const full = `${key}|${this.service.rollupOf(query.query, caller, usable) ?? ''}`;
      families.set(full, [...(families.get(full) ?? []), index]);
    });
    const out: Promise<readonly Row[]>[] = planned.map(() => Promise.resolve([]));
    const merged = new Set<number>();
    for (const members of families.values()) {
      const plans = members.map((index) => (planned[index] as { query: QueryPlan }).query);
      const together = members.length > 1 ? combined(plans) : undefined;
      if (together === undefined) continue;
      const rows = this.service.runCompiled(
        this.compile({ query: together }, caller, usable),
        together.model,
        caller,
      );
      members.forEach((index, position) => {
        merged.add(index);
        out[index] = rows.then((all) => rowsOfSet(this.layer, together, plans[position] as QueryPlan, all));
      });
    }
    planned.forEach((query, index) => {
      if (!merged.has(index)) out[index] = this.fetch(query, caller, usable);
    });
    return Promise.all(out);
  }

  private async fetch(
    planned: PlannedQuery,
    caller: Caller,
    known?: ReadonlyMap<string, number>,
  ): Promise<readonly Row[]> {
    const model = 'outcome' in planned ? planned.outcome.model : planned.query.model;
    const usable = known ?? (await this.service.usableRollups());
    return this.service.runCompiled(this.compile(planned, caller, usable), model, caller);
  }

  private compile(
    planned: PlannedQuery,
    caller: Caller,
    usable?: ReadonlyMap<string, number>,
  ): CompiledQuery {
    return 'outcome' in planned
      ? this.service.compileOutcome(planned.outcome, caller)
      : this.service.compile(planned.query, caller, usable);
  }

  /**
   * For list filters: each value's share of every protected query's groups and, where people are a distinct
   * count, the people each value alone brings to each group (values can share people: what a list loses
   * without a value is those who have that value only). Values too small for the selection as a whole are
   * `found` (to be left out); the rest become shadows, which withhold the groups they are too small for.
   */
  private async contributions(
    prepared: readonly Prepared[],
    filters: readonly AppliedFilter[],
    caller: Caller,
  ): Promise<{ found: Map<string, Set<string>>; shadows: Shadow[] }> {
    const checks = contributionChecks(prepared, filters);
    const marginals = checks.flatMap((check) => {
      const plan = check.prepared.planned;
      const unit = distinctPeople(this.layer, plan);
      const [filter, second] = check.filters;
      if (unit === undefined || !('query' in plan) || filter === undefined || second !== undefined) return [];
      // Merged days are cut at each value's share; what a value alone brings to a run is not counted.
      if (!check.top && check.prepared.merged) return [];
      const marginal: PlannedQuery = {
        query: withoutFigures(plan.query, {
          measures: undefined,
          marginal: { dimension: filter.dimension, unit },
        }),
      };
      return [{ check, filter, planned: marginal, merged: check.prepared.merged }];
    });
    const [shares, only] = await Promise.all([
      Promise.all(checks.map((check) => this.fetch(check.planned, caller))),
      Promise.all(marginals.map((marginal) => this.fetch(marginal.planned, caller))),
    ]);
    const found = new Map<string, Set<string>>();
    const leaveOut = (filter: AppliedFilter, values: Iterable<string | number>) => {
      for (const value of values) {
        const key = dropKey(filter.group, filter.dimension);
        found.set(key, new Set([...(found.get(key) ?? []), String(value)]));
      }
    };
    const shadows: Shadow[] = [];
    checks.forEach((check, index) => {
      const { filters: by, prepared: query } = check;
      const rows = shares[index] ?? [];
      if (check.top) {
        const lists = by.map((filter) => ({ column: filter.dimension, values: filter.values }));
        for (const { column, value } of smallContributions(rows, lists, query.table.sizes)) {
          const filter = by.find((candidate) => candidate.dimension === column);
          if (filter !== undefined) leaveOut(filter, [value]);
        }
      }
      const dimensions = by.map((filter) => filter.dimension);
      shadows.push({ query: check.query, dimensions, rows, sizes: query.table.sizes });
    });
    marginals.forEach(({ check, filter, merged }, index) => {
      const min = check.prepared.table.sizes.find((size) => size.column === PEOPLE_COLUMN)?.min ?? 0;
      const sizes = [{ column: ONLY_COLUMN, min }];
      const rows = only[index] ?? [];
      if (check.top) {
        const small = rows.filter((row) => isSmall(row, sizes));
        leaveOut(
          filter,
          filter.values.filter((value) =>
            small.some((row) => String(row[filter.dimension]) === String(value)),
          ),
        );
      }
      const dimensions = [filter.dimension];
      if (!merged) shadows.push({ query: check.query, dimensions, rows, sizes });
    });
    return { found, shadows };
  }
}

/**
 * What queries must share to run as one scan with grouping sets (undefined: it runs alone): everything but
 * their dimensions, metrics, measures and order (each member's rows are put in its own order), and nothing
 * that needs its own statement (a page, a search, per-viewer shares, small-group unions, variances, coverage,
 * distinct listings).
 */
function familyOf(plan: QueryPlan): string | undefined {
  if (
    plan.limit !== undefined ||
    (plan.offset ?? 0) > 0 ||
    plan.distinct === true ||
    plan.search !== undefined ||
    plan.marginal !== undefined ||
    plan.within !== undefined ||
    // Per-viewer variances (sumMap) of several groupings are slower as one statement than apart (2.3 s against
    // 4 × 0.42 s at 100 M events), and once outgrew memory.
    (plan.variances?.length ?? 0) > 0 ||
    plan.coverage === true ||
    plan.groupingSets !== undefined
  )
    return undefined;
  return JSON.stringify([
    plan.model,
    plan.timeDimension,
    plan.grain ?? null,
    // A plan of one period joins those split by period that start with it (its rows are their first period's);
    // a plan summing several periods together only joins its equals.
    plan.byPeriod === true || plan.periods.length <= 1 ? (plan.periods[0] ?? null) : plan.periods,
    plan.overlap ?? null,
    plan.filters,
  ]);
}

/**
 * The periods a family's scan splits by, when every member's are the first of them (or all members sum the
 * same periods together); undefined when they are not.
 */
function periodsOf(
  plans: readonly QueryPlan[],
): { periods: readonly Period[]; byPeriod: boolean } | undefined {
  const longest = plans.reduce<readonly Period[]>(
    (most, plan) => (plan.periods.length > most.length ? plan.periods : most),
    [],
  );
  const same = (a: readonly Period[], b: readonly Period[]) => JSON.stringify(a) === JSON.stringify(b);
  if (plans.every((plan) => plan.byPeriod === true) || plans.every((plan) => plan.byPeriod !== true))
    if (plans.every((plan) => same(plan.periods, longest)))
      return { periods: longest, byPeriod: plans[0]?.byPeriod === true };
  const fits = plans.every((plan) =>
    plan.byPeriod === true
      ? same(plan.periods, longest.slice(0, plan.periods.length))
      : plan.periods.length === 1,
  );
  return fits ? { periods: longest, byPeriod: true } : undefined;
}

/** One plan grouping by each family member's dimensions at once, or undefined when they cannot share a scan. */
function combined(plans: readonly QueryPlan[]): QueryPlan | undefined {
  const [first] = plans;
  if (first === undefined) return undefined;
  const dimensions = [...new Set(plans.flatMap((plan) => plan.dimensions))];
  const split = periodsOf(plans);
  if (dimensions.length === 0 || split === undefined) return undefined;
  const measures = new Map<string, Measure>();
  for (const measure of plans.flatMap((plan) => plan.measures ?? [])) {
    const known = measures.get(measure.column);
    if (known !== undefined && JSON.stringify(known) !== JSON.stringify(measure)) return undefined;
    measures.set(measure.column, measure);
  }
  return {
    ...first,
    ...split,
    dimensions,
    order: [],
    metrics: [...new Set(plans.flatMap((plan) => plan.metrics))],
    measures: [...measures.values()],
    // Queries grouping by the same dimensions share one grouping (a repeated set would repeat its rows).
    groupingSets: [
      ...new Map(
        plans.map((plan) => [JSON.stringify([...plan.dimensions].sort()), plan.dimensions]),
      ).values(),
    ],
  };
}

/**
 * The rows of one member of a grouping-sets scan: those of its grouping, with its own columns only, in the
 * order its own query would have given: its own order, then its group keys ascending (numbers as numbers, text
 * byte by byte, NULLs last either way, as the engine orders).
 */
function rowsOfSet(layer: SemanticLayer, scan: QueryPlan, plan: QueryPlan, rows: readonly Row[]): Row[] {
  const mask = scan.dimensions.reduce(
    (bits, dimension) => bits * 2 + (plan.dimensions.includes(dimension) ? 0 : 1),
    0,
  );
  const time = plan.grain === undefined ? [] : [plan.timeDimension];
  const period = plan.byPeriod === true ? [PERIOD_COLUMN] : [];
  const keys = [...time, ...period, ...plan.dimensions];
  const figures = [...plan.metrics, ...(plan.measures ?? []).map((measure) => measure.column)];
  const columns = [...keys, ...figures];
  const numeric = new Set([
    ...figures,
    ...plan.dimensions.filter((name) => {
      const type = layer.dimensions.get(name)?.type;
      return type === 'integer' || type === 'number';
    }),
  ]);
  const orders = [
    ...plan.order,
    ...keys
      .filter((key) => !plan.order.some((order) => order.key === key))
      .map((key) => ({ key, direction: 'asc' as const })),
  ];
  const compare = (a: Row, b: Row): number => {
    for (const { key, direction } of orders) {
      const [x, y] = [a[key], b[key]];
      const order =
        x == null || y == null
          ? Number(x == null) - Number(y == null)
          : (direction === 'desc' ? -1 : 1) *
            (numeric.has(key)
              ? Number(x) - Number(y)
              : Buffer.compare(Buffer.from(String(x)), Buffer.from(String(y))));
      if (order !== 0) return order;
    }
    return 0;
  };
  // A member's own periods: the first of the scan's, and of a member not split by period, its only one.
  const inPeriods = (row: Row) =>
    scan.byPeriod !== true ||
    (plan.byPeriod === true
      ? Number(row[PERIOD_COLUMN]) < plan.periods.length
      : String(row[PERIOD_COLUMN]) === '0');
  return rows
    .filter((row) => Number(row[SET_COLUMN]) === mask && inPeriods(row))
    .map((row) => Object.fromEntries(columns.map((column) => [column, row[column]])))
    .sort(compare);
}

/** A row as a tool may see it: no privacy columns (nor coordinates the rules `added`), text neutralised. */
function publishable(row: Row, added: readonly string[]): Row {
  const out: Row = {};
  for (const [column, value] of Object.entries(row)) {
    if (PRIVATE_COLUMN.test(column) || added.includes(column)) continue;
    out[column] = typeof value === 'string' ? neutralise(value) : value;
  }
  return out;
}
