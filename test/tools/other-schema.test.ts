import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpServer } from '../../src/server/serve-http.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { callTool, connectHttp, query, ROOT, startHttp, tempWarehouse } from '../helpers.js';

const LAYER = join(ROOT, 'test/fixtures/podcast-layer');
let warehouse: Warehouse;
let removeDir: () => Promise<void>;
let server: HttpServer;
let client: Client;

beforeAll(async () => {
  ({ warehouse, remove: removeDir } = await tempWarehouse('podcast'));
  const admin = warehouse.admin();
  await admin.command(
    'CREATE TABLE listens (org String, listened_on Date, show_id String, market String, listener UInt64, minutes Float64) ENGINE = MergeTree ORDER BY (org, listened_on)',
  );
  await admin.command(
    'CREATE TABLE shows (org String, show_id String, category String) ENGINE = MergeTree ORDER BY (org, show_id)',
  );
  await admin.command(`INSERT INTO listens SELECT if(number % 3 = 0, 'wavelength', 'echo'), toDate('2026-01-01') + number % 60,
    concat('show-', toString(number % 7)), ['SE', 'NO', 'DK'][1 + intDiv(number, 3) % 3], number % 97, (number % 50) + 0.5 FROM numbers(5000)`);
  await admin.command(`INSERT INTO shows SELECT org, concat('show-', toString(n)), ['News', 'Comedy'][1 + n % 2]
    FROM (SELECT arrayJoin(['wavelength', 'echo']) AS org, arrayJoin(range(7)) AS n)`);
  server = await startHttp(warehouse, 'echo', LAYER);
  client = await connectHttp(server.url);
});

afterAll(async () => {
  await client?.close();
  await server?.close();
  await removeDir?.();
});

describe('a different warehouse, described by YAML alone', () => {
  it('answers with its own metrics, dimensions and tenant column', async () => {
    const out = await query(client, {
      time_range: { from: '2026-01-01', to: '2026-01-31' },
      geo: 'se',
      group_by: ['category'],
      metrics: ['sessions', 'listen_hours', 'listeners'],
    });
    const hand = await warehouse
      .admin()
      .query(`SELECT s.category AS category, count() AS sessions, sum(l.minutes) / 60 AS listen_hours,
      uniqExact(l.listener) AS listeners FROM listens AS l JOIN shows AS s ON s.org = l.org AND s.show_id = l.show_id
      WHERE l.org = 'echo' AND l.listened_on BETWEEN '2026-01-01' AND '2026-01-31' AND l.market = 'SE' GROUP BY category ORDER BY category`);
    expect(out.rows.length).toBe(2);
    for (const row of hand) {
      const tool = out.rows.find((candidate) => candidate.category === row.category);
      expect(tool?.sessions).toBe(Number(row.sessions));
      expect(Math.abs(Number(tool?.listen_hours) - Number(row.listen_hours))).toBeLessThanOrEqual(0.01);
      expect(tool?.listeners).toBe(Number(row.listeners));
    }
  });

  it('reports its own names in errors and its anchor from its own data', async () => {
    const result = await callTool(client, { metrics: ['watch_minutes'] });
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(
      /Unknown metric "watch_minutes"; allowed: sessions, listen_hours, listeners/,
    );
    const out = await query(client, { time_range: 'last_7_days' });
    expect(out.period).toMatchObject({ from: '2026-02-23', to: '2026-03-01' });
  });
});
