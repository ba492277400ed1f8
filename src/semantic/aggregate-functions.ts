import type { Metric } from './semantic-layer.js';

/** The aggregations that compile to one ClickHouse function (a ratio is two). */
export type Aggregation = Exclude<Metric['aggregation'], 'ratio'>;

/**
 * The ClickHouse function of each aggregation, with its parameters. Approximate distinct counts are
 * uniqCombined with 2^14 registers: exact up to 1,024 distinct values per figure (barring a rare 32-bit hash
 * collision), above that HyperLogLog with a relative standard error of 0.8%. Its states are at most 12 KiB
 * (uniq's grow to 256 KiB) and merge 3–4× faster, and exactly: a rollup gives the events' own figure.
 */
const FUNCTIONS: Record<Aggregation, readonly [name: string, parameters?: string]> = {
  count: ['count'],
  sum: ['sum'],
  avg: ['avg'],
  min: ['min'],
  max: ['max'],
  count_distinct: ['uniqExact'],
  approx_count_distinct: ['uniqCombined', '(14)'],
};

/** The function name of an aggregation with combinators (`If`, `State`, `Merge`, `MergeIf`, `IfState`). */
export function aggregateFunction(aggregation: Aggregation, combinators = ''): string {
  const [name, parameters = ''] = FUNCTIONS[aggregation];
  return `${name}${combinators}${parameters}`;
}

/**
 * The aggregations a rollup keeps as a state per day and group (a ratio is answered from its parts), and how a
 * query merges that state back: sums for counts and sums, the extreme for extremes, distinct-count states merged.
 */
export const ROLLUP_MERGES: Partial<Record<Aggregation, readonly [merge: Aggregation, combinators: string]>> =
  {
    count: ['sum', ''],
    sum: ['sum', ''],
    min: ['min', ''],
    max: ['max', ''],
    approx_count_distinct: ['approx_count_distinct', 'Merge'],
  };
