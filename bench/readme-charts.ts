/**
 * The charts the README shows, drawn by Marquee itself: each answer's chart link read as PNG through a real MCP
 * client, on the fixture at scale 1. Run: npm run charts:readme (writes bench/charts/*.png).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectHttp, seededWarehouse, startHttp } from '../test/helpers.js';

const OUT = join(import.meta.dirname, 'charts');
const CHARTS: [string, string, Record<string, unknown>][] = [
  ['engagement-by-week', 'query_engagement', { time_range: '2026-Q3', grain: 'week', group_by: ['region'] }],
  ['what-moved-latam', 'explain_change', { metric: 'watch_minutes', time_range: '2026-Q3', geo: 'LATAM' }],
  ['spring-vs-winter', 'compare_campaigns', { campaign_a: 'aur-c-spring-26', campaign_b: 'aur-c-winter-25' }],
  ['subscribers-forecast', 'forecast_subs', { horizon: 6, scenario: { churn_rate_change_points: 1 } }],
];

const { warehouse, remove } = await seededWarehouse(1);
const server = await startHttp(warehouse, 'aurora', undefined, ['vp']);
const client = await connectHttp(server.url);
try {
  await mkdir(OUT, { recursive: true });
  for (const [name, tool, args] of CHARTS) {
    const result = (await client.callTool({ name: tool, arguments: args })) as {
      content: { type: string; uri?: string }[];
    };
    const link = result.content.find((item) => item.type === 'resource_link')?.uri;
    if (link === undefined) throw new Error(`${tool} answered without a chart link`);
    const [png] = (await client.readResource({ uri: `${link}.png` })).contents as { blob: string }[];
    await writeFile(join(OUT, `${name}.png`), Buffer.from(png?.blob ?? '', 'base64'));
    console.log(`bench/charts/${name}.png`);
  }
} finally {
  await client.close();
  await server.close();
  await remove();
}
