import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { AURORA_ROLES, callers, callTool, type ExplainChangeOutput, toolErrorText } from '../helpers.js';

let warehouse: Warehouse;
let vp: Client;
let latam: Client;
let bi: Client;
let close: () => Promise<void>;

/**
 * Noise is counted with viewers as the units (each one's views move together), so a planted change is beyond
 * it only with enough viewers: at the usual test scale (0.2 M events) the LATAM drop is within noise, as it
 * should be. This file seeds 2 M events.
 */
const SCALE = 2;

beforeAll(async () => {
  const setup = await callers(AURORA_ROLES, SCALE);
  ({ warehouse, close } = setup);
  ({ vp, latam, bi } = setup.clients);
});

afterAll(async () => {
  await close?.();
});

async function explain(client: Client, args: Record<string, unknown>): Promise<ExplainChangeOutput> {
  const result = await callTool(client, args, 'explain_change');
  if (result.isError === true) throw new Error(`tool error: ${result.content[0]?.text}`);
  return result.structuredContent as ExplainChangeOutput;
}

const sql = (text: string) => warehouse.admin().query(text);
const Q3 = `event_date BETWEEN '2026-07-01' AND '2026-09-30'`;
const Q2 = `event_date BETWEEN '2026-04-01' AND '2026-06-30'`;
const LATAM = `country_code IN (SELECT country_code FROM markets WHERE tenant_id = 'aurora' AND region = 'LATAM')`;

describe('the planted Q3 2026 LATAM drop', () => {
  it('is found, ranked first, and drilled into: Brazil on Android, whichever of the two leads', async () => {
    const out = await explain(vp, { time_range: '2026-Q3', geo: 'LATAM' });
    expect(out).toMatchObject({ metric: 'watch_minutes', method: 'additive', beyond_noise: true });
    expect(out.baseline).toMatchObject({ from: '2026-04-01', to: '2026-06-30' });
    // The drop is planted in one crossing (BR × Android): its country and its device each carry most of it.
    const planted = { country: 'BR', device: 'Android' } as const;
    const top = out.top_contributor;
    expect(top?.dimension === 'country' || top?.dimension === 'device').toBe(true);
    const lead = top?.dimension as keyof typeof planted;
    const other = lead === 'country' ? 'device' : 'country';
    expect(top).toMatchObject({ segment: planted[lead] });
    expect(top?.share).toBeGreaterThan(0.5);
    expect(out.drill_down).toMatchObject({ dimension: lead, segment: planted[lead] });
    const inner = out.drill_down?.breakdowns.find((b) => b.dimension === other);
    expect(inner?.contributors[0]).toMatchObject({ segment: planted[other], beyond_noise: true });
    expect(inner?.contributors[0]?.share).toBeGreaterThan(0.5);
    expect(out.summary).toContain(`Largest contributor: ${lead} "${planted[lead]}"`);
    expect(out.summary).toContain(
      `Within ${lead} "${planted[lead]}", the largest part is ${other} "${planted[other]}"`,
    );
  });

  it('judges each region against its change a year earlier: only LATAM’s Q3 is unusual', async () => {
    for (const region of ['LATAM', 'NA', 'EMEA', 'APAC']) {
      const out = await explain(vp, { time_range: '2026-Q3', geo: region });
      const [year] =
        await sql(`SELECT sumIf(watch_seconds, event_date BETWEEN '2025-07-01' AND '2025-09-30') AS c,
          sumIf(watch_seconds, event_date BETWEEN '2025-04-01' AND '2025-06-30') AS b FROM viewing_events
        WHERE tenant_id = 'aurora' AND country_code IN (SELECT country_code FROM markets
          WHERE tenant_id = 'aurora' AND region = '${region}')`);
      const growth = Number(year?.c) / Number(year?.b);
      expect(out.judged_against).toBe('last_year');
      expect(out.last_year?.period).toMatchObject({ from: '2025-07-01', to: '2025-09-30' });
      expect(out.last_year?.expected).toBeCloseTo((out.baseline_value ?? 0) * growth, 3);
      expect(out.beyond_noise, region).toBe(region === 'LATAM');
      expect(out.summary).toMatch(
        region === 'LATAM'
          ? /beyond the seasonal pattern and beyond noise/
          : /this is the usual seasonal change/,
      );
    }
  });

  it('counts noise with viewers as the units: the band is hand-written SQL over each viewer’s own minutes', async () => {
    const out = await explain(vp, { time_range: '2026-Q3', geo: 'LATAM' });
    // Compound Poisson over viewers: Var = Σ over viewers of (their minutes in the period)², per period.
    const [variance] =
      await sql(`SELECT sumIf(m * m, q = 3) AS current, sumIf(m * m, q = 2) AS baseline FROM (
        SELECT user_id, if(${Q3}, 3, 2) AS q, sum(watch_seconds) / 60 AS m FROM viewing_events
        WHERE tenant_id = 'aurora' AND ${LATAM} AND (${Q3} OR ${Q2}) GROUP BY user_id, q)`);
    const band = 1.959963984540054 * Math.sqrt(Number(variance?.current) + Number(variance?.baseline));
    expect(out.noise_band_95).toBeCloseTo(band, 3);
    // Views counted as independent would give a band several times narrower: the sum of squared views.
    const [rows] = await sql(`SELECT sum(watch_seconds * watch_seconds) / 3600 AS v FROM viewing_events
      WHERE tenant_id = 'aurora' AND ${LATAM} AND (${Q3} OR ${Q2})`);
    expect(band).toBeGreaterThan(2 * 1.959963984540054 * Math.sqrt(Number(rows?.v)));
  });

  it('splits the change exactly, as hand-written SQL does', async () => {
    const out = await explain(vp, { time_range: '2026-Q3', geo: 'LATAM', dimensions: ['country'], top: 20 });
    const hand =
      await sql(`SELECT country_code, sumIf(watch_seconds, ${Q3}) / 60 - sumIf(watch_seconds, ${Q2}) / 60 AS change
      FROM viewing_events WHERE tenant_id = 'aurora' AND ${LATAM} GROUP BY country_code`);
    const [total] =
      await sql(`SELECT sumIf(watch_seconds, ${Q3}) / 60 - sumIf(watch_seconds, ${Q2}) / 60 AS change
      FROM viewing_events WHERE tenant_id = 'aurora' AND ${LATAM}`);
    expect(out.change.absolute).toBeCloseTo(Number(total?.change), 6);
    const countries = out.breakdowns[0]?.contributors ?? [];
    expect(countries.length).toBe(hand.length);
    for (const row of hand) {
      expect(countries.find((c) => c.segment === row.country_code)?.change).toBeCloseTo(
        Number(row.change),
        6,
      );
    }
    expect(countries.reduce((sum, c) => sum + c.change, 0)).toBeCloseTo(Number(total?.change), 6);
    expect(out.breakdowns[0]?.listed_share).toBeCloseTo(1, 9);
  });
});

describe('ratio metrics', () => {
  it('separate mix and rate effects that add up to the change', async () => {
    const out = await explain(vp, {
      metric: 'completion_rate',
      time_range: '2026-Q3',
      geo: 'LATAM',
      dimensions: ['device'],
      top: 20,
    });
    expect(out.method).toBe('mix_rate');
    const [rates] = await sql(`SELECT countIf(completed = 1 AND ${Q3}) / countIf(${Q3}) AS current,
      countIf(completed = 1 AND ${Q2}) / countIf(${Q2}) AS baseline FROM viewing_events WHERE tenant_id = 'aurora' AND ${LATAM}`);
    expect(out.current_value).toBeCloseTo(Number(rates?.current), 12);
    expect(out.baseline_value).toBeCloseTo(Number(rates?.baseline), 12);
    const devices = out.breakdowns[0]?.contributors ?? [];
    expect(devices.length).toBe(6);
    for (const device of devices)
      expect((device.mix ?? 0) + (device.rate ?? 0)).toBeCloseTo(device.change, 12);
    const sum = devices.reduce((s, d) => s + d.change, 0);
    expect(sum).toBeCloseTo(Number(rates?.current) - Number(rates?.baseline), 12);
    // Android's own completion rate fell (the planted app bug): a negative rate effect beyond noise.
    const android = devices.find((d) => d.segment === 'Android');
    expect(android?.rate).toBeLessThan(0);
  });
});

describe('noise', () => {
  it('a change within noise is said to be, with no shares and no drill-down', async () => {
    // LATAM's completion rate barely moves between Q2 and Q3: the Android drop is offset by mix.
    const out = await explain(vp, { metric: 'completion_rate', time_range: '2026-Q3', geo: 'LATAM' });
    expect(Math.abs(out.change.absolute ?? 1)).toBeLessThan(out.noise_band_95 ?? 0);
    expect(out.beyond_noise).toBe(false);
    expect(out.drill_down).toBeNull();
    expect(out.summary).toContain('The change is within noise');
    expect(out.summary).not.toMatch(/of the change\)/);
  });
});

describe('policies', () => {
  it('a LATAM analyst explains LATAM only; the BI service never by title', async () => {
    const mine = await explain(latam, { time_range: '2026-Q3', dimensions: ['country'], top: 20 });
    expect(mine.breakdowns[0]?.contributors.map((c) => c.segment).sort()).toEqual([
      'AR',
      'BR',
      'CL',
      'CO',
      'MX',
      'PE',
    ]);
    const theirs = await explain(bi, { time_range: '2026-Q3' });
    expect(theirs.breakdowns.map((b) => b.dimension)).not.toContain('title');
    expect(
      await toolErrorText(bi, { time_range: '2026-Q3', dimensions: ['title'] }, 'explain_change'),
    ).toMatch(/Unknown dimension "title"/);
  });

  it('takes one baseline: explicit dates or compare_to, not both; and says when they are not like for like', async () => {
    expect(
      await toolErrorText(
        vp,
        { time_range: '2026-Q3', compare_to: 'year_ago', baseline: { from: '2026-06-01', to: '2026-06-30' } },
        'explain_change',
      ),
    ).toMatch(/^baseline: pass either baseline \(explicit dates\) or compare_to/);
    const out = await explain(vp, {
      time_range: '2026-Q3',
      baseline: { from: '2026-06-01', to: '2026-06-30' },
    });
    expect(out.warnings).toEqual([
      expect.stringMatching(/^Not like for like: the period has 92 days and the comparison 30\./),
    ]);
  });

  it('refuses days as the segments of a change, and names the call that shows when it changed', async () => {
    const text = await toolErrorText(vp, { time_range: '2026-Q3', dimensions: ['date'] }, 'explain_change');
    expect(text).toMatch(
      /^dimensions: "date" is a day, and a change is split across segments both periods share, not across days; to see when it changed, ask for the daily or weekly series with its comparison \(grain: "day" or "week", compare_to\)/,
    );
    // Other dates (a title's release date) are segments both periods share.
    const out = await explain(vp, { time_range: '2026-09', dimensions: ['release_date'], top: 3 });
    expect(out.breakdowns[0]?.dimension).toBe('release_date');
  });

  it('says so when every segment of a breakdown is withheld (a release date is one title)', async () => {
    const out = await explain(bi, { time_range: '2026-09', dimensions: ['release_date'], top: 20 });
    expect(out.breakdowns[0]?.contributors).toEqual([]);
    expect(out.summary).toContain('By release_date: every segment is withheld for privacy.');
  });
});

describe('arguments models get wrong', () => {
  it.each([
    [{ metric: 'watch_minuts' }, /Unknown metric "watch_minuts": did you mean "watch_minutes"\?/],
    [{ geo: 'Brazl' }, /Unknown geo value "Brazl"/],
    [{ geo: 'BRA' }, /Unknown geo value "BRA": did you mean "BR"\?/],
    [{ dimensions: ['countries'] }, /Unknown dimension "countries": did you mean "country"\?/],
    [
      { baseline: { from: '2026-06-30', to: '2026-04-01' } },
      /Invalid baseline: from "2026-06-30" is after to "2026-04-01"; swap them/,
    ],
    [
      { time_range: { from: '2026-09-30', to: '2026-07-01' } },
      /Invalid time_range: from "2026-09-30" is after to "2026-07-01"; swap them/,
    ],
  ])('%j', async (args, message) => {
    expect(await toolErrorText(vp, args, 'explain_change')).toMatch(message);
  });
});
