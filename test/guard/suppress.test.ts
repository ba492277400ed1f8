import { describe, expect, it } from 'vitest';
import { coarsen, FROM_COLUMN, ORDER_COLUMN } from '../../src/guard/coarsen.js';
import { smallContributions } from '../../src/guard/contributions.js';
import { ALL_TIME, type Cells, type DisclosureTable } from '../../src/guard/disclosure-table.js';
import { disclose } from '../../src/guard/suppress.js';

const K = 5;
const people = [{ column: 'people', min: K }];

/** A table of one universe covering all time. */
function table(
  name: string,
  keys: string[],
  rows: Cells[],
  extra: Partial<DisclosureTable> = {},
): DisclosureTable {
  return {
    name,
    universe: 'u',
    keys,
    fixed: {},
    rows,
    span: () => ALL_TIME,
    coverage: ALL_TIME,
    sizes: people,
    cohorts: [],
    totals: keys.length === 0,
    ...extra,
  };
}

const shownKeys = (rows: readonly Cells[] | undefined, key: string) => (rows ?? []).map((row) => row[key]);

/**
 * An attacker's arithmetic on a two-way table (rows `r`, columns `c`): a margin less its known cells gives its
 * one unknown cell, which then counts as known, until nothing more follows. The cells it works out.
 */
function peel(
  cells: readonly Cells[],
  shown: ReadonlyMap<string, number>,
  margins: readonly { r?: string; c?: string; value: number }[],
): Map<string, number> {
  const key = (cell: Cells) => `${cell.r}${cell.c}`;
  const known = new Map(shown);
  const derived = new Map<string, number>();
  for (let progress = true; progress; ) {
    progress = false;
    for (const margin of margins) {
      const line = cells.filter(
        (cell) =>
          (margin.r === undefined || cell.r === margin.r) && (margin.c === undefined || cell.c === margin.c),
      );
      const unknown = line.filter((cell) => !known.has(key(cell)));
      const [only] = unknown;
      if (unknown.length !== 1 || only === undefined) continue;
      const value = margin.value - line.reduce((sum, cell) => sum + (known.get(key(cell)) ?? 0), 0);
      known.set(key(only), value);
      derived.set(key(only), value);
      progress = true;
    }
  }
  return derived;
}

describe('primary and complementary suppression', () => {
  // AE and PL are small; some viewers are in two countries, so the total (56) is less than the sum (61).
  const countries = table(
    'rows',
    ['country'],
    [
      { country: 'AE', people: 2 },
      { country: 'PL', people: 3 },
      { country: 'BR', people: 40 },
      { country: 'US', people: 9 },
      { country: 'MX', people: 7 },
    ],
  );
  const total = table('totals', [], [{ people: 56 }]);

  it('withholds the small groups and, without a union count, the smallest other one', () => {
    const result = disclose([total, countries]).suppress();
    expect(shownKeys(result.rows.get('rows'), 'country')).toEqual(['BR', 'US']);
    expect(result.withheldGroups).toBe(3);
    expect(result.totalsWithheld).toBe(false);
    expect(shownKeys(result.withheld.get('rows'), 'country')).toEqual(['AE', 'PL', 'MX']);
  });

  it('counts the union of the small groups when only that tells, and withholds no more when it is enough', () => {
    expect(disclose([total, countries]).needs.map((need) => [need.parent.name, need.child.name])).toEqual([
      ['totals', 'rows'],
    ]);
    const enough = disclose([total, countries]).suppress(() => ({ people: 5 }));
    expect(shownKeys(enough.rows.get('rows'), 'country')).toEqual(['BR', 'US', 'MX']);
    const tooFew = disclose([total, countries]).suppress(() => ({ people: 4 }));
    expect(shownKeys(tooFew.rows.get('rows'), 'country')).toEqual(['BR', 'US']);
  });

  it('needs no count when the total less the shown groups already reaches the minimum, or the sum cannot', () => {
    const disjoint = disclose([table('totals', [], [{ people: 61 }]), countries]);
    expect(disjoint.needs).toEqual([]);
    expect(shownKeys(disjoint.suppress().rows.get('rows'), 'country')).toEqual(['BR', 'US', 'MX']);
    const one = table(
      'rows',
      ['country'],
      [
        { country: 'AE', people: 2 },
        { country: 'BR', people: 40 },
        { country: 'US', people: 9 },
      ],
    );
    const lone = disclose([table('totals', [], [{ people: 50 }]), one]);
    expect(lone.needs).toEqual([]);
    expect(shownKeys(lone.suppress().rows.get('rows'), 'country')).toEqual(['BR']);
  });

  it('needs nothing more when nothing is small, and withholds a small total', () => {
    const big = table(
      'rows',
      ['country'],
      [
        { country: 'BR', people: 40 },
        { country: 'US', people: 9 },
      ],
    );
    expect(disclose([total, big]).needs).toEqual([]);
    expect(disclose([total, big]).suppress().withheldGroups).toBe(0);
    const tiny = disclose([table('totals', [], [{ people: 3 }])]).suppress();
    expect(tiny.totalsWithheld).toBe(true);
    expect(tiny.rows.get('totals')).toEqual([]);
  });

  it('shows the zero row of an aggregate over nothing', () => {
    const empty = table('rows', [], [{ people: 0, views: 0 }], { single: true });
    expect(disclose([empty]).suppress().rows.get('rows')).toEqual([{ people: 0, views: 0 }]);
  });

  it('cascades through a two-way table until every shown row and column total is safe', () => {
    // A 2x3 table with both margins shown: cell (a, x) is small.
    const cells = table(
      'cells',
      ['r', 'c'],
      [
        { r: 'a', c: 'x', people: 1 },
        { r: 'a', c: 'y', people: 10 },
        { r: 'a', c: 'z', people: 20 },
        { r: 'b', c: 'x', people: 11 },
        { r: 'b', c: 'y', people: 12 },
        { r: 'b', c: 'z', people: 30 },
      ],
    );
    const rowsTotal = table(
      'by_r',
      ['r'],
      [
        { r: 'a', people: 31 },
        { r: 'b', people: 53 },
      ],
    );
    const columnsTotal = table(
      'by_c',
      ['c'],
      [
        { c: 'x', people: 12 },
        { c: 'y', people: 22 },
        { c: 'z', people: 50 },
      ],
    );
    const result = disclose([
      table('totals', [], [{ people: 84 }]),
      rowsTotal,
      columnsTotal,
      cells,
    ]).suppress();
    const hidden = (result.withheld.get('cells') ?? []).map((row) => `${row.r}${row.c}`).sort();
    // (a,x) is small; row a then needs (a,y) and column x needs (b,x). With only those, (b,x) would be alone in
    // row b and (a,y) alone in column y: both follow from their margins, and then (a,x) from row a. (b,y) closes
    // the rectangle: four cells, three independent margins, none of them determined.
    expect(hidden).toEqual(['ax', 'ay', 'bx', 'by']);
    const shown = new Map(
      (result.rows.get('cells') ?? []).map((row) => [`${row.r}${row.c}`, Number(row.people)] as const),
    );
    const margins = [
      ...(result.rows.get('by_r') ?? []).map((row) => ({ r: String(row.r), value: Number(row.people) })),
      ...(result.rows.get('by_c') ?? []).map((row) => ({ c: String(row.c), value: Number(row.people) })),
    ];
    expect(peel(cells.rows, shown, margins)).toEqual(new Map());
    for (const [key, values] of [
      ['r', ['a', 'b']],
      ['c', ['x', 'y', 'z']],
    ] as const) {
      for (const value of values) {
        const line = (result.withheld.get('cells') ?? []).filter((row) => row[key] === value);
        expect(line.length === 0 || line.some((row) => Number(row.people) >= K), `${key}=${value}`).toBe(
          true,
        );
      }
    }
  });

  it('withholds a group shown in two tables in both', () => {
    const rows = table(
      'rows',
      ['country'],
      [
        { country: 'AE', people: 2 },
        { country: 'BR', people: 40 },
        { country: 'US', people: 9 },
      ],
    );
    const movers = table('movers', ['country'], [...rows.rows]);
    const result = disclose([table('totals', [], [{ people: 51 }]), rows, movers]).suppress();
    expect(shownKeys(result.rows.get('rows'), 'country')).toEqual(
      shownKeys(result.rows.get('movers'), 'country'),
    );
    expect(result.withheldGroups).toBe(2);
  });

  it('treats time spans as coordinates: days split a period, periods do not split each other', () => {
    const day = (date: string, count: number) => ({ date, people: count });
    const days = table('days', [], [day('2026-01-01', 2), day('2026-01-02', 9), day('2026-01-03', 8)], {
      span: (row) => [String(row.date), String(row.date)],
      coverage: ['2026-01-01', '2026-01-03'],
      totals: false,
    });
    const periods = table('totals', [], [{ period: 0, people: 19 }], {
      span: () => ['2026-01-01', '2026-01-03'],
      coverage: ['2026-01-01', '2026-01-03'],
    });
    expect(shownKeys(disclose([periods, days]).suppress().rows.get('days'), 'date')).toEqual(['2026-01-02']);
  });

  it('withholds a cohort’s figures on their own, not the row', () => {
    const arms = table(
      'arms',
      ['arm'],
      [
        { arm: 't', people: 100, cohort: 3, retained: 2 },
        { arm: 'c', people: 10, cohort: 0, retained: 0 },
      ],
      { cohorts: [{ columns: ['cohort', 'retained'], people: { column: 'cohort', min: K } }] },
    );
    const result = disclose([arms]).suppress();
    expect(result.rows.get('arms')).toEqual([
      { arm: 't', people: 100, cohort: null, retained: null },
      { arm: 'c', people: 10, cohort: 0, retained: 0 },
    ]);
  });
});

describe('merging days into runs', () => {
  const spec = {
    along: 'day',
    series: ['arm'],
    sums: ['people', 'conversions'],
    people: { column: 'people', min: K },
  };
  const row = (arm: string, day: string, count: number, conversions = 0) => ({
    arm,
    day,
    people: count,
    conversions,
  });

  it('cuts every series at the same days, each run adding none or at least the minimum', () => {
    const { rows, withheld } = coarsen(
      [
        row('t', '2026-01-01', 3),
        row('t', '2026-01-02', 3, 1),
        row('t', '2026-01-03', 6),
        row('c', '2026-01-01', 5),
        row('c', '2026-01-03', 5),
      ],
      spec,
    );
    expect(withheld).toEqual([]);
    // Day 0: t adds 3 (too few); day 1: t 6, c 5 since the start: cut; day 2: t 6, c 5: cut.
    expect(
      rows.map((run) => [run.arm, run[ORDER_COLUMN], run[FROM_COLUMN], run.day, run.people, run.conversions]),
    ).toEqual([
      ['t', 1, '2026-01-01', '2026-01-02', 6, 1],
      ['c', 1, '2026-01-01', '2026-01-01', 5, 0],
      ['t', 2, '2026-01-03', '2026-01-03', 6, 0],
      ['c', 2, '2026-01-03', '2026-01-03', 5, 0],
    ]);
  });

  it('makes earlier cuts give way so the last run is large enough', () => {
    const { rows } = coarsen(
      [row('t', '2026-01-01', 5), row('t', '2026-01-02', 5), row('t', '2026-01-03', 2)],
      spec,
    );
    expect(rows.map((run) => [run[ORDER_COLUMN], run.people])).toEqual([
      [0, 5],
      [2, 7],
    ]);
  });

  it('withholds a series whose total is under the minimum, and counts days from each origin', () => {
    const { rows, withheld } = coarsen(
      [row('t', '2026-01-10', 6), row('c', '2026-01-10', 2), row('c', '2026-01-11', 2)],
      { ...spec, origin: { column: 'arm', days: { t: '2026-01-08' } } },
    );
    expect(withheld.map((run) => run.arm)).toEqual(['c', 'c']);
    expect(rows.map((run) => [run.arm, run[ORDER_COLUMN]])).toEqual([['t', 2]]);
  });
});

describe('list-filter contributions', () => {
  const split = [
    { country: 'AE', people: 2, cohort: 0 },
    { country: 'US', people: 40, cohort: 3 },
    { country: 'BR', people: 9, cohort: 6 },
  ];

  it('name the values with too few people of their own', () => {
    const country = (values: string[]) => [{ column: 'country', values }];
    expect(smallContributions(split, country(['AE', 'US', 'BR']), people)).toEqual([
      { column: 'country', value: 'AE' },
    ]);
    expect(smallContributions(split, country(['US', 'BR']), people)).toEqual([]);
  });

  it('of a small pair of two lists, name the value that brings less', () => {
    // geo [AR, US] x device [Fire TV, TV]: AR on Fire TV is one viewer; AR brings 17, Fire TV 200.
    const pairs = [
      { country: 'AR', device: 'Fire TV', people: 1 },
      { country: 'AR', device: 'TV', people: 16 },
      { country: 'US', device: 'Fire TV', people: 199 },
      { country: 'US', device: 'TV', people: 300 },
    ];
    const lists = [
      { column: 'country', values: ['AR', 'US'] },
      { column: 'device', values: ['Fire TV', 'TV'] },
    ];
    expect(smallContributions(pairs, lists, people)).toEqual([{ column: 'country', value: 'AR' }]);
  });
});

describe('shadows: each list value’s share of each group', () => {
  it('withhold a group a value adds too few people to, and one more so its share of the rest is safe', () => {
    // Rows by device of a geo list [AE, US]: AE adds 1 viewer to Web and 9 to TV, 12 to Android.
    const devices = table(
      'rows',
      ['device'],
      [
        { device: 'Web', people: 40 },
        { device: 'TV', people: 50 },
        { device: 'Android', people: 60 },
      ],
    );
    const shares = table(
      'rows|country',
      ['device', 'country'],
      [
        { device: 'Web', country: 'AE', people: 1 },
        { device: 'Web', country: 'US', people: 39 },
        { device: 'TV', country: 'AE', people: 9 },
        { device: 'TV', country: 'US', people: 41 },
        { device: 'Android', country: 'AE', people: 12 },
        { device: 'Android', country: 'US', people: 48 },
      ],
      { shadow: ['country'], totals: false },
    );
    const total = table('totals', [], [{ people: 150 }]);
    const byCountry = table(
      'totals|country',
      ['country'],
      [
        { country: 'AE', people: 22 },
        { country: 'US', people: 128 },
      ],
      { shadow: ['country'], totals: false },
    );
    const result = disclose([total, devices, byCountry, shares]).suppress();
    // Web goes (AE adds 1); AE's share of the withheld then is 1 < 5, so TV (AE's smallest other share) too.
    expect(shownKeys(result.rows.get('rows'), 'device')).toEqual(['Android']);
    expect(result.withheldGroups).toBe(2);
    expect(result.rows.has('rows|country')).toBe(false);
    expect(result.totalsWithheld).toBe(false);
  });
});
