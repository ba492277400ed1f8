import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toCsv } from '../../src/charts/chart-resource.js';
import { AURORA_ROLES, callers, callTool } from '../helpers.js';

/** Every row of an answer in one link: through MCP resources and plain HTTP, for the reader, equal to the pages. */
let clients: Record<'vp' | 'bi' | 'borealis', Client>;
let close: () => Promise<void>;
let urls: Record<'vp' | 'bi' | 'borealis', string>;

beforeAll(async () => {
  ({ clients, urls, close } = await callers({
    vp: AURORA_ROLES.vp,
    bi: AURORA_ROLES.bi,
    borealis: { tenant: 'borealis', roles: ['vp'] },
  }));
});

afterAll(async () => {
  await close?.();
});

type Answer = {
  isError?: boolean;
  content: { type: string; text?: string; uri?: string; mimeType?: string }[];
  structuredContent?: {
    rows: Record<string, unknown>[];
    page: { next_cursor: string | null; total_rows: number };
  };
};

const BULK = { metrics: ['views'], time_range: '2026', grain: 'day', group_by: ['country'], limit: 500 };

/** Every row of a call, page after page through its cursors: the oracle. */
async function paged(client: Client, args: Record<string, unknown>): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  let answer = (await client.callTool({ name: 'query_engagement', arguments: args })) as Answer;
  for (;;) {
    rows.push(...(answer.structuredContent?.rows ?? []));
    const cursor = answer.structuredContent?.page.next_cursor;
    if (cursor === null || cursor === undefined) return rows;
    answer = (await client.callTool({ name: 'query_engagement', arguments: { cursor } })) as Answer;
  }
}

/** CSV lines parsed back (the fixture's values have no commas or quotes). */
const parseCsv = (text: string) => {
  const [header, ...lines] = text.trimEnd().split('\r\n');
  const columns = (header ?? '').split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((cell, i) => [columns[i] ?? '', cell])));
};
const asText = (rows: Record<string, unknown>[]) =>
  rows.map((row) =>
    Object.fromEntries(Object.entries(row).map(([key, value]) => [key, value === null ? '' : String(value)])),
  );

describe('every row of an answer', () => {
  it('is one link away: the bulk question says how many rows and pages, and the file equals the pages', async () => {
    const answer = (await callTool(clients.vp, BULK)) as Answer;
    const total = answer.structuredContent?.page.total_rows ?? 0;
    expect(total).toBeGreaterThan(2 * 500);
    const pages = Math.ceil(total / 500);
    expect(answer.content[0]?.text).toContain(
      `${total.toLocaleString('en-US')} rows in ${pages} pages of 500; this is rows 1 to 500. Every row, in one file: marquee://results/`,
    );
    const link = answer.content.find((item) => item.type === 'resource_link' && item.mimeType === 'text/csv');
    expect(link?.uri).toMatch(/^marquee:\/\/results\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.csv$/);
    const [csv] = (await clients.vp.readResource({ uri: link?.uri ?? '' })).contents as {
      text: string;
      mimeType: string;
    }[];
    expect(csv?.mimeType).toBe('text/csv');
    const fromFile = parseCsv(csv?.text ?? '');
    expect(fromFile).toHaveLength(total);
    expect(fromFile).toEqual(asText(await paged(clients.vp, BULK)));
    const [json] = (await clients.vp.readResource({ uri: (link?.uri ?? '').replace(/\.csv$/, '.json') }))
      .contents as { text: string }[];
    expect((JSON.parse(json?.text ?? '{}') as { rows: unknown[] }).rows).toHaveLength(total);
    // An answer that fits its page links no file.
    const small = (await callTool(clients.vp, { time_range: '2026-08', group_by: ['region'] })) as Answer;
    expect(small.content.filter((item) => item.mimeType === 'text/csv')).toEqual([]);
  });

  it('is served to BI tools over HTTP, with the chart drawn, for the reader only', async () => {
    const answer = (await callTool(clients.vp, BULK)) as Answer;
    const token = (answer.content.find((item) => item.mimeType === 'text/csv')?.uri ?? '')
      .replace('marquee://results/', '')
      .replace(/\.csv$/, '');
    const base = (who: 'vp' | 'borealis') => urls[who].replace(/\/mcp$/, '');
    const csv = await fetch(`${base('vp')}/results/${token}.csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(parseCsv(await csv.text())).toHaveLength(answer.structuredContent?.page.total_rows ?? -1);
    const png = await fetch(`${base('vp')}/charts/${token}.png`);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(
      Buffer.from(await png.arrayBuffer())
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
    const spec = await fetch(`${base('vp')}/charts/${token}.vl.json`);
    expect(spec.headers.get('content-type')).toBe('application/vnd.vegalite.v6+json');
    // Borealis reading aurora's link gets borealis's rows: its own countries only.
    const theirs = parseCsv(await (await fetch(`${base('borealis')}/results/${token}.csv`)).text());
    const countries = new Set(theirs.map((row) => row.country));
    expect(countries.has('BR')).toBe(false);
    expect(countries.has('US')).toBe(true);
    expect((await fetch(`${base('vp')}/results/${token.slice(0, -2)}xx.csv`)).status).toBe(404);
  });

  it("hold the reader's policy: a VP's per-title rows are refused to the BI service", async () => {
    const answer = (await callTool(clients.vp, {
      time_range: '2026',
      group_by: ['content_id'],
      limit: 20,
    })) as Answer;
    const uri = answer.content.find((item) => item.mimeType === 'text/csv')?.uri ?? '';
    expect(uri).not.toBe('');
    await expect(clients.bi.readResource({ uri })).rejects.toThrow(/No result for you at this link/);
  });
});

describe('the minimum group size in a file', () => {
  it('leaves out of the file exactly the groups the answer leaves out', async () => {
    const args = {
      metrics: ['views'],
      time_range: '2026-Q3',
      geo: 'BR',
      group_by: ['content_id'],
      limit: 25,
    };
    const answer = (await callTool(clients.vp, args)) as Answer & {
      structuredContent: { privacy: { suppressed_groups: number } };
    };
    expect(answer.structuredContent.privacy.suppressed_groups).toBeGreaterThan(0);
    const uri = answer.content.find((item) => item.mimeType === 'text/csv')?.uri ?? '';
    const [csv] = (await clients.vp.readResource({ uri })).contents as { text: string }[];
    expect(parseCsv(csv?.text ?? '')).toEqual(asText(await paged(clients.vp, args)));
    expect(parseCsv(csv?.text ?? '')).toHaveLength(answer.structuredContent.page.total_rows);
  });
});

describe('warehouse text in a file', () => {
  it('is neutralised value by value: an instruction in a title is removed, and every other row kept', async () => {
    const args = { time_range: '2026', group_by: ['title'], metrics: ['views'], limit: 20 };
    const answer = (await callTool(clients.vp, args)) as Answer;
    const total = answer.structuredContent?.page.total_rows ?? 0;
    const uri = answer.content.find((item) => item.mimeType === 'text/csv')?.uri ?? '';
    const [csv] = (await clients.vp.readResource({ uri })).contents as { text: string }[];
    const lines = (csv?.text ?? '').trimEnd().split('\r\n');
    expect(lines).toHaveLength(total + 1);
    expect(csv?.text).not.toMatch(/Ignore all previous instructions/i);
    expect(csv?.text).toContain('[instruction-like text removed]');
    expect(csv?.text).toContain('[redacted email]');
  });
});

describe('CSV', () => {
  it('quotes what it must and never hands a spreadsheet a formula', () => {
    const text = toCsv(
      ['name', 'value'],
      [
        { name: '=HYPERLINK("http://x")', value: -3 },
        { name: 'a, "b"', value: null },
        { name: '@SUM(A1)', value: 1.5 },
        { name: '-10%', value: 0 },
        { name: "-1+cmd|' /C calc'!A0", value: '-2.5' },
      ],
    );
    expect(text).toBe(
      'name,value\r\n"\'=HYPERLINK(""http://x"")",-3\r\n"a, ""b""",\r\n\'@SUM(A1),1.5\r\n-10%,0\r\n' +
        "'-1+cmd|' /C calc'!A0,-2.5\r\n",
    );
  });
});
