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
