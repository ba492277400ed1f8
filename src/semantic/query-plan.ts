import type { Period } from './time-range.js';

export const GRAINS = ['day', 'week', 'month', 'quarter', 'year'] as const;
export type Grain = (typeof GRAINS)[number];

/**
 * A filter on a dimension: keep rows whose value is one of `values`. Filters of one `group` (the dimensions
 * one argument matches, e.g. country or region) are alternatives; everything else must hold together.
 */
export interface DimensionFilter {
  readonly dimension: string;
  readonly values: readonly (string | number)[];
  readonly group?: string | undefined;
}

/**
 * The one value a filter pins its dimension to, when it has one value and is alone in its group (a value
 * OR'ed with another dimension's, a country or a region, pins nothing); undefined otherwise.
 */
export function pinnedValue(filter: DimensionFilter, all: readonly DimensionFilter[]): string | undefined {
  if (filter.values.length !== 1) return undefined;
  if (filter.group !== undefined && all.some((other) => other !== filter && other.group === filter.group))
    return undefined;
  return String(filter.values[0]);
}

/** An ordering key: a metric, a dimension, or the time bucket. */
export interface OrderKey {
  readonly key: string;
  readonly direction: 'asc' | 'desc';
}

/** Column names Marquee adds to results; semantic names cannot start with `_`, so these never clash. */
export const PERIOD_COLUMN = '_period';
export const FIRST_DAY_COLUMN = '_first_day';
export const LAST_DAY_COLUMN = '_last_day';
/** With a timestamp time column: the last day its data covers to the end (the last day may be partial). */
export const COMPLETE_DAY_COLUMN = '_complete_day';
export const PEOPLE_COLUMN = '_people';
/** Units (people) in a group with one value only of a split dimension. */
export const ONLY_COLUMN = '_only';
export const SCORE_COLUMN = '_score';
export const SET_COLUMN = '_set';
export const varianceColumn = (metric: string): string => `_var_${metric}`;
export const UNITS_COLUMN = '_units';
export const MEAN_COLUMN = '_mean';
export const VARIANCE_COLUMN = '_variance';
/** The column of a measure counting the people a metric describes: `_people_retention_cohort`. */
export const peopleColumn = (metric: string): string => `_people_${metric}`;
/** The column of a measure counting the distinct values of a dimension in a group: `_distinct_content_id`. */
export const distinctColumn = (dimension: string): string => `_distinct_${dimension}`;

/** The columns of the least and greatest value of a dimension in a group, as text: `_nest_min_region`. */
export const extremeColumns = (dimension: string) =>
  ({ min: `_nest_min_${dimension}`, max: `_nest_max_${dimension}` }) as const;

/**
 * What the privacy rules need of each group, added to a query under `column` and never shown: a size (a
 * metric counting people, or the number of distinct values of a dimension), or the least or greatest value
 * of a dimension as text (equal when the group lies within one value: it nests in that value's group).
 */
export type Measure =
  | { readonly column: string; readonly metric: string }
  | { readonly column: string; readonly distinct: string }
  | { readonly column: string; readonly extreme: 'min' | 'max'; readonly of: string };

/**
 * A query validated against the semantic layer, every name known: the one input of the compiler.
 * `periods[0]` is the period asked for; later periods (comparisons) are read in the same scan.
 */
export interface QueryPlan {
  readonly model: string;
  readonly metrics: readonly string[];
  readonly dimensions: readonly string[];
  readonly timeDimension: string;
  /** When set, rows are grouped by the time dimension truncated to this grain. */
  readonly grain?: Grain | undefined;
  readonly periods: readonly Period[];
  /**
   * Rows that last from the time dimension to this day dimension (a campaign) are kept when active in the
   * periods (started by a period's end, ended on or after its start, or with no end) instead of starting in one.
   */
  readonly overlap?: { readonly end: string } | undefined;
  /** Group by period (adds `_period` = index of the period, as a string). */
  readonly byPeriod?: boolean;
  /** Adds the first and last day with data (`_first_day`, `_last_day`; `_complete_day` for timestamps). */
  readonly coverage?: boolean;
  readonly filters: readonly DimensionFilter[];
  readonly order: readonly OrderKey[];
  readonly limit?: number | undefined;
  readonly offset?: number | undefined;
  /** Only distinct dimension values, no metrics (for value look-ups). */
  readonly distinct?: boolean;
  /** Sizes of each group the privacy rules need (people, distinct members). */
  readonly measures?: readonly Measure[] | undefined;
  /**
   * Keep only the rows of the groups of another shape (its time bucket or periods, and dimensions) that are
   * under a minimum: the union of those small groups, whose people the privacy rules count as a whole.
   */
  readonly within?: SmallGroups | undefined;
  /**
   * Instead of figures, per group and value of `dimension`: how many distinct units (the `unit` metric's
   * column, e.g. viewers) have that value only (`_only`). What a list loses, in people, without the value.
   */
  readonly marginal?: { readonly dimension: string; readonly unit: string } | undefined;
  /**
   * Fuzzy text search on a string dimension: rows whose value contains `text` or shares at least `minScore`
   * of its trigrams (case-insensitive), best matches first, with the score as `_score`.
   */
  readonly search?:
    | { readonly dimension: string; readonly text: string; readonly minScore: number }
    | undefined;
  /** Metrics whose variance (Poisson for counts, sum of squares for sums) is added as `_var_<metric>`. */
  readonly variances?: readonly string[] | undefined;
  /**
   * Several groupings in one scan: each set lists the `dimensions` one grouping keeps (besides the time bucket
   * and period); `_set` then says which grouping a row belongs to (a bit per dimension, first dimension
   * highest, set when the row is summed over it). Rows come unordered.
   */
  readonly groupingSets?: readonly (readonly string[])[] | undefined;
}

/** The groups of one shape that are under a minimum (any measure below its `min`). */
export interface SmallGroups {
  readonly dimensions: readonly string[];
  readonly grain?: Grain | undefined;
  readonly periods: readonly Period[];
  readonly byPeriod?: boolean | undefined;
  readonly below: readonly (Measure & { readonly min: number })[];
}

/**
 * Per-unit outcomes of an experiment, summarised per group (for Welch's t-test): every row of `model` is a
 * unit; its outcome is `metric` (of another model, joined on `join`: this model's column → that model's) over
 * the `days` starting at the unit's `since` column.
 */
export interface UnitOutcomePlan {
  readonly model: string;
  readonly groupBy: readonly string[];
  readonly filters: readonly DimensionFilter[];
  readonly metric: string;
  readonly join: Readonly<Record<string, string>>;
  readonly since: string;
  readonly days: number;
}
