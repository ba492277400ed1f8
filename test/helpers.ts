import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { seedFixtures } from '../fixtures/seed-fixtures.js';
import { localIdentity } from '../src/auth/identity.js';
import type { QueryLimits } from '../src/config.js';
import { RateLimits } from '../src/guard/rate-limits.js';
import { AuditLog, type AuditOptions, type AuditRecord } from '../src/observe/audit-log.js';
import { createLogger } from '../src/observe/log.js';
import { metricsOf } from '../src/observe/metrics.js';
import type { CompiledQuery } from '../src/semantic/compiled-query.js';
import { loadSemanticLayer } from '../src/semantic/load-semantic-layer.js';
import type { ServerDependencies } from '../src/server/create-server.js';
import { type HttpServer, serveHttp } from '../src/server/serve-http.js';
import { ALL_SCOPES, TOOL_KINDS } from '../src/tools/catalog.js';
import type { CompareCampaignsResult } from '../src/tools/compare-campaigns/output.js';
import type { ExplainChangeResult } from '../src/tools/explain-change/output.js';
import type { ForecastSubsResult } from '../src/tools/forecast-subs/output.js';
import {
  AnalyticsService,
  DEFAULT_CACHE,
  type ServiceOptions,
} from '../src/tools/framework/analytics-service.js';
import { CursorCodec } from '../src/tools/framework/cursor.js';
import type { Answered } from '../src/tools/framework/privacy-note.js';
import type { LookupResult } from '../src/tools/lookup/lookup-tool.js';
import type { QueryEngagementResult } from '../src/tools/query-engagement/output.js';
import { buildRollups } from '../src/warehouse/build-rollups.js';
import { createWarehouse } from '../src/warehouse/create-warehouse.js';
import type { QueryOptions, Warehouse } from '../src/warehouse/warehouse.js';

/** Each tool's structured output as a client receives it. */
export type QueryEngagementOutput = Answered<QueryEngagementResult>;
export type ExplainChangeOutput = Answered<ExplainChangeResult>;
export type CompareCampaignsOutput = Answered<CompareCampaignsResult>;
export type ForecastSubsOutput = Answered<ForecastSubsResult>;
export type LookupOutput = Answered<LookupResult>;

export const ROOT = resolve(import.meta.dirname, '..');
export const CLI = join(ROOT, 'dist/src/cli/main.js');
export const SEMANTIC_LAYER = join(ROOT, 'semantic-layer');
/** Small enough to seed in about a second, large enough for the planted truths to stand out. */
export const TEST_SCALE = 0.2;
export const LIMITS = { maxExecutionSeconds: 30, maxResultRows: 100_000, maxMemoryBytes: 2 * 1024 ** 3 };

export type Era = 'modern' | 'legacy';
export const ERAS: Era[] = ['modern', 'legacy'];

export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `marquee-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** An empty embedded warehouse in a fresh directory; `remove` closes it and deletes the directory. */
export async function tempWarehouse(
  prefix: string,
  limits: QueryLimits = LIMITS,
): Promise<{ warehouse: Warehouse; dataDir: string; remove: () => Promise<void> }> {
  const dir = await tempDir(prefix);
  const dataDir = join(dir.path, 'warehouse');
  const warehouse = createWarehouse({ kind: 'embedded', dataDir, readers: 2, limits }, { create: true });
  return {
    warehouse,
    dataDir,
    remove: async () => {
      await warehouse.close();
      await dir.remove();
    },
  };
}

/** An embedded warehouse in a fresh directory, seeded with the fixture at test scale. */
export async function seededWarehouse(scale = TEST_SCALE): Promise<{
  warehouse: Warehouse;
  dataDir: string;
  remove: () => Promise<void>;
}> {
  const created = await tempWarehouse('wh');
  await seedFixtures(created.warehouse.admin(), { scale });
  // As `marquee seed` does: the shipped layer's rollups, so every test's answers come through them where they cover.
  await buildRollups(await loadSemanticLayer(SEMANTIC_LAYER, TOOL_KINDS), created.warehouse.admin());
  return created;
}

/** Seeds a warehouse directory from a separate process (so this process never holds its lock). */
export function seedInChild(dataDir: string): void {
  const result = spawnSync(process.execPath, [CLI, 'seed', '--scale', String(TEST_SCALE)], {
    env: { ...process.env, MARQUEE_DATA_DIR: dataDir },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`seed failed: ${result.stderr}`);
}

/** The real HTTP server, in process, over a real socket, for `tenant`. */
/** Server dependencies over `warehouse`, with an audit log writing to it and generous rate limits. */
export async function testDependencies(
  warehouse: Warehouse,
  layerDir = SEMANTIC_LAYER,
  limits: { perTenant: number; perTool: number; windowSeconds?: number; now?: () => number } = {
    perTenant: 100_000,
    perTool: 100_000,
  },
  audit: Pick<AuditOptions, 'flushIntervalMs' | 'maxBuffered' | 'maxRefusals'> = {},
): Promise<ServerDependencies> {
  return {
    // The data's watermark read on every call: a test that writes rows sees them in its next answer.
    service: new AnalyticsService(await loadSemanticLayer(layerDir, TOOL_KINDS), warehouse, {
      ...DEFAULT_CACHE,
      dataCheckMs: 0,
    }),
    cursors: new CursorCodec('test-cursor-key'),
    audit: new AuditLog({
      sink: warehouse.admin(),
      logger: createLogger('silent'),
      flushIntervalMs: 50,
      key: 'test-audit-key',
      ...audit,
    }),
    limits: await RateLimits.create({ ...limits, redisUrl: undefined }),
  };
}

/**
 * A server for tenant aurora (role vp) over `warehouse`, with a service of its own (its own caches, `options`
 * added to the test defaults), an SDK client, the audit records it makes and its metrics. `audit` replaces the
 * test audit log (one writing elsewhere); `sink` is the warehouse the default one writes to.
 */
export async function servedWith(
  warehouse: Warehouse,
  options: Partial<ServiceOptions> = {},
  more: { audit?: AuditLog; sink?: Warehouse } = {},
) {
  const service = new AnalyticsService(await loadSemanticLayer(SEMANTIC_LAYER, TOOL_KINDS), warehouse, {
    ...DEFAULT_CACHE,
    dataCheckMs: 0,
    ...options,
  });
  const dependencies = {
    ...(await testDependencies(more.sink ?? warehouse)),
    service,
    ...(more.audit === undefined ? {} : { audit: more.audit }),
  };
  const records: AuditRecord[] = [];
  dependencies.audit.listen((record) => records.push(record));
  const metrics = metricsOf(dependencies.audit, service);
  const server = await startHttp(warehouse, 'aurora', SEMANTIC_LAYER, ['vp'], { ...dependencies, metrics });
  const client = await connectHttp(server.url);
  return {
    client,
    metrics,
    records,
    service,
    /** The audit records of query_engagement calls. */
    calls: () => records.filter((record) => record.tool === 'query_engagement'),
    close: async () => {
      await client.close();
      await server.close();
    },
  };
}

/** The real HTTP server, in process, over a real socket, for a local identity of `tenant`. */
export async function startHttp(
  warehouse: Warehouse,
  tenant: string,
  layerDir = SEMANTIC_LAYER,
  roles: string[] = [],
  dependencies?: ServerDependencies,
  options: { maxDataAgeSeconds?: number } = {},
): Promise<HttpServer & { dependencies: ServerDependencies }> {
  const deps = dependencies ?? (await testDependencies(warehouse, layerDir));
  const server = await serveHttp(deps, {
    host: '127.0.0.1',
    port: 0,
    identity: localIdentity(tenant, roles, ALL_SCOPES),
    ...options,
  });
  return {
    ...server,
    dependencies: deps,
    close: async () => {
      await server.close();
      await deps.audit.close();
    },
  };
}

function clientFor(era: Era): Client {
  return new Client(
    { name: 'marquee-test', version: '1.0.0' },
    { versionNegotiation: { mode: era === 'modern' ? { pin: '2026-07-28' } : 'legacy' } },
  );
}

/** The SDK's Client over streamable HTTP, speaking 2026-07-28 (modern) or 2025-11-25 (legacy). */
export async function connectHttp(url: string, era: Era = 'modern'): Promise<Client> {
  const client = clientFor(era);
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** The SDK's Client over stdio to the built `marquee serve --stdio`. */
export async function connectStdio(env: Record<string, string>, era: Era = 'modern'): Promise<Client> {
  const client = clientFor(era);
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'serve', '--stdio'],
    env: { ...inherited, ...env },
    stderr: 'pipe',
  });
  let log = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  stdioLogs.set(client, () => log);
  await client.connect(transport);
  return client;
}

const stdioLogs = new WeakMap<Client, () => string>();

/** The audit records a `connectStdio` server has logged on its stderr so far. */
export function stdioAudit(client: Client): Record<string, unknown>[] {
  return (stdioLogs.get(client)?.() ?? '')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { audit?: Record<string, unknown> })
    .flatMap((line) => (line.audit === undefined ? [] : [line.audit]));
}

export interface ToolResult {
  isError?: boolean;
  content: { type: string; text?: string }[];
  structuredContent?: unknown;
}

export async function callTool(
  client: Client,
  args: Record<string, unknown>,
  name = 'query_engagement',
): Promise<ToolResult> {
  return (await client.callTool({ name, arguments: args })) as ToolResult;
}

/** Calls query_engagement and returns its structured output, failing loudly on a tool error. */
export async function query(client: Client, args: Record<string, unknown>): Promise<QueryEngagementOutput> {
  const result = await callTool(client, args);
  if (result.isError === true) throw new Error(`tool error: ${result.content[0]?.text}`);
  return result.structuredContent as QueryEngagementOutput;
}

/** The text of a tool error, failing loudly when the call succeeded. */
export async function toolErrorText(
  client: Client,
  args: Record<string, unknown>,
  tool = 'query_engagement',
): Promise<string> {
  const result = await callTool(client, args, tool);
  if (result.isError !== true) throw new Error(`expected a tool error for ${JSON.stringify(args)}`);
  return result.content[0]?.text ?? '';
}

/** The real HTTP server with token authentication against `issuer`, for the audience `audience`. */
export async function startAuthHttp(
  warehouse: Warehouse,
  issuer: { issuer: string; jwksUrl: string },
  audience: string,
  layerDir = SEMANTIC_LAYER,
  options: { maxTokenAgeSeconds?: number; audit?: Parameters<typeof testDependencies>[3] } = {},
): Promise<HttpServer & { dependencies: ServerDependencies }> {
  const { audit, ...auth } = options;
  const dependencies = await testDependencies(warehouse, layerDir, undefined, audit);
  const claims = { tenant: 'tenant_id', roles: 'roles', scope: 'scope' };
  const server = await serveHttp(dependencies, {
    host: '127.0.0.1',
    port: 0,
    auth: { issuer: issuer.issuer, jwksUrl: issuer.jwksUrl, audience, claims, ...auth },
  });
  return {
    ...server,
    dependencies,
    close: async () => {
      await server.close();
      await dependencies.audit.close();
    },
  };
}

/**
 * The messages of a Marquee process's log (its stderr), a line each, as an operator reads them. Every line must
 * be a JSON object with a level, a time and a message: a line that is not fails the test (one JSON log stream).
 * The one exception is the embedded engine's own exception line (`Code: 76. DB::Exception: …`), which libchdb
 * writes to the process's stderr itself, before Marquee sees the error (and then logs it as JSON).
 */
export function logMessages(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => line.trim() !== '' && !/^Code: \d+\. DB::Exception: /.test(line))
    .map((line) => {
      let parsed: { level?: unknown; time?: unknown; msg?: unknown };
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch {
        throw new Error(`A log line is not JSON: ${line.slice(0, 200)}`);
      }
      if (
        typeof parsed.level !== 'number' ||
        typeof parsed.time !== 'number' ||
        typeof parsed.msg !== 'string'
      )
        throw new Error(`A log line has no level, time or message: ${line.slice(0, 200)}`);
      return parsed.msg;
    })
    .join('\n');
}

/** `marquee serve --http` in its own process, on a free port; resolves once it serves. */
export async function spawnHttpServer(env: Record<string, string>, command = ['serve', '--http']) {
  const child = spawn(process.execPath, [CLI, ...command], {
    env: { ...process.env, MARQUEE_HTTP_PORT: '0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let seen = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /serving MCP at (\S+)/.exec(seen);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    void exited.then(() => reject(new Error(`the server exited: ${seen}`)));
  });
  return {
    url,
    exited,
    pid: child.pid,
    /** The messages the server has logged so far (its stderr, every line JSON). */
    log: () => logMessages(seen),
    /** The audit records the server has logged so far. */
    audit: (): Record<string, unknown>[] =>
      seen
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { audit?: Record<string, unknown> })
        .flatMap((line) => (line.audit === undefined ? [] : [line.audit])),
    stop: (signal: NodeJS.Signals = 'SIGTERM') => child.kill(signal),
  };
}

/** One seeded warehouse and an HTTP server + SDK client per caller (tenant and roles); `close` ends them all. */
export async function callers<const K extends string>(
  who: Record<K, { tenant: string; roles?: string[] }>,
  scale = TEST_SCALE,
): Promise<{
  warehouse: Warehouse;
  clients: Record<K, Client>;
  urls: Record<K, string>;
  close: () => Promise<void>;
}> {
  const { warehouse, remove } = await seededWarehouse(scale);
  const servers: HttpServer[] = [];
  const clients = {} as Record<K, Client>;
  const urls = {} as Record<K, string>;
  for (const [name, caller] of Object.entries(who) as [K, { tenant: string; roles?: string[] }][]) {
    const server = await startHttp(warehouse, caller.tenant, SEMANTIC_LAYER, caller.roles ?? []);
    servers.push(server);
    urls[name] = server.url;
    clients[name] = await connectHttp(server.url);
  }
  return {
    warehouse,
    clients,
    urls,
    close: async () => {
      for (const client of Object.values(clients) as Client[]) await client.close();
      for (const server of servers) await server.close();
      await remove();
    },
  };
}

/** Three aurora callers: a VP, a LATAM analyst and the BI service (semantic-layer/access.yaml). */
export const AURORA_ROLES = {
  vp: { tenant: 'aurora', roles: ['vp'] },
  latam: { tenant: 'aurora', roles: ['latam_analyst'] },
  bi: { tenant: 'aurora', roles: ['bi_service'] },
};

/**
 * Hand-written oracle of the privacy rules for one breakdown of viewing_events under a shown total: one row per
 * group (`keys`: alias → SQL expression) with its distinct `viewers` and the `columns` asked for, flagged `small`
 * (under k: withheld) or `secondary` (withheld so that the small ones cannot be worked out from the total:
 * when the small groups together have fewer than k distinct viewers, the group with the fewest viewers, then
 * the first by key, among the others).
 */
export function suppressionOracle(options: {
  where: string;
  keys: Record<string, string>;
  columns?: string;
  k?: number;
}): string {
  const k = options.k ?? 5;
  const aliases = Object.keys(options.keys);
  const keyed = Object.entries(options.keys).map(([alias, expression]) => `${expression} AS ${alias}`);
  const order = ['viewers', ...aliases].join(', ');
  return `WITH g AS (SELECT ${keyed.join(', ')}, uniqExact(user_id) AS viewers${options.columns === undefined ? '' : `, ${options.columns}`}
      FROM viewing_events WHERE ${options.where} GROUP BY ${aliases.join(', ')}),
    u AS (SELECT uniqExact(user_id) AS small_union FROM viewing_events WHERE ${options.where}
      AND (${Object.values(options.keys).join(', ')}) IN (SELECT ${aliases.join(', ')} FROM g WHERE viewers < ${k}))
    SELECT *, viewers < ${k} AS small,
      viewers >= ${k} AND countIf(viewers < ${k}) OVER () > 0 AND (SELECT small_union FROM u) < ${k}
        AND row_number() OVER (PARTITION BY viewers >= ${k} ORDER BY ${order}) = 1 AS secondary,
      (SELECT small_union FROM u) AS small_union
    FROM g ORDER BY ${order}`;
}

/**
 * A view of `warehouse` that records every statement it is sent, and the options it was sent with (the engine
 * underneath is the real one).
 */
export function recording(
  warehouse: Warehouse,
): Warehouse & { sent: CompiledQuery[]; options: (QueryOptions | undefined)[] } {
  const sent: CompiledQuery[] = [];
  const options: (QueryOptions | undefined)[] = [];
  return {
    kind: warehouse.kind,
    query: (query, given) => {
      sent.push(query);
      options.push(given);
      return warehouse.query(query, given);
    },
    ping: () => warehouse.ping(),
    admin: () => warehouse.admin(),
    close: () => warehouse.close(),
    sent,
    options,
  };
}
