import { dayCount } from '../semantic/time-range.js';
import { type Cells, sizeOf, type Threshold } from './disclosure-table.js';

/** Column of a merged row: its position (days since its origin) at the end of the merged days. */
export const ORDER_COLUMN = '_order';
/** Column of a merged row: the first day it covers (the day column holds the last). */
export const FROM_COLUMN = '_from';

/** How to merge a day-by-day table into runs of days, each about enough people. */
export interface CoarsenSpec {
  /** The column holding each row's day (ISO date). */
  readonly along: string;
  /** Columns naming a series (e.g. campaign and arm); every series is cut at the same positions. */
  readonly series: readonly string[];
  /**
   * Where counting starts, per value of `column` (e.g. each campaign's launch); values without a day start at
   * their first row. Without it, positions are days since the first row of the table.
   */
  readonly origin?: { readonly column: string; readonly days: Readonly<Record<string, string>> } | undefined;
  /** Columns summed when days merge: additive figures and the people count. */
  readonly sums: readonly string[];
  /** The people each merged run of each series must add: none, or at least the minimum. */
  readonly people: Threshold;
  /**
   * Finer series the cuts must respect too, never shown: the same rows split by list-filter dimensions
   * (`series`), so that each value's share of each run is none or at least the minimum as well.
   */
  readonly constraints?:
    | readonly { readonly rows: readonly Cells[]; readonly series: readonly string[] }[]
    | undefined;
}

/** Days since `origin` (0 on the day itself). */
const since = (origin: string, day: string): number =>
  day >= origin ? dayCount({ from: origin, to: day }) - 1 : 1 - dayCount({ from: day, to: origin });

/**
 * Merges consecutive days into runs until every series adds none or at least the minimum of people in each
 * run, at the same positions for every series (so a table aligning the series shows no run, and no difference
 * of runs, about fewer people). The last run ends at the last day: earlier cuts give way until it is large
 * enough. A series whose total is under the minimum is withheld whole. Only for additive figures.
 */
export function coarsen(rows: readonly Cells[], spec: CoarsenSpec): { rows: Cells[]; withheld: Cells[] } {
  const day = (row: Cells) => String(row[spec.along] ?? '');
  const seriesOf = (row: Cells) => JSON.stringify(spec.series.map((column) => row[column] ?? null));
  const origins = new Map<string, string>();
  const originKey = (row: Cells) => (spec.origin === undefined ? '' : String(row[spec.origin.column] ?? ''));
  for (const row of rows) {
    const key = originKey(row);
    const given = spec.origin?.days[key];
    const first = origins.get(key);
    if (given !== undefined) origins.set(key, given);
    else if (first === undefined || day(row) < first) origins.set(key, day(row));
  }
  const position = (row: Cells) => since(origins.get(originKey(row)) ?? day(row), day(row));
  const positioned = rows.map((row) => ({ row, order: position(row) }));

  const totals = new Map<string, number>();
  for (const { row } of positioned)
    totals.set(seriesOf(row), (totals.get(seriesOf(row)) ?? 0) + sizeOf(row, spec.people.column));
  const shown = (row: Cells) => (totals.get(seriesOf(row)) ?? 0) >= spec.people.min;
  const withheld = positioned.filter(({ row }) => !shown(row)).map(({ row }) => row);
  const kept = positioned.filter(({ row }) => shown(row));
  // A set in the order met: membership is checked for every constraint row.
  const series = new Set(kept.map(({ row }) => seriesOf(row)));

  // People added per position, per series, and per finer series of the shown ones (a constraint's value).
  const added = new Map<number, Map<string, number>>();
  const add = (name: string, row: Cells, order: number) => {
    const at = added.get(order) ?? new Map<string, number>();
    at.set(name, (at.get(name) ?? 0) + sizeOf(row, spec.people.column));
    added.set(order, at);
  };
  for (const { row, order } of kept) add(seriesOf(row), row, order);
  for (const [index, constraint] of (spec.constraints ?? []).entries()) {
    for (const row of constraint.rows) {
      if (!shown(row)) continue;
      const finer = `${index}|${seriesOf(row)}|${JSON.stringify(constraint.series.map((column) => row[column] ?? null))}`;
      series.add(finer);
      add(finer, row, position(row));
    }
  }
  const positions = [...added.keys()].sort((a, b) => a - b);
  const names = [...series];
  const cumulative = new Map(names.map((name) => [name, 0]));
  const cuts: { order: number; totals: Map<string, number> }[] = [];
  const fine = (from: ReadonlyMap<string, number> | undefined) =>
    names.every((name) => {
      const step = (cumulative.get(name) ?? 0) - (from?.get(name) ?? 0);
      return step === 0 || step >= spec.people.min;
    });
  positions.forEach((order, index) => {
    for (const [name, people] of added.get(order) ?? [])
      cumulative.set(name, (cumulative.get(name) ?? 0) + people);
    if (index < positions.length - 1) {
      if (fine(cuts.at(-1)?.totals)) cuts.push({ order, totals: new Map(cumulative) });
      return;
    }
    while (cuts.length > 0 && !fine(cuts.at(-1)?.totals)) cuts.pop();
    cuts.push({ order, totals: new Map(cumulative) });
  });

  const merged = new Map<string, Record<string, unknown>>();
  for (const { row, order } of [...kept].sort((a, b) => a.order - b.order)) {
    const cut = cuts.find((candidate) => candidate.order >= order);
    if (cut === undefined) continue;
    const key = `${cut.order}|${seriesOf(row)}`;
    const bucket = merged.get(key);
    if (bucket === undefined) {
      const first: Record<string, unknown> = { ...row, [ORDER_COLUMN]: cut.order, [FROM_COLUMN]: day(row) };
      for (const column of spec.sums) first[column] = sizeOf(row, column);
      merged.set(key, first);
      continue;
    }
    for (const column of spec.sums) bucket[column] = sizeOf(bucket, column) + sizeOf(row, column);
    bucket[spec.along] = day(row);
  }
  return { rows: [...merged.values()], withheld };
}
