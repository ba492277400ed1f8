import { type Cells, sizeOf, type Threshold } from './disclosure-table.js';

/**
 * The values of a list filter whose own contribution to some group of an answer is under a minimum. `rows` are
 * the answer's groups split further by the filtered `column`: a row per group and value. A value with a small
 * contribution would be given away by asking again without it, so it is left out of the answer instead.
 */
export function smallContributions(
  rows: readonly Cells[],
  column: string,
  values: readonly (string | number)[],
  thresholds: readonly Threshold[],
): Set<string | number> {
  const small = new Set<string | number>();
  for (const row of rows) {
    const value = values.find((candidate) => String(candidate) === String(row[column]));
    if (value === undefined || small.has(value)) continue;
    if (thresholds.some((threshold) => sizeOf(row, threshold.column) < threshold.min)) small.add(value);
  }
  return small;
}

/**
 * The rows (a group and a filter value each) where a value's contribution to a cohort (e.g. converted
 * subscribers) is above 0 but under its minimum: that group's cohort figures must be withheld instead.
 */
export function smallCohortContributions(
  rows: readonly Cells[],
  column: string,
  values: readonly (string | number)[],
  cohort: Threshold,
): Cells[] {
  return rows.filter((row) => {
    if (!values.some((candidate) => String(candidate) === String(row[column]))) return false;
    const size = sizeOf(row, cohort.column);
    return size > 0 && size < cohort.min;
  });
}
