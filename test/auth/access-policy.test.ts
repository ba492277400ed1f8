import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { AURORA_ROLES, callers, callTool, query, suppressionOracle, toolErrorText } from '../helpers.js';

let warehouse: Warehouse;
let vp: Client;
let latam: Client;
let bi: Client;
let close: () => Promise<void>;

beforeAll(async () => {
  const setup = await callers(AURORA_ROLES);
  ({ warehouse, close } = setup);
  ({ vp, latam, bi } = setup.clients);
});

afterAll(async () => {
  await close?.();
});

const sql = (text: string) => warehouse.admin().query(text);
const LATAM_COUNTRIES = `(SELECT country_code FROM markets WHERE tenant_id = 'aurora' AND region = 'LATAM')`;

describe('a LATAM analyst', () => {
  it('sees LATAM rows only, whatever it asks', async () => {
    const out = await query(latam, { metrics: ['views'], time_range: '2026-Q3', group_by: ['region'] });
    expect(out.rows.map((row) => row.region)).toEqual(['LATAM']);
    const [hand] = await sql(`SELECT count() AS views FROM viewing_events WHERE tenant_id = 'aurora'
      AND event_date BETWEEN '2026-07-01' AND '2026-09-30' AND country_code IN ${LATAM_COUNTRIES}`);
    expect(out.totals.views).toBe(Number(hand?.views));
    const countries = await query(latam, { metrics: ['views'], time_range: '2026', group_by: ['country'] });
    expect(countries.rows.map((row) => row.country).sort()).toEqual(['AR', 'BR', 'CL', 'CO', 'MX', 'PE']);
  });

  it('cannot name another region or country, and is not told they exist', async () => {
    for (const geo of ['US', 'NA', 'EMEA', 'de']) {
      const text = await toolErrorText(latam, { time_range: '2026-Q3', geo });
      expect(text).toMatch(/^Unknown geo value/);
      for (const hidden of ['US', 'DE', 'GB', 'NA', 'EMEA', 'APAC']) {
        if (hidden.toLowerCase() !== geo.toLowerCase()) expect(text).not.toContain(hidden);
      }
    }
  });

  it('reads another caller’s cursor under its own policy', async () => {
    const wide = await query(vp, { metrics: ['views'], time_range: '2026', group_by: ['country'], limit: 3 });
    expect(wide.page.next_cursor).not.toBeNull();
    const resumed = await query(latam, { cursor: wide.page.next_cursor });
    for (const row of resumed.rows) expect(['AR', 'BR', 'CL', 'CO', 'MX', 'PE']).toContain(row.country);
  });
});

describe('hidden names', () => {
  it('are absent from the BI service’s tool schema and unknown to its calls', async () => {
    const { tools } = await bi.listTools();
    const schema = JSON.stringify(tools[0]?.inputSchema);
    expect(schema).not.toContain('content_id');
    expect(schema).not.toMatch(/[;:] title \(/);
    expect(JSON.stringify((await vp.listTools()).tools[0]?.inputSchema)).toMatch(/[;:] title \(/);
    expect(await toolErrorText(bi, { group_by: ['title'] })).toMatch(/Unknown dimension "title"/);
    const text = await toolErrorText(bi, { content_id: 'aur-0001' });
    expect(text).toMatch(/content_id/);
    const out = await query(bi, { time_range: '2026-Q3', group_by: ['genre'] });
    expect(out.rows.length).toBeGreaterThan(3);
    // Hidden dimensions are not used to explain changes either.
    const compared = await query(bi, {
      time_range: '2026-Q3',
      compare_to: 'previous_period',
      group_by: ['genre'],
    });
    expect(compared.top_movers.length).toBeGreaterThan(0);
    for (const mover of compared.top_movers)
      expect(['genre', 'country', 'device']).toContain(mover.dimension);
  });
});

describe('the minimum group size', () => {
  it('withholds groups of fewer than 5 viewers and says how many', async () => {
    const args = {
      metrics: ['views', 'unique_viewers'],
      time_range: '2026-W33',
      group_by: ['content_id', 'device'],
      limit: 500,
    };
    const out = await query(vp, args);
    const groups = await sql(
      suppressionOracle({
        where: `tenant_id = 'aurora' AND event_date BETWEEN '2026-08-10' AND '2026-08-16'`,
        keys: { content_id: 'content_id', device: 'device' },
      }),
    );
    const small = groups.filter((row) => row.small).length;
    const withheld = groups.filter((row) => row.small || row.secondary).length;
    const shown = groups.filter((row) => !row.small && !row.secondary);
    expect(small).toBeGreaterThan(0);
    expect(out.privacy).toEqual({
      min_group_size: { k: 5, people: 'unique_viewers' },
      suppressed_groups: withheld,
      totals_suppressed: false,
      left_out: [],
    });
    expect(out.rows.length).toBe(shown.length);
    for (const row of out.rows) expect(Number(row.unique_viewers)).toBeGreaterThanOrEqual(5);
    expect(out.summary).toContain(
      `${withheld} group(s) are withheld for privacy: those with fewer than 5 unique_viewers`,
    );
  });

  it('withholds the totals of a selection that small', async () => {
    const [tiny] = await sql(`SELECT content_id, event_date FROM viewing_events WHERE tenant_id = 'aurora'
      GROUP BY content_id, event_date HAVING uniqExact(user_id) BETWEEN 1 AND 2 ORDER BY content_id, event_date LIMIT 1`);
    const day = String(tiny?.event_date);
    const result = await callTool(vp, {
      time_range: { from: day, to: day },
      content_id: String(tiny?.content_id),
    });
    const out = result.structuredContent as {
      totals: Record<string, unknown>;
      privacy: { totals_suppressed: boolean };
    };
    expect(out.privacy.totals_suppressed).toBe(true);
    expect(Object.values(out.totals).every((value) => value === null)).toBe(true);
    expect(result.content[0]?.text).toContain('Totals are withheld');
  });
});
