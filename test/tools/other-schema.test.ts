import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpServer } from '../../src/server/serve-http.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { PODCAST_ZONE, seedPodcast } from '../fixtures/podcast-warehouse.js';
import {
  callTool,
  connectHttp,
  type ExplainChangeOutput,
  type ForecastSubsOutput,
  type LookupOutput,
  query,
  ROOT,
  startHttp,
  tempWarehouse,
} from '../helpers.js';

// The oracles below are hand-written SQL over whole calendar days in the layer's zone (Berlin), never the
// column's zone (New York) nor UTC: `toDate(started_at, 'Europe/Berlin')`.
const LAYER = join(ROOT, 'test/fixtures/podcast-layer');
const DAY = `toDate(started_at, '${PODCAST_ZONE}')`;
let warehouse: Warehouse;
let removeDir: () => Promise<void>;
let server: HttpServer;
let client: Client;

const hand = (sql: string) => warehouse.admin().query(sql);

beforeAll(async () => {
  ({ warehouse, remove: removeDir } = await tempWarehouse('podcast'));
  await seedPodcast(warehouse.admin());
  server = await startHttp(warehouse, 'echo', LAYER);
  client = await connectHttp(server.url);
});

afterAll(async () => {
  await client?.close();
  await server?.close();
  await removeDir?.();
});

describe('a second warehouse: own database, DateTime64 in another zone, a shared catalogue', () => {
  it('totals a month over whole Berlin days, which a date comparison on the timestamp would not', async () => {
    const out = await query(client, {
      time_range: '2025-03',
      metrics: ['sessions', 'listen_hours', 'listeners'],
    });
    const [truth] =
      await hand(`SELECT count() AS sessions, sum(seconds) / 3600 AS hours, uniqExact(listener) AS listeners
      FROM audio.plays WHERE org = 'echo' AND ${DAY} BETWEEN '2025-03-01' AND '2025-03-31'`);
    // What the old compiled filter kept (midnight of the last day only): the bug this guards against.
    const [naive] = await hand(`SELECT count() AS sessions FROM audio.plays
      WHERE org = 'echo' AND started_at BETWEEN toDate('2025-03-01') AND toDate('2025-03-31')`);
    expect(out.totals.sessions).toBe(Number(truth?.sessions));
    expect(out.totals.listeners).toBe(Number(truth?.listeners));
    expect(Math.abs((out.totals.listen_hours ?? 0) - Number(truth?.hours))).toBeLessThanOrEqual(0.005);
    expect(Number(naive?.sessions)).not.toBe(Number(truth?.sessions));
    expect(out.period).toMatchObject({
      from: '2025-03-01',
      to: '2025-03-31',
      first_day_with_data: '2025-03-01',
      last_day_with_data: '2025-03-31',
    });
  });

  it('buckets days, weeks and months in Berlin, including across the change to summer time', async () => {
    const days = await query(client, {
      time_range: { from: '2025-03-28', to: '2025-04-01' },
      metrics: ['sessions'],
      grain: 'day',
    });
    const byDay = await hand(`SELECT toString(${DAY}) AS day, count() AS sessions FROM audio.plays
      WHERE org = 'echo' AND ${DAY} BETWEEN '2025-03-28' AND '2025-04-01' GROUP BY day ORDER BY day`);
    expect(days.rows.map((row) => [row.day, row.sessions])).toEqual(
      byDay.map((row) => [row.day, Number(row.sessions)]),
    );
    expect(byDay.map((row) => row.day)).toEqual([
      '2025-03-28',
      '2025-03-29',
      '2025-03-30',
      '2025-03-31',
      '2025-04-01',
    ]);
    for (const [grain, fn] of [
      ['week', 'toMonday'],
      ['month', 'toStartOfMonth'],
    ] as const) {
      const out = await query(client, {
        time_range: { from: '2025-02-03', to: '2025-04-27' },
        metrics: ['sessions'],
        grain,
      });
      const truth =
        await hand(`SELECT toString(${fn}(started_at, '${PODCAST_ZONE}')) AS day, count() AS sessions
        FROM audio.plays WHERE org = 'echo' AND ${DAY} BETWEEN '2025-02-03' AND '2025-04-27' GROUP BY day ORDER BY day`);
      expect(out.rows.map((row) => [row.day, row.sessions])).toEqual(
        truth.map((row) => [row.day, Number(row.sessions)]),
      );
    }
  });

  it('anchors relative periods at the last whole Berlin day of data, and says dates', async () => {
    const [last] = await hand(`SELECT toString(toDate(max(started_at), '${PODCAST_ZONE}')) AS day,
      formatDateTime(max(started_at), '%H:%i', '${PODCAST_ZONE}') AS until FROM audio.plays WHERE org = 'echo'`);
    // The data stops early in its last Berlin day: that day is not whole, so the week ends the day before.
    expect(last).toEqual({ day: '2025-05-21', until: '02:50' });
    const out = await query(client, { time_range: 'last_7_days', metrics: ['sessions'] });
    expect(out.period).toMatchObject({
      from: '2025-05-14',
      to: '2025-05-20',
      last_day_with_data: '2025-05-20',
    });
    const [week] = await hand(`SELECT count() AS sessions FROM audio.plays WHERE org = 'echo'
      AND ${DAY} BETWEEN '2025-05-14' AND '2025-05-20'`);
    expect(out.totals.sessions).toBe(Number(week?.sessions));
    // Periods are days, never times of day (the last line says when the data was loaded, not what it covers).
    const [periodLines, loaded] = [out.summary.split('\n').slice(0, -1), out.summary.split('\n').at(-1)];
    expect(periodLines.join('\n')).not.toMatch(/\d{2}:\d{2}/);
    expect(loaded).toMatch(/^Data last loaded /);
  });

  it('joins the shared catalogue to the tenant rows only: each organisation sees its own plays', async () => {
    const out = await query(client, {
      time_range: '2025-04',
      metrics: ['sessions'],
      group_by: ['category'],
    });
    const truth = await hand(`SELECT e.category AS category, count() AS sessions FROM audio.plays AS p
      LEFT JOIN audio.episodes AS e ON e.episode_id = p.episode_id
      WHERE p.org = 'echo' AND toDate(p.started_at, '${PODCAST_ZONE}') BETWEEN '2025-04-01' AND '2025-04-30'
      GROUP BY category ORDER BY category`);
    expect(Object.fromEntries(out.rows.map((row) => [row.category, row.sessions]))).toEqual(
      Object.fromEntries(truth.map((row) => [row.category, Number(row.sessions)])),
    );
    const other = await startHttp(warehouse, 'wavelength', LAYER);
    const otherClient = await connectHttp(other.url);
    try {
      const theirs = await query(otherClient, { time_range: '2025-04', metrics: ['sessions'] });
      const [count] = await hand(`SELECT count() AS sessions FROM audio.plays
        WHERE org = 'wavelength' AND ${DAY} BETWEEN '2025-04-01' AND '2025-04-30'`);
      expect(theirs.totals.sessions).toBe(Number(count?.sessions));
    } finally {
      await otherClient.close();
      await other.close();
    }
  });

  it('explains a change between two Berlin months with the same figures as hand-written SQL', async () => {
    const result = await callTool(
      client,
      { time_range: '2025-04', compare_to: 'previous_period', metric: 'listen_hours' },
      'explain_change',
    );
    expect(result.isError).not.toBe(true);
    const out = result.structuredContent as ExplainChangeOutput;
    const [truth] =
      await hand(`SELECT sumIf(seconds, ${DAY} BETWEEN '2025-04-01' AND '2025-04-30') / 3600 AS current,
      sumIf(seconds, ${DAY} BETWEEN '2025-03-01' AND '2025-03-31') / 3600 AS baseline
      FROM audio.plays WHERE org = 'echo'`);
    expect(out.baseline).toMatchObject({ from: '2025-03-01', to: '2025-03-31' });
    expect(Math.abs((out.current_value ?? 0) - Number(truth?.current))).toBeLessThanOrEqual(0.005);
    expect(Math.abs((out.baseline_value ?? 0) - Number(truth?.baseline))).toBeLessThanOrEqual(0.005);
    expect(out.breakdowns.map((breakdown) => breakdown.dimension)).toEqual(['market', 'category']);
  });

  it('looks up the shared catalogue, which needs no time dimension and takes no period', async () => {
    const tools = await client.listTools();
    const find = tools.tools.find((tool) => tool.name === 'find_content');
    expect(Object.keys(find?.inputSchema.properties ?? {})).not.toContain('time_range');
    const result = await callTool(client, { query: 'night harbor' }, 'find_content');
    expect(result.isError).not.toBe(true);
    const out = result.structuredContent as LookupOutput;
    const truth = await hand(
      `SELECT episode_id FROM audio.episodes WHERE positionCaseInsensitive(title, 'night harbor') > 0 ORDER BY episode_id`,
    );
    expect(out.rows.map((row) => row.content_id).sort()).toEqual(
      truth.map((row) => String(row.episode_id)).slice(0, out.page.limit),
    );
    const read = await client.readResource({ uri: 'marquee://episode/ep-5' });
    const text = (read.contents[0] as { text?: string } | undefined)?.text ?? '';
    expect(JSON.parse(text)).toMatchObject({
      episode_id: 'ep-5',
      title: 'Quiet Signal 5',
      category: 'True Crime',
    });
  });

  it('forecasts from a Date32 day column, starting at the last day of members', async () => {
    const result = await callTool(client, { horizon: 4, unit: 'weeks' }, 'forecast_subs');
    expect(result.isError, result.content[0]?.text).not.toBe(true);
    const out = result.structuredContent as ForecastSubsOutput;
    const [last] = await hand(`SELECT toString(day) AS day, members FROM audio.members_daily
      WHERE org = 'echo' ORDER BY day DESC LIMIT 1`);
    expect(out.current).toEqual({ date: last?.day, value: Number(last?.members) });
  });

  it('refuses a period the warehouse could not hold instead of clamping it', async () => {
    const result = await callTool(client, { time_range: { from: '1880-01-01', to: '1890-12-31' } });
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(
      /time_range 1880-01-01 to 1890-12-31 is outside the days a warehouse can hold \(1900-01-01 to 2299-12-30\)/,
    );
    // The day after 2299-12-31 is beyond any timestamp, so a range ending there could never be counted whole.
    const last = await callTool(client, { time_range: { from: '2299-12-30', to: '2299-12-31' } });
    expect(last.content[0]?.text).toMatch(/^time_range 2299-12-30 to 2299-12-31 is outside the days/);
    const before = await callTool(client, { time_range: '1900-01', compare_to: 'year_ago' });
    expect(before.isError).toBe(true);
    expect(before.content[0]?.text).toMatch(/^compare_to 1899-01-01 to 1899-01-31 is outside the days/);
  });

  it('reports its own names in errors', async () => {
    const result = await callTool(client, { metrics: ['watch_minutes'] });
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(
      /Unknown metric "watch_minutes"; allowed: sessions, listen_hours, listeners/,
    );
  });
});
