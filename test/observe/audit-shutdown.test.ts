import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWarehouse } from '../../src/warehouse/create-warehouse.js';
import { CLI, connectHttp, LIMITS, query, seedInChild, tempDir, toolErrorText } from '../helpers.js';

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
    const env = {
      ...process.env,
      MARQUEE_DATA_DIR: dataDir,
      MARQUEE_TENANT: 'borealis',
      MARQUEE_HTTP_PORT: '0',
      MARQUEE_LOG_LEVEL: 'warn',
    };
    const server = spawn(process.execPath, [CLI, 'serve', '--http'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      let seen = '';
      server.stderr.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        const match = /serving MCP at (\S+)/.exec(seen);
        if (match?.[1] !== undefined) resolve(match[1]);
      });
      void exited.then(() => reject(new Error(`server exited: ${seen}`)));
    });

    const client = await connectHttp(url);
    for (const time_range of ['2026-Q1', '2026-Q2', '2026-Q3'])
      await query(client, { metrics: ['views'], time_range });
    await toolErrorText(client, { metrics: ['nope'] });
    await client.close();
    server.kill('SIGTERM');
    expect(await exited).toBe(0);

    const warehouse = createWarehouse({ kind: 'embedded', dataDir, readers: 1, limits: LIMITS });
    try {
      const rows = await warehouse
        .admin()
        .query(
          `SELECT outcome, count() AS n FROM marquee_audit WHERE tenant = 'borealis' GROUP BY outcome ORDER BY outcome`,
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
