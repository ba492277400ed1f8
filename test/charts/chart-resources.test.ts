import { createRequire } from 'node:module';
import type { Client } from '@modelcontextprotocol/client';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CursorCodec } from '../../src/tools/framework/cursor.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { AURORA_ROLES, callers, callTool, connectHttp, startHttp, testDependencies } from '../helpers.js';

/** Chart links through a real client: on every answer, recomputed for the reader, never a way around the rules. */
let clients: Record<'vp' | 'bi' | 'borealis', Client>;
let close: () => Promise<void>;
let warehouse: Warehouse;

beforeAll(async () => {
  ({ clients, close, warehouse } = await callers({
    vp: AURORA_ROLES.vp,
    bi: AURORA_ROLES.bi,
    borealis: { tenant: 'borealis', roles: ['vp'] },
  }));
});

afterAll(async () => {
  await close?.();
});

const validate = new Ajv({ strict: false }).compile(
  createRequire(import.meta.url)('vega-lite/vega-lite-schema.json'),
);

/** The chart link of an answer. */
async function chartLink(client: Client, tool: string, args: Record<string, unknown>): Promise<string> {
  const result = (await client.callTool({ name: tool, arguments: args })) as {
    isError?: boolean;
    content: { type: string; uri?: string; mimeType?: string; text?: string }[];
  };
  expect(result.isError, result.content[0]?.text).not.toBe(true);
  const links = result.content.filter(
    (item) => item.type === 'resource_link' && item.mimeType === 'application/vnd.vegalite.v6+json',
  );
  expect(links).toHaveLength(1);
  return links[0]?.uri ?? '';
}

async function readText(
  client: Client,
  uri: string,
): Promise<{ mimeType?: string | undefined; text: string }> {
  const [content] = (await client.readResource({ uri })).contents as { mimeType?: string; text: string }[];
  return { mimeType: content?.mimeType, text: content?.text ?? '' };
}

type Spec = { data?: { values?: Record<string, unknown>[] }; layer?: unknown[] };

describe('chart links', () => {
  it('come with every tool answer, and read as a spec that validates, an SVG with text and a PNG', async () => {
    const calls: [string, Record<string, unknown>][] = [
      ['query_engagement', { time_range: '2026-Q3', grain: 'week', geo: 'LATAM' }],
      ['explain_change', { metric: 'watch_minutes', time_range: '2026-Q3', geo: 'LATAM' }],
      ['compare_campaigns', { campaign_a: 'aur-c-spring-26', campaign_b: 'aur-c-winter-25' }],
      ['forecast_subs', { horizon: 2 }],
      ['list_campaigns', { time_range: '2026' }],
      ['find_content', { query: 'Night Harbor' }],
    ];
    for (const [tool, args] of calls) {
      const uri = await chartLink(clients.vp, tool, args);
      expect(uri).toMatch(/^marquee:\/\/charts\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      const spec = await readText(clients.vp, uri);
      expect(
        validate(JSON.parse(spec.text)),
        `${tool}: ${JSON.stringify(validate.errors?.slice(0, 2))}`,
      ).toBe(true);
      const svg = await readText(clients.vp, `${uri}.svg`);
      expect(svg.mimeType).toBe('image/svg+xml');
      expect(svg.text).toMatch(/^<svg[\s\S]*<text/);
    }
    const uri = await chartLink(clients.vp, 'query_engagement', {
      time_range: '2026-08',
      group_by: ['country'],
    });
    const [png] = (await clients.vp.readResource({ uri: `${uri}.png` })).contents as {
      mimeType?: string;
      blob: string;
    }[];
    expect(png?.mimeType).toBe('image/png');
    const bytes = Buffer.from(png?.blob ?? '', 'base64');
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');
    expect(bytes.length).toBeGreaterThan(10_000);
  });

  it("read by another tenant, show only the reader's data, or nothing", async () => {
    const args = { time_range: '2026-08', group_by: ['country'], metrics: ['views'] };
    const uri = await chartLink(clients.vp, 'query_engagement', args);
    const seen = JSON.parse((await readText(clients.borealis, uri)).text) as Spec;
    const own = (await callTool(clients.borealis, args)).structuredContent as {
      rows: Record<string, unknown>[];
    };
    expect(seen.data?.values?.map((row) => [row.country, row.views])).toEqual(
      own.rows.slice(0, 25).map((row) => [row.country, row.views]),
    );
    // Borealis has no aurora campaigns: the chart of a comparison of them is not drawn for it.
    const campaigns = await chartLink(clients.vp, 'compare_campaigns', {
      campaign_a: 'aur-c-spring-26',
      campaign_b: 'aur-c-winter-25',
    });
    await expect(readText(clients.borealis, campaigns)).rejects.toThrow(/No chart for you at this link/);
  });

  it("hold the reader's policy: a VP's per-title chart is refused to the BI service, which may not see titles", async () => {
    const uri = await chartLink(clients.vp, 'query_engagement', {
      time_range: '2026-08',
      group_by: ['content_id'],
    });
    await expect(readText(clients.bi, uri)).rejects.toThrow(/No chart for you at this link/);
  });

  it('refuse a forged or altered token, and draw no URL or file a payload names', async () => {
    const uri = await chartLink(clients.vp, 'query_engagement', { time_range: '2026-08' });
    const [, signature] = uri.slice('marquee://charts/'.length).split('.');
    const forged = Buffer.from(
      JSON.stringify({
        v: 1,
        iat: Date.now(),
        tool: 'query_engagement',
        args: {},
        anchor: '2026-10-31',
        offset: 0,
      }),
    ).toString('base64url');
    await expect(readText(clients.vp, `marquee://charts/${forged}.${signature}`)).rejects.toThrow(
      /its signature does not match/,
    );
    // Signed with the test deployment's key (test/helpers.ts): a payload naming a file and a URL as values.
    const codec = new CursorCodec('test-cursor-key');
    for (const hostile of [
      { content_id: 'file:///etc/passwd', time_range: '2026-08' },
      { geo: 'http://127.0.0.1:1/secret', time_range: '2026-08' },
      { time_range: '2026-08', $schema: 'file:///etc/passwd' },
    ]) {
      const token = codec.encode({
        tool: 'query_engagement',
        args: hostile,
        anchor: '2026-10-31',
        offset: 0,
      });
      const read = await readText(clients.vp, `marquee://charts/${token}.svg`).catch((error: Error) => ({
        text: error.message,
      }));
      expect(read.text).not.toMatch(/root:|href="(file|http)/);
      expect(read.text).toMatch(/No chart for you at this link/);
    }
  });
});

describe('an inline PNG of the chart', () => {
  it('is off by default, and on when configured, drawn from the answer itself', async () => {
    const server = await startHttp(warehouse, 'aurora', undefined, ['vp'], {
      ...(await testDependencies(warehouse)),
      inlineChartPng: true,
    });
    const client = await connectHttp(server.url);
    try {
      const args = { name: 'query_engagement', arguments: { time_range: '2026-08', group_by: ['region'] } };
      type Content = { type: string; data?: string; mimeType?: string }[];
      const images = (content: Content) => content.filter((item) => item.type === 'image');
      const on = ((await client.callTool(args)) as { content: Content }).content;
      expect(images(on)).toHaveLength(1);
      expect(images(on)[0]?.mimeType).toBe('image/png');
      expect(
        Buffer.from(images(on)[0]?.data ?? '', 'base64')
          .subarray(1, 4)
          .toString(),
      ).toBe('PNG');
      const off = ((await clients.vp.callTool(args)) as { content: Content }).content;
      expect(images(off)).toEqual([]);
    } finally {
      await client.close();
      await server.close();
    }
  });
});

describe('the interactive chart for MCP Apps hosts', () => {
  it('is linked from every tool and is one page with everything bundled, loading nothing', async () => {
    const { tools } = await clients.vp.listTools();
    for (const tool of tools) {
      const meta = tool._meta as { ui?: { resourceUri?: string }; 'ui/resourceUri'?: string } | undefined;
      expect(meta?.ui?.resourceUri, tool.name).toBe('ui://marquee/chart.html');
      expect(meta?.['ui/resourceUri']).toBe('ui://marquee/chart.html');
    }
    const [page] = (await clients.vp.readResource({ uri: 'ui://marquee/chart.html' })).contents as {
      mimeType?: string;
      text: string;
    }[];
    expect(page?.mimeType).toBe('text/html;profile=mcp-app');
    expect(page?.text).toMatch(/^<!doctype html>/);
    // The markup is one inline module script and two boxes: no script, stylesheet, image or frame from elsewhere,
    // and the bundle imports nothing.
    const [markup, rest] = (page?.text ?? '').split('<script type="module">');
    const script = (rest ?? '').slice(0, (rest ?? '').lastIndexOf('</script>'));
    expect(markup).not.toMatch(/<(script|link|img|iframe)\b/i);
    expect(script).not.toMatch(/^import\b|\bimport\s*\(\s*["'`]https?:|from\s*["']https?:/m);
    // The bundle carries vega-embed and the MCP Apps client (its handshake method).
    expect(page?.text).toContain('ui/initialize');
    expect(page?.text).toMatch(/vega-embed|vegaEmbed/);
    expect(page?.text.length).toBeGreaterThan(500_000);
  });
});
