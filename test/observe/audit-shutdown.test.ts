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
