import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpServer } from '../../src/server/serve-http.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import {
  callTool,
  connectHttp,
  ERAS,
  type QueryEngagementOutput,
  query,
  seededWarehouse,
  startHttp,
  suppressionOracle,
  toolErrorText,
} from '../helpers.js';

let warehouse: Warehouse;
let removeWarehouse: () => Promise<void>;
let aurora: HttpServer;
let borealis: HttpServer;
let client: Client;
let borealisClient: Client;

beforeAll(async () => {
  ({ warehouse, remove: removeWarehouse } = await seededWarehouse());
  aurora = await startHttp(warehouse, 'aurora');
  borealis = await startHttp(warehouse, 'borealis');
  client = await connectHttp(aurora.url);
  borealisClient = await connectHttp(borealis.url);
});

afterAll(async () => {
  await client?.close();
  await borealisClient?.close();
  await aurora?.close();
  await borealis?.close();
  await removeWarehouse?.();
});

/** Independent, hand-written SQL over the fixture tables (values inline: test-only constants). */
async function sql(text: string): Promise<Record<string, unknown>[]> {
  return warehouse.admin().query(text);
}

const DECIMALS: Record<string, number> = {
  watch_minutes: 0,
  views: 0,
  unique_viewers: 0,
  completion_rate: 3,
  avg_minutes_per_viewer: 1,
};

const HAND_METRICS = `sum(watch_seconds) / 60 AS watch_minutes, count() AS views, uniqExact(user_id) AS unique_viewers,
  countIf(completed = 1) / count() AS completion_rate, (sum(watch_seconds) / 60) / uniqExact(user_id) AS avg_minutes_per_viewer`;

/** Tool values are rounded to the metric's decimals: equal to the hand value within one last-place unit. */
function expectMetricsEqual(
  tool: Record<string, unknown>,
  hand: Record<string, unknown>,
  metrics: string[],
): void {
  for (const metric of metrics) {
    const tolerance = 10 ** -(DECIMALS[metric] ?? 0);
    const actual = Number(tool[metric]);
    const expected = Number(hand[metric]);
    expect(Number.isFinite(actual), `${metric} is a number`).toBe(true);
    expect(Math.abs(actual - expected), `${metric}: tool ${actual} vs SQL ${expected}`).toBeLessThanOrEqual(
      tolerance,
    );
  }
}

const ALL_METRICS = Object.keys(DECIMALS);

describe('numbers equal hand-written SQL', () => {
  it('totals for a quarter in a region', async () => {
    const out = await query(client, { metrics: ALL_METRICS, time_range: '2026-Q3', geo: 'LATAM' });
    const [hand] = await sql(`SELECT ${HAND_METRICS} FROM viewing_events
      WHERE tenant_id = 'aurora' AND event_date BETWEEN '2026-07-01' AND '2026-09-30'
        AND country_code IN (SELECT country_code FROM markets WHERE tenant_id = 'aurora' AND region = 'LATAM')`);
    expect(hand).toBeDefined();
    expectMetricsEqual(out.totals, hand ?? {}, ALL_METRICS);
    expect(out.period).toMatchObject({
      from: '2026-07-01',
      to: '2026-09-30',
      first_day_with_data: '2026-07-01',
      last_day_with_data: '2026-09-30',
    });
    expect(Number(out.totals.views)).toBeGreaterThan(1000);
  });

  it('monthly trend by device for one country and plan over explicit dates', async () => {
    const out = await query(client, {
      metrics: ALL_METRICS,
      time_range: { from: '2025-12-15', to: '2026-03-10' },
      geo: 'br',
      plan: ['premium'],
      group_by: ['device'],
      grain: 'month',
      limit: 500,
    });
    const groups = await sql(
      suppressionOracle({
        where: `tenant_id = 'aurora' AND event_date BETWEEN '2025-12-15' AND '2026-03-10' AND country_code = 'BR' AND plan = 'premium'`,
        keys: { date: 'toString(toStartOfMonth(event_date))', device: 'device' },
        columns: HAND_METRICS,
      }),
    );
    const hand = groups.filter((row) => !row.small && !row.secondary);
    // Groups under the minimum here are withheld (and one more, should they together have too few viewers).
    const withheld = groups.filter((row) => row.small || row.secondary).length;
    expect(groups.filter((row) => row.small).length).toBeGreaterThan(0);
    expect(out.privacy.suppressed_groups).toBe(withheld);
    expect(out.rows.length).toBe(hand.length);
    expect(out.rows.length).toBeGreaterThan(12);
    const byKey = new Map(out.rows.map((row) => [`${row.date}|${row.device}`, row]));
    for (const row of hand) {
      const tool = byKey.get(`${row.date}|${row.device}`);
      expect(tool, `row ${row.date} ${row.device}`).toBeDefined();
      expectMetricsEqual(tool ?? {}, row, ALL_METRICS);
    }
    expect(out.filters).toEqual([
      { argument: 'geo', dimension: 'country', values: ['BR'] },
      { argument: 'plan', dimension: 'plan', values: ['premium'] },
    ]);
  });

  it('titles by genre for a list of content ids in a month', async () => {
    const ids = ['aur-0100', 'aur-0101', 'aur-0150', 'aur-0200', 'aur-0250'];
    const out = await query(client, {
      metrics: ['views', 'watch_minutes'],
      time_range: '2026-06',
      content_id: ids,
      group_by: ['genre', 'title'],
    });
    const hand =
      await sql(`SELECT c.genre AS genre, c.title AS title, count() AS views, sum(v.watch_seconds) / 60 AS watch_minutes
      FROM viewing_events AS v INNER JOIN content AS c ON c.tenant_id = v.tenant_id AND c.content_id = v.content_id
      WHERE v.tenant_id = 'aurora' AND v.event_date BETWEEN '2026-06-01' AND '2026-06-30' AND v.content_id IN (${ids.map((id) => `'${id}'`).join(',')})
      GROUP BY genre, title`);
    expect(out.rows.length).toBe(hand.length);
    expect(out.rows.length).toBeGreaterThan(0);
    for (const row of hand) {
      const tool = out.rows.find(
        (candidate) => candidate.genre === row.genre && candidate.title === row.title,
      );
      expect(tool, `row ${row.genre} ${row.title}`).toBeDefined();
      expectMetricsEqual(tool ?? {}, row, ['views', 'watch_minutes']);
    }
    // Ordered by the first metric, descending, when there is no time grain.
    const views = out.rows.map((row) => Number(row.views));
    expect(views).toEqual([...views].sort((a, b) => b - a));
  });

  it('a list of a region and a country means either of them', async () => {
    const out = await query(client, { metrics: ['views'], time_range: '2026-Q3', geo: ['LATAM', 'US'] });
    const [hand] = await sql(`SELECT count() AS views FROM viewing_events
      WHERE tenant_id = 'aurora' AND event_date BETWEEN '2026-07-01' AND '2026-09-30' AND (country_code = 'US'
        OR country_code IN (SELECT country_code FROM markets WHERE tenant_id = 'aurora' AND region = 'LATAM'))`);
    expect(out.totals.views).toBe(Number(hand?.views));
    expect(Number(hand?.views)).toBeGreaterThan(1000);
  });

  it('a year-ago comparison reads the same dates a year earlier', async () => {
    const out = await query(client, {
      metrics: ['views', 'watch_minutes'],
      time_range: '2026-08',
      compare_to: 'year_ago',
      device: 'TV',
    });
    const [hand] =
      await sql(`SELECT count() AS views, sum(watch_seconds) / 60 AS watch_minutes FROM viewing_events
      WHERE tenant_id = 'aurora' AND event_date BETWEEN '2025-08-01' AND '2025-08-31' AND device = 'TV'`);
    expect(out.comparison).toMatchObject({ from: '2025-08-01', to: '2025-08-31' });
    expectMetricsEqual(out.comparison_totals ?? {}, hand ?? {}, ['views', 'watch_minutes']);
    const expectedChange = Number(out.totals.views) - Number(hand?.views);
    expect(out.changes?.views?.absolute).toBe(expectedChange);
  });

  it("a trend with a comparison pairs each bucket with the comparison's bucket at the same point", async () => {
    // Q3 (from Wednesday 1 July) against the 91 days before (from Wednesday 1 April): weeks 13 weeks apart.
    const out = await query(client, {
      metrics: ['views'],
      time_range: '2026-Q3',
      grain: 'week',
      compare_to: 'previous_period',
      geo: 'LATAM',
    });
    const hand =
      await sql(`SELECT toString(toMonday(event_date)) AS week, count() AS views FROM viewing_events
      WHERE tenant_id = 'aurora' AND event_date BETWEEN '2026-04-01' AND '2026-06-30'
        AND country_code IN (SELECT country_code FROM markets WHERE tenant_id = 'aurora' AND region = 'LATAM')
      GROUP BY week`);
    const earlier = new Map(hand.map((row) => [String(row.week), Number(row.views)]));
    expect(out.rows.length).toBe(14);
    // The last part-week holds 3 days of Q3 but its counterpart only 2 of Q2's: not like for like, no comparison.
    // The first holds 5 days of each (1-5 July, 1-5 April).
    expect(out.rows.find((row) => row.date === '2026-09-28')).toMatchObject({ views_previous: null });
    for (const row of out.rows.filter((row) => row.date !== '2026-09-28')) {
      const week = new Date(Date.parse(`${row.date}T00:00:00Z`) - 91 * 86_400_000).toISOString().slice(0, 10);
      expect(row.views_previous, String(row.date)).toBe(earlier.get(week));
      expect(row.views_change_pct).toBeCloseTo(
        (100 * (Number(row.views) - Number(earlier.get(week)))) / Number(earlier.get(week)),
        1,
      );
    }
    // A year-ago trend moves by the calendar: August's days against last August's.
    const daily = await query(client, {
      metrics: ['views'],
      time_range: '2026-08',
      grain: 'day',
      compare_to: 'year_ago',
      device: 'TV',
    });
    const [day] = await sql(`SELECT count() AS views FROM viewing_events
      WHERE tenant_id = 'aurora' AND event_date = '2025-08-14' AND device = 'TV'`);
    expect(daily.rows.find((row) => row.date === '2026-08-14')?.views_previous).toBe(Number(day?.views));
  });

  it('weeks compared with a year ago, or with a period not a whole number of weeks back, pair Monday with Monday', async () => {
    const weeksOf = async (from: string, to: string) =>
      new Map(
        (
          await sql(`SELECT toString(toMonday(event_date)) AS week, count() AS views FROM viewing_events
            WHERE tenant_id = 'aurora' AND event_date BETWEEN '${from}' AND '${to}' GROUP BY week`)
        ).map((row) => [String(row.week), Number(row.views)]),
      );
    const minusDays = (day: unknown, days: number) =>
      new Date(Date.parse(`${day}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);
    // Q3 against the same dates of 2025: week of Monday 6 July 2026 against week of Monday 7 July 2025 (52
    // weeks back), never against the part-week of 30 June 2025 that holds 6 July 2025.
    const yearAgo = await query(client, {
      metrics: ['views'],
      time_range: '2026-Q3',
      grain: 'week',
      compare_to: 'year_ago',
    });
    const lastYear = await weeksOf('2025-07-01', '2025-09-30');
    expect(yearAgo.rows.find((row) => row.date === '2026-07-06')?.views_previous).toBe(
      lastYear.get('2025-07-07'),
    );
    // The part-weeks hold 5 and 3 days of Q3 2026 but 6 and 2 days of Q3 2025: no comparison.
    for (const date of ['2026-06-29', '2026-09-28'])
      expect(yearAgo.rows.find((row) => row.date === date)).toMatchObject({ views_previous: null });
    for (const row of yearAgo.rows.filter((row) => row.date !== '2026-06-29' && row.date !== '2026-09-28'))
      expect(row.views_previous, String(row.date)).toBe(lastYear.get(minusDays(row.date, 364)));
    // August (31 days) against July: four weeks back, so each whole week of August meets a whole week of July.
    const monthBefore = await query(client, {
      metrics: ['views'],
      time_range: '2026-08',
      grain: 'week',
      compare_to: 'previous_period',
    });
    const july = await weeksOf('2026-07-01', '2026-07-31');
    expect(monthBefore.rows.find((row) => row.date === '2026-08-03')?.views_previous).toBe(
      july.get('2026-07-06'),
    );
    // The part-week of 31 August has no counterpart in July (3 August is past it); the whole week of 24 August
    // meets the week of 27 July with only 5 of its days in July (no comparison, not -35%), and the part-week of
    // 27 July (2 days of August) meets the week of 29 June (5 days of July).
    for (const date of ['2026-07-27', '2026-08-24', '2026-08-31'])
      expect(monthBefore.rows.find((row) => row.date === date)).toMatchObject({
        views_previous: null,
        views_change_pct: null,
      });
    for (const row of monthBefore.rows.filter(
      (row) => String(row.date) > '2026-07-27' && String(row.date) < '2026-08-24',
    ))
      expect(row.views_previous, String(row.date)).toBe(july.get(minusDays(row.date, 28)));
  });

  it('relative periods end at the last day of data, not the wall clock', async () => {
    const out = await query(client, { metrics: ['views'], time_range: 'last_7_days' });
    expect(out.period).toMatchObject({
      from: '2026-10-25',
      to: '2026-10-31',
      last_day_with_data: '2026-10-31',
    });
    const [hand] = await sql(
      `SELECT count() AS views FROM viewing_events WHERE tenant_id = 'aurora' AND event_date >= '2026-10-25'`,
    );
    expect(out.totals.views).toBe(Number(hand?.views));
  });
});

describe('the planted Q3 2026 LATAM drop', () => {
  it('shows as a drop in LATAM driven by Brazil and Android', async () => {
    const out = await query(client, { time_range: '2026-Q3', geo: 'LATAM', compare_to: 'previous_period' });
    expect(out.comparison).toMatchObject({ from: '2026-04-01', to: '2026-06-30' });
    expect(out.changes?.watch_minutes?.percent).toBeLessThan(-8);
    const top = out.top_movers[0];
    expect(top).toMatchObject({ dimension: 'country', value: 'BR', metric: 'watch_minutes' });
    expect(top?.change).toBeLessThan(0);
    expect(
      out.top_movers.some(
        (mover) => mover.dimension === 'device' && mover.value === 'Android' && (mover.change ?? 0) < 0,
      ),
    ).toBe(true);
    expect(out.summary).toMatch(/watch_minutes: [\d,]+, −[\d,]+ \(−\d+\.\d%\)/);
    expect(out.summary).toContain('country "BR"');
  });

  it('is absent from the other regions', async () => {
    for (const region of ['NA', 'EMEA', 'APAC']) {
      const out = await query(client, {
        metrics: ['watch_minutes'],
        time_range: '2026-Q3',
        geo: region,
        compare_to: 'previous_period',
      });
      expect(out.changes?.watch_minutes?.percent, region).toBeGreaterThan(-8);
    }
  });

  it('sits in one device of one country', async () => {
    const out = await query(client, {
      metrics: ['watch_minutes'],
      time_range: '2026-Q3',
      geo: 'BR',
      group_by: ['device'],
      compare_to: 'previous_period',
    });
    const [worst] = out.top_movers;
    expect(worst).toMatchObject({ dimension: 'device', value: 'Android' });
    expect(worst?.percent).toBeLessThan(-50);
    const others = out.top_movers.filter((mover) => mover.value !== 'Android');
    for (const mover of others) expect(Math.abs(mover.percent ?? 0)).toBeLessThan(40);
  });
});

describe('tenant isolation', () => {
  it('aurora never sees a borealis title, and the same call as borealis does', async () => {
    // To aurora another tenant's id is exactly as unknown as an id nobody has: the refusal says no more.
    const theirs = await toolErrorText(client, {
      metrics: ['views'],
      time_range: '2026',
      content_id: 'bor-0007',
    });
    const nobodys = await toolErrorText(client, {
      metrics: ['views'],
      time_range: '2026',
      content_id: 'zzz-0007',
    });
    expect(theirs).toBe(nobodys.replaceAll('zzz-0007', 'bor-0007'));
    expect(theirs).toMatch(/^Unknown content_id value "bor-0007": nothing has it as its content_id/);
    const asBorealis = await query(borealisClient, {
      metrics: ['views'],
      time_range: '2026',
      content_id: 'bor-0007',
    });
    expect(Number(asBorealis.totals.views)).toBeGreaterThan(0);
  });

  it('every row of a full breakdown belongs to the caller', async () => {
    const out = await query(client, {
      metrics: ['views'],
      time_range: { from: '2024-11-01', to: '2026-10-31' },
      group_by: ['content_id'],
      limit: 500,
    });
    expect(out.rows.length).toBeGreaterThan(100);
    for (const row of out.rows) expect(String(row.content_id)).toMatch(/^aur-/);
    const [hand] = await sql(`SELECT count() AS views FROM viewing_events WHERE tenant_id = 'aurora'`);
    expect(out.totals.views).toBe(Number(hand?.views));
  });

  it('joined dimensions come from the caller’s own tables', async () => {
    const out = await query(borealisClient, { metrics: ['views'], time_range: '2026', group_by: ['region'] });
    expect(out.rows.map((row) => row.region).sort()).toEqual(['EMEA', 'NA']);
    const error = await toolErrorText(borealisClient, { time_range: '2026', geo: 'LATAM' });
    expect(error).toContain('geo');
  });

  it('a tenant argument is refused, never honoured', async () => {
    const text = await toolErrorText(client, { time_range: '2026', tenant: 'borealis' });
    expect(text).toMatch(/tenant/);
  });
});

describe('pagination', () => {
  async function allPages(
    c: Client,
    args: Record<string, unknown>,
  ): Promise<{ pages: QueryEngagementOutput[]; rows: QueryEngagementOutput['rows'] }> {
    const pages: QueryEngagementOutput[] = [];
    let page = await query(c, args);
    pages.push(page);
    while (page.page.next_cursor !== null) {
      page = await query(c, { cursor: page.page.next_cursor });
      pages.push(page);
      expect(pages.length).toBeLessThan(100);
    }
    return { pages, rows: pages.flatMap((p) => p.rows) };
  }

  it('returns every row exactly once across pages', async () => {
    const args = { metrics: ['views'], time_range: '2026-Q3', group_by: ['content_id', 'device'], limit: 97 };
    const { pages, rows } = await allPages(client, args);
    // Groups under the privacy floor are withheld from the rows, with the smallest other group, and counted.
    const groups = await sql(
      suppressionOracle({
        where: `tenant_id = 'aurora' AND event_date BETWEEN '2026-07-01' AND '2026-09-30'`,
        keys: { content_id: 'content_id', device: 'device' },
        columns: 'count() AS views',
      }),
    );
    const shown = groups.filter((row) => !row.small && !row.secondary);
    const withheld = groups.length - shown.length;
    expect(groups.filter((row) => row.small).length).toBeGreaterThan(0);
    for (const page of pages) expect(page.privacy.suppressed_groups).toBe(withheld);
    expect(pages.length).toBeGreaterThan(3);
    const keys = rows.map((row) => `${row.content_id}|${row.device}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(keys)).toEqual(new Set(shown.map((row) => `${row.content_id}|${row.device}`)));
    expect(pages.slice(0, -1).every((p) => p.rows.length === 97)).toBe(true);
    expect(pages.map((p) => p.page.offset)).toEqual(pages.map((_, index) => index * 97));
    // Rows carry the shown groups only; the totals still count every view.
    const total = rows.reduce((sum, row) => sum + Number(row.views), 0);
    expect(total).toBe(shown.reduce((sum, row) => sum + Number(row.views), 0));
    expect(total).toBeLessThan(Number(pages[0]?.totals.views));
  });

  it('a time-bucketed breakdown pages in time order', async () => {
    const { rows } = await allPages(client, {
      metrics: ['views'],
      time_range: '2026-Q2',
      grain: 'week',
      group_by: ['country'],
      limit: 40,
    });
    const dates = rows.map((row) => String(row.date));
    expect(dates).toEqual([...dates].sort());
    expect(new Set(rows.map((row) => `${row.date}|${row.country}`)).size).toBe(rows.length);
  });

  it('ranks shows by series, not only episodes by title', async () => {
    const out = await query(client, {
      metrics: ['watch_minutes'],
      time_range: '2026-08',
      group_by: ['series'],
      limit: 3,
    });
    const truth = await warehouse
      .admin()
      .query(`SELECT c.series_title AS series, sum(v.watch_seconds) / 60 AS minutes
      FROM viewing_events AS v LEFT JOIN (SELECT * FROM content WHERE tenant_id = 'aurora') AS c ON c.content_id = v.content_id
      WHERE v.tenant_id = 'aurora' AND v.event_date BETWEEN '2026-08-01' AND '2026-08-31'
      GROUP BY series ORDER BY minutes DESC, series LIMIT 3`);
    expect(out.rows.map((row) => [row.series, row.watch_minutes])).toEqual(
      truth.map((row) => [row.series, Math.round(Number(row.minutes))]),
    );
  });

  it('a breakdown with a comparison lists its groups largest first, as the engine orders them', async () => {
    // Its rows come from the scan it shares with the totals (grouping sets), put in its own order in memory.
    const out = await query(client, {
      metrics: ['watch_minutes'],
      time_range: '2026-Q3',
      compare_to: 'year_ago',
      group_by: ['country'],
    });
    const truth = await warehouse
      .admin()
      .query(`SELECT country_code AS country, sum(watch_seconds) / 60 AS minutes
      FROM viewing_events WHERE tenant_id = 'aurora' AND event_date BETWEEN '2026-07-01' AND '2026-09-30'
      GROUP BY country ORDER BY minutes DESC, country`);
    expect(out.rows.map((row) => row.country)).toEqual(truth.map((row) => row.country));
  });

  it('a breakdown with a comparison carries each group in both periods, and its change', async () => {
    const out = await query(client, {
      metrics: ['views'],
      time_range: '2026-Q3',
      compare_to: 'previous_period',
      group_by: ['device'],
    });
    const truth = await warehouse.admin().query(`SELECT device,
        countIf(event_date BETWEEN '2026-07-01' AND '2026-09-30') AS now,
        countIf(event_date BETWEEN '2026-04-01' AND '2026-06-30') AS before
      FROM viewing_events WHERE tenant_id = 'aurora' GROUP BY device ORDER BY device`);
    expect(out.columns).toEqual(['device', 'views', 'views_previous', 'views_change_pct']);
    expect(out.rows.length).toBe(truth.length);
    for (const row of truth) {
      const now = Number(row.now);
      const before = Number(row.before);
      expect(out.rows.find((shown) => shown.device === row.device)).toEqual({
        device: row.device,
        views: now,
        views_previous: before,
        views_change_pct: Math.round(((now - before) / before) * 10_000) / 100,
      });
    }
  });

  it('says when a comparison is not like for like: a year the data has not finished against a whole one', async () => {
    const out = await query(client, { metrics: ['views'], time_range: '2026', compare_to: 'year_ago' });
    expect(out.warnings).toEqual([
      expect.stringMatching(
        /^Not like for like: the period has data for 304 of its 365 days \(2026-01-01 to 2026-10-31\)\. /,
      ),
    ]);
    expect(out.summary).toContain('Not like for like: the period has data for 304 of its 365 days');
    const alike = await query(client, {
      metrics: ['views'],
      time_range: 'year_to_date',
      compare_to: 'year_ago',
    });
    expect(alike.warnings).toEqual([]);
  });

  it('tells a group absent from the comparison (0) from one withheld there (null)', async () => {
    const out = await query(client, {
      metrics: ['views'],
      time_range: '2026-Q3',
      compare_to: 'previous_period',
      group_by: ['content_id'],
      limit: 500,
    });
    const before = await warehouse
      .admin()
      .query(`SELECT content_id, uniqExact(user_id) AS viewers FROM viewing_events
      WHERE tenant_id = 'aurora' AND event_date BETWEEN '2026-04-01' AND '2026-06-30' GROUP BY content_id`);
    const viewers = new Map(before.map((row) => [String(row.content_id), Number(row.viewers)]));
    const absent = out.rows.filter((row) => !viewers.has(String(row.content_id)));
    const small = out.rows.filter((row) => (viewers.get(String(row.content_id)) ?? 5) < 5);
    // Titles released in Q3 had no views in Q2: a true zero. Titles with a handful of Q2 viewers are withheld.
    expect(absent.length).toBeGreaterThan(0);
    for (const row of absent) expect(row.views_previous).toBe(0);
    for (const row of small) expect(row.views_previous).toBeNull();
  });

  it('flags buckets the period cuts, with the days each covers, and never reads them as drops', async () => {
    // last_90_days to Saturday 2026-10-31 starts on Monday 2026-08-03: every week is whole but the last.
    const out = await query(client, {
      metrics: ['views'],
      time_range: 'last_90_days',
      grain: 'week',
      limit: 50,
    });
    expect(out.period).toMatchObject({ from: '2026-08-03', to: '2026-10-31' });
    expect(out.partial_buckets).toEqual([{ start: '2026-10-26', days: 6, of: 7 }]);
    expect(out.rows.at(-1)).toMatchObject({ date: '2026-10-26', days: 6 });
    expect(out.rows.slice(0, -1).every((row) => row.days === 7)).toBe(true);
    const [lastWeek] = await warehouse.admin().query(`SELECT count() AS views FROM viewing_events
      WHERE tenant_id = 'aurora' AND event_date BETWEEN '2026-10-26' AND '2026-10-31'`);
    expect(out.rows.at(-1)?.views).toBe(Number(lastWeek?.views));
    expect(out.summary).toMatch(
      /Partial weeks: 2026-10-26 \(6 of its 7 days\); their totals cover fewer days than a whole week, so compare them per day, not as rises or drops\./,
    );
    const months = await query(client, { metrics: ['views'], time_range: '2026-08-15', grain: 'month' });
    expect(months.partial_buckets).toEqual([{ start: '2026-08-01', days: 1, of: 31 }]);
  });

  it('rejects a tampered cursor', async () => {
    const first = await query(client, {
      metrics: ['views'],
      time_range: '2026-Q3',
      group_by: ['content_id'],
      limit: 10,
    });
    const cursor = first.page.next_cursor ?? '';
    const [body, signature] = cursor.split('.');
    const decoded = JSON.parse(Buffer.from(body ?? '', 'base64url').toString());
    const forged = Buffer.from(
      JSON.stringify({ ...decoded, offset: 0, args: { ...decoded.args, content_id: 'bor-0001' } }),
    ).toString('base64url');
    for (const bad of [
      `${forged}.${signature}`,
      `${body}.${signature?.slice(0, -2)}xx`,
      'not-a-cursor',
      `${body}`,
    ]) {
      const text = await toolErrorText(client, { cursor: bad });
      expect(text).toMatch(/^Invalid cursor/);
    }
  });

  it('refuses a cursor with different arguments, and a cursor read by another tenant is scoped to that tenant', async () => {
    const first = await query(client, {
      metrics: ['views'],
      time_range: '2026-Q3',
      group_by: ['content_id'],
      limit: 5,
    });
    const cursor = first.page.next_cursor ?? '';
    const text = await toolErrorText(client, { cursor, time_range: '2026-Q2' });
    expect(text).toContain('cursor');
    const same = await query(client, {
      cursor,
      metrics: ['views'],
      time_range: '2026-Q3',
      group_by: ['content_id'],
      limit: 5,
    });
    expect(same.page.offset).toBe(5);
    const other = await query(borealisClient, { cursor });
    expect(other.rows.length).toBe(5);
    for (const row of other.rows) expect(String(row.content_id)).toMatch(/^bor-/);
  });
});

describe('errors a model can act on', () => {
  it.each([
    [{ metrics: ['watch_minuts'] }, /Unknown metric "watch_minuts": did you mean "watch_minutes"\?/],
    [{ group_by: ['countyr'] }, /Unknown dimension "countyr": did you mean "country"\?/],
    [{ geo: 'LATM' }, /Unknown geo value "LATM": did you mean "LATAM"\?/],
    [{ device: 'Andriod' }, /Unknown device value "Andriod": did you mean "Android"\?/],
    [{ time_range: '2026-Q5' }, /Unknown time_range "2026-Q5": expected a calendar period \(2026, .*Q3 2026/],
    [{ time_range: { from: '2026-02-30', to: '2026-03-01' } }, /Invalid time_range.from "2026-02-30"/],
    [{ time_range: { from: '2026-03-01', to: '2026-02-01' } }, /from "2026-03-01" is after to "2026-02-01"/],
    [{ group_by: ['country', 'device', 'plan'] }, /^group_by: Too big: expected array to have <=2 items/],
    [{ limit: 100000 }, /limit/],
  ])('%j', async (args, message) => {
    const text = await toolErrorText(client, args);
    expect(text).toMatch(message);
  });
});

describe('hostile strings', () => {
  const HOSTILE = [
    "'",
    '\\',
    '`',
    "'; DROP TABLE viewing_events; --",
    "nobody\\' OR 1=1 --",
    '`viewing`.`tenant_id`',
    'aurora`) OR (1=1',
    'Ñandú 🙂 \u202e \u0000',
    '{p0:String}',
  ];
  const FIELDS: ((value: string) => Record<string, unknown>)[] = [
    (v) => ({ metrics: [v] }),
    (v) => ({ content_id: v }),
    (v) => ({ content_id: [v, 'aur-0001'] }),
    (v) => ({ time_range: v }),
    (v) => ({ time_range: { from: v, to: '2026-01-01' } }),
    (v) => ({ geo: v }),
    (v) => ({ device: [v] }),
    (v) => ({ plan: v }),
    (v) => ({ group_by: [v] }),
    (v) => ({ grain: v }),
    (v) => ({ compare_to: v }),
    (v) => ({ cursor: v }),
  ];

  it('neither break out nor fail obscurely', async () => {
    const [before] = await sql('SELECT count() AS n FROM viewing_events');
    for (const value of HOSTILE) {
      for (const field of FIELDS) {
        const args = field(value);
        const result = await callTool(client, args);
        const text = result.content[0]?.text ?? '';
        expect(text, JSON.stringify(args)).not.toMatch(
          /Internal error|rejected the query|temporarily unavailable|SYNTAX|Exception/,
        );
        if (result.isError === true) {
          const field = Object.keys(args)[0] ?? '';
          expect(text, JSON.stringify(args)).toContain(field);
        } else {
          // Only a free-text title id may be asked for; it simply matches nothing (or only the real id).
          expect('content_id' in args, JSON.stringify(args)).toBe(true);
          const out = result.structuredContent as QueryEngagementOutput;
          for (const row of out.rows) expect(String(row.content_id ?? 'aur-')).toMatch(/^aur-/);
        }
      }
    }
    const [after] = await sql('SELECT count() AS n FROM viewing_events');
    expect(after?.n).toBe(before?.n);
  });
});

describe.each(ERAS)('protocol era %s', (era) => {
  it('lists the tool and answers a call', async () => {
    const c = await connectHttp(aurora.url, era);
    try {
      const { tools } = await c.listTools();
      const tool = tools.find((candidate) => candidate.name === 'query_engagement');
      expect(tool?.annotations?.readOnlyHint).toBe(true);
      expect(tool?.outputSchema).toBeDefined();
      expect(
        Object.keys((tool?.inputSchema as { properties?: object } | undefined)?.properties ?? {}),
      ).toEqual(
        expect.arrayContaining([
          'metrics',
          'time_range',
          'content_id',
          'geo',
          'device',
          'plan',
          'group_by',
          'grain',
          'compare_to',
          'limit',
          'cursor',
        ]),
      );
      const out = await query(c, { time_range: '2026-Q3', geo: 'LATAM' });
      expect(out.summary).toContain('2026-Q3 (2026-07-01 to 2026-09-30)');
    } finally {
      await c.close();
    }
  });
});
