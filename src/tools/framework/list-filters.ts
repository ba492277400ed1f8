import { ArgumentError } from '../../errors.js';
import type { AppliedFilter } from '../../semantic/plan-query.js';
import type { DimensionFilter } from '../../semantic/query-plan.js';
import type { PlannedQuery } from './definition.js';
import { type Prepared, splits, withoutFigures } from './prepared-query.js';

/** Values of list filters left out of an answer, by filter group and dimension. */
export type Drops = ReadonlyMap<string, ReadonlySet<string>>;

/** A filter value left out because what it adds to the answer was under the minimum group size. */
export interface LeftOut {
  readonly argument: string;
  readonly value: string | number;
}

/** The key of a list filter's dropped values: its group and its dimension. */
export const dropKey = (group: string, dimension: string) => `${group}\u0000${dimension}`;

/**
 * One protected query split by one list filter's dimension, to see each value's share of its groups, or by
 * the dimensions of every list together, to see each crossing of their values' share (asking with and without
 * a value of each list, a few answers give a crossing's figures away).
 */
export interface ContributionCheck {
  readonly query: string;
  readonly filters: readonly AppliedFilter[];
  readonly planned: PlannedQuery;
  readonly prepared: Prepared;
  /** A query of the selection as a whole: a value too small here is left out of the answer. */
  readonly top: boolean;
}

/**
 * For every list filter (an argument with several values), for the lists of all arguments together, and for
 * every protected query not already split by their dimensions: the same query split by them, sizes only, to
 * see each value's (or crossing's) own contribution. `top` marks the queries of the selection as a
 * whole (no other query of the stage splits them further).
 */
export function contributionChecks(
  prepared: readonly Prepared[],
  filters: readonly AppliedFilter[],
): ContributionCheck[] {
  const groups = new Map<string, AppliedFilter[]>();
  for (const filter of filters) groups.set(filter.group, [...(groups.get(filter.group) ?? []), filter]);
  const lists = [...groups.values()].filter(
    (group) => group.reduce((count, filter) => count + filter.values.length, 0) >= 2,
  );
  // Each list alone, and every list together: a crossing's figures are sums of the full crossing's cells.
  const crossings = lists.reduce<AppliedFilter[][]>(
    (partial, group) => partial.flatMap((chosen) => group.map((filter) => [...chosen, filter])),
    [[]],
  );
  const splitBy = [...lists.flat().map((filter) => [filter]), ...(lists.length > 1 ? crossings : [])];
  const checks: ContributionCheck[] = [];
  for (const by of splitBy) {
    const dimensions = by.map((filter) => filter.dimension);
    for (const query of prepared) {
      if (!query.protected || dimensions.some((dimension) => query.table.keys.includes(dimension))) continue;
      const top = !prepared.some((parent) => splits(parent, query));
      const planned: PlannedQuery =
        'outcome' in query.planned
          ? {
              outcome: {
                ...query.planned.outcome,
                groupBy: [...query.planned.outcome.groupBy, ...dimensions],
              },
            }
          : {
              query: withoutFigures(query.planned.query, {
                dimensions: [...query.planned.query.dimensions, ...dimensions],
              }),
            };
      checks.push({ query: query.name, filters: by, planned, prepared: query, top });
    }
  }
  return checks;
}

/** Filters without the dropped values; a list filter left with no value refuses the call. */
export function withoutDropped<F extends DimensionFilter>(filters: readonly F[], drops: Drops): F[] {
  const kept: F[] = [];
  const groups = new Set<string>();
  for (const filter of filters) {
    const dropped =
      filter.group === undefined ? undefined : drops.get(dropKey(filter.group, filter.dimension));
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

export function dropFrom(planned: PlannedQuery, drops: Drops): PlannedQuery {
  if (drops.size === 0) return planned;
  return 'outcome' in planned
    ? { outcome: { ...planned.outcome, filters: withoutDropped(planned.outcome.filters, drops) } }
    : { ...planned, query: { ...planned.query, filters: withoutDropped(planned.query.filters, drops) } };
}

export function leftOutOf(filters: readonly AppliedFilter[], drops: Drops): LeftOut[] {
  return filters.flatMap((filter) => {
    const dropped = drops.get(dropKey(filter.group, filter.dimension));
    return filter.values
      .filter((value) => dropped?.has(String(value)) === true)
      .map((value) => ({ argument: filter.argument, value }));
  });
}
