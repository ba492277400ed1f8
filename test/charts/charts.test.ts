import { createRequire } from 'node:module';
import type { Client } from '@modelcontextprotocol/client';
import { Resvg } from '@resvg/resvg-js';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChartSpec, chartFor } from '../../src/charts/chart-spec.js';
import { renderPng, renderSvg } from '../../src/charts/render.js';
import { AURORA_ROLES, callers, callTool } from '../helpers.js';

/** Every tool's answer charted: the spec validates against the Vega-Lite schema, compiles, and draws with text. */
let vp: Client;
let close: () => Promise<void>;

beforeAll(async () => {
  let clients: Record<'vp', Client>;
  ({ clients, close } = await callers({ vp: AURORA_ROLES.vp }));
  ({ vp } = clients);
});

afterAll(async () => {
  await close?.();
});

const schema = createRequire(import.meta.url)('vega-lite/vega-lite-schema.json');
const validate = new Ajv({ strict: false, allErrors: false }).compile(schema);

async function answer(tool: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const result = await callTool(vp, args, tool);
  if (result.isError === true) throw new Error(String(result.content[0]?.text));
  return result.structuredContent as Record<string, unknown>;
}

/** Share of the PNG's pixels that are not white, and of those that are dark (text, axes, lines). */
function ink(svg: string): { drawn: number; dark: number } {
  const image = new Resvg(svg, {
    font: {
      fontFiles: [createRequire(import.meta.url).resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf')],
      loadSystemFonts: false,
    },
  }).render();
  const pixels = image.pixels;
  let drawn = 0;
  let dark = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    const [r, g, b] = [pixels[i] ?? 255, pixels[i + 1] ?? 255, pixels[i + 2] ?? 255];
    if (r < 250 || g < 250 || b < 250) drawn++;
    if (r < 100 && g < 100 && b < 100) dark++;
  }
  const total = pixels.length / 4;
  return { drawn: drawn / total, dark: dark / total };
}

const CASES: [string, string, Record<string, unknown>][] = [
  [
    'time series with its comparison',
    'query_engagement',
    { time_range: '2026-Q3', grain: 'week', compare_to: 'previous_period', geo: 'LATAM' },
  ],
  [
    'ranked bars',
    'query_engagement',
    { time_range: '2026-08', group_by: ['country'], metrics: ['watch_minutes'] },
  ],
  [
    'lines by a dimension',
    'query_engagement',
    { time_range: '2026-Q3', grain: 'month', group_by: ['region'] },
  ],
  ['totals', 'query_engagement', { time_range: '2026-08', compare_to: 'year_ago' }],
  [
    'contributors',
    'explain_change',
    { metric: 'watch_minutes', time_range: '2026-Q3', compare_to: 'previous_period', geo: 'LATAM' },
  ],
  ['campaigns', 'compare_campaigns', { campaign_a: 'aur-c-spring-26', campaign_b: 'aur-c-winter-25' }],
  ['forecast with a scenario', 'forecast_subs', { horizon: 3, scenario: { churn_rate_change_points: 1 } }],
  ['a list', 'list_campaigns', { time_range: '2026' }],
  ['a search', 'find_content', { query: 'Night Harbor' }],
];

describe('charts', () => {
  for (const [shape, tool, args] of CASES)
    it(`${tool}: ${shape} validates, compiles and draws with text`, async () => {
      const spec: ChartSpec = chartFor(tool, await answer(tool, args));
      expect(validate(spec), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
      expect(JSON.stringify(spec)).not.toMatch(/"url"/);
      const svg = await renderSvg(spec);
      expect(svg).toMatch(/^<svg/);
      expect(svg).toContain('<text');
      const drawn = ink(svg);
      expect(drawn.drawn).toBeGreaterThan(0.01);
      expect(drawn.dark).toBeGreaterThan(0.001);
      expect(renderPng(svg).subarray(1, 4).toString()).toBe('PNG');
    });
});

describe('a chart that asks to load something', () => {
  it('is refused, whether data, a file or an image', async () => {
    const hostile: ChartSpec[] = [
      { data: { url: 'file:///etc/passwd' }, mark: 'point' },
      { data: { url: 'http://127.0.0.1:1/secret.json' }, mark: 'point' },
      { data: { values: [{ u: 'file:///etc/passwd' }] }, mark: 'image', encoding: { url: { field: 'u' } } },
    ];
    for (const spec of hostile) {
      const svg = await renderSvg(spec).catch((error: Error) => error.message);
      expect(svg).not.toContain('root:');
      expect(svg).toMatch(/A chart may not load data, files or images|<svg/);
      if (svg.startsWith('<svg')) expect(svg).not.toMatch(/href="(file|http)/);
    }
  });
});
