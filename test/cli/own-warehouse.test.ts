import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWarehouse } from '../../src/warehouse/create-warehouse.js';
import { seedPodcast } from '../fixtures/podcast-warehouse.js';
import { CLI, connectStdio, LIMITS, logMessages, ROOT, spawnHttpServer, tempDir } from '../helpers.js';

const PODCAST_LAYER = join(ROOT, 'test/fixtures/podcast-layer');

function run(args: string[], env: Record<string, string | undefined> = {}) {
  const merged: NodeJS.ProcessEnv = { ...process.env, MARQUEE_HTTP_PORT: '0' };
  delete merged.MARQUEE_TENANT;
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete merged[key];
    else merged[key] = value;
  }
  const result = spawnSync(process.execPath, [CLI, ...args], {
    env: merged,
    encoding: 'utf8',
    timeout: 60_000,
  });
  // Its stderr read as the messages of its JSON log.
  return { ...result, stderr: logMessages(result.stderr) };
}

/** Builds a warehouse directory in this process, then lets go of it so that a `marquee` process can open it. */
async function buildWarehouse(
  dataDir: string,
  sql: (admin: ReturnType<ReturnType<typeof createWarehouse>['admin']>) => Promise<void>,
) {
  const warehouse = createWarehouse(
    { kind: 'embedded', dataDir, readers: 1, limits: LIMITS },
    { create: true },
  );
  try {
    await sql(warehouse.admin());
  } finally {
    await warehouse.close();
  }
}

let dir: { path: string; remove: () => Promise<void> };
let podcastDir: string;
beforeAll(async () => {
  dir = await tempDir('own');
  podcastDir = join(dir.path, 'podcast');
  await buildWarehouse(podcastDir, seedPodcast);
});
afterAll(async () => {
  await dir?.remove();
});

describe('marquee validate --warehouse', () => {
  it('says the layer matches, and what each model reads', () => {
    const result = run(['validate', PODCAST_LAYER, '--warehouse'], { MARQUEE_DATA_DIR: podcastDir });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/: matches\n/);
    expect(result.stdout).toMatch(
      /listening: audio\.plays, tenant column org, days: day \(DateTime64\(3, 'America\/New_York'\)\)/,
    );
    expect(result.stdout).toMatch(/episodes: audio\.episodes, shared by every tenant/);
    expect(result.stdout).toMatch(/days are calendar days in Europe\/Berlin/);
  });

  it('lists every disagreement at once, each at its YAML line, and exits 1', async () => {
    const layer = join(dir.path, 'wrong-layer');
    await cp(PODCAST_LAYER, layer, { recursive: true });
    const file = join(layer, 'podcast.yaml');
    const text = (await readFile(file, 'utf8'))
      // A DateTime64 declared as a date, an integer declared as a date, a missing table, a missing column.
      .replace('column: started_at\n    type: timestamp', 'column: started_at\n    type: date')
      .replace('column: market\n', 'column: listener\n    type: date\n')
      .replace('table: audio.members_daily', 'table: audio.members')
      .replace('column: seconds', 'column: secs')
      .replace('table: episodes\n    database: audio\n', 'table: episodes\n');
    await writeFile(file, text);
    const result = run(['validate', layer, '--warehouse'], { MARQUEE_DATA_DIR: podcastDir });
    expect(result.status).toBe(1);
    const line = (pattern: string) => new RegExp(`podcast\\.yaml:\\d+:\\d+ ${pattern}`);
    expect(result.stdout).toMatch(
      line(
        `dimensions\\.day\\.type: Column "started_at" is DateTime64\\(3, 'America/New_York'\\), which cannot be a date dimension: declare type: timestamp`,
      ),
    );
    expect(result.stdout).toMatch(
      line('dimensions\\.market\\.type: Column "listener" is UInt64, which cannot be a date'),
    );
    expect(result.stdout).toMatch(
      line(
        'models\\.members\\.table: Table "audio\\.members" does not exist in the warehouse; tables of "audio": episodes, members_daily, plays',
      ),
    );
    expect(result.stdout).toMatch(
      line(
        'metrics\\.listen_hours\\.column: Column "secs" does not exist in "audio\\.plays"; columns: org, started_at, episode_id, market, listener, seconds',
      ),
    );
    expect(result.stdout).toMatch(
      line(
        'models\\.episodes\\.table: Table "default\\.episodes" does not exist in the warehouse; it is in database "audio": write table: audio\\.episodes, or set CLICKHOUSE_DATABASE',
      ),
    );
    expect(result.stdout).toMatch(/\n5 problem\(s\)\n$/);
  });
});

describe('marquee validate --warehouse on data that would count twice', () => {
  it('names a shared catalogue key on several rows, at the join that would count it twice', async () => {
    const twice = join(dir.path, 'twice');
    await buildWarehouse(twice, async (admin) => {
      await seedPodcast(admin);
      await admin.command(
        "INSERT INTO audio.episodes VALUES ('ep-3', 'Long Shadow 3 (rerun)', 'News', '2025-01-01')",
      );
    });
    const result = run(['validate', PODCAST_LAYER, '--warehouse'], { MARQUEE_DATA_DIR: twice });
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(
      /podcast\.yaml:\d+:\d+ models\.listening\.joins\.0\.on: Keys of "audio\.episodes" name several rows \(e\.g\. "\('ep-3'\)" on 2 rows\): a "listening" row joined to one counts once per copy; make \(episode_id\) unique/,
    );
    expect(result.stdout).toMatch(/\n1 problem\(s\)\n$/);
  });
});

describe('marquee start on a warehouse that is not the demo', () => {
  let userDir: string;
  beforeAll(async () => {
    userDir = join(dir.path, 'user');
    await buildWarehouse(userDir, async (admin) => {
      // The user's own table, named like a fixture table.
      await admin.command(
        'CREATE TABLE content (tenant_id String, content_id String, title String) ENGINE = MergeTree ORDER BY content_id',
      );
      await admin.command("INSERT INTO content VALUES ('acme', 'x-1', 'Their own title')");
    });
  });

  const userRows = async () => {
    const warehouse = createWarehouse({ kind: 'embedded', dataDir: userDir, readers: 1, limits: LIMITS });
    try {
      return await warehouse.admin().query('SELECT * FROM content');
    } finally {
      await warehouse.close();
    }
  };

  it('refuses without a tenant, with the fix, and leaves the table as it was', async () => {
    const result = run(['start'], { MARQUEE_DATA_DIR: userDir });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /holds tables Marquee did not create \(default\.content\): serving it as it is/,
    );
    expect(result.stderr).toMatch(/not the demo \(.*\), and MARQUEE_TENANT is not set: set MARQUEE_TENANT/);
    expect(result.stderr).not.toMatch(/seeding the demo warehouse/);
    expect(await userRows()).toEqual([{ tenant_id: 'acme', content_id: 'x-1', title: 'Their own title' }]);
  });

  it('serves it as it is with a tenant, and an explicit seed refuses to replace the table', async () => {
    const server = await spawnHttpServer({ MARQUEE_DATA_DIR: userDir, MARQUEE_TENANT: 'acme' }, ['start']);
    server.stop();
    await server.exited;
    expect(server.log()).toMatch(
      /holds tables Marquee did not create \(default\.content\): serving it as it is/,
    );
    expect(server.log()).not.toMatch(/seeding the demo warehouse/);
    const seeded = run(['seed', '--scale', '0.01'], { MARQUEE_DATA_DIR: userDir });
    expect(seeded.status).toBe(1);
    expect(seeded.stderr).toMatch(
      /Seeding would replace "content", which Marquee's seed did not create; nothing was changed/,
    );
    expect(await userRows()).toEqual([{ tenant_id: 'acme', content_id: 'x-1', title: 'Their own title' }]);
  });
});

describe('marquee seed and start beside tables of another database', () => {
  it('seeds the demo beside them when asked, and start then still does not take it for the demo', async () => {
    const mixed = join(dir.path, 'mixed');
    await buildWarehouse(mixed, async (admin) => {
      await admin.command('CREATE DATABASE shop');
      await admin.command(
        'CREATE TABLE shop.plays (org String, at DateTime) ENGINE = MergeTree ORDER BY org',
      );
    });
    const seeded = run(['seed', '--scale', '0.01'], { MARQUEE_DATA_DIR: mixed });
    expect(seeded.status).toBe(0);
    expect(seeded.stderr).toMatch(
      /also holds tables Marquee did not create \(shop\.plays\): they are left as they are, and the demo tables go beside them/,
    );
    const started = run(['start'], { MARQUEE_DATA_DIR: mixed });
    expect(started.status).toBe(1);
    expect(started.stderr).toMatch(
      /This warehouse is not the demo \(the warehouse at .* holds tables Marquee did not create \(shop\.plays\)/,
    );
  });

  it('start with another layer never seeds the demo into a mistyped directory', () => {
    const typo = join(dir.path, 'podcsat');
    const result = run(['start'], {
      MARQUEE_DATA_DIR: typo,
      MARQUEE_SEMANTIC_LAYER: PODCAST_LAYER,
      MARQUEE_TENANT: 'echo',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /There is no warehouse at .*podcsat \(MARQUEE_DATA_DIR\); "marquee start" seeds the demo warehouse only for the shipped semantic layer/,
    );
    expect(existsSync(typo)).toBe(false);
  });
});

describe('errors that point the right way', () => {
  it('a missing data directory is named with the fix, and never created', async () => {
    const missing = join(dir.path, 'typo');
    const result = run(['serve', '--http'], { MARQUEE_DATA_DIR: missing, MARQUEE_TENANT: 'acme' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`There is no warehouse at ${missing} \\(MARQUEE_DATA_DIR\\): run "marquee seed"`),
    );
    const client = await connectStdio({ MARQUEE_DATA_DIR: missing, MARQUEE_TENANT: 'acme' });
    try {
      const answer = (await client.callTool({ name: 'query_engagement', arguments: {} })) as {
        isError?: boolean;
        content: { text?: string }[];
      };
      expect(answer.isError).toBe(true);
      expect(answer.content[0]?.text).toMatch(/There is no warehouse at .*run "marquee seed"/);
    } finally {
      await client.close();
    }
    expect(existsSync(missing)).toBe(false);
  });

  it('an empty directory says it has no tables, and /readyz says why it is not ready', async () => {
    const empty = join(dir.path, 'empty');
    await buildWarehouse(empty, async (admin) => {
      await admin.query('SELECT 1');
    });
    const server = await spawnHttpServer({ MARQUEE_DATA_DIR: empty, MARQUEE_TENANT: 'acme' });
    try {
      expect(server.log()).toMatch(
        /has no tables in the databases the layer reads: point MARQUEE_DATA_DIR \(or CLICKHOUSE_URL\) at your warehouse, or run "marquee seed" for the demo one/,
      );
      const ready = await fetch(new URL('/readyz', server.url));
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { reason: string; problems: string[] };
      expect(body.reason).toMatch(/does not match the warehouse/);
      expect(body.problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            /models\.yaml:\d+:\d+ models\.viewing\.table: Table "default\.viewing_events" does not exist/,
          ),
        ]),
      );
    } finally {
      server.stop();
      await server.exited;
    }
  });
});
