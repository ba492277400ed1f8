/** One result row: column → value, as the warehouse returns it. */
export type Cells = Readonly<Record<string, unknown>>;

/** A size a group must reach to be shown: the value in `column` (people, distinct members) at least `min`. */
export interface Threshold {
  readonly column: string;
  readonly min: number;
}

/** A first and last day, inclusive (ISO dates): the time a row's figures cover. */
export type Span = readonly [string, string];

/** All time, for rows that are not bounded by dates. */
export const ALL_TIME: Span = ['0000-01-01', '9999-12-31'];

/**
 * One table of figures an answer publishes, as the privacy rules see it. Each row is a group identified by its
 * coordinates (the values of `keys`, plus the constant `fixed` ones) and its time `span`. Tables of one
 * `universe` select from the same rows, so a group of one may be a part (or a sum) of groups of another.
 */
export interface DisclosureTable {
  readonly name: string;
  readonly universe: string;
  readonly keys: readonly string[];
  readonly fixed: Readonly<Record<string, string>>;
  readonly rows: readonly Cells[];
  readonly span: (row: Cells) => Span;
  /** The time the whole table covers (its query's periods). */
  readonly coverage: Span;
  /** Every row must reach these sizes, or it is withheld. */
  readonly sizes: readonly Threshold[];
  /**
   * The table is one aggregate over the whole selection, whose row exists even when nothing matched: a row
   * whose every size is 0 describes nobody and is shown (as zeros) rather than withheld.
   */
  readonly single?: boolean | undefined;
  /** Rows are totals of the selection (per period), not groups of a breakdown. */
  readonly totals?: boolean | undefined;
  /**
   * The table is another table's groups split further by list-filter dimensions (each value's share, or each
   * pair of values' of two lists), never shown: each row stands for the group it splits, so a value adding too
   * few people to a group withholds the group, and what each value adds to the withheld groups must reach the
   * minimum too.
   */
  readonly shadow?: readonly string[] | undefined;
  /**
   * Figures about fewer people than their row (a cohort): their `columns` are withheld (null) wherever their
   * own people count is above 0 and under its minimum.
   */
  readonly cohorts: readonly Cohort[];
}

/** Figures of a row about a cohort: withheld where its people are above 0 and under the minimum. */
export interface Cohort {
  readonly columns: readonly string[];
  readonly people: Threshold;
}

/** What the privacy rules let an answer show of each table. */
export interface Disclosure {
  /** Shown rows, in their order, with withheld cohort figures set to null. */
  readonly rows: ReadonlyMap<string, readonly Cells[]>;
  /** Rows withheld, for the tool's own bookkeeping (never to be shown). */
  readonly withheld: ReadonlyMap<string, readonly Cells[]>;
  /** Distinct groups withheld across the tables (a group shown in two tables counts once). */
  readonly withheldGroups: number;
  /** Whether a row of a table without keys (a total) was withheld. */
  readonly totalsWithheld: boolean;
}

/** The coordinates of a table's groups: its keys and its constant coordinates. */
export function namesOf(table: Pick<DisclosureTable, 'keys' | 'fixed'>): Set<string> {
  return new Set([...table.keys, ...Object.keys(table.fixed)]);
}

/** Whether a row describes some people, but fewer than a threshold asks: a group the rules must withhold. */
export function isSmall(row: Cells, thresholds: readonly Threshold[]): boolean {
  return thresholds.some((threshold) => sizeOf(row, threshold.column) > 0) && !reaches(row, thresholds);
}

/** Whether a row reaches every threshold. */
export function reaches(row: Cells, thresholds: readonly Threshold[]): boolean {
  return thresholds.every((threshold) => sizeOf(row, threshold.column) >= threshold.min);
}

/** A size column as a number (64-bit counts arrive as strings). */
export function sizeOf(row: Cells, column: string): number {
  const value = Number(row[column] ?? 0);
  return Number.isFinite(value) ? value : 0;
}
