import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStdio, ERAS, query, seedInChild, stdioAudit, tempDir, toolErrorText } from '../helpers.js';

let dir: { path: string; remove: () => Promise<void> };
let env: Record<string, string>;

beforeAll(async () => {
  dir = await tempDir('stdio');
  const dataDir = join(dir.path, 'warehouse');
  seedInChild(dataDir);
  env = { MARQUEE_DATA_DIR: dataDir, MARQUEE_TENANT: 'aurora' };
});
afterAll(async () => {
  await dir?.remove();
});

describe.each(ERAS)('stdio, %s era', (era) => {
  it('lists query_engagement and answers with a summary and structured rows', async () => {
    const client = await connectStdio(env, era);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toEqual([
        'query_engagement',
        'explain_change',
        'find_content',
        'list_campaigns',
        'compare_campaigns',
        'forecast_subs',
      ]);
      const out = await query(client, {
        time_range: '2026-Q3',
        geo: 'LATAM',
        compare_to: 'previous_period',
        group_by: ['country'],
      });
      expect(out.summary).toMatch(
        /^Engagement for 2026-Q3 \(2026-07-01 to 2026-09-30\), region "LATAM": data for every day\./,
      );
      expect(out.rows.length).toBe(6);
      expect(out.top_movers[0]).toMatchObject({ dimension: 'country', value: 'BR' });
      expect(await toolErrorText(client, { geo: 'LATM' })).toMatch(/did you mean "LATAM"/);
    } finally {
      await client.close();
    }
  });
});

describe('trace context over stdio', () => {
  it("takes a call's traceparent from its _meta, as the audit record's trace", async () => {
    const client = await connectStdio(env);
    try {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const result = await client.callTool({
        name: 'query_engagement',
        arguments: { time_range: '2026-Q3' },
        _meta: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      });
      expect(result.isError).not.toBe(true);
      await client.callTool({ name: 'query_engagement', arguments: { time_range: '2026-Q2' } });
      // Records reach the log as they are made; wait for both.
      for (
        let i = 0;
        i < 100 && stdioAudit(client).filter((r) => r.tool === 'query_engagement').length < 2;
        i++
      )
        await new Promise((resolve) => setTimeout(resolve, 20));
      const [traced, fresh] = stdioAudit(client).filter((record) => record.tool === 'query_engagement');
      expect(traced?.traceId).toBe(traceId);
      // A call without one gets a trace of its own.
      expect(fresh?.traceId).toMatch(/^[\da-f]{32}$/);
      expect(fresh?.traceId).not.toBe(traceId);
    } finally {
      await client.close();
    }
  });
});

describe('cursors across processes', () => {
  it('a page cursor from one server process resumes in another', async () => {
    const args = { metrics: ['views'], time_range: '2026-Q3', group_by: ['content_id'], limit: 25 };
    const first = await connectStdio(env);
    const page1 = await query(first, args);
    const page2 = await query(first, { cursor: page1.page.next_cursor });
    await first.close();

    const second = await connectStdio(env);
    try {
      const resumed = await query(second, { cursor: page1.page.next_cursor });
      expect(resumed.rows).toEqual(page2.rows);
      expect(resumed.page.offset).toBe(25);
      const seen = new Set([...page1.rows, ...page2.rows].map((row) => row.content_id));
      expect(seen.size).toBe(50);
    } finally {
      await second.close();
    }
  });
});
