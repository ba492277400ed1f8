import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FairnessOptions } from '../../src/guard/fair-queue.js';
import { loadSemanticLayer } from '../../src/semantic/load-semantic-layer.js';
import type { ServerDependencies } from '../../src/server/create-server.js';
import { TOOL_KINDS } from '../../src/tools/catalog.js';
import { AnalyticsService, DEFAULT_CACHE } from '../../src/tools/framework/analytics-service.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { connectHttp, SEMANTIC_LAYER, seededWarehouse, startHttp, testDependencies } from '../helpers.js';

let warehouse: Warehouse;
let remove: () => Promise<void>;

beforeAll(async () => {
  ({ warehouse, remove } = await seededWarehouse());
});

afterAll(async () => {
  await remove?.();
});

const QUARTERS = ['2026-Q3', '2026-Q2', '2026-Q1', '2025-Q4', '2025-Q3'];
const DIMENSIONS = [['country'], ['device'], ['plan'], ['title']];

/** Twenty heavy questions (explain_change, each its own), none answered from another's cache. */
const HEAVY = Array.from({ length: 20 }, (_, i) => ({
  time_range: QUARTERS[i % QUARTERS.length],
  dimensions: DIMENSIONS[Math.floor(i / QUARTERS.length) % DIMENSIONS.length],
}));

/**
 * Tenant aurora asks twenty heavy questions at once; once they are queued, tenant borealis asks one cheap
 * question. Returns how many of aurora's answers came while borealis waited for its own, and what aurora was told.
 */
async function race(
  fairness: FairnessOptions,
): Promise<{ before: number; busy: number; ok: number; service: AnalyticsService }> {
  const service = new AnalyticsService(await loadSemanticLayer(SEMANTIC_LAYER, TOOL_KINDS), warehouse, {
    ...DEFAULT_CACHE,
    dataCheckMs: 0,
    fairness,
  });
  const dependencies: ServerDependencies = { ...(await testDependencies(warehouse)), service };
  const servers = await Promise.all(
    (['aurora', 'borealis'] as const).map((tenant) =>
      startHttp(warehouse, tenant, SEMANTIC_LAYER, ['vp'], dependencies),
    ),
  );
  const [aurora, borealis] = (await Promise.all(servers.map((server) => connectHttp(server.url)))) as [
    Client,
    Client,
  ];
  try {
    const finished: string[] = [];
    const heavy = HEAVY.map((args) =>
      aurora.callTool({ name: 'explain_change', arguments: args }, { timeout: 600_000 }).then((result) => {
        finished.push('aurora');
        return result;
      }),
    );
    // Borealis asks once aurora's queries are in (some in flight, the rest waiting or queued in the engine).
    for (let waited = 0; service.fair.load().running === 0; waited += 5) {
      if (waited > 30_000) throw new Error('aurora never reached the warehouse');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    const already = finished.length;
    const cheap = await borealis.callTool({
      name: 'query_engagement',
      arguments: { time_range: '2026-08', metrics: ['views'] },
    });
    expect(cheap.isError, JSON.stringify(cheap.content).slice(0, 300)).not.toBe(true);
    // Aurora's answers that came while borealis waited for its own.
    const before = finished.length - already;
    const results = await Promise.all(heavy);
    const texts = results.map((result) => (result.content as { text?: string }[])[0]?.text ?? '');
    return {
      before,
      busy: texts.filter((text) => /busy .*retry in \d+ s/.test(text)).length,
      ok: results.filter((result) => result.isError !== true).length,
      service,
    };
  } finally {
    for (const client of [aurora, borealis]) await client.close();
    for (const server of servers) await server.close();
  }
}

describe('fairness between tenants', () => {
  it("answers one tenant's cheap question while another's twenty heavy ones run", async () => {
    const fair = await race({ slots: 2, perTenant: 1, maxWaitMs: 600_000 });
    // Borealis waited for at most a query or two of aurora's, not for twenty questions of them.
    expect(fair.before).toBeLessThanOrEqual(5);
    expect(fair.ok).toBe(20);
    // The control: without a share per tenant, the same cheap question waits behind most of aurora's.
    const unfair = await race({ slots: 1_000, perTenant: 1_000, maxWaitMs: 600_000 });
    expect(unfair.before).toBeGreaterThanOrEqual(10);
  });

  it('tells a tenant that waits too long it is busy, with a retry, and counts it', async () => {
    // Borealis finds two slots free; aurora waits for its two, past the bound.
    const busy = await race({ slots: 4, perTenant: 2, maxWaitMs: 20 });
    expect(busy.busy).toBeGreaterThan(0);
    expect(busy.ok + busy.busy).toBe(20);
    // Counted per refused query (one may fail several calls waiting on the same figures, or one call twice).
    expect(busy.service.fair.refused).toBeGreaterThan(0);
  });
});
