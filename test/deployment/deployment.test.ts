import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fixtureDdl } from '../../fixtures/seed-fixtures.js';
import { loadConfig } from '../../src/config.js';
import { loadSemanticLayer } from '../../src/semantic/load-semantic-layer.js';
import { TOOL_KINDS } from '../../src/tools/catalog.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { CLI, ROOT, SEMANTIC_LAYER, tempDir, tempWarehouse } from '../helpers.js';

const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');
/** The secrets docker-compose.yml requires from .env; test values only. */
const SECRETS = {
  CLICKHOUSE_ADMIN_PASSWORD: 'test-admin',
  CLICKHOUSE_READER_PASSWORD: 'test-reader',
  CLICKHOUSE_WRITER_PASSWORD: 'test-writer',
  CLICKHOUSE_CLUSTER_SECRET: 'test-cluster',
  MARQUEE_CURSOR_SECRET: 'test-cursor',
};

const composeVersion = spawnSync('docker-compose', ['version', '--short'], { encoding: 'utf8' });
const hasCompose = composeVersion.status === 0;
if (!hasCompose)
  console.warn(
    'SKIPPED: docker-compose.yml validation needs docker-compose (Debian: apt-get install docker-compose), which is not installed here',
  );

let dir: { path: string; remove: () => Promise<void> };
let emptyEnv: string;
beforeAll(async () => {
  dir = await tempDir('deploy');
  // An empty env file, so a developer's .env never stands in for the variables a test sets (or leaves unset).
  emptyEnv = join(dir.path, 'empty.env');
  await writeFile(emptyEnv, '');
});
afterAll(async () => {
  await dir?.remove();
});

/** docker-compose over the repository's file, with only `env`'s variables beyond the process's own. */
function compose(args: string[], env: Record<string, string> = {}) {
  const own = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !(name in SECRETS) && !name.startsWith('MARQUEE_')),
  );
  return spawnSync('docker-compose', ['--env-file', emptyEnv, '-f', COMPOSE_FILE, ...args], {
    env: { ...own, ...env },
    encoding: 'utf8',
    cwd: ROOT,
  });
}

describe.skipIf(!hasCompose)('docker-compose.yml, checked by docker-compose', () => {
  it('validates for the server and the cluster profiles', () => {
    for (const profile of ['server', 'cluster']) {
      const result = compose(['--profile', profile, 'config', '--quiet'], SECRETS);
      expect(result.stderr, profile).toBe('');
      expect(result.status, profile).toBe(0);
    }
    const services = compose(
      ['--profile', 'server', '--profile', 'cluster', 'config', '--services'],
      SECRETS,
    );
    expect(services.stdout.split('\n').filter(Boolean).sort()).toEqual(
      [
        'clickhouse',
        'clickhouse-1',
        'clickhouse-2',
        'keeper',
        'marquee',
        'marquee-cluster',
        'marquee-stdio',
        'seed',
        'seed-cluster',
      ].sort(),
    );
  });

  it('refuses to start without the secrets, naming the one missing', () => {
    for (const missing of Object.keys(SECRETS)) {
      const env = Object.fromEntries(Object.entries(SECRETS).filter(([name]) => name !== missing));
      const result = compose(['--profile', 'server', 'config', '--quiet'], env);
      expect(result.status, missing).not.toBe(0);
      expect(result.stderr, missing).toContain(`set ${missing} in .env`);
    }
  });
});

describe('docker-compose.yml, as written', () => {
  type Service = {
    image?: string;
    profiles?: string[];
    command?: string[];
    environment?: Record<string, string>;
    build?: { dockerfile: string };
  };
  let services: Record<string, Service>;
  beforeAll(async () => {
    // Anchors and merge keys resolved, as docker-compose reads them.
    services = parse(await readFile(COMPOSE_FILE, 'utf8'), { merge: true, maxAliasCount: 200 }).services;
  });

  it('mounts only files the repository holds', () => {
    const mounts = Object.values(services).flatMap((service) =>
      ((service as { volumes?: string[] }).volumes ?? []).filter((volume) => volume.startsWith('./')),
    );
    expect(mounts.length).toBeGreaterThan(4);
    for (const mount of mounts) expect(existsSync(join(ROOT, mount.split(':')[0] ?? '')), mount).toBe(true);
    expect(existsSync(join(ROOT, '.docker/Dockerfile'))).toBe(true);
  });

  it('pins every ClickHouse image to a full version, and builds Marquee from .docker/Dockerfile', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.build !== undefined) {
        expect(service.build.dockerfile, name).toBe('.docker/Dockerfile');
        continue;
      }
      expect(service.image, name).toMatch(/^clickhouse\/clickhouse-(server|keeper):\d+\.\d+\.\d+\.\d+$/);
    }
  });

  it('reads as the read-only user, writes its audit as the writer, seeds as the admin, with a cursor secret', () => {
    for (const name of ['marquee', 'marquee-cluster', 'marquee-stdio']) {
      const env = services[name]?.environment ?? {};
      expect(env.CLICKHOUSE_USER, name).toBe('marquee_reader');
      expect(env.CLICKHOUSE_ADMIN_USER, name).toBe('marquee_writer');
      expect(env.MARQUEE_CURSOR_SECRET, name).toMatch(/^\$\{MARQUEE_CURSOR_SECRET:\?/);
    }
    for (const name of ['seed', 'seed-cluster'])
      expect(services[name]?.environment?.CLICKHOUSE_USER).toBe('marquee_admin');
    expect(services['seed-cluster']?.command).toEqual(['seed', '--remote', '--cluster', 'marquee']);
    // The configuration each serving container gets is one Marquee accepts (secrets and auth filled in).
    const env = Object.fromEntries(
      Object.entries(services.marquee?.environment ?? {}).map(([name, value]) => [
        name,
        value.replace(/^\$\{([A-Z_]+)[:?-][^}]*\}$/, (_, variable: string) =>
          variable.startsWith('MARQUEE_AUTH_') ? 'https://idp.example.com/jwks' : 'test-value',
        ),
      ]),
    );
    const config = loadConfig(env);
    expect(config.warehouse).toMatchObject({
      kind: 'remote',
      user: 'marquee_reader',
      admin: { user: 'marquee_writer', password: 'test-value' },
    });
    expect(config.cursorSecret).toBe('test-value');
    expect(config.http.metrics).toEqual({ host: '0.0.0.0', port: 9464 });
  });

  it("keeps the reader's grants to SELECT on the analytics database and its profile read-only", async () => {
    const users = await readFile(join(ROOT, '.docker/clickhouse/users.xml'), 'utf8');
    const reader = /<marquee_reader>\s*<password[\s\S]*?<\/marquee_reader>/.exec(users)?.[0] ?? '';
    expect([...reader.matchAll(/<query>([^<]*)<\/query>/g)].map((m) => m[1])).toEqual([
      'GRANT SELECT ON default.*',
    ]);
    expect(reader).toContain('<profile>marquee_reader</profile>');
    expect(/<profiles>[\s\S]*<marquee_reader>\s*<readonly>2<\/readonly>/.test(users)).toBe(true);
    const writer = /<marquee_writer>[\s\S]*?<\/marquee_writer>/.exec(users)?.[0] ?? '';
    expect(writer).toContain('ON marquee.*');
    expect(users).toContain('<default remove="remove" />');
  });
});

describe('the fixture DDL on a cluster', () => {
  let embedded: { warehouse: Warehouse; remove: () => Promise<void> };
  beforeAll(async () => {
    embedded = await tempWarehouse('ddl');
  });
  afterAll(async () => {
    await embedded?.remove();
  });

  it('is parsed by the embedded engine, statement by statement', async () => {
    const statements = fixtureDdl('marquee');
    expect(statements.length).toBeGreaterThan(20);
    for (const statement of statements) {
      const [row] = await embedded.warehouse.admin().query('SELECT formatQuery({q:String}) AS formatted', {
        q: statement,
      });
      expect(String(row?.formatted), statement).toMatch(/^(CREATE|DROP) TABLE/);
    }
    // The engine's parser is the check: a broken statement is refused.
    await expect(
      embedded.warehouse.admin().query('SELECT formatQuery({q:String})', { q: `${statements[2]} ENGINE` }),
    ).rejects.toThrow(/Syntax error/i);
  });

  it('puts every table the shipped layer reads under a Distributed table of the same name', async () => {
    const statements = fixtureDdl('marquee');
    const layer = await loadSemanticLayer(SEMANTIC_LAYER, TOOL_KINDS);
    const tables = new Set([...layer.models.values()].map((model) => model.table));
    expect(tables.size).toBeGreaterThan(5);
    for (const table of tables) {
      const local = statements.find((s) => s.startsWith(`CREATE TABLE ${table}_local ON CLUSTER marquee (`));
      expect(local, table).toMatch(/ENGINE = MergeTree/);
      const distributed = statements.find((s) => s.startsWith(`CREATE TABLE ${table} ON CLUSTER marquee`));
      expect(distributed, table).toContain(
        `AS ${table}_local ENGINE = Distributed(marquee, default, ${table}_local, `,
      );
      // Dropped before created: a second seed replaces the first.
      expect(statements.indexOf(`DROP TABLE IF EXISTS ${table} ON CLUSTER marquee SYNC`)).toBeLessThan(
        statements.indexOf(distributed ?? ''),
      );
    }
    // On one server, the same tables without a cluster.
    expect(fixtureDdl().some((s) => s.includes('ON CLUSTER') || s.includes('Distributed'))).toBe(false);
  });

  it('refuses a cluster name that is not an identifier', () => {
    expect(() => fixtureDdl('marquee; DROP TABLE x')).toThrow(/--cluster takes a cluster name/);
    expect(() => fixtureDdl('marquee', 'x; DROP')).toThrow(/must be a plain name/);
    // The Distributed tables name the database the seed runs in, resolved once, not on each node.
    expect(fixtureDdl('marquee', 'ott').filter((s) => s.includes('Distributed(marquee, ott, '))).toHaveLength(
      8,
    );
  });

  it('is what "marquee seed --ddl --cluster NAME" prints, with no warehouse', () => {
    const result = spawnSync(process.execPath, [CLI, 'seed', '--ddl', '--cluster', 'marquee'], {
      encoding: 'utf8',
      env: { ...process.env, MARQUEE_DATA_DIR: join(dir.path, 'none') },
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${fixtureDdl('marquee').join(';\n\n')};\n`);
    const embeddedSeed = spawnSync(process.execPath, [CLI, 'seed', '--cluster', 'marquee'], {
      encoding: 'utf8',
      env: { ...process.env, MARQUEE_DATA_DIR: join(dir.path, 'none') },
    });
    expect(embeddedSeed.status).not.toBe(0);
    expect(embeddedSeed.stderr).toContain('set CLICKHOUSE_URL to one of its nodes and pass --remote');
  });
});
