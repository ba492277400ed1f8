import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, logMessages, SEMANTIC_LAYER, seedInChild, spawnHttpServer, tempDir } from '../helpers.js';

/** A command's run, its stderr read as the messages of its JSON log. */
function run(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return { ...result, stderr: logMessages(result.stderr) };
}

let dir: { path: string; remove: () => Promise<void> };
beforeAll(async () => {
  dir = await tempDir('cli');
});
afterAll(async () => {
  await dir?.remove();
});

describe('marquee validate', () => {
  it('accepts the shipped layer', () => {
    const result = run(['validate', SEMANTIC_LAYER]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/ok \(7 models, 29 dimensions, 20 metrics, 6 tools, 3 resources\)/);
  });

  it('names a directory with no layer in it', async () => {
    const empty = join(dir.path, 'no-layer');
    await mkdir(empty);
    const result = run(['validate', empty]);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain(`${empty}:1:1 No .yaml files in the semantic layer directory ${empty}`);
  });

  it('exits non-zero on a broken model, naming file, line and fix', async () => {
    const broken = join(dir.path, 'broken');
    await cp(SEMANTIC_LAYER, broken, { recursive: true });
    await writeFile(
      join(broken, 'extra.yaml'),
      'metrics:\n  plays:\n    model: viewing\n    aggregation: summ\n    description: x\n',
    );
    const result = run(['validate', broken]);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/extra\.yaml:4:18 metrics\.plays\.aggregation: Invalid option/);
    expect(result.stdout).toMatch(/1 problem\(s\)/);
  });
});

describe('marquee explain', () => {
  it('prints SQL and parameters without running the query', () => {
    const dataDir = join(dir.path, 'warehouse');
    seedInChild(dataDir);
    const result = run(
      [
        'explain',
        'query_engagement',
        JSON.stringify({ time_range: '2026-Q3', geo: 'LATAM', compare_to: 'previous_period' }),
      ],
      { MARQUEE_DATA_DIR: dataDir, MARQUEE_TENANT: 'aurora' },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const plan = JSON.parse(result.stdout);
    expect(plan.tool).toBe('query_engagement');
    const { queries } = plan;
    expect(Object.keys(queries)).toEqual(['rows', 'totals', 'movers_by_country', 'movers_by_device']);
    expect(queries.totals.sql).toMatch(/`tenant_id` = \{p\d+:String\}/);
    // The privacy rules' measures are part of what runs: distinct viewers per group, here merged from the
    // smallest rollup `seed` built that keeps the countries a region reaches (the question is in whole months:
    // its monthly tier).
    expect(queries.rows.sql).toMatch(/uniqCombinedMerge\(14\)\(`viewing`\.`m_unique_viewers`\) as `_people`/);
    expect(queries.rows.sql).toContain('from `viewing_daily_by_country_by_month`');
    expect(Object.values(queries.totals.parameters)).toEqual(
      expect.arrayContaining(['aurora', 'LATAM', '2026-07-01', '2026-06-30']),
    );
  });

  it.each([
    ['explain_change', { time_range: '2026-Q3', geo: ['BR', 'MX'] }, ['totals', 'movers_by_country']],
    ['compare_campaigns', { campaign_a: 'aur-c-spring-26', campaign_b: 'aur-c-winter-25' }, ['arms', 'days']],
    ['forecast_subs', { horizon: 3 }, ['history']],
    ['find_content', { query: 'harbor' }, ['results']],
    ['list_campaigns', { time_range: '2026' }, ['results']],
  ])('prints the plan of %s', (tool, args, expected) => {
    const result = run(['explain', tool, JSON.stringify(args)], {
      MARQUEE_DATA_DIR: join(dir.path, 'warehouse'),
      MARQUEE_TENANT: 'aurora',
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const plan = JSON.parse(result.stdout);
    expect(plan.tool).toBe(tool);
    expect(Object.keys(plan.queries)).toEqual(expect.arrayContaining(expected));
    for (const query of Object.values(plan.queries) as { sql: string; parameters: object }[]) {
      expect(query.sql).toMatch(/`tenant_id` = \{p\d+:String\}/);
      expect(Object.values(query.parameters)).toContain('aurora');
    }
    if (tool === 'explain_change') {
      expect(plan.follow_up).toMatch(/contributor/);
      // A list filter's values are checked for their own contribution before the answer runs.
      expect(Object.keys(plan.queries)).toContain('privacy_check_totals_country');
    }
  });

  it('explains a bad call as the tool would refuse it', () => {
    const result = run(['explain', 'query_engagement', '{"metrics":["watch_minuts"]}'], {
      MARQUEE_TENANT: 'aurora',
      MARQUEE_DATA_DIR: join(dir.path, 'warehouse'),
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/did you mean "watch_minutes"/);
  });
});

describe('marquee <command> --help', () => {
  it.each(['serve', 'start', 'seed', 'rollups', 'validate', 'explain', 'idp'])(
    '%s --help shows that command and runs nothing',
    (command) => {
      // No warehouse, no tenant: a command that ran would fail; its help does not.
      const result = run([command, '--help'], {
        MARQUEE_DATA_DIR: join(dir.path, 'never-created'),
        MARQUEE_TENANT: '',
      });
      expect(result.status).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(new RegExp(`^Usage: marquee\\n  ${command}\\b`));
      expect(result.stdout.match(/^ {2}[a-z]/gm)).toHaveLength(1);
      expect(existsSync(join(dir.path, 'never-created'))).toBe(false);
    },
  );
});

describe('a usage mistake', () => {
  it('is a usage line in the JSON log, not a stack: an option a command does not take, or without its value', () => {
    for (const args of [
      ['seed', '--ddl', '--bogus'],
      ['seed', '--ddl', '--cluster'],
    ]) {
      const result = run(args);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(/^.*option.*\(marquee <command> --help\)$/i);
      expect(result.stderr).not.toContain('    at ');
    }
  });
});

describe('an unknown command', () => {
  it('is refused in the JSON log with the command meant, and the usage on stdout', () => {
    // run() reads stderr as JSON log lines: a plain-text line would fail here.
    const result = run(['valdate']);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('Unknown command "valdate": did you mean "validate"?');
    expect(result.stdout).toMatch(/^Usage: marquee <command>/);
  });
});

describe('marquee serve', () => {
  it('refuses to serve HTTP beyond loopback without authentication', () => {
    const result = run(['serve', '--http'], {
      MARQUEE_TENANT: 'aurora',
      MARQUEE_HTTP_HOST: '0.0.0.0',
      MARQUEE_DATA_DIR: join(dir.path, 'other'),
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Refusing to listen on 0\.0\.0\.0/);
  });

  it('needs a tenant identity', () => {
    const env = { ...process.env };
    delete env.MARQUEE_TENANT;
    const result = spawnSync(process.execPath, [CLI, 'serve', '--stdio'], {
      env,
      encoding: 'utf8',
      input: '',
    });
    expect(result.status).toBe(1);
    expect(logMessages(result.stderr)).toMatch(/MARQUEE_TENANT/);
  });

  it('fails at start, with the reason, when another process holds the embedded warehouse', async () => {
    const dataDir = join(dir.path, 'held');
    seedInChild(dataDir);
    const holder = await spawnHttpServer({ MARQUEE_DATA_DIR: dataDir, MARQUEE_TENANT: 'aurora' });
    try {
      const second = run(['start'], { MARQUEE_DATA_DIR: dataDir, MARQUEE_HTTP_PORT: '0' });
      expect(second.status).toBe(1);
      expect(second.stderr).toMatch(
        new RegExp(
          `Cannot open the warehouse at ${dataDir}: it is open in another process \\(pid ${holder.pid}\\).*serves one process at a time; retrying will not help`,
        ),
      );
      expect(second.stderr).not.toMatch(/\n\s+at /);
      // Both processes wrote one JSON log stream (logMessages fails on any other line).
      expect(holder.log()).toMatch(/serving MCP at http/);
    } finally {
      holder.stop();
    }
  });
});
