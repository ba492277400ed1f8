/**
 * Speed at scale: seeds the fixture at each size once (kept under bench/.data), serves it over HTTP in this
 * process, and measures through a real SDK client: per question shape, uncached (each call a new question:
 * another period, region, country or campaign) and cached; the same SQL run directly (the statements each
 * call sent, timed one after another on the same engine); how p50 grows with the data; throughput at 1, 8
 * and 32 concurrent clients with a stated repeat rate; peak RSS. Writes the "speed" section of BENCHMARKS.md.
 *
 *   npm run bench                                   # 5 M, 20 M and 100 M events
 *   npm run bench -- --events 5000000 --samples 10  # one size, fewer samples
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from '@modelcontextprotocol/client';
import { seedFixtures } from '../fixtures/seed-fixtures.js';
import { progress, withProgress } from '../src/cli/progress.js';
import type { CompiledQuery } from '../src/semantic/compiled-query.js';
import { loadSemanticLayer } from '../src/semantic/load-semantic-layer.js';
import { TOOL_KINDS } from '../src/tools/catalog.js';
import { AnalyticsService, DEFAULT_CACHE } from '../src/tools/framework/analytics-service.js';
import { buildRollups } from '../src/warehouse/build-rollups.js';
import { createWarehouse } from '../src/warehouse/create-warehouse.js';
import type { Warehouse } from '../src/warehouse/warehouse.js';
import { connectHttp, LIMITS, SEMANTIC_LAYER, startHttp, testDependencies } from '../test/helpers.js';
import { writeSection } from './benchmarks-md.js';

const { values: options } = parseArgs({
  options: {
    events: { type: 'string', default: '5000000,20000000,100000000' },
    samples: { type: 'string', default: '30' },
    'load-seconds': { type: 'string', default: '15' },
    'seed-only': { type: 'boolean', default: false },
    job: { type: 'string' },
  },
});
const SIZES = String(options.events).split(',').map(Number);
const SAMPLES = Number(options.samples);
const LOAD_SECONDS = Number(options['load-seconds']);
const DATA = resolve(import.meta.dirname, '.data');

type Args = Record<string, unknown>;
/** A question shape: its tool and, for sample i, a question of that shape no earlier sample asked. */
interface Shape {
  readonly label: string;
  readonly tool: string;
  readonly ask: (i: number) => Args;
}

const pick = <T>(list: readonly T[], i: number): T => list[i % list.length] as T;
const QUARTERS = ['2026-Q3', '2026-Q2', '2026-Q1', '2025-Q4', '2025-Q3', '2025-Q2', '2025-Q1'];
const REGIONS = ['LATAM', 'NA', 'EMEA', 'APAC'];
const COUNTRIES = ['BR', 'US', 'MX', 'GB', 'DE', 'FR', 'JP', 'CA', 'AR', 'IN'];
const DEVICES = ['Android', 'iOS', 'TV', 'Web'];
const MONTHS = Array.from({ length: 22 }, (_, m) => {
  const month = 9 - m; // from 2026-10 back
  const year = 2026 + Math.floor(month / 12);
  return `${year}-${String((((month % 12) + 12) % 12) + 1).padStart(2, '0')}`;
});
const METRICS = [['watch_minutes'], ['views'], ['unique_viewers'], ['watch_minutes', 'views']];
const CAMPAIGNS = [
  'aur-c-spring-26',
  'aur-c-winter-25',
  'aur-c-07',
  'aur-c-08',
  'aur-c-09',
  'aur-c-10',
  'aur-c-11',
  'aur-c-12',
];

const SHAPES: Shape[] = [
  {
    label: 'Q3 LATAM vs previous quarter',
    tool: 'query_engagement',
    ask: (i) => ({
      time_range: pick(QUARTERS, i),
      geo: pick(REGIONS, Math.floor(i / QUARTERS.length)),
      compare_to: 'previous_period',
      metrics: pick(METRICS, Math.floor(i / 28)),
    }),
  },
  {
    label: 'daily, BR, Android, one quarter',
    tool: 'query_engagement',
    ask: (i) => ({
      time_range: pick(QUARTERS, i),
      geo: pick(COUNTRIES, Math.floor(i / QUARTERS.length)),
      device: pick(DEVICES, i),
      grain: 'day',
    }),
  },
  {
    label: 'top 10 titles in August',
    tool: 'query_engagement',
    ask: (i) => ({
      time_range: pick(MONTHS, i),
      group_by: ['title'],
      metrics: pick(METRICS, Math.floor(i / MONTHS.length)),
      limit: 10,
    }),
  },
  {
    label: 'year to date by plan vs a year ago',
    tool: 'query_engagement',
    ask: (i) => ({
      // Year to date as the fixture's last day makes it, ending one day earlier per sample.
      time_range: { from: '2026-01-01', to: dayBefore('2026-10-31', i) },
      group_by: ['plan'],
      compare_to: 'year_ago',
    }),
  },
  {
    label: '2026 by country and month',
    tool: 'query_engagement',
    ask: (i) => ({
      time_range: { from: '2026-01-01', to: dayBefore('2026-10-31', i) },
      group_by: ['country'],
      grain: 'month',
      metrics: ['watch_minutes', 'views'],
    }),
  },
  {
    label: 'explain_change Q3 LATAM',
    tool: 'explain_change',
    ask: (i) => ({
      time_range: pick(QUARTERS, i),
      geo: pick(REGIONS, Math.floor(i / QUARTERS.length)),
      compare_to: 'previous_period',
      metric: pick(['watch_minutes', 'views'], Math.floor(i / 28)),
    }),
  },
  {
    label: 'compare_campaigns',
    tool: 'compare_campaigns',
    ask: (i) => ({
      campaign_a: pick(CAMPAIGNS, i),
      campaign_b: pick(CAMPAIGNS, i + 1 + Math.floor(i / CAMPAIGNS.length)),
    }),
  },
  {
    label: 'forecast_subs, 5 months',
    tool: 'forecast_subs',
    ask: (i) => ({
      horizon: 5 + (i % 4),
      unit: 'months',
      ...(i < 4 ? {} : { scenario: { churn_rate_change_points: Math.floor(i / 4) / 4 } }),
    }),
  },
];

function dayBefore(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function summary(times: readonly number[]) {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    n: sorted.length,
  };
}

/** A direct time below this sent no statement (the cheapest statement, SELECT 1, takes 1.5 ms): no ratio. */
const NO_STATEMENT_MS = 0.5;

const ms = (value: number) =>
  Number.isNaN(value) ? 'n/a' : value < 10 ? value.toFixed(1) : value.toFixed(0);

/** A view of the warehouse that records the statements sent while `recording` is set. */
function recorder(warehouse: Warehouse) {
  let recording: CompiledQuery[] | undefined;
  const view: Warehouse = {
    kind: warehouse.kind,
    query: (query) => {
      recording?.push(query);
      return warehouse.query(query);
    },
    ping: () => warehouse.ping(),
    admin: () => warehouse.admin(),
    close: () => warehouse.close(),
  };
  return {
    view,
    start: () => {
      recording = [];
    },
    stop: (): CompiledQuery[] => {
      const done = recording ?? [];
      recording = undefined;
      return done.filter((query) => !query.sql.includes('system.parts'));
    },
  };
}

async function timed(client: Client, tool: string, args: Args): Promise<number> {
  const started = performance.now();
  // Uncached questions on the events can take minutes at 100 M (explain_change): no client-side give-up.
  const result = await client.callTool({ name: tool, arguments: args }, { timeout: 15 * 60_000 });
  const took = performance.now() - started;
  if (result.isError === true)
    throw new Error(`${tool} ${JSON.stringify(args)}: ${JSON.stringify(result.content).slice(0, 400)}`);
  return took;
}

/** The statements one call sent, run directly one after another: the engine's share of the call. */
async function rawTime(warehouse: Warehouse, statements: readonly CompiledQuery[]): Promise<number> {
  const started = performance.now();
  for (const statement of statements) await warehouse.query(statement);
  return performance.now() - started;
}

interface ShapeResult {
  label: string;
  uncached: ReturnType<typeof summary>;
  cached: ReturnType<typeof summary>;
  raw: ReturnType<typeof summary>;
  overhead: ReturnType<typeof summary>;
  statements: number;
}

/** The data directory of a size, seeded once; its rollups built, or rebuilt where the layer's definition moved. */
async function seeded(events: number): Promise<string> {
  const dir = join(DATA, `events-${events}`);
  const marker = join(dir, 'seeded');
  const fresh = !existsSync(marker);
  if (fresh) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
  }
  const warehouse = createWarehouse(
    { kind: 'embedded', dataDir: join(dir, 'warehouse'), readers: 1, limits: LIMITS },
    { create: fresh },
  );
  const started = performance.now();
  if (fresh) {
    await withProgress(`seed ${events / 1_000_000} M`, (bar) =>
      seedFixtures(warehouse.admin(), { scale: events / 1_000_000, onProgress: bar }),
    );
  }
  const layer = await loadSemanticLayer(SEMANTIC_LAYER, TOOL_KINDS);
  await withProgress('rollups', (bar) => buildRollups(layer, warehouse.admin(), { progress: bar }));
  await warehouse.close();
  if (fresh) await writeFile(marker, `${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  return dir;
}

async function serve(dir: string, rollups = true) {
  const base = createWarehouse({
    kind: 'embedded',
    dataDir: join(dir, 'warehouse'),
    readers: 4,
    limits: { ...LIMITS, maxExecutionSeconds: 120 },
  });
  const recording = recorder(base);
  const dependencies = {
    ...(await testDependencies(recording.view)),
    // The production cache: its default bound, and the data's watermark read every 2 s.
    service: new AnalyticsService(await loadSemanticLayer(SEMANTIC_LAYER, TOOL_KINDS), recording.view, {
      ...DEFAULT_CACHE,
      rollups,
    }),
  };
  const server = await startHttp(recording.view, 'aurora', SEMANTIC_LAYER, ['vp'], dependencies);
  return { base, recording, server, dependencies };
}

async function measureShapes(events: number, rollups = true): Promise<ShapeResult[]> {
  const { base, recording, server } = await serve(await seeded(events), rollups);
  const client = await connectHttp(server.url);
  const results: ShapeResult[] = [];
  const bar = progress(`${events / 1_000_000} M${rollups ? '' : ' (events only)'}`);
  try {
    // One warm-up call per tool (its planning look-ups, the engine's first touches of the files).
    for (const shape of SHAPES) await timed(client, shape.tool, shape.ask(SAMPLES + 7));
    for (const [index, shape] of SHAPES.entries()) {
      const uncached: number[] = [];
      const raw: number[] = [];
      const overhead: number[] = [];
      let statements = 0;
      for (let i = 0; i < SAMPLES; i++) {
        recording.start();
        const took = await timed(client, shape.tool, shape.ask(i));
        const sent = recording.stop();
        statements += sent.length;
        const direct = await rawTime(base, sent);
        uncached.push(took);
        raw.push(direct);
        overhead.push(took - direct);
      }
      const cached: number[] = [];
      for (let i = 0; i < SAMPLES; i++) cached.push(await timed(client, shape.tool, shape.ask(0)));
      results.push({
        label: shape.label,
        uncached: summary(uncached),
        cached: summary(cached),
        raw: summary(raw),
        overhead: summary(overhead),
        statements: statements / SAMPLES,
      });
      bar.step(`${shape.label}: p50 ${ms(summary(uncached).p50)} ms`, {
        done: index + 1,
        total: SHAPES.length,
      });
    }
  } finally {
    bar.end();
    await client.close();
    await server.close();
    await base.close();
  }
  return results;
}

interface LoadResult {
  clients: number;
  calls: number;
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

/** `clients` clients calling back to back for LOAD_SECONDS: 80% one of five common questions, 20% new ones. */
async function measureLoad(events: number, counts: readonly number[]): Promise<LoadResult[]> {
  const { base, server } = await serve(await seeded(events));
  const common = SHAPES.slice(0, 5).map((shape) => ({ tool: shape.tool, args: shape.ask(0) }));
  let fresh = 0;
  const out: LoadResult[] = [];
  const bar = progress(`${events / 1_000_000} M load`);
  try {
    const warm = await connectHttp(server.url);
    for (const question of common) await timed(warm, question.tool, question.args);
    await warm.close();
    for (const count of counts) {
      const clients = await Promise.all(Array.from({ length: count }, () => connectHttp(server.url)));
      const times: number[] = [];
      let errors = 0;
      const until = performance.now() + LOAD_SECONDS * 1000;
      let draw = 0;
      await Promise.all(
        clients.map(async (client) => {
          while (performance.now() < until) {
            draw++;
            const repeat = draw % 5 !== 0;
            const question = repeat
              ? (common[draw % common.length] as (typeof common)[number])
              : (() => {
                  // A period no call asked before: its first day moves back one day per new question.
                  const shape = SHAPES[fresh % 5] as Shape;
                  const from = dayBefore('2026-09-30', 60 + Math.floor(fresh / 5));
                  fresh++;
                  return {
                    tool: shape.tool,
                    args: { ...shape.ask(fresh), time_range: { from, to: '2026-09-30' } },
                  };
                })();
            try {
              times.push(await timed(client, question.tool, question.args));
            } catch {
              errors++;
            }
          }
        }),
      );
      for (const client of clients) await client.close();
      const stats = summary(times);
      out.push({
        clients: count,
        calls: times.length,
        perSecond: times.length / LOAD_SECONDS,
        p50: stats.p50,
        p99: stats.p99,
        errors,
      });
      bar.step(`${count} clients: ${(times.length / LOAD_SECONDS).toFixed(1)} calls/s`, {
        done: counts.indexOf(count) + 1,
        total: counts.length,
      });
    }
  } finally {
    bar.end();
    await server.close();
    await base.close();
  }
  return out;
}

/**
 * One measurement in a process of its own: embedded chDB serves one data directory per process (opening a
 * second one in the same process loses what is written to it), and each measurement's peak RSS is its own.
 */
function inChild<T>(job: string, events: number): { result: T; peakRss: number } {
  const child = spawnSync(
    process.execPath,
    [
      ...process.execArgv,
      import.meta.filename,
      '--job',
      job,
      '--events',
      String(events),
      '--samples',
      String(SAMPLES),
      '--load-seconds',
      String(LOAD_SECONDS),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: process.env, maxBuffer: 64 * 1024 ** 2 },
  );
  if (child.status !== 0) throw new Error(`bench job ${job} at ${events} events failed (${child.status})`);
  return JSON.parse(child.stdout) as { result: T; peakRss: number };
}

const job = options.job;
if (job !== undefined) {
  const [events] = SIZES as [number];
  const result =
    job === 'seed'
      ? await seeded(events)
      : job === 'shapes'
        ? await measureShapes(events)
        : job === 'events-only'
          ? await measureShapes(events, false)
          : await measureLoad(events, [1, 8, 32]);
  process.stdout.write(JSON.stringify({ result, peakRss: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}
if (options['seed-only'] === true) {
  for (const events of SIZES) inChild('seed', events);
  process.exit(0);
}
const started = new Date();
const bySize = new Map<number, ShapeResult[]>();
const peaks: { label: string; mb: number }[] = [];
for (const events of SIZES) {
  const measured = inChild<ShapeResult[]>('shapes', events);
  bySize.set(events, measured.result);
  peaks.push({ label: `question shapes at ${events / 1_000_000} M`, mb: measured.peakRss });
}
const largest = Math.max(...SIZES);
const smallest = Math.min(...SIZES);
const eventsOnlyRun = inChild<ShapeResult[]>('events-only', largest);
const eventsOnly = eventsOnlyRun.result;
const loadRun = inChild<LoadResult[]>('load', largest);
const load = loadRun.result;
peaks.push(
  { label: `question shapes on the events only at ${largest / 1_000_000} M`, mb: eventsOnlyRun.peakRss },
  { label: `load at ${largest / 1_000_000} M`, mb: loadRun.peakRss },
);
const peakRss = Math.max(...peaks.map((peak) => peak.mb));

const millions = (events: number) => `${events / 1_000_000} M`;
const top = bySize.get(largest) ?? [];
const lines = [
  '## Speed at scale',
  '',
  `\`npm run bench -- --events ${SIZES.join(',')} --samples ${SAMPLES} --load-seconds ${LOAD_SECONDS}\`, ${started.toISOString().slice(0, 10)}, on ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 1024 ** 3)} GiB, Node ${process.versions.node}; embedded chDB; each measurement in its own process, serving HTTP with the SDK clients in it.`,
  '',
  `### Per question shape at ${millions(largest)} events (ms; ${SAMPLES} samples each)`,
  '',
  'Uncached: each call a new question of the shape (another period, region, country, campaign or horizon). Cached: the same question again. Direct: the statements the uncached call sent, run one after another on the same engine; overhead is the call minus them.',
  '',
  '| shape | uncached p50 | p95 | p99 | cached p50 | p99 | direct SQL p50 | tool / direct | overhead p50 | statements |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...top.map(
    (row) =>
      `| ${row.label} | ${ms(row.uncached.p50)} | ${ms(row.uncached.p95)} | ${ms(row.uncached.p99)} | ${ms(row.cached.p50)} | ${ms(row.cached.p99)} | ${ms(row.raw.p50)} | ${row.raw.p50 >= NO_STATEMENT_MS ? (row.uncached.p50 / row.raw.p50).toFixed(2) : 'n/a'} | ${ms(row.overhead.p50)} | ${row.statements.toFixed(1)} |`,
  ),
  '',
  `### Rollups against the events at ${millions(largest)} events (uncached p50, ms)`,
  '',
  'The same questions with the rollups turned off (every query reads the events table).',
  '',
  '| shape | events only | with rollups | speed-up |',
  '| --- | --- | --- | --- |',
  ...SHAPES.map((shape, index) => {
    const without = eventsOnly[index]?.uncached.p50 ?? Number.NaN;
    const withRollups = top[index]?.uncached.p50 ?? Number.NaN;
    return `| ${shape.label} | ${ms(without)} | ${ms(withRollups)} | ${(without / withRollups).toFixed(1)}× |`;
  }),
  '',
  '### How uncached p50 grows with the data (ms)',
  '',
  `| shape | ${SIZES.map(millions).join(' | ')} | ${millions(largest)} / ${millions(smallest)} |`,
  `| --- | ${SIZES.map(() => '---').join(' | ')} | --- |`,
  ...SHAPES.map((shape, index) => {
    const p50s = SIZES.map((size) => bySize.get(size)?.[index]?.uncached.p50 ?? Number.NaN);
    const ratio =
      (bySize.get(largest)?.[index]?.uncached.p50 ?? 0) / (bySize.get(smallest)?.[index]?.uncached.p50 ?? 1);
    return `| ${shape.label} | ${p50s.map(ms).join(' | ')} | ${ratio.toFixed(2)} |`;
  }),
  '',
  `### Throughput at ${millions(largest)} events`,
  '',
  `Each client calls back to back for ${LOAD_SECONDS} s; 80% of calls repeat one of five common questions (the first five shapes), 20% are new questions of those shapes.`,
  '',
  '| clients | calls | calls/s | p50 ms | p99 ms | errors |',
  '| --- | --- | --- | --- | --- | --- |',
  ...load.map(
    (row) =>
      `| ${row.clients} | ${row.calls} | ${row.perSecond.toFixed(1)} | ${ms(row.p50)} | ${ms(row.p99)} | ${row.errors} |`,
  ),
  '',
  `Peak RSS of a measuring process (server, engine and clients in one process, one process per measurement): ${peakRss.toFixed(0)} MB (${peaks.map((peak) => `${peak.label}: ${peak.mb.toFixed(0)} MB`).join('; ')}).`,
];
writeSection('speed', lines.join('\n'));
process.stdout.write(`${lines.join('\n')}\n`);
