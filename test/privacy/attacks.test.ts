import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLANTED_TITLES } from '../../fixtures/profiles.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import {
  AURORA_ROLES,
  type CompareCampaignsOutput,
  callers,
  callTool,
  type ExplainChangeOutput,
  type QueryEngagementOutput,
  toolErrorText,
} from '../helpers.js';

/**
 * The attacks of issue 9, each through a real MCP client: every one got a figure about fewer than 5 people
 * (or a hidden title) out of the previous release, and must not now. Targets are found by hand-written SQL
 * over the fixture, so each test says which small group it goes after.
 */
const K = 5;
let warehouse: Warehouse;
let vp: Client;
let bi: Client;
let mixed: Client;
let close: () => Promise<void>;

beforeAll(async () => {
  const setup = await callers({
    ...AURORA_ROLES,
    mixed: { tenant: 'aurora', roles: ['bi_service', 'latam_analyst'] },
  });
  ({ warehouse, close } = setup);
  ({ vp, bi, mixed } = setup.clients);
});

afterAll(async () => {
  await close?.();
});

const sql = (text: string) => warehouse.admin().query(text);
const quoted = (values: readonly unknown[]) => values.map((value) => `'${String(value)}'`).join(', ');

async function answer<T>(client: Client, tool: string, args: Record<string, unknown>): Promise<T> {
  const result = await callTool(client, args, tool);
  if (result.isError === true) throw new Error(`tool error: ${result.content[0]?.text}`);
  return result.structuredContent as T;
}

/** Distinct viewers of the rows matching `where` whose `keys` take one of the `tuples`. */
async function viewersOf(where: string, keys: readonly string[], tuples: readonly (readonly unknown[])[]) {
  if (tuples.length === 0) return 0;
  const list = tuples.map((tuple) => `(${quoted(tuple)})`).join(', ');
  const [row] = await sql(`SELECT uniqExact(user_id) AS viewers FROM viewing_events
    WHERE ${where} AND (${keys.map((key) => `toString(${key})`).join(', ')}) IN (${list})`);
  return Number(row?.viewers);
}

/**
 * The property that stops "totals minus rows": whatever groups an answer withholds under a total it shows,
 * they describe at least K viewers together (or there are none), so subtracting gives no small group away.
 */
async function expectWithheldTogetherReachK(
  where: string,
  keys: readonly string[],
  shown: readonly (readonly unknown[])[],
): Promise<number> {
  const groups = await sql(`SELECT ${keys.map((key) => `toString(${key}) AS k_${key}`).join(', ')},
    uniqExact(user_id) AS viewers FROM viewing_events WHERE ${where} GROUP BY ${keys.map((key) => `k_${key}`).join(', ')}`);
  const visible = new Set(shown.map((tuple) => JSON.stringify(tuple.map(String))));
  const withheld = groups
    .map((row) => keys.map((key) => String(row[`k_${key}`])))
    .filter((tuple) => !visible.has(JSON.stringify(tuple)));
  expect(
    groups.some((row) => Number(row.viewers) < K),
    'the breakdown has a small group',
  ).toBe(true);
  expect(withheld.length).toBeGreaterThan(0);
  expect(await viewersOf(where, keys, withheld)).toBeGreaterThanOrEqual(K);
  expect(shown.length, 'not everything is withheld').toBeGreaterThan(0);
  return withheld.length;
}

describe('explain_change and the minimum group size', () => {
  it('says nothing of a selection of one viewer a day', async () => {
    // A title in a country watched by one or two people on a day and on the day before (its baseline).
    const [target] =
      await sql(`SELECT content_id, country_code, toString(event_date) AS day FROM viewing_events
      WHERE tenant_id = 'aurora' GROUP BY content_id, country_code, event_date HAVING uniqExact(user_id) BETWEEN 1 AND 2
        AND (content_id, country_code, event_date - 1) IN (SELECT content_id, country_code, event_date FROM viewing_events
          WHERE tenant_id = 'aurora' GROUP BY content_id, country_code, event_date HAVING uniqExact(user_id) BETWEEN 1 AND 2)
      ORDER BY content_id, country_code, day LIMIT 1`);
    expect(target).toBeDefined();
    const day = String(target?.day);
    const out = await answer<ExplainChangeOutput>(vp, 'explain_change', {
      metric: 'watch_minutes',
      time_range: { from: day, to: day },
      content_id: target?.content_id,
      geo: target?.country_code,
    });
    expect(out.current_value).toBeNull();
    expect(out.baseline_value).toBeNull();
    expect(out.change).toEqual({ absolute: null, percent: null });
    expect(out.breakdowns).toEqual([]);
    expect(out.privacy.totals_suppressed).toBe(true);
    expect(out.summary).toMatch(/too small to show/);
  });

  it('lists no contributor of fewer than 5 viewers, and what it withholds reaches 5 together', async () => {
    const [target] = await sql(`SELECT country_code, toString(m) AS month FROM (
        SELECT country_code, toStartOfMonth(event_date) AS m, device, uniqExact(user_id) AS v FROM viewing_events
        WHERE tenant_id = 'aurora' AND event_date >= '2025-01-01' GROUP BY country_code, m, device)
      GROUP BY country_code, month HAVING countIf(v < ${K}) = 1 AND countIf(v >= ${K}) >= 3 AND sumIf(v, v < ${K}) < ${K}
      ORDER BY country_code, month LIMIT 1`);
    const from = String(target?.month);
    const out = await answer<ExplainChangeOutput>(vp, 'explain_change', {
      metric: 'views',
      time_range: from.slice(0, 7),
      geo: target?.country_code,
      dimensions: ['device'],
      top: 20,
    });
    const devices = out.breakdowns[0]?.contributors ?? [];
    const where = `tenant_id = 'aurora' AND country_code = '${target?.country_code}' AND event_date BETWEEN '${out.period.from}' AND '${out.period.to}'`;
    const shown = devices.map((device) => [device.segment]);
    for (const [device] of shown)
      expect(await viewersOf(where, ['device'], [[device]])).toBeGreaterThanOrEqual(K);
    await expectWithheldTogetherReachK(where, ['device'], shown);
  });
});

describe('a total and its parts in different tables of one answer', () => {
  it.each([
    ['country', 'country_code'],
    ['country_name', 'country_name'],
  ])(
    'a region less its shown countries gives no withheld country away (explain_change by region and %s)',
    async (dimension, column) => {
      // A four-day window in which a LATAM country has one or two viewers.
      const [target] = await sql(`SELECT toString(d) AS day FROM (
        SELECT d, country_code, uniqExact(user_id) AS v FROM viewing_events
          ARRAY JOIN [event_date, event_date - 1, event_date - 2, event_date - 3] AS d
        WHERE tenant_id = 'aurora' AND event_date BETWEEN '2026-09-01' AND '2026-10-31' AND country_code IN
          (SELECT country_code FROM markets WHERE tenant_id = 'aurora' AND region = 'LATAM')
        GROUP BY d, country_code)
      WHERE d BETWEEN '2026-09-05' AND '2026-10-28' GROUP BY d HAVING min(v) <= 2 ORDER BY d LIMIT 1`);
      expect(target).toBeDefined();
      const from = String(target?.day);
      const to = String((await sql(`SELECT toString(toDate('${from}') + 3) AS d`))[0]?.d);
      const baseline = (
        await sql(`SELECT toString(toDate('${from}') - 4) AS f, toString(toDate('${from}') - 1) AS t`)
      )[0];
      const out = await answer<ExplainChangeOutput>(vp, 'explain_change', {
        metric: 'unique_viewers',
        time_range: { from, to },
        baseline: { from: baseline?.f, to: baseline?.t },
        dimensions: ['region', dimension],
        top: 20,
      });
      const regions = out.breakdowns.find((b) => b.dimension === 'region')?.contributors ?? [];
      const shownCountries = new Set(
        out.breakdowns.find((b) => b.dimension === dimension)?.contributors.map((c) => c.segment),
      );
      expect(regions.map((region) => region.segment)).toContain('LATAM');
      for (const [periodFrom, periodTo] of [
        [from, to],
        [String(baseline?.f), String(baseline?.t)],
      ]) {
        for (const region of regions) {
          const countries = await sql(
            `SELECT country_code, ${column} AS shown_as FROM markets WHERE tenant_id = 'aurora' AND region = '${region.segment}'`,
          );
          const withheld = countries
            .filter((row) => !shownCountries.has(String(row.shown_as)))
            .map((row) => String(row.country_code));
          const where = `tenant_id = 'aurora' AND event_date BETWEEN '${periodFrom}' AND '${periodTo}'`;
          const people = await viewersOf(
            where,
            ['country_code'],
            withheld.map((code) => [code]),
          );
          expect(
            people === 0 || people >= K,
            `${region.segment} ${periodFrom}: ${withheld.join(',')} have ${people}`,
          ).toBe(true);
        }
      }
    },
  );
});

describe('a breakdown by two dimensions and its margins', () => {
  const COLUMNS: Readonly<Record<string, string>> = {
    plan: 'v.plan',
    device: 'v.device',
    content_type: 'c.content_type',
  };
  interface Cell {
    readonly key: string;
    readonly x: string;
    readonly y: string;
    readonly viewers: ReadonlySet<string>;
  }

  /**
   * The attacker's arithmetic on one answer: a margin (a mover's current value, or the total) less its known
   * cells gives its one unknown cell, which then counts as known for the other margins, until nothing more
   * follows. Then what each margin leaves of its unknown cells is a figure about their viewers together. The
   * oracle: every cell worked out, and every such remainder, describes at least K viewers (hand-written SQL).
   */
  async function expectNothingSmallFollows(
    selection: Record<string, unknown>,
    where: string,
    x: string,
    y: string,
  ): Promise<{ small: boolean }> {
    const out = await answer<QueryEngagementOutput>(vp, 'query_engagement', {
      ...selection,
      group_by: [x, y],
      compare_to: 'previous_period',
      metrics: ['views', 'watch_minutes'],
      limit: 500,
    });
    const members = await sql(`SELECT toString(${COLUMNS[x]}) AS x, toString(${COLUMNS[y]}) AS y,
        groupUniqArray(toString(v.user_id)) AS viewers
      FROM viewing_events AS v INNER JOIN content AS c ON c.tenant_id = v.tenant_id AND c.content_id = v.content_id
      WHERE v.tenant_id = 'aurora' AND ${where} AND v.event_date BETWEEN '${out.period.from}' AND '${out.period.to}'
      GROUP BY x, y`);
    const cells: Cell[] = members.map((row) => ({
      key: `${row.x}|${row.y}`,
      x: String(row.x),
      y: String(row.y),
      viewers: new Set(row.viewers as string[]),
    }));
    const known = new Map(out.rows.map((row) => [`${row[x]}|${row[y]}`, Number(row.views)]));
    const margins = [
      ...out.top_movers
        .filter((mover) => mover.metric === 'views' && mover.current !== null)
        .map((mover) => ({
          ...(mover.dimension === x ? { x: mover.value } : { y: mover.value }),
          value: Number(mover.current),
        })),
      ...(out.totals.views === null || out.totals.views === undefined ? [] : [{ value: out.totals.views }]),
    ];
    const line = (margin: { readonly x?: string; readonly y?: string; readonly value: number }) =>
      cells.filter(
        (cell) =>
          (margin.x === undefined || cell.x === margin.x) && (margin.y === undefined || cell.y === margin.y),
      );
    for (let progress = true; progress; ) {
      progress = false;
      for (const margin of margins) {
        const unknown = line(margin).filter((cell) => !known.has(cell.key));
        const [only] = unknown;
        if (unknown.length !== 1 || only === undefined) continue;
        const value = margin.value - line(margin).reduce((sum, cell) => sum + (known.get(cell.key) ?? 0), 0);
        expect(
          only.viewers.size,
          `${JSON.stringify(selection)}: ${only.key} worked out as ${value} views`,
        ).toBeGreaterThanOrEqual(K);
        known.set(only.key, value);
        progress = true;
      }
    }
    for (const margin of margins) {
      const unknown = line(margin).filter((cell) => !known.has(cell.key));
      if (unknown.length === 0) continue;
      const viewers = new Set(unknown.flatMap((cell) => [...cell.viewers]));
      expect(
        viewers.size,
        `${JSON.stringify(selection)}: ${JSON.stringify(margin)} leaves ${unknown.map((cell) => cell.key)}`,
      ).toBeGreaterThanOrEqual(K);
    }
    return { small: cells.some((cell) => cell.viewers.size < K) };
  }

  it.each([
    [{ geo: 'MX', device: 'TV', time_range: '2026-09' }, "v.country_code = 'MX' AND v.device = 'TV'"],
    [{ geo: 'CA', device: 'Web', time_range: '2026-09' }, "v.country_code = 'CA' AND v.device = 'Web'"],
  ])('no withheld cell follows from the rows, the movers and the totals (%j)', async (selection, where) => {
    const { small } = await expectNothingSmallFollows(selection, where, 'plan', 'content_type');
    expect(small, 'the table has a small cell').toBe(true);
  });

  it.each([
    ['plan', 'device'],
    ['content_type', 'device'],
  ])(
    'no sum of withheld cells under 5 viewers follows either: %s by %s, across markets and months',
    async (x, y) => {
      let small = 0;
      for (const geo of ['ES', 'JP', 'CO', 'AU', 'CL', 'SE'])
        for (const month of ['2026-01', '2026-09', '2026-10']) {
          const found = await expectNothingSmallFollows(
            { geo, time_range: month },
            `v.country_code = '${geo}'`,
            x,
            y,
          );
          if (found.small) small++;
        }
      expect(small, 'breakdowns with small cells').toBeGreaterThan(3);
    },
  );
});

describe('totals minus rows', () => {
  /** A country and month whose breakdown by `keys` has one or two small groups (under K together) and 2+ large. */
  async function target(keys: readonly string[]) {
    const [row] = await sql(`SELECT country_code, toString(m) AS month FROM (
        SELECT country_code, toStartOfMonth(event_date) AS m, ${keys.join(', ')}, uniqExact(user_id) AS v
        FROM viewing_events WHERE tenant_id = 'aurora' GROUP BY country_code, m, ${keys.join(', ')})
      GROUP BY country_code, month HAVING countIf(v < ${K}) BETWEEN 1 AND 2 AND countIf(v >= ${K}) >= 2
        AND sumIf(v, v < ${K}) < ${K} ORDER BY country_code, month LIMIT 1`);
    expect(row).toBeDefined();
    return { country: String(row?.country_code), month: String(row?.month).slice(0, 7) };
  }

  it.each([
    ['one dimension', ['device'], undefined],
    ['two dimensions', ['device', 'plan'], undefined],
    ['days', [], 'day'],
  ] as const)('gives no withheld group away: %s', async (_, groupBy, grain) => {
    const keys = grain === undefined ? [...groupBy] : ['event_date'];
    const { country, month } = await target(keys);
    const out = await answer<QueryEngagementOutput>(vp, 'query_engagement', {
      metrics: ['views', 'watch_minutes'],
      time_range: month,
      geo: country,
      group_by: groupBy,
      ...(grain === undefined ? {} : { grain }),
      limit: 500,
    });
    expect(out.totals.views).not.toBeNull();
    const shown = out.rows.map((row) => (grain === undefined ? groupBy.map((key) => row[key]) : [row.date]));
    const where = `tenant_id = 'aurora' AND country_code = '${country}' AND event_date BETWEEN '${out.period.from}' AND '${out.period.to}'`;
    const withheld = await expectWithheldTogetherReachK(where, keys, shown);
    expect(out.privacy.suppressed_groups).toBe(withheld);
  });

  it('gives no withheld group of the comparison period away either (a breakdown with compare_to)', async () => {
    const { country, month } = await target(['device']);
    const [year, monthIndex] = month.split('-').map(Number);
    const next = new Date(Date.UTC(year ?? 0, monthIndex ?? 0, 1)).toISOString().slice(0, 7);
    const out = await answer<QueryEngagementOutput>(vp, 'query_engagement', {
      metrics: ['views'],
      time_range: next,
      compare_to: 'previous_period',
      geo: country,
      group_by: ['device'],
      limit: 500,
    });
    expect(out.comparison).toMatchObject({ from: `${month}-01` });
    expect(out.comparison_totals?.views).not.toBeNull();
    // What the answer shows of the baseline month: the devices whose previous value it prints.
    const shown = out.rows.filter((row) => row.views_previous !== null).map((row) => [row.device]);
    const where = `tenant_id = 'aurora' AND country_code = '${country}' AND event_date BETWEEN '${out.comparison?.from}' AND '${out.comparison?.to}'`;
    await expectWithheldTogetherReachK(where, ['device'], shown);
  });
});

describe('differencing list filters', () => {
  it('a country with too few viewers of its own does not change an engagement answer', async () => {
    const [row] = await sql(`SELECT content_id, toString(toStartOfMonth(event_date)) AS month, country_code
      FROM viewing_events WHERE tenant_id = 'aurora' AND country_code != 'US'
        AND (content_id, toStartOfMonth(event_date)) IN (SELECT content_id, toStartOfMonth(event_date) FROM viewing_events
          WHERE tenant_id = 'aurora' AND country_code = 'US' GROUP BY 1, 2 HAVING uniqExact(user_id) >= 10)
      GROUP BY content_id, month, country_code HAVING uniqExact(user_id) BETWEEN 1 AND 2
      ORDER BY content_id, month, country_code LIMIT 1`);
    const base = { metrics: ['views', 'watch_minutes', 'unique_viewers'], content_id: row?.content_id };
    const time_range = String(row?.month).slice(0, 7);
    const both = await answer<QueryEngagementOutput>(vp, 'query_engagement', {
      ...base,
      time_range,
      geo: [row?.country_code, 'US'],
    });
    const alone = await answer<QueryEngagementOutput>(vp, 'query_engagement', {
      ...base,
      time_range,
      geo: 'US',
    });
    expect(both.totals).toEqual(alone.totals);
    expect(both.privacy.left_out).toEqual([{ argument: 'geo', value: row?.country_code }]);
    expect(both.filters.find((filter) => filter.argument === 'geo')).toEqual({
      argument: 'geo',
      dimension: 'country',
      values: ['US'],
    });
    expect(both.summary).toContain(`Left out of the filters for privacy`);
  });

  it('a country with 3 converted subscribers does not change a campaign comparison', async () => {
    const [row] = await sql(`SELECT country_code FROM campaign_exposures WHERE tenant_id = 'aurora'
      AND campaign_id = 'aur-c-winter-25' AND exposure_group = 'treatment' AND country_code != 'BR'
      GROUP BY country_code HAVING sum(converted) BETWEEN 1 AND 4 ORDER BY country_code LIMIT 1`);
    const args = { campaign_a: 'aur-c-spring-26', campaign_b: 'aur-c-winter-25' };
    const both = await answer<CompareCampaignsOutput>(vp, 'compare_campaigns', {
      ...args,
      country: [row?.country_code, 'BR'],
    });
    const alone = await answer<CompareCampaignsOutput>(vp, 'compare_campaigns', { ...args, country: 'BR' });
    expect(both.campaigns).toEqual(alone.campaigns);
    expect(both.tests).toEqual(alone.tests);
    expect(both.privacy.left_out).toEqual([{ argument: 'country', value: row?.country_code }]);
  });

  it('a value kept in a list adds none or at least 5 viewers to every row shown', async () => {
    // A country of 5+ viewers over the last 28 days of data, of whom only one to four watched on some device.
    const [row] = await sql(`SELECT country_code FROM viewing_events WHERE tenant_id = 'aurora'
      AND event_date BETWEEN '2026-10-04' AND '2026-10-31' AND country_code != 'US'
      GROUP BY country_code HAVING uniqExact(user_id) >= 10
        AND country_code IN (SELECT country_code FROM viewing_events WHERE tenant_id = 'aurora'
          AND event_date BETWEEN '2026-10-04' AND '2026-10-31' GROUP BY country_code, device
          HAVING uniqExact(user_id) BETWEEN 1 AND 4)
      ORDER BY country_code LIMIT 1`);
    const args = { metrics: ['unique_viewers', 'views'], group_by: ['device'], time_range: 'last_28_days' };
    const both = await answer<QueryEngagementOutput>(vp, 'query_engagement', {
      ...args,
      geo: [row?.country_code, 'US'],
    });
    const alone = await answer<QueryEngagementOutput>(vp, 'query_engagement', { ...args, geo: 'US' });
    expect(both.privacy.left_out).toEqual([]);
    const other = new Map(alone.rows.map((shown) => [shown.device, shown]));
    let compared = 0;
    for (const shown of both.rows) {
      const without = other.get(shown.device);
      if (without === undefined) continue;
      compared++;
      const added = Number(shown.unique_viewers) - Number(without.unique_viewers);
      expect(added === 0 || added >= K, `${row?.country_code} adds ${added} viewers on ${shown.device}`).toBe(
        true,
      );
    }
    expect(compared).toBeGreaterThan(0);
    expect(both.privacy.suppressed_groups).toBeGreaterThan(0);
  });

  it('a value kept in a list adds none or at least 5 people to every run of the aligned table', async () => {
    // Countries that add one to four people to the launch day of Spring Binge's treatment arm.
    const countries = await sql(`SELECT e.country_code AS country_code FROM campaign_exposures AS e
      INNER JOIN campaigns AS c ON c.tenant_id = e.tenant_id AND c.campaign_id = e.campaign_id
      WHERE e.tenant_id = 'aurora' AND e.campaign_id = 'aur-c-spring-26' AND e.exposure_group = 'treatment'
        AND e.exposure_date = c.start_date AND e.country_code != 'US'
      GROUP BY country_code HAVING count() BETWEEN 1 AND 4 ORDER BY country_code LIMIT 6`);
    expect(countries.length).toBeGreaterThan(2);
    const args = { campaign_a: 'aur-c-spring-26', campaign_b: 'aur-c-winter-25', limit: 400 };
    const alone = await answer<CompareCampaignsOutput>(vp, 'compare_campaigns', { ...args, country: 'US' });
    const without = new Map(alone.aligned.map((aligned) => [aligned.days_since_launch, aligned]));
    for (const { country_code: country } of countries) {
      const both = await answer<CompareCampaignsOutput>(vp, 'compare_campaigns', {
        ...args,
        country: [country, 'US'],
      });
      for (const column of ['a_reach', 'b_reach'] as const) {
        let previous = 0;
        for (const aligned of both.aligned) {
          const other = without.get(aligned.days_since_launch);
          if (other === undefined || aligned[column] === null || other[column] === null) continue;
          const added = Number(aligned[column]) - Number(other[column]);
          const step = added - previous;
          expect(
            step === 0 || step >= K,
            `${country} ${column} day ${aligned.days_since_launch}: ${step}`,
          ).toBe(true);
          previous = added;
        }
      }
    }
  });

  it.each([
    ['device', ['iOS', 'TV'], 'country', 'country_code'],
    ['content_id', ['aur-0263', 'aur-0313'], 'device', 'device'],
  ])(
    'a %s kept in a list adds none or at least 5 viewers to every group shown, in distinct counts (%j)',
    async (argument, values, groupBy, column) => {
      const dimension = argument === 'device' ? 'device' : 'content_id';
      // Some group where one to four viewers of the list have the first value only: the target.
      const [target] = await sql(`SELECT ${column} AS g FROM (
        SELECT ${column}, user_id, groupUniqArray(${dimension}) AS had FROM viewing_events
        WHERE tenant_id = 'aurora' AND event_date BETWEEN '2026-10-04' AND '2026-10-31'
          AND ${dimension} IN (${quoted(values)})
        GROUP BY ${column}, user_id)
      GROUP BY g HAVING countIf(had = ['${values[0]}']) BETWEEN 1 AND 4 ORDER BY g LIMIT 1`);
      expect(target, 'a group with a small marginal').toBeDefined();
      const args = { metrics: ['unique_viewers'], group_by: [groupBy], time_range: 'last_28_days' };
      const both = await answer<QueryEngagementOutput>(vp, 'query_engagement', {
        ...args,
        [argument]: values,
      });
      const alone = await answer<QueryEngagementOutput>(vp, 'query_engagement', {
        ...args,
        [argument]: values.slice(1),
      });
      const other = new Map(alone.rows.map((row) => [row[groupBy], Number(row.unique_viewers)]));
      for (const row of both.rows) {
        const without = other.get(row[groupBy]);
        if (without === undefined) continue;
        const added = Number(row.unique_viewers) - without;
        expect(added === 0 || added >= K, `${values[0]} adds ${added} viewers to ${row[groupBy]}`).toBe(true);
      }
      // The value stays in the answer (its own viewers are enough); the groups it would give away are withheld.
      expect(both.privacy.left_out).toEqual([]);
      const shown = (out: QueryEngagementOutput) => out.rows.some((row) => row[groupBy] === target?.g);
      expect(shown(both) && shown(alone), `${target?.g} is withheld in one of the answers`).toBe(false);
    },
  );

  it('two lists do not give away the pair of values they cross in (four answers, inclusion-exclusion)', async () => {
    // A country and a device whose crossing has one to four viewers, each large on its own in the lists.
    const [pair] = await sql(`WITH cells AS (SELECT country_code AS c, device AS d, uniqExact(user_id) AS v
        FROM viewing_events WHERE tenant_id = 'aurora' AND event_date BETWEEN '2026-10-01' AND '2026-10-31'
        GROUP BY c, d)
      SELECT a.c AS country, a.d AS device FROM cells AS a
        INNER JOIN cells AS tv ON tv.c = a.c AND tv.d = 'TV'
        INNER JOIN cells AS us ON us.c = 'US' AND us.d = a.d
      WHERE a.v BETWEEN 1 AND 4 AND a.c != 'US' AND a.d != 'TV' AND tv.v >= 10 AND us.v >= 10
      ORDER BY a.c, a.d LIMIT 1`);
    expect(pair, 'a small crossing').toBeDefined();
    const country = String(pair?.country);
    const device = String(pair?.device);
    const ask = (geo: string[], devices: string[]) =>
      answer<QueryEngagementOutput>(vp, 'query_engagement', {
        metrics: ['views', 'watch_minutes'],
        time_range: '2026-10',
        geo,
        device: devices,
      });
    const both = await ask([country, 'US'], [device, 'TV']);
    const withoutCountry = await ask(['US'], [device, 'TV']);
    const withoutDevice = await ask([country, 'US'], ['TV']);
    // One of the pair is left out, and the answer is exactly the one without it.
    expect(both.privacy.left_out.length).toBe(1);
    const [left] = both.privacy.left_out;
    const same = left?.argument === 'geo' ? withoutCountry : withoutDevice;
    expect(left?.value).toBe(left?.argument === 'geo' ? country : device);
    expect(both.totals).toEqual(same.totals);
  });

  it('three lists do not give away the crossing of their values (inclusion-exclusion)', async () => {
    // A country, device and plan whose crossing has one to four viewers, while each pair of them (over the
    // other list's two values) has five or more: no single list, nor any pair of lists, sees it.
    const [cell] =
      await sql(`WITH cells AS (SELECT country_code AS c, device AS d, plan AS p, uniqExact(user_id) AS v,
          groupUniqArray(user_id) AS who
        FROM viewing_events WHERE tenant_id = 'aurora' AND event_date BETWEEN '2026-07-01' AND '2026-09-30'
        GROUP BY c, d, p)
      SELECT a.c AS country, a.d AS device, a.p AS plan FROM cells AS a
        INNER JOIN cells AS b ON b.c = a.c AND b.d = a.d AND b.p = 'standard'
        INNER JOIN cells AS e ON e.c = a.c AND e.d = 'Android' AND e.p = a.p
        INNER JOIN cells AS f ON f.c = 'US' AND f.d = a.d AND f.p = a.p
      WHERE a.v BETWEEN 1 AND 4 AND a.c != 'US' AND a.d != 'Android' AND a.p != 'standard'
        AND b.v >= 5 AND e.v >= 5 AND f.v >= 5
      ORDER BY a.c, a.d, a.p LIMIT 1`);
    expect(cell, 'a small crossing of three lists').toBeDefined();
    const lists = {
      geo: [String(cell?.country), 'US'],
      device: [String(cell?.device), 'Android'],
      plan: [String(cell?.plan), 'standard'],
    };
    const ask = (args: Record<string, string[]>) =>
      answer<QueryEngagementOutput>(vp, 'query_engagement', {
        metrics: ['views', 'watch_minutes'],
        time_range: '2026-Q3',
        ...args,
      });
    const all = await ask(lists);
    expect(all.privacy.left_out.length).toBe(1);
    const [left] = all.privacy.left_out;
    const argument = String(left?.argument) as keyof typeof lists;
    expect(left?.value).toBe(lists[argument][0]);
    const without = await ask({ ...lists, [argument]: lists[argument].slice(1) });
    expect(all.totals).toEqual(without.totals);
  });

  it('a title whose viewers mostly watched another listed title does not change the viewer count', async () => {
    // Title A has 5 to 9 viewers, of whom only one to four did not also watch title B.
    const [pair] = await sql(`WITH v AS (SELECT DISTINCT content_id, user_id FROM viewing_events
        WHERE tenant_id = 'aurora' AND event_date BETWEEN '2026-10-04' AND '2026-10-31')
      SELECT a.content_id AS a, b.content_id AS b FROM
        (SELECT content_id, groupArray(user_id) AS users FROM v GROUP BY content_id HAVING length(users) BETWEEN 5 AND 9) AS a
        CROSS JOIN (SELECT content_id, groupArray(user_id) AS users FROM v GROUP BY content_id HAVING length(users) >= 10) AS b
      WHERE length(arrayFilter((user) -> NOT has(b.users, user), a.users)) BETWEEN 1 AND 4
      ORDER BY a, b LIMIT 1`);
    expect(pair).toBeDefined();
    const args = { metrics: ['unique_viewers'], time_range: 'last_28_days' };
    const both = await answer<QueryEngagementOutput>(vp, 'query_engagement', {
      ...args,
      content_id: [pair?.a, pair?.b],
    });
    const alone = await answer<QueryEngagementOutput>(vp, 'query_engagement', {
      ...args,
      content_id: pair?.b,
    });
    expect(both.totals).toEqual(alone.totals);
    expect(both.privacy.left_out).toEqual([{ argument: 'content_id', value: pair?.a }]);
  });

  it('a list whose every value is too small is refused, never answered unfiltered', async () => {
    const tiny =
      await sql(`SELECT country_code FROM viewing_events WHERE tenant_id = 'aurora' AND content_id = 'aur-0237'
      AND event_date BETWEEN '2026-08-01' AND '2026-08-31' GROUP BY country_code HAVING uniqExact(user_id) < ${K}
      ORDER BY country_code LIMIT 2`);
    expect(tiny).toHaveLength(2);
    const text = await toolErrorText(vp, {
      content_id: 'aur-0237',
      time_range: '2026-08',
      geo: tiny.map((row) => row.country_code),
    });
    expect(text).toMatch(/^Every value of geo describes too few people in this selection/);
  });
});

describe('the aligned table of compare_campaigns', () => {
  it('shows no lift of a holdout too small to show', async () => {
    const [row] =
      await sql(`SELECT campaign_id, country_code FROM campaign_exposures WHERE tenant_id = 'aurora'
      GROUP BY campaign_id, country_code HAVING countIf(exposure_group = 'holdout') BETWEEN 1 AND ${K - 1}
      ORDER BY count() DESC, campaign_id, country_code LIMIT 1`);
    expect(row).toBeDefined();
    const out = await answer<CompareCampaignsOutput>(vp, 'compare_campaigns', {
      campaign_a: row?.campaign_id,
      campaign_b: row?.campaign_id === 'aur-c-spring-26' ? 'aur-c-winter-25' : 'aur-c-spring-26',
      country: row?.country_code,
      limit: 400,
    });
    expect(out.warnings.join('\n')).toMatch(/A \("[^"]+"\): its holdout is too small to show/);
    expect(out.campaigns[0]?.holdout).toBeNull();
    expect(out.campaigns[0]?.split).toBeNull();
    expect(out.aligned.length).toBeGreaterThan(0);
    for (const aligned of out.aligned) expect(aligned.a_lift).toBeNull();
  });
});

describe('hidden dimensions', () => {
  it('cannot be recovered through an attribute that singles out a title', async () => {
    const out = await answer<QueryEngagementOutput>(bi, 'query_engagement', {
      metrics: ['views'],
      time_range: '2026-Q3',
      group_by: ['release_date'],
      limit: 500,
    });
    const titles =
      await sql(`SELECT toString(c.release_date) AS release_date, uniqExact(v.content_id) AS titles
      FROM viewing_events AS v INNER JOIN content AS c ON c.tenant_id = v.tenant_id AND c.content_id = v.content_id
      WHERE v.tenant_id = 'aurora' AND v.event_date BETWEEN '2026-07-01' AND '2026-09-30' GROUP BY release_date`);
    const spans = new Map(titles.map((row) => [String(row.release_date), Number(row.titles)]));
    expect([...spans.values()].some((count) => count < K)).toBe(true);
    for (const row of out.rows) expect(spans.get(String(row.release_date))).toBeGreaterThanOrEqual(K);
    const single = [...spans.values()].filter((count) => count < K).length;
    expect(out.privacy.suppressed_groups).toBeGreaterThanOrEqual(single);
  });

  it('are no lookup oracle: find_content is not offered to a policy hiding titles', async () => {
    const { tools } = await bi.listTools();
    expect(tools.map((tool) => tool.name)).not.toContain('find_content');
    await expect(bi.callTool({ name: 'find_content', arguments: { query: 'Harbor' } })).rejects.toThrow(
      /Unknown tool "find_content"/,
    );
  });
});

describe('dates of single views', () => {
  it('an answer dates what the data covers, not a small selection’s first and last view', async () => {
    // A title watched in a country by 5 to 9 people in 2026, the first of them after New Year's Day.
    const [row] = await sql(`SELECT content_id, country_code, toString(min(event_date)) AS first
      FROM viewing_events WHERE tenant_id = 'aurora' AND event_date >= '2026-01-01'
      GROUP BY content_id, country_code HAVING uniqExact(user_id) BETWEEN 5 AND 9 AND min(event_date) > '2026-01-15'
      ORDER BY content_id, country_code LIMIT 1`);
    const out = await answer<QueryEngagementOutput>(vp, 'query_engagement', {
      time_range: '2026',
      content_id: row?.content_id,
      geo: row?.country_code,
    });
    expect(out.totals.unique_viewers).not.toBeNull();
    expect(out.period.first_day_with_data).toBe('2026-01-01');
    expect(out.period.last_day_with_data).toBe('2026-10-31');
    expect(JSON.stringify(out)).not.toContain(String(row?.first));
  });
});

describe('warehouse text in structured content', () => {
  it('is neutralised in every string, not only in the summary', async () => {
    const result = await callTool(
      vp,
      {
        metric: 'views',
        time_range: { from: '2025-11-01', to: '2026-10-31' },
        content_id: Object.keys(PLANTED_TITLES),
        dimensions: ['title'],
      },
      'explain_change',
    );
    const everything = JSON.stringify(result);
    expect((result.structuredContent as ExplainChangeOutput).breakdowns[0]?.contributors.length).toBe(3);
    expect(everything).not.toMatch(/ignore all previous instructions/i);
    expect(everything).not.toContain('makers@aurora-studios.example');
  });
});

describe('several roles', () => {
  it('get the most restrictive combination of their policies', async () => {
    expect(await toolErrorText(mixed, { group_by: ['title'] })).toMatch(/Unknown dimension "title"/);
    const out = await answer<QueryEngagementOutput>(mixed, 'query_engagement', {
      metrics: ['views'],
      time_range: '2026',
      group_by: ['country'],
    });
    expect(out.rows.map((row) => row.country).sort()).toEqual(['AR', 'BR', 'CL', 'CO', 'MX', 'PE']);
  });
});
