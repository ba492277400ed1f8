import { type Cells, reaches, sizeOf, type Threshold } from './disclosure-table.js';

/** One list filter as the contribution checks see it: its column in the rows, and its values. */
export interface ListColumn {
  readonly column: string;
  readonly values: readonly (string | number)[];
}

/**
 * The list-filter values to leave out of an answer because their own contribution to the selection is under a
 * minimum. `rows` are the selection split by the lists' columns: a row per value (one list) or per crossing
 * of values (several lists). A small value, or a small crossing, would be given away by asking again without
 * it; of a small crossing, the value that brings least to the selection (its rows' first size added up) is
 * left out.
 */
export function smallContributions(
  rows: readonly Cells[],
  lists: readonly ListColumn[],
  thresholds: readonly Threshold[],
): { readonly column: string; readonly value: string | number }[] {
  const valueIn = (list: ListColumn, row: Cells) =>
    list.values.find((candidate) => String(candidate) === String(row[list.column]));
  const first = thresholds[0]?.column;
  // What each value brings to the selection: its rows' first size, added up once for every list.
  const totals = new Map(
    lists.map((list) => {
      const sums = new Map<string | number, number>();
      if (first !== undefined)
        for (const row of rows) {
          const value = valueIn(list, row);
          if (value !== undefined) sums.set(value, (sums.get(value) ?? 0) + sizeOf(row, first));
        }
      return [list, sums] as const;
    }),
  );
  const brings = (list: ListColumn, value: string | number) => totals.get(list)?.get(value) ?? 0;
  const out = new Map<string, { column: string; value: string | number }>();
  for (const row of rows) {
    if (reaches(row, thresholds)) continue;
    const candidates = lists.flatMap((list) => {
      const value = valueIn(list, row);
      return value === undefined ? [] : [{ column: list.column, value, brings: brings(list, value) }];
    });
    if (candidates.length < lists.length) continue;
    const known = candidates.find((candidate) => out.has(`${candidate.column}\u0000${candidate.value}`));
    if (known !== undefined) continue;
    const [least] = candidates.sort((a, b) => a.brings - b.brings);
    if (least !== undefined)
      out.set(`${least.column}\u0000${least.value}`, { column: least.column, value: least.value });
  }
  return [...out.values()];
}
