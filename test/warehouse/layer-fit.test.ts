import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localIdentity } from '../../src/auth/identity.js';
import { fitWarehouse, readsOf } from '../../src/semantic/fit-warehouse.js';
import { parseSemanticLayer } from '../../src/semantic/load-semantic-layer.js';
import { ALL_SCOPES, TOOL_KINDS } from '../../src/tools/catalog.js';
import { AnalyticsService } from '../../src/tools/framework/analytics-service.js';
import { createWarehouse } from '../../src/warehouse/create-warehouse.js';
import { describeWarehouse } from '../../src/warehouse/describe-warehouse.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { AUDIENCE, ISSUER, startTokenIssuer } from '../auth/token-issuer.js';
import { seedPodcast } from '../fixtures/podcast-warehouse.js';
import { callTool, connectHttp, LIMITS, ROOT, startAuthHttp, startHttp, tempWarehouse } from '../helpers.js';

const LAYER_DIR = join(ROOT, 'test/fixtures/podcast-layer');
const LAYER_FILE = join(LAYER_DIR, 'podcast.yaml');
let warehouse: Warehouse;
let dataDir: string;
let remove: () => Promise<void>;

beforeAll(async () => {
  ({ warehouse, dataDir, remove } = await tempWarehouse('fit'));
  await seedPodcast(warehouse.admin());
});
afterAll(async () => {
  await remove?.();
});

describe('the layer checked against the warehouse while serving', () => {
  let server: Awaited<ReturnType<typeof startHttp>>;
  let client: Client;
  afterAll(async () => {
    await client?.close();
    await server?.close();
  });

  it('refuses calls on the data that is missing and is not ready, and recovers once it exists', async () => {
    await warehouse.admin().command('RENAME TABLE audio.members_daily TO audio.members_later');
    server = await startHttp(warehouse, 'echo', join(ROOT, 'test/fixtures/podcast-layer'));
    client = await connectHttp(server.url);
    const forecast = { horizon: 2, unit: 'weeks' };
    const refused = await callTool(client, forecast, 'forecast_subs');
    expect(refused.isError).toBe(true);
    expect(refused.content[0]?.text).toMatch(
      /^The semantic layer does not match the warehouse for this data \(1 problem, first at podcast\.yaml:\d+ models\.members\.table\); retrying will not help: an operator must fix the warehouse, or fix the layer and restart Marquee/,
    );
    // The warehouse's own names stay with the operator.
    expect(refused.content[0]?.text).not.toMatch(/members_daily|audio\./);
    // Tools on the tables that are there keep answering.
    const listening = await callTool(client, { time_range: '2025-03' });
    expect(listening.isError, listening.content[0]?.text).not.toBe(true);
    const readyz = new URL('/readyz', server.url);
    const notReady = await fetch(readyz);
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as { problems: string[] }).problems).toEqual([
      expect.stringMatching(
        /^podcast\.yaml:\d+:\d+ models\.members\.table: Table "audio\.members_daily" does not exist/,
      ),
    ]);
    // /readyz takes no token: a server open beyond loopback (token authentication) says how many, not what.
    const issuer = await startTokenIssuer();
    const open = await startAuthHttp(
      warehouse,
      { issuer: ISSUER, jwksUrl: issuer.jwksUrl },
      AUDIENCE,
      LAYER_DIR,
    );
    try {
      const answer = await fetch(new URL('/readyz', open.url));
      expect(answer.status).toBe(503);
      const body = await answer.text();
      expect(JSON.parse(body)).toEqual({
        status: 'not ready',
        reason:
          'The semantic layer does not match the warehouse (1 problem(s); see the server log, or run marquee validate --warehouse)',
        checks: {
          warehouse: { ok: true, kind: 'embedded' },
          layer: { ok: false, problems: 1 },
          data: expect.objectContaining({ ok: true, max_age_seconds: null }),
        },
      });
      expect(body).not.toMatch(/members_daily|audio/);
    } finally {
      await open.close();
      await issuer.close();
    }

    await warehouse.admin().command('RENAME TABLE audio.members_later TO audio.members_daily');
    // The check is repeated a few seconds after a failed one: ask as if they had passed.
    expect(await server.dependencies.service.fit(Date.now() + 10_000)).toEqual([]);
    expect((await fetch(readyz)).status).toBe(200);
    const answered = await callTool(client, forecast, 'forecast_subs');
    expect(answered.isError, answered.content[0]?.text).not.toBe(true);
  });

  it('counts a catalogue key on two rows as a mismatch: the figures joined to it would count twice', async () => {
    const admin = warehouse.admin();
    await admin.command(
      "INSERT INTO audio.episodes VALUES ('ep-3', 'Long Shadow 3 (rerun)', 'News', '2025-01-01')",
    );
    const service = server.dependencies.service;
    expect(
      (await service.fit(Date.now() + 120_000)).map((problem) => `${problem.path}: ${problem.message}`),
    ).toEqual([
      expect.stringMatching(
        /^models\.listening\.joins\.0\.on: Keys of "audio\.episodes" name several rows \(e\.g\. "\('ep-3'\)" on 2 rows\)/,
      ),
    ]);
    const refused = await callTool(client, { time_range: '2025-03', group_by: ['category'] });
    expect(refused.content[0]?.text).toMatch(
      /^The semantic layer does not match the warehouse for this data \(1 problem, first at podcast\.yaml:\d+ models\.listening\.joins\.0\.on\)/,
    );
    // A duplicated key names rows of some table, maybe another tenant's: it goes to the operator only.
    expect(refused.content[0]?.text).not.toMatch(/ep-3|episodes/);
    expect((await fetch(new URL('/readyz', server.url))).status).toBe(503);
    await admin.command(
      "ALTER TABLE audio.episodes DELETE WHERE title = 'Long Shadow 3 (rerun)' SETTINGS mutations_sync = 1",
    );
    expect(await service.fit(Date.now() + 240_000)).toEqual([]);
    const answered = await callTool(client, { time_range: '2025-03', group_by: ['category'] });
    expect(answered.isError, answered.content[0]?.text).not.toBe(true);
  });
});

describe('databases', () => {
  it('reads unqualified tables from CLICKHOUSE_DATABASE on the embedded engine too', async () => {
    const text = (await readFile(LAYER_FILE, 'utf8')).replace(
      'table: audio.members_daily',
      'table: members_daily',
    );
    const layer = parseSemanticLayer([{ name: 'podcast.yaml', text }], TOOL_KINDS);
    // The default database does not hold it; a connection whose default is `audio` does.
    expect(
      fitWarehouse(layer, await describeWarehouse(warehouse, readsOf(layer))).map(
        (problem) => problem.message,
      ),
    ).toEqual([expect.stringMatching(/^Table "default\.members_daily" does not exist in the warehouse/)]);
    const audio = createWarehouse({
      kind: 'embedded',
      dataDir,
      database: 'audio',
      readers: 1,
      limits: LIMITS,
    });
    const dir = join(dataDir, '..', 'unqualified-layer');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'podcast.yaml'), text);
    const server = await startHttp(audio, 'echo', dir);
    const client = await connectHttp(server.url);
    try {
      expect(fitWarehouse(layer, await describeWarehouse(audio, readsOf(layer)))).toEqual([]);
      const result = await callTool(client, { horizon: 2, unit: 'weeks' }, 'forecast_subs');
      expect(result.isError, result.content[0]?.text).not.toBe(true);
      const [last] = await warehouse
        .admin()
        .query(`SELECT members FROM audio.members_daily WHERE org = 'echo' ORDER BY day DESC LIMIT 1`);
      expect((result.structuredContent as { current: { value: number } }).current.value).toBe(
        Number(last?.members),
      );
    } finally {
      await client.close();
      await server.close();
      await audio.close();
    }
  });

  it('names a missing CLICKHOUSE_DATABASE instead of calling it temporarily unavailable', async () => {
    const missing = createWarehouse({
      kind: 'embedded',
      dataDir,
      database: 'audoi',
      readers: 1,
      limits: LIMITS,
    });
    try {
      await expect(missing.query({ sql: 'SELECT 1', parameters: {} })).rejects.toThrow(
        /The database "audoi" \(CLICKHOUSE_DATABASE\) does not exist in the warehouse/,
      );
    } finally {
      await missing.close();
    }
  });
});

describe('column types', () => {
  it('join columns must be of one kind, and a min or max needs a number', async () => {
    const text = (await readFile(LAYER_FILE, 'utf8'))
      .replace('on: { episode_id: episode_id }', 'on: { listener: episode_id }')
      .replace(
        '  listeners:\n    model: listening\n    aggregation: count_distinct',
        '  last_play:\n    model: listening\n    aggregation: max\n    column: started_at\n    description: Last play.\n  listeners:\n    model: listening\n    aggregation: count_distinct',
      );
    const layer = parseSemanticLayer([{ name: 'podcast.yaml', text }], TOOL_KINDS);
    expect(
      fitWarehouse(layer, await describeWarehouse(warehouse, readsOf(layer))).map(
        (problem) => `${problem.path}: ${problem.message}`,
      ),
    ).toEqual([
      'models.listening.joins.0.on.listener: Column "listener" (UInt64) cannot be joined to "episode_id" (String) of "episodes": join columns must both be text, both numbers or both days',
      'metrics.last_play.column: Column "started_at" is DateTime64(3, \'America/New_York\'); "max" needs a number column',
    ]);
  });

  it('a tenant column must compare as text', async () => {
    const text = (await readFile(LAYER_FILE, 'utf8')).replace(
      'table: audio.members_daily\n    description: Paying members of an organisation per day, with those who joined and left that day.\n    tenant_column: org',
      'table: audio.members_daily\n    description: Paying members of an organisation per day, with those who joined and left that day.\n    tenant_column: members',
    );
    const layer = parseSemanticLayer([{ name: 'podcast.yaml', text }], TOOL_KINDS);
    expect(
      fitWarehouse(layer, await describeWarehouse(warehouse, readsOf(layer))).map(
        (problem) => `${problem.path}: ${problem.message}`,
      ),
    ).toEqual([
      expect.stringMatching(
        /^models\.members\.tenant_column: The tenant column "members" is UInt32; tenants are compared as text/,
      ),
    ]);
  });
});

describe('days before 1970', () => {
  it('count whole periods on Date32 and DateTime64 columns, never clamped to 1970', async () => {
    const admin = warehouse.admin();
    await admin.command(`CREATE TABLE audio.archive (org String, ordered_on Date32, placed_at DateTime64(0, 'UTC'))
      ENGINE = MergeTree ORDER BY (org, ordered_on)`);
    // One order a day from 1965 to the end of 1976, placed at 23:30 UTC (the next day in Berlin).
    await admin.command(`INSERT INTO audio.archive SELECT 'echo', toDate32('1965-01-01') + number,
      toDateTime64(toDate32('1965-01-01') + number, 0, 'UTC') + 84600 FROM numbers(4383)`);
    const layer = parseSemanticLayer(
      [
        {
          name: 'archive.yaml',
          text: `time_zone: Europe/Berlin
models:
  archive: { table: audio.archive, description: Old orders., tenant_column: org, people: false }
dimensions:
  ordered: { model: archive, column: ordered_on, type: date, description: Day ordered. }
  placed: { model: archive, column: placed_at, type: timestamp, description: When placed. }
metrics:
  orders: { model: archive, aggregation: count, description: Orders. }
access:
  default: { description: All. }
`,
        },
      ],
      TOOL_KINDS,
    );
    const service = new AnalyticsService(layer, warehouse);
    const caller = service.caller(localIdentity('echo', [], ALL_SCOPES));
    const count = async (timeDimension: string, from: string, to: string) => {
      const [row] = await service.run(
        {
          model: 'archive',
          metrics: ['orders'],
          dimensions: [],
          timeDimension,
          periods: [{ from, to, label: '' }],
          filters: [],
          order: [],
          coverage: true,
        },
        caller,
      );
      return { orders: Number(row?.orders), first: row?._first_day, last: row?._last_day };
    };
    const [dates] =
      await admin.query(`SELECT countIf(ordered_on BETWEEN '1968-01-01' AND '1968-12-31') AS y1968,
      countIf(toDate32(placed_at, 'Europe/Berlin') BETWEEN '1968-01-01' AND '1968-12-31') AS placed1968 FROM audio.archive`);
    expect(await count('ordered', '1968-01-01', '1968-12-31')).toEqual({
      orders: Number(dates?.y1968),
      first: '1968-01-01',
      last: '1968-12-31',
    });
    expect(Number(dates?.y1968)).toBe(366);
    // Placed at 23:30 UTC is 00:30 the next day in Berlin: 1967-12-31's order is 1968's first.
    expect(await count('placed', '1968-01-01', '1968-12-31')).toEqual({
      orders: Number(dates?.placed1968),
      first: '1968-01-01',
      last: '1968-12-31',
    });
  });
});
