import { Derivation, type Equation, type Relation, subtract } from './derivation.js';
import {
  type Cells,
  type Disclosure,
  type DisclosureTable,
  isSmall,
  namesOf,
  reaches,
  type Span,
  sizeOf,
  type Threshold,
} from './disclosure-table.js';

/** One row of one table, with the coordinates that identify its group. */
interface Cell {
  readonly table: DisclosureTable;
  readonly row: Cells;
  readonly coordinates: ReadonlyMap<string, string>;
  readonly span: Span;
  /** Rows of different tables describing the same group share an id. */
  readonly group: number;
}

/**
 * A parent group with the groups of another table that split it. `partial` when that table covers only part
 * of the parent's time: then the parent minus its parts is more than the withheld parts.
 */
interface Split {
  readonly parent: Cell;
  readonly child: DisclosureTable;
  readonly parts: readonly Cell[];
  readonly partial: boolean;
}

/** Two tables whose small groups' union must be counted: the child's small groups, per group of the parent. */
export interface UnionNeed {
  readonly parent: DisclosureTable;
  readonly child: DisclosureTable;
}

/**
 * The sizes of the union of a child table's small groups within one parent group (a row of a query shaped
 * like the parent, restricted to the child's small groups), or undefined when not counted.
 */
export type UnionSizes = (need: UnionNeed, parent: Cells) => Cells | undefined;

const within = (inner: Span, outer: Span): boolean => inner[0] >= outer[0] && inner[1] <= outer[1];

/** Separates the parts of a group's identity (no coordinate value contains it). */
const SEPARATOR = '\u0001';

function cellsOf(table: DisclosureTable, ids: Map<string, number>): Cell[] {
  // A shadow's rows are the groups they split: their identity leaves out the splitting dimension.
  const names = [...namesOf(table)].filter((name) => table.shadow?.includes(name) !== true).sort();
  const prefix = `${table.universe}${SEPARATOR}${names.join(SEPARATOR)}`;
  return table.rows.map((row) => {
    const coordinates = new Map<string, string>();
    for (const key of table.keys) coordinates.set(key, String(row[key] ?? ''));
    for (const [key, value] of Object.entries(table.fixed)) coordinates.set(key, value);
    const span = table.span(row);
    const identity = [prefix, span[0], span[1], ...names.map((name) => coordinates.get(name))].join(
      SEPARATOR,
    );
    let group = ids.get(identity);
    if (group === undefined) {
      group = ids.size;
      ids.set(identity, group);
    }
    return { table, row, coordinates, span, group };
  });
}

/** Whether every name of `inner` is one of `outer`, and `outer` has more. */
const narrower = (inner: ReadonlySet<string>, outer: ReadonlySet<string>): boolean =>
  inner.size < outer.size && [...inner].every((name) => outer.has(name));

/**
 * Whether a third table stands between a parent and a child (its groups split the parent's and are split by
 * the child's, over all the child's time): then the parent's split by the child follows from the two splits
 * through it, and protecting those protects it.
 */
function implied(
  parent: DisclosureTable,
  child: DisclosureTable,
  tables: readonly DisclosureTable[],
): boolean {
  const outer = namesOf(parent);
  const inner = namesOf(child);
  return tables.some((middle) => {
    if (middle === parent || middle === child || middle.universe !== parent.universe) return false;
    const names = namesOf(middle);
    return narrower(outer, names) && narrower(names, inner) && within(child.coverage, middle.coverage);
  });
}

/**
 * Every way a group of one table is split by the groups of another table of the same universe: the parts
 * carry the parent's coordinates (and more) and lie within its time span. Splits implied by two others (a
 * total split by a table a breakdown already splits) are left out.
 */
function splitsOf(tables: readonly DisclosureTable[], cells: ReadonlyMap<DisclosureTable, Cell[]>): Split[] {
  const splits: Split[] = [];
  for (const parent of tables) {
    const names = [...namesOf(parent)];
    for (const child of tables) {
      if (child === parent || child.universe !== parent.universe) continue;
      const childNames = namesOf(child);
      if (!names.every((name) => childNames.has(name)) || implied(parent, child, tables)) continue;
      const byProjection = new Map<string, Cell[]>();
      for (const cell of cells.get(child) ?? []) {
        const projection = JSON.stringify(names.map((name) => cell.coordinates.get(name)));
        const list = byProjection.get(projection);
        if (list === undefined) byProjection.set(projection, [cell]);
        else list.push(cell);
      }
      for (const cell of cells.get(parent) ?? []) {
        const projection = JSON.stringify(names.map((name) => cell.coordinates.get(name)));
        const parts = (byProjection.get(projection) ?? []).filter(
          (part) => part.group !== cell.group && within(part.span, cell.span),
        );
        if (parts.length > 0)
          splits.push({ parent: cell, child, parts, partial: !within(cell.span, child.coverage) });
      }
    }
  }
  return splits;
}

function compareValues(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (a !== '' && b !== '' && Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Smallest first: by each size, then by time, then by coordinates in key order (deterministic). */
function bySize(columns: readonly string[]) {
  return (a: Cell, b: Cell): number => {
    for (const column of columns) {
      const difference = sizeOf(a.row, column) - sizeOf(b.row, column);
      if (difference !== 0) return difference;
    }
    const time = compareValues(a.span[0], b.span[0]);
    if (time !== 0) return time;
    for (const key of a.table.keys) {
      const order = compareValues(a.coordinates.get(key) ?? '', b.coordinates.get(key) ?? '');
      if (order !== 0) return order;
    }
    return 0;
  };
}

/** Whether a group is hidden: withheld, and not determined by the shown figures anyway (then it counts as shown). */
function hiddenGroups(withheld: ReadonlySet<number>, determined: ReadonlySet<number>) {
  return (group: number) => withheld.has(group) && !determined.has(group);
}

/**
 * Complementary suppression to a fixed point: wherever a shown group is split into parts and some parts are
 * withheld, the withheld parts together must describe at least the minimum (so subtracting the shown parts
 * from the group recovers no small part). As the withheld parts may share people, that is only certain when
 * one of them reaches every minimum on its own; when none does, the smallest shown part is withheld too
 * (usually one more group; the total only when no part is left). A withheld group the shown figures
 * determine anyway (`determined`) counts as shown: it covers nothing.
 */
function complement(
  splits: readonly Split[],
  withheld: Set<number>,
  large: (cell: Cell) => boolean,
  order: (a: Cell, b: Cell) => number,
  enough: (split: Split, hidden: (group: number) => boolean) => boolean,
  determined: ReadonlySet<number>,
): void {
  const hidden = hiddenGroups(withheld, determined);
  let changed = true;
  while (changed) {
    changed = false;
    for (const split of splits) {
      const { parent, parts, partial } = split;
      if (hidden(parent.group)) continue;
      const unknown = parts.filter((part) => hidden(part.group));
      // The remainder of a partial split holds rows no table shows: it too must be covered by a large part.
      if ((unknown.length === 0 && !partial) || unknown.some(large)) continue;
      if (!partial && enough(split, hidden)) continue;
      // No part left to withhold (the others follow from elsewhere): the total itself, if it is shown.
      const [smallest = withheld.has(parent.group) ? undefined : parent] = parts
        .filter((part) => !withheld.has(part.group))
        .sort(order);
      if (smallest === undefined) continue;
      withheld.add(smallest.group);
      changed = true;
    }
  }
}

/** The splits that are exact sums (a part's figures add up to the whole's): those give groups away by arithmetic. */
const exact = (splits: readonly Split[]): Split[] =>
  splits.filter(
    (split) => !split.partial && split.parent.table.shadow === undefined && split.child.shadow === undefined,
  );

/** The figures of `groups` taken together, as sorted ids: one key per set. */
const keyOf = (groups: readonly number[]): string => [...groups].sort((a, b) => a - b).join(',');

/**
 * Sets of up to `most` of the `candidates` whose projections add up to zero: sums the shown figures determine.
 * Depth-first from each candidate as the set's least id, each step adding only a larger id that cancels a
 * coordinate the sum so far leaves non-zero; at most `SEARCH_STEPS` steps in all.
 */
function zeroSums(
  candidates: readonly number[],
  projection: (group: number) => Equation,
  most: number,
): number[][] {
  const vectors = new Map(candidates.map((group) => [group, projection(group)]));
  const touching = new Map<number, number[]>();
  for (const [group, vector] of vectors)
    for (const coordinate of vector.keys()) {
      const groups = touching.get(coordinate);
      if (groups === undefined) touching.set(coordinate, [group]);
      else groups.push(group);
    }
  const found: number[][] = [];
  let steps = 0;
  const extend = (chosen: readonly number[], sum: Equation): void => {
    steps++;
    if (sum.size === 0) {
      found.push([...chosen]);
      return;
    }
    const first = chosen[0] ?? 0;
    if (chosen.length >= most || steps > SEARCH_STEPS) return;
    const [coordinate, value] = sum.entries().next().value as [number, number];
    for (const group of touching.get(coordinate) ?? []) {
      const vector = vectors.get(group);
      const entry = vector?.get(coordinate) ?? 0;
      if (group <= first || chosen.includes(group) || vector === undefined) continue;
      if (Math.sign(entry) === Math.sign(value)) continue;
      const next = new Map(sum);
      subtract(next, vector, -1);
      extend([...chosen, group], next);
    }
  };
  for (const group of candidates) extend([group], new Map(vectors.get(group)));
  return found;
}

/** Steps the search for small sums may take (enough for the tables of one answer; the bound keeps it fast). */
const SEARCH_STEPS = 200_000;

/**
 * Withheld groups too small to be shown whose figures the shown ones still give away: each on its own, and
 * sums of up to `SUMS_OF` small groups (their union may be smaller than their sizes add up to, as groups share
 * people), unless the sum is what a shown total leaves of its parts, whose people `complement` counted. Also
 * the withheld groups that follow on their own, which cover nothing.
 */
function exposed(
  relations: readonly Relation[],
  sums: readonly Split[],
  cells: ReadonlyMap<number, Cell>,
  withheld: ReadonlySet<number>,
  thresholds: (cell: Cell) => readonly Threshold[],
  enough: (split: Split, hidden: (group: number) => boolean) => boolean,
): { exposures: number[][]; determined: Set<number> } {
  const derivation = new Derivation(relations, withheld);
  const determined = derivation.singles();
  const small = [...withheld].filter((group) => {
    const cell = cells.get(group);
    return cell !== undefined && isSmall(cell.row, thresholds(cell));
  });
  const singles = small.filter((group) => determined.has(group)).map((group) => [group]);
  if (singles.length > 0) return { exposures: singles, determined };
  // What a shown total leaves of its parts, where their union's people were counted (or bounded) enough.
  const hidden = hiddenGroups(withheld, determined);
  const remainders = new Set(
    sums
      .filter((split) => !hidden(split.parent.group) && enough(split, hidden))
      .map((split) => keyOf(split.parts.filter((part) => hidden(part.group)).map((part) => part.group))),
  );
  const exposures = zeroSums(small, (group) => derivation.projection(group), SUMS_OF).filter(
    (set) => !remainders.has(keyOf(set)),
  );
  return { exposures, determined };
}

/** The most small withheld groups a sum is looked for among (sums of more are not checked). */
const SUMS_OF = 6;

/** Shown groups tried, smallest first, for one that hides an exposed group. */
const COVERS_TRIED = 12;

/**
 * The relations a derivation of `groups` can use (those linked to them through withheld groups: equations
 * meet only in withheld groups), the withheld groups among them, and the shown groups they also hold.
 */
function reach(
  groups: readonly number[],
  relations: readonly Relation[],
  around: ReadonlyMap<number, readonly number[]>,
  withheld: ReadonlySet<number>,
): { relations: Relation[]; inside: Set<number>; boundary: Set<number> } {
  const inside = new Set(groups);
  const boundary = new Set<number>();
  const used = new Set<number>();
  const queue = [...groups];
  for (let group = queue.pop(); group !== undefined; group = queue.pop()) {
    for (const index of around.get(group) ?? []) {
      if (used.has(index)) continue;
      used.add(index);
      const relation = relations[index];
      if (relation === undefined) continue;
      for (const member of [relation.whole, ...relation.parts]) {
        if (!withheld.has(member)) boundary.add(member);
        else if (!inside.has(member)) {
          inside.add(member);
          queue.push(member);
        }
      }
    }
  }
  return { relations: [...used].flatMap((index) => relations[index] ?? []), inside, boundary };
}

/**
 * Complementary suppression until nothing small can be worked out: `complement`'s rule for each total and its
 * parts, with the withheld groups the shown figures determine counted as shown; then, across all of them at
 * once, each small withheld group (or small sum of them) the shown figures still determine has a shown group
 * its derivation uses withheld too (a breakdown's before a total's, the smallest that stops it first), and so
 * on to a fixed point.
 */
function withholdEnough(
  splits: readonly Split[],
  withheld: Set<number>,
  thresholds: (cell: Cell) => readonly Threshold[],
  enough: (split: Split, hidden: (group: number) => boolean) => boolean = () => false,
): void {
  const large = (cell: Cell) => reaches(cell.row, thresholds(cell));
  const order = (a: Cell, b: Cell) => bySize(thresholds(a).map((threshold) => threshold.column))(a, b);
  const sums = exact(splits);
  const relations = sums.map((split) => ({
    whole: split.parent.group,
    parts: split.parts.map((part) => part.group),
  }));
  const cells = new Map<number, Cell>();
  const around = new Map<number, number[]>();
  sums.forEach((split, index) => {
    for (const cell of [split.parent, ...split.parts]) {
      cells.set(cell.group, cell);
      const indices = around.get(cell.group);
      if (indices === undefined) around.set(cell.group, [index]);
      else indices.push(index);
    }
  });
  const rank = (a: Cell, b: Cell) =>
    Number(a.table.totals === true) - Number(b.table.totals === true) || order(a, b);
  let determined = new Set<number>();
  for (;;) {
    complement(splits, withheld, large, order, enough, determined);
    const found = exposed(relations, sums, cells, withheld, thresholds, enough);
    const covered = new Set<number>();
    for (const groups of found.exposures) {
      if (groups.some((group) => covered.has(group))) continue;
      const local = reach(groups, relations, around, withheld);
      const candidates = [...local.boundary].flatMap((group) => cells.get(group) ?? []).sort(rank);
      const next =
        candidates
          .slice(0, COVERS_TRIED)
          .find(
            (cell) =>
              !new Derivation(local.relations, new Set([...local.inside, cell.group])).determines(groups),
          ) ?? candidates[0];
      if (next === undefined) continue;
      withheld.add(next.group);
      for (const group of local.inside) covered.add(group);
    }
    // Withheld groups that turned out determined cover nothing: the rule for totals and parts runs again.
    const moreDetermined = [...found.determined].some((group) => !determined.has(group));
    determined = found.determined;
    if (covered.size === 0 && !moreDetermined) return;
  }
}

/** The groups of every table, how they split each other, and those under a minimum on their own. */
function primary(tables: readonly DisclosureTable[]) {
  const ids = new Map<string, number>();
  const cells = new Map(tables.map((table) => [table, cellsOf(table, ids)]));
  const splits = splitsOf(tables, cells);
  const all = [...cells.values()].flat();
  const withheld = new Set<number>();
  const nobody = (cell: Cell) =>
    cell.table.single === true &&
    cell.table.sizes.every((threshold) => sizeOf(cell.row, threshold.column) === 0);
  for (const cell of all) if (!reaches(cell.row, cell.table.sizes) && !nobody(cell)) withheld.add(cell.group);
  return { tables, cells, splits, all, withheld };
}

/**
 * The pairs of tables where a shown group has withheld parts that are all small: only the people of their
 * union tell whether one more part must be withheld, so the caller counts it (`UnionSizes`) first.
 */
function unionsNeeded({ splits, withheld }: ReturnType<typeof primary>): UnionNeed[] {
  const needs = new Map<string, UnionNeed>();
  for (const split of splits) {
    if (split.partial || withheld.has(split.parent.group)) continue;
    const hidden = split.parts.filter((part) => withheld.has(part.group));
    if (hidden.length === 0) continue;
    const thresholds = split.child.sizes;
    // Parts that do not reach a minimum even added up cannot reach it as a union: nothing to count.
    const possible = thresholds.every(
      (threshold) =>
        hidden.reduce((sum, part) => sum + sizeOf(part.row, threshold.column), 0) >= threshold.min,
    );
    if (!possible || boundReaches(split, (group) => withheld.has(group))) continue;
    needs.set(`${split.parent.table.name}\u0000${split.child.name}`, {
      parent: split.parent.table,
      child: split.child,
    });
  }
  return [...needs.values()];
}

/** Whether the known lower bound of a split's withheld parts already reaches every minimum of its table. */
function boundReaches(split: Split, hidden: (group: number) => boolean): boolean {
  return split.child.sizes.every((threshold) => atLeast(split, hidden, threshold) >= threshold.min);
}

/**
 * A lower bound of the people of the union of a split's withheld parts, from what is known already: the
 * largest of them, and the parent's people less those of the shown parts (people of the parent in no shown
 * part are in a withheld one). Exact when the parts never share people (a viewer's country).
 */
function atLeast(split: Split, hidden: (group: number) => boolean, threshold: Threshold): number {
  let largest = 0;
  let shown = 0;
  for (const part of split.parts) {
    const size = sizeOf(part.row, threshold.column);
    if (hidden(part.group)) largest = Math.max(largest, size);
    else shown += size;
  }
  return Math.max(largest, sizeOf(split.parent.row, threshold.column) - shown);
}

/**
 * Applies the minimum group size to every figure of an answer: rows under a size are withheld (primary), then
 * more rows wherever a total minus the shown rows would give the withheld ones away (complementary), across
 * every table of the answer. Withheld small parts whose union (`unions`) reaches every minimum need no more.
 * Figures about a smaller cohort than their row are withheld on their own.
 */
function suppress(
  { tables, cells, splits, all, withheld }: ReturnType<typeof primary>,
  unions: UnionSizes,
): Disclosure {
  withholdEnough(
    splits,
    withheld,
    (cell) => cell.table.sizes,
    (split, hidden) => {
      if (boundReaches(split, hidden)) return true;
      const union = unions({ parent: split.parent.table, child: split.child }, split.parent.row);
      return union !== undefined && reaches(union, split.child.sizes);
    },
  );

  // Each cohort (e.g. retention's converted subscribers) is suppressed in the tables that show its figures.
  const cohortWithheld = new Map<string, Set<number>>();
  const cohorts = new Map<string, Threshold>();
  for (const table of tables)
    for (const cohort of table.cohorts) cohorts.set(cohort.people.column, cohort.people);
  for (const [column, threshold] of cohorts) {
    const hidden = new Set(withheld);
    const cohortOf = (cell: Cell) => cell.table.cohorts.find((cohort) => cohort.people.column === column);
    const has = (cell: Cell) => cohortOf(cell) !== undefined;
    for (const cell of all) {
      const cohort = cohortOf(cell);
      if (cohort === undefined) continue;
      const size = sizeOf(cell.row, column);
      if (size > 0 && size < threshold.min) hidden.add(cell.group);
    }
    withholdEnough(
      splits.filter((split) => has(split.parent) && split.parts.every(has)),
      hidden,
      () => [threshold],
    );
    cohortWithheld.set(column, hidden);
  }

  const rows = new Map<string, Cells[]>();
  const hiddenRows = new Map<string, Cells[]>();
  const withheldGroups = new Set<number>();
  let totalsWithheld = false;
  for (const [table, tableCells] of cells) {
    const shown: Cells[] = [];
    const hidden: Cells[] = [];
    if (table.shadow !== undefined) continue;
    for (const cell of tableCells) {
      if (withheld.has(cell.group)) {
        hidden.push(cell.row);
        if (table.totals === true) totalsWithheld = true;
        else withheldGroups.add(cell.group);
        continue;
      }
      let row = cell.row;
      for (const cohort of table.cohorts) {
        if (cohortWithheld.get(cohort.people.column)?.has(cell.group) !== true) continue;
        row = { ...row, ...Object.fromEntries(cohort.columns.map((column) => [column, null])) };
      }
      shown.push(row);
    }
    rows.set(table.name, shown);
    hiddenRows.set(table.name, hidden);
  }
  return { rows, withheld: hiddenRows, withheldGroups: withheldGroups.size, totalsWithheld };
}

/**
 * The privacy rules over every table of one answer. `needs` are the splits whose withheld small parts must be
 * counted as a union (by the caller, in the warehouse) before `suppress` decides; suppress once.
 */
export function disclose(tables: readonly DisclosureTable[]): {
  readonly needs: readonly UnionNeed[];
  suppress(unions?: UnionSizes): Disclosure;
} {
  const state = primary(tables);
  return { needs: unionsNeeded(state), suppress: (unions = () => undefined) => suppress(state, unions) };
}
