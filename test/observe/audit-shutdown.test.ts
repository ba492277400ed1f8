import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWarehouse } from '../../src/warehouse/create-warehouse.js';
import {
  connectHttp,
  LIMITS,
  query,
  seedInChild,
  spawnHttpServer,
  tempDir,
  toolErrorText,
} from '../helpers.js';

let dir: { path: string; remove: () => Promise<void> };
beforeAll(async () => {
  dir = await tempDir('audit');
});
afterAll(async () => {
  await dir?.remove();
});

describe('audit records', () => {
  it('a SIGTERM during a burst of calls loses no answer in flight and no audit record', async () => {
    const dataDir = join(dir.path, 'burst');
    seedInChild(dataDir);
    const server = await spawnHttpServer({ MARQUEE_DATA_DIR: dataDir, MARQUEE_TENANT: 'borealis' });
    const client = await connectHttp(server.url);
    // Eight questions the engine answers one after another (explain_change, each its own): most are still in
    // flight when the stop comes.
    const asked = [
      '2026-Q3',
      '2026-Q2',
      '2026-Q1',
      '2025-Q4',
      '2025-Q3',
      '2025-Q2',
      '2025-Q1',
      '2024-Q4',
    ].map((time_range) =>
      client.callTool({ name: 'explain_change', arguments: { time_range } }, { timeout: 120_000 }),
    );
    let answered = 0;
    for (const call of asked)
      void call.then(
        () => answered++,
        () => undefined,
      );
    // Long enough for every request to be sent and received, short of the engine answering all eight.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const inFlight = asked.length - answered;
    server.stop('SIGTERM');
    const results = await Promise.allSettled(asked);
    expect(results.map((result) => result.status)).toEqual(Array(asked.length).fill('fulfilled'));
    for (const result of results)
      if (result.status === 'fulfilled')
        expect(result.value.isError, JSON.stringify(result.value.content)).not.toBe(true);
    expect(inFlight).toBeGreaterThan(2);
    expect(await server.exited).toBe(0);
    await client.close();
    const warehouse = createWarehouse({ kind: 'embedded', dataDir, readers: 1, limits: LIMITS });
    try {
      const rows = await warehouse
        .admin()
        .query(
          `SELECT outcome, count() AS n FROM marquee.audit WHERE tool = 'explain_change' GROUP BY outcome`,
        );
      expect(rows.map((row) => [row.outcome, Number(row.n)])).toEqual([['ok', asked.length]]);
    } finally {
      await warehouse.close();
    }
    expect(server.log()).toMatch(/shutting down/);
  });

  it('survive a graceful shutdown of a real server process', async () => {
    const dataDir = join(dir.path, 'warehouse');
    seedInChild(dataDir);
    const server = await spawnHttpServer({
      MARQUEE_DATA_DIR: dataDir,
      MARQUEE_TENANT: 'borealis',
      MARQUEE_LOG_LEVEL: 'info',
    });
    const client = await connectHttp(server.url);
    for (const time_range of ['2026-Q1', '2026-Q2', '2026-Q3'])
      await query(client, { metrics: ['views'], time_range });
    await toolErrorText(client, { metrics: ['nope'] });
    await client.close();
    server.stop('SIGTERM');
    expect(await server.exited).toBe(0);

    const warehouse = createWarehouse({ kind: 'embedded', dataDir, readers: 1, limits: LIMITS });
    try {
      const rows = await warehouse
        .admin()
        .query(
          `SELECT outcome, count() AS n FROM marquee.audit WHERE tenant = 'borealis' GROUP BY outcome ORDER BY outcome`,
        );
      expect(rows.map((row) => [row.outcome, Number(row.n)])).toEqual([
        ['ok', 3],
        ['tool_error', 1],
      ]);
    } finally {
      await warehouse.close();
    }
  });
});
