import { spawnSync } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { applyConfigFile, ConfigFileError, readConfigFile } from '../../src/config-file.js';
import { formatProblem } from '../../src/semantic/load-semantic-layer.js';
import { CLI, ROOT, SEMANTIC_LAYER, seedInChild, spawnHttpServer, tempDir } from '../helpers.js';

let dir: { path: string; remove: () => Promise<void> };
beforeAll(async () => {
  dir = await tempDir('config-file');
});
afterAll(async () => {
  await dir?.remove();
});

/** The problems `readConfigFile` finds in `text`, as `validate` prints them. */
function problemsOf(text: string): string[] {
  try {
    readConfigFile('marquee.config.yaml', text);
  } catch (error) {
    if (error instanceof ConfigFileError) return error.problems.map(formatProblem);
    throw error;
  }
  return [];
}

describe('marquee.config.yaml', () => {
  it('is checked like the semantic layer: every problem at its line, with what was meant', () => {
    const text = [
      'warehouse:',
      '  url: not a url',
      '  readres: 4',
      'htp:',
      '  port: 3000',
      'http:',
      '  port: seventy',
      'limits:',
      '  call_max_rows_read: -5',
      'tracing:',
      '  endpoint: http://collector:4318',
      '  protocol: grpc',
      'log_level: loud',
      'identity: aurora',
    ].join('\n');
    expect(problemsOf(text)).toEqual([
      'marquee.config.yaml:2:8 warehouse.url: Invalid URL, not "not a url" (CLICKHOUSE_URL)',
      'marquee.config.yaml:3:3 warehouse.readres: Unknown setting "readres": did you mean "readers"?',
      'marquee.config.yaml:4:1 htp: Unknown setting "htp": did you mean "http"?',
      'marquee.config.yaml:7:9 http.port: Invalid input: expected number, received NaN, not "seventy" (MARQUEE_HTTP_PORT)',
      'marquee.config.yaml:9:23 limits.call_max_rows_read: Too small: expected number to be >0, not "-5" (MARQUEE_CALL_MAX_ROWS_READ)',
      'marquee.config.yaml:13:12 log_level: Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent", not "loud" (MARQUEE_LOG_LEVEL)',
      'marquee.config.yaml:14:11 identity: Expected the settings of identity: tenant, roles, scopes',
      'marquee.config.yaml:12:13 tracing.protocol: OTEL_EXPORTER_OTLP_PROTOCOL="grpc"; Marquee takes http/protobuf, http/json',
    ]);
    // Broken YAML is named where the parser stopped, nothing is applied.
    const broken = problemsOf('warehouse: [a\n');
    expect(broken.length).toBeGreaterThan(0);
    for (const problem of broken) expect(problem).toMatch(/^marquee\.config\.yaml:\d+:\d+ /);
    expect(problemsOf('- a list\n')).toEqual([
      expect.stringMatching(/^marquee\.config\.yaml:1:1 Expected a mapping of settings \(warehouse, /),
    ]);
  });

  it("takes the README's example as it is", async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const example = /```yaml\n(# marquee\.config\.yaml\n[\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    expect(problemsOf(example ?? '')).toEqual([]);
    expect(readConfigFile('example.yaml', example).values.size).toBeGreaterThan(25);
  });

  it('refuses an empty value, and a list item holding a separator, rather than reading them as something', () => {
    expect(
      problemsOf(
        [
          'http: { port: }',
          'cache: { result_mb: "" }',
          'semantic_layer:',
          'identity: { roles: [vp, "latam_analyst,bi_service"] }',
        ].join('\n'),
      ),
    ).toEqual([
      'marquee.config.yaml:1:15 http.port: Expected a value (text, a number, true or false, or a list of names without spaces or commas)',
      'marquee.config.yaml:2:21 cache.result_mb: Expected a value (text, a number, true or false, or a list of names without spaces or commas)',
      'marquee.config.yaml:3:16 semantic_layer: Expected a value (text, a number, true or false, or a list of names without spaces or commas)',
      'marquee.config.yaml:4:13 identity.roles: Expected a value (text, a number, true or false, or a list of names without spaces or commas)',
    ]);
    // In the environment, a variable set to nothing is unset: its default, not 0.
    const config = loadConfig({
      MARQUEE_HTTP_PORT: '',
      MARQUEE_RESULT_CACHE_MB: ' ',
      MARQUEE_QUEUE_WAIT_MS: '',
    });
    expect(config.http.port).toBe(3000);
    expect(config.cache.maxBytes).toBe(256 * 1024 ** 2);
    expect(config.cache.fairness.maxWaitMs).toBe(10_000);
  });

  it('takes every value as written: numbers-looking secrets and names are not numbers', () => {
    const { values } = readConfigFile(
      'marquee.config.yaml',
      [
        'cursor_secret: 0123',
        'warehouse: { password: 0x1F, readers: 4 }',
        'identity: { tenant: 1e3, roles: [007, vp] }',
        'charts: { inline_png: true }',
        `auth: { audience: '12345678901234567890123' }`,
      ].join('\n'),
    );
    expect(Object.fromEntries([...values].map(([variable, { value }]) => [variable, value]))).toEqual({
      MARQUEE_CURSOR_SECRET: '0123',
      CLICKHOUSE_PASSWORD: '0x1F',
      MARQUEE_READERS: '4',
      MARQUEE_TENANT: '1e3',
      MARQUEE_ROLES: '007,vp',
      MARQUEE_INLINE_CHART_PNG: 'true',
      MARQUEE_AUTH_AUDIENCE: '12345678901234567890123',
    });
  });

  it('fills what the environment leaves unset: paths from the file, lists as lists; a variable wins', async () => {
    const home = join(dir.path, 'home');
    await mkdir(home, { recursive: true, mode: 0o700 });
    await writeFile(
      join(home, 'marquee.config.yaml'),
      [
        'semantic_layer: layer',
        'warehouse: { data_dir: ./data, readers: 6 }',
        'identity: { tenant: aurora, roles: [vp, latam_analyst] }',
        'http: { port: 4100 }',
        'limits: { call_max_rows_read: 5000000 }',
      ].join('\n'),
    );
    const env: NodeJS.ProcessEnv = { MARQUEE_HTTP_PORT: '4200' };
    const read = applyConfigFile(env, home);
    expect(read?.applied.sort()).toEqual(
      [
        'identity.roles',
        'identity.tenant',
        'limits.call_max_rows_read',
        'semantic_layer',
        'warehouse.data_dir',
        'warehouse.readers',
      ].sort(),
    );
    expect(read?.overridden).toEqual(['http.port (MARQUEE_HTTP_PORT)']);
    const config = loadConfig(env);
    expect(config.semanticLayerDir).toBe(join(home, 'layer'));
    expect(config.warehouse).toMatchObject({ kind: 'embedded', dataDir: join(home, 'data'), readers: 6 });
    expect(config.localIdentity).toMatchObject({ tenant: 'aurora', roles: ['vp', 'latam_analyst'] });
    expect(config.http.port).toBe(4200);
    expect(config.cache.maxRowsReadPerCall).toBe(5_000_000);
    // MARQUEE_CONFIG names the file; one that is not there is an error, not silence.
    expect(() => applyConfigFile({ MARQUEE_CONFIG: 'nowhere.yaml' }, home)).toThrow(
      `MARQUEE_CONFIG names ${join(home, 'nowhere.yaml')}, which does not exist`,
    );
    expect(applyConfigFile({}, dir.path)).toBeUndefined();
    // A file others may write, or may replace, is refused: it could point the server at their warehouse.
    await chmod(join(home, 'marquee.config.yaml'), 0o666);
    expect(() => applyConfigFile({}, home)).toThrow(
      `The config file ${join(home, 'marquee.config.yaml')} may be written by others (mode 0666): make it writable by its owner only (chmod go-w)`,
    );
    await chmod(join(home, 'marquee.config.yaml'), 0o600);
    await chmod(home, 0o777);
    expect(() => applyConfigFile({}, home)).toThrow(
      `The config file ${join(home, 'marquee.config.yaml')} is in a directory others may write (${home}, mode 0777), so they could replace it`,
    );
    // With the sticky bit (as /tmp has), others cannot replace it.
    await chmod(home, 0o1777);
    expect(applyConfigFile({}, home)?.file).toBe(join(home, 'marquee.config.yaml'));
    await chmod(home, 0o700);
    // MARQUEE_CONFIG naming a directory is named as such, not a stack.
    expect(() => applyConfigFile({ MARQUEE_CONFIG: home }, dir.path)).toThrow(
      `MARQUEE_CONFIG names ${home}, which is not a file`,
    );
  });

  it('serves from the file alone, and validate lists its problems', async () => {
    const data = join(dir.path, 'served', 'warehouse');
    seedInChild(data);
    const file = join(dir.path, 'served', 'marquee.config.yaml');
    // Only its owner may write where the file is (whatever the umask made the directory).
    await chmod(join(dir.path, 'served'), 0o700);
    await writeFile(
      file,
      [
        `semantic_layer: ${SEMANTIC_LAYER}`,
        'warehouse: { data_dir: warehouse }',
        'state: { dir: state }',
        'identity: { tenant: aurora, roles: [vp] }',
      ].join('\n'),
    );
    const server = await spawnHttpServer({ MARQUEE_CONFIG: file });
    try {
      expect(server.log()).toContain(`read 4 setting(s) from ${file}`);
      const ready = await fetch(new URL('/readyz', server.url));
      expect(ready.status).toBe(200);
    } finally {
      server.stop();
      await server.exited;
    }
    await writeFile(file, 'warehouse: { readers: none }\n');
    const validate = spawnSync(process.execPath, [CLI, 'validate'], {
      env: { ...process.env, MARQUEE_CONFIG: file },
      encoding: 'utf8',
    });
    expect(validate.status).toBe(1);
    expect(validate.stdout).toBe(
      `${file}:1:23 warehouse.readers: Invalid input: expected number, received NaN, not "none" (MARQUEE_READERS)\n1 problem(s)\n`,
    );
    const serve = spawnSync(process.execPath, [CLI, 'serve', '--http'], {
      env: { ...process.env, MARQUEE_CONFIG: file },
      encoding: 'utf8',
    });
    expect(serve.status).toBe(1);
    expect(serve.stderr).toContain('warehouse.readers: Invalid input');
  });
});
