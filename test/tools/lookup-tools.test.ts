import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { callers, callTool, type LookupOutput, query, toolErrorText } from '../helpers.js';

let warehouse: Warehouse;
let aurora: Client;
let borealis: Client;
let latam: Client;
let close: () => Promise<void>;

beforeAll(async () => {
  const setup = await callers({
    aurora: { tenant: 'aurora' },
    borealis: { tenant: 'borealis' },
    latam: { tenant: 'aurora', roles: ['latam_analyst'] },
  });
  ({ warehouse, close } = setup);
  ({ aurora, borealis, latam } = setup.clients);
});

afterAll(async () => {
  await close?.();
});

async function lookup(client: Client, tool: string, args: Record<string, unknown>): Promise<LookupOutput> {
  const result = await callTool(client, args, tool);
  if (result.isError === true) throw new Error(`tool error: ${result.content[0]?.text}`);
  return result.structuredContent as LookupOutput;
}

describe('find_content', () => {
  it('finds titles by part of the name, tolerating case and typos', async () => {
    const out = await lookup(aurora, 'find_content', { query: 'ROSAS kitch' });
    expect(out.rows[0]).toMatchObject({
      content_id: 'aur-0002',
      title: "Rosa's Kitchen",
      content_type: 'movie',
    });
    const typo = await lookup(aurora, 'find_content', { query: 'harbr', limit: 50 });
    expect(typo.rows.length).toBeGreaterThan(3);
    for (const row of typo.rows) expect(String(row.title)).toMatch(/Harbor/);
    const none = await callTool(aurora, { query: 'zzqqxx' }, 'find_content');
    expect(none.content[0]?.text).toMatch(
      /^No title matches "zzqqxx"; try a shorter part of the name\.\nData last loaded \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\.$/,
    );
  });

  it('takes its next_cursor alone', async () => {
    const first = await lookup(aurora, 'find_content', { query: 'harbor', limit: 2 });
    expect(first.page.next_cursor).not.toBeNull();
    const second = await lookup(aurora, 'find_content', { cursor: first.page.next_cursor });
    expect(second.query).toBe('harbor');
    expect(second.page.offset).toBe(2);
    expect(second.rows.map((row) => row.content_id)).not.toContain(first.rows[0]?.content_id);
  });

  it('searches only the caller’s catalogue', async () => {
    const out = await lookup(borealis, 'find_content', { query: 'harbor', limit: 50 });
    expect(out.rows.length).toBeGreaterThan(0);
    for (const row of out.rows) expect(String(row.content_id)).toMatch(/^bor-/);
  });

  it('fails closed where an access policy cannot apply', async () => {
    const text = await toolErrorText(latam, { query: 'harbor' }, 'find_content');
    expect(text).toBe('Your access policy cannot be applied to content data');
  });
});

describe('saying what is missing', () => {
  it('a look-up says whether a result is named exactly what was asked', async () => {
    const exact = await lookup(aurora, 'find_content', { query: "rosa's kitchen" });
    expect(exact.exact_match).toBe(true);
    const near = await callTool(aurora, { query: 'harbr', limit: 3 }, 'find_content');
    expect((near.structuredContent as LookupOutput).exact_match).toBe(false);
    expect(near.content[0]?.text).toMatch(
      /^No title is named exactly "harbr"; the closest, titles matching "harbr", 1-3, best first: /,
    );
  });

  it('a name where an id belongs is refused, with the ids of the names like it', async () => {
    const [truth] = await warehouse
      .admin()
      .query(`SELECT content_id FROM content WHERE tenant_id = 'aurora' AND title = 'Rosa''s Kitchen'`);
    expect(await toolErrorText(aurora, { content_id: "Rosa's Kitchen" })).toMatch(
      new RegExp(
        `^Unknown content_id value "Rosa's Kitchen": did you mean "${truth?.content_id}" \\(Rosa's Kitchen\\)`,
      ),
    );
    expect(await toolErrorText(aurora, { content_id: 'AUR-0002' })).toMatch(
      /^Unknown content_id value "AUR-0002": did you mean "aur-0002" \(Rosa's Kitchen\)\?/,
    );
    expect(await toolErrorText(aurora, { content_id: ['aur-0002', 'aur-9999'] })).toMatch(
      /^Unknown content_id value "aur-9999": nothing has it as its content_id/,
    );
  });

  it('a country by its name, misspelled or not, is refused with its code', async () => {
    const [brazil] = await warehouse
      .admin()
      .query(`SELECT country_code FROM markets WHERE tenant_id = 'aurora' AND country_name = 'Brazil'`);
    for (const name of ['Brasil', 'brazil'])
      expect(await toolErrorText(aurora, { geo: name })).toMatch(
        new RegExp(`^Unknown geo value "${name}": did you mean "${brazil?.country_code}" \\(Brazil\\)\\?`),
      );
  });

  it('one metric or one dimension may come alone, not in a list', async () => {
    const alone = await query(aurora, { metrics: 'views', group_by: 'device', time_range: 'Q3 2026' });
    const listed = await query(aurora, { metrics: ['views'], group_by: ['device'], time_range: '2026-Q3' });
    expect(alone.rows).toEqual(listed.rows);
    expect(alone.period).toEqual(listed.period);
  });
});

describe('list_campaigns', () => {
  it('finds a campaign by a misspelled name', async () => {
    const out = await lookup(aurora, 'list_campaigns', { query: 'sprng binge' });
    expect(out.rows[0]).toMatchObject({
      campaign_id: 'aur-c-spring-26',
      name: 'Spring Binge 2026',
      channel: 'social',
    });
    expect(out.rows[0]?.spend).toBe(450_000);
  });

  it('pages through campaigns starting in a year, each once', async () => {
    const pages: LookupOutput[] = [
      await lookup(aurora, 'list_campaigns', { time_range: 2026, time_match: 'started', limit: 3 }),
    ];
    while (pages.at(-1)?.page.next_cursor)
      pages.push(await lookup(aurora, 'list_campaigns', { cursor: pages.at(-1)?.page.next_cursor }));
    const ids = pages.flatMap((page) => page.rows.map((row) => row.campaign_id));
    const hand = await warehouse
      .admin()
      .query(
        `SELECT campaign_id FROM campaigns WHERE tenant_id = 'aurora' AND start_date BETWEEN '2026-01-01' AND '2026-12-31'`,
      );
    expect(pages.length).toBeGreaterThan(1);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(hand.map((row) => row.campaign_id).sort());
    const cursor = pages[0]?.page.next_cursor;
    expect(await toolErrorText(aurora, { cursor, time_range: 2025 }, 'list_campaigns')).toMatch(
      /^The cursor belongs to a query with other arguments/,
    );
    const starts = pages.flatMap((page) => page.rows.map((row) => String(row.start_date)));
    expect(starts).toEqual([...starts].sort().reverse());
  });

  it('selects campaigns active in a period by default, and sums their spend over every page, in USD', async () => {
    const result = await callTool(aurora, { time_range: 2026, limit: 50 }, 'list_campaigns');
    const out = result.structuredContent as LookupOutput;
    const active = await warehouse
      .admin()
      .query(`SELECT campaign_id, spend FROM campaigns WHERE tenant_id = 'aurora'
      AND start_date <= '2026-12-31' AND end_date >= '2026-01-01'`);
    const started = await warehouse
      .admin()
      .query(`SELECT campaign_id FROM campaigns WHERE tenant_id = 'aurora'
      AND start_date BETWEEN '2026-01-01' AND '2026-12-31'`);
    // A campaign running from 2025 into 2026 counts as active in 2026.
    expect(active.length).toBeGreaterThan(started.length);
    expect(out.period_match).toBe('active');
    expect(out.rows.map((row) => row.campaign_id).sort()).toEqual(
      active.map((row) => row.campaign_id).sort(),
    );
    const spend = active.reduce((sum, row) => sum + Number(row.spend), 0);
    expect(out.totals).toEqual({ spend: Math.round(spend) });
    expect(result.content[0]?.text).toMatch(/^Campaigns active in 2026, 1-\d+: /);
    expect(result.content[0]?.text).toContain(
      `All of them together (every page, each campaign's whole figure, not only within the period): spend ${Math.round(spend).toLocaleString('en-US')} USD.`,
    );
    const first = await lookup(aurora, 'list_campaigns', { time_range: 2026, limit: 2 });
    expect(first.totals).toEqual(out.totals);
  });

  it('reads "last month" on the calendar, not at the last campaign', async () => {
    const out = await lookup(aurora, 'list_campaigns', { time_range: 'last_month' });
    const today = new Date();
    const first = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 1, 1));
    const last = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 0));
    // Yesterday ends the relative periods: on any day, last_month is the previous calendar month (on the 1st,
    // yesterday is that month's last day, which completes it).
    expect(out.period).toMatchObject({
      from: first.toISOString().slice(0, 10),
      to: last.toISOString().slice(0, 10),
    });
  });

  it('never shows the email planted in a campaign name', async () => {
    const result = await callTool(aurora, { query: 'referral push' }, 'list_campaigns');
    expect(JSON.stringify(result)).not.toContain('growth.team@aurora.example');
    expect((result.structuredContent as LookupOutput).rows[0]?.name).toBe(
      'Referral Push (contact [redacted email])',
    );
  });
});

describe('arguments models get wrong', () => {
  it('a year as a number is a year', async () => {
    const out = await query(aurora, { metrics: ['views'], time_range: 2025 });
    expect(out.period).toMatchObject({ from: '2025-01-01', to: '2025-12-31' });
  });

  it('a lookup without its query says so', async () => {
    expect(await toolErrorText(aurora, {}, 'find_content')).toMatch(/query/);
  });

  it.each([
    [{ title: "Rosa's Kitchen" }, /title/],
    [{ query: 'harbor', limit: 500 }, /limit/],
  ])('find_content %j names the argument to fix', async (args, message) => {
    expect(await toolErrorText(aurora, args, 'find_content')).toMatch(message);
  });

  it('an inverted date range says to swap it', async () => {
    expect(
      await toolErrorText(aurora, { time_range: { from: '2026-06-30', to: '2026-01-01' } }, 'list_campaigns'),
    ).toMatch(/Invalid time_range: from "2026-06-30" is after to "2026-01-01"; swap them/);
  });

  it('a misspelled campaign name still finds the campaign', async () => {
    const out = await lookup(aurora, 'list_campaigns', { query: 'Sprng Binge' });
    expect(out.rows[0]?.campaign_id).toBe('aur-c-spring-26');
  });
});
