#!/usr/bin/env node
import './threadpool.js';
import { existsSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEMO_TENANT } from '../../fixtures/profiles.js';
import { DEFAULT_SCALE, isSeeded, isSeedTable, seedFixtures } from '../../fixtures/seed-fixtures.js';
import { localIdentity } from '../auth/identity.js';
import { type Config, loadConfig } from '../config.js';
import { MarqueeError } from '../errors.js';
import { fitWarehouse, readsOf, tableOfModel } from '../semantic/fit-warehouse.js';
import {
  formatProblem,
  loadSemanticLayer,
  type Problem,
  SemanticLayerError,
} from '../semantic/load-semantic-layer.js';
import { isDay } from '../semantic/schema.js';
import type { SemanticLayer } from '../semantic/semantic-layer.js';
import { checkBind, serveHttp } from '../server/serve-http.js';
import { serveStdio } from '../server/serve-stdio.js';
import { ALL_SCOPES, TOOL_KINDS } from '../tools/catalog.js';
import { AnalyticsService } from '../tools/framework/analytics-service.js';
import { Door } from '../tools/framework/door.js';
import { createWarehouse } from '../warehouse/create-warehouse.js';
import { describeWarehouse } from '../warehouse/describe-warehouse.js';
import type { AdminConnection } from '../warehouse/warehouse.js';
import { bootstrap } from './bootstrap.js';

const USAGE = `Usage: marquee <command>

  serve [--stdio | --http]   serve MCP (default --http on MARQUEE_HTTP_HOST:MARQUEE_HTTP_PORT)
  start                      seed the embedded warehouse if it is empty, then serve HTTP
  seed [--scale N] [--remote] (re)build the fixture warehouse; N = millions of viewing events (default ${DEFAULT_SCALE});
                             --remote is required to seed the server at CLICKHOUSE_URL
  validate [DIR] [--warehouse] check a semantic layer (default MARQUEE_SEMANTIC_LAYER); with --warehouse, also
                             against the warehouse's tables and column types; exit 1 on problems
  explain TOOL JSON          print the SQL and parameters a tool call would run, without running it
  idp                        run a local OpenID provider with demo accounts (development only, loopback)

Identity: bearer tokens when MARQUEE_AUTH_ISSUER and MARQUEE_AUTH_JWKS_URL are set; otherwise
MARQUEE_TENANT (and MARQUEE_ROLES, MARQUEE_SCOPES) on loopback only.`;

const log = (message: string): void => {
  process.stderr.write(`[marquee] ${message}\n`);
};

function identityFrom(config: Config, fallbackTenant?: string) {
  const tenant = config.localIdentity.tenant ?? fallbackTenant;
  if (tenant === undefined) {
    throw new MarqueeError(
      'identity_missing',
      'Set MARQUEE_TENANT to the tenant this local server answers for',
    );
  }
  return localIdentity(tenant, config.localIdentity.roles, config.localIdentity.scopes ?? ALL_SCOPES);
}

/** Why the warehouse would not open, with the usual cause of an embedded one spelled out. */
function cannotOpen(config: Config, error: unknown): MarqueeError {
  // A missing or locked directory, or a missing database, already says its cause and its fix.
  if (error instanceof MarqueeError && error.code !== 'warehouse_unavailable') return error;
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const hint =
    config.warehouse.kind === 'embedded'
      ? ' (an embedded warehouse directory serves one process at a time: is another Marquee using it? Stop it or set MARQUEE_DATA_DIR)'
      : '';
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new MarqueeError('warehouse_unavailable', `Cannot open the warehouse: ${reason}${hint}`);
}

/** Prints problems one per line (`file:line:column path: message`) and a count; the exit code of a failure. */
function printProblems(problems: readonly Problem[]): number {
  process.stdout.write(`${problems.map(formatProblem).join('\n')}\n${problems.length} problem(s)\n`);
  return 1;
}

/** Checks `layer` against the configured warehouse's tables and column types; prints what each model reads. */
async function validateWarehouse(config: Config, layer: SemanticLayer): Promise<number> {
  const warehouse = createWarehouse(config.warehouse);
  try {
    const schema = await describeWarehouse(warehouse, readsOf(layer)).catch((error: unknown) => {
      throw cannotOpen(config, error);
    });
    const fit = fitWarehouse(layer, schema);
    // Data that would make figures wrong, once the tables are known to be there.
    const problems = fit.length > 0 ? fit : await new AnalyticsService(layer, warehouse).duplicateJoinKeys();
    const where = config.warehouse.kind === 'embedded' ? config.warehouse.dataDir : config.warehouse.url;
    if (problems.length > 0) {
      process.stdout.write(`warehouse ${where} (database ${schema.currentDatabase}) does not match:\n`);
      return printProblems(problems);
    }
    process.stdout.write(`warehouse ${where} (database ${schema.currentDatabase}): matches\n`);
    for (const model of layer.models.values()) {
      const { database, table } = tableOfModel(model, schema.currentDatabase);
      const scope =
        model.tenant_column === undefined ? 'shared by every tenant' : `tenant column ${model.tenant_column}`;
      const time = [...layer.dimensions.values()].filter(
        (dimension) => dimension.model === model.name && isDay(dimension.type),
      );
      const days = time.map(
        (dimension) =>
          `${dimension.name} (${schema.tables.get(database)?.get(table)?.get(dimension.column)})`,
      );
      process.stdout.write(
        `  ${model.name}: ${database}.${table}, ${scope}${days.length === 0 ? '' : `, days: ${days.join(', ')}`}\n`,
      );
    }
    process.stdout.write(`  days are calendar days in ${layer.timeZone}\n`);
    return 0;
  } finally {
    await warehouse.close();
  }
}

/**
 * Logs every way the layer and the warehouse disagree, before serving: until they agree, /readyz says not
 * ready and calls are refused with the reason.
 */
async function reportFit(config: Config, service: AnalyticsService): Promise<void> {
  const problems = await service.fit();
  if (problems.length === 0) {
    for (const problem of await service.duplicateJoinKeys()) log(formatProblem(problem));
    return;
  }
  for (const problem of problems) log(formatProblem(problem));
  const schema = await describeWarehouse(service.warehouse, readsOf(service.layer));
  const empty = [...schema.tables.values()].every((tables) => tables.size === 0);
  const where = config.warehouse.kind === 'embedded' ? config.warehouse.dataDir : config.warehouse.url;
  log(
    `the semantic layer ${config.semanticLayerDir} does not match the warehouse (${problems.length} problem(s) above): /readyz says not ready and calls are refused until they agree; "marquee validate --warehouse" checks again` +
      (empty
        ? `. The warehouse at ${where} has no tables in the databases the layer reads: run "marquee seed" for the demo warehouse, or point MARQUEE_DATA_DIR (or CLICKHOUSE_URL) at yours`
        : ''),
  );
}

/** The shipped demo layer: `start` seeds the demo warehouse only for it (any other layer has other tables). */
const DEMO_LAYER = resolve(import.meta.dirname, '../../../semantic-layer');

/** What `start` found: whether it serves the demo (seeded now or before) and why not when it does not. */
interface StartWarehouse {
  readonly demo: boolean;
  readonly why?: string;
}

/**
 * Prepares `npm start`'s warehouse: seeds the demo only into a missing or empty embedded warehouse, and only
 * for the shipped layer. A warehouse holding anyone else's tables is served as it is (and is not the demo,
 * even beside demo tables), so no demo tenant is assumed for it.
 */
async function prepareStart(config: Config): Promise<StartWarehouse> {
  const real = (path: string) => realpath(path).catch(() => path);
  const demoLayer = (await real(config.semanticLayerDir)) === (await real(DEMO_LAYER));
  if (config.warehouse.kind === 'embedded' && !demoLayer && !existsSync(config.warehouse.dataDir))
    throw new MarqueeError(
      'warehouse_missing',
      `There is no warehouse at ${config.warehouse.dataDir} (MARQUEE_DATA_DIR); "marquee start" seeds the demo warehouse only for the shipped semantic layer, not for ${config.semanticLayerDir}: point MARQUEE_DATA_DIR at your warehouse`,
    );
  const warehouse = createWarehouse(config.warehouse, { create: demoLayer });
  const target = config.warehouse.kind === 'embedded' ? config.warehouse.dataDir : config.warehouse.url;
  try {
    const admin = warehouse.admin();
    const seeded = await isSeeded(admin).catch((error: unknown) => {
      throw cannotOpen(config, error);
    });
    const theirs = await foreignTables(admin, config.stateDatabase);
    if (theirs.length > 0)
      return {
        demo: false,
        why: `the warehouse at ${target} holds tables Marquee did not create (${listed(theirs)}): serving it as it is, without seeding the demo`,
      };
    if (seeded) return { demo: true };
    if (config.warehouse.kind !== 'embedded' || !demoLayer)
      return {
        demo: false,
        why: `the warehouse at ${target} is not the demo, and start seeds only an embedded one for the shipped layer`,
      };
  } finally {
    await warehouse.close();
  }
  await seed(config, DEFAULT_SCALE, {});
  return { demo: true };
}

/** Up to eight names, then an ellipsis. */
function listed(names: readonly string[]): string {
  return `${names.slice(0, 8).join(', ')}${names.length > 8 ? ', …' : ''}`;
}

/**
 * Seeds the demo warehouse into the configured one (creating an embedded directory), replacing only tables an
 * earlier seed created; says where, and what else the warehouse holds (left as it is).
 */
async function seed(config: Config, scale: number, options: { remote?: boolean }): Promise<void> {
  if (config.warehouse.kind !== 'embedded' && options.remote !== true) {
    throw new MarqueeError(
      'seed_refused',
      'CLICKHOUSE_URL is set: seeding writes the fixture tables on that server; pass --remote if that is what you want',
    );
  }
  if (config.warehouse.kind === 'embedded' && !existsSync(config.warehouse.dataDir))
    log(`creating the embedded warehouse directory ${config.warehouse.dataDir} (MARQUEE_DATA_DIR)`);
  const warehouse = createWarehouse(config.warehouse, { create: true });
  const target = config.warehouse.kind === 'embedded' ? config.warehouse.dataDir : config.warehouse.url;
  try {
    const admin = warehouse.admin();
    const theirs = await foreignTables(admin, config.stateDatabase).catch((error: unknown) => {
      throw cannotOpen(config, error);
    });
    const database = config.warehouse.kind === 'embedded' ? config.warehouse.database : undefined;
    if (database !== undefined) {
      await admin.command(`CREATE DATABASE IF NOT EXISTS ${database}`);
      await admin.command(`USE ${database}`);
    }
    if (theirs.length > 0)
      log(
        `the warehouse at ${target} also holds tables Marquee did not create (${listed(theirs)}): they are left as they are, and the demo tables go beside them`,
      );
    log(
      `seeding the demo warehouse at scale ${scale} (${(scale * 1_000_000).toLocaleString('en-US')} events) into ${target}${database === undefined ? '' : `, database ${database}`}`,
    );
    await seedFixtures(admin, { scale, onProgress: (message) => log(`seed: ${message}`) });
  } finally {
    await warehouse.close();
  }
}

/** Tables of the warehouse that neither the seed nor Marquee's own state created: a user's data. */
async function foreignTables(admin: AdminConnection, stateDatabase: string): Promise<string[]> {
  const rows = await admin.query(
    `SELECT database, name, comment FROM system.tables
     WHERE database NOT IN {skip:Array(String)} AND NOT is_temporary ORDER BY database, name`,
    { skip: ['system', 'INFORMATION_SCHEMA', 'information_schema', stateDatabase] },
  );
  return rows
    .filter((row) => !isSeedTable(String(row.comment)))
    .map((row) => `${String(row.database)}.${String(row.name)}`);
}

async function serve(config: Config, mode: 'stdio' | 'http', fallbackTenant?: string): Promise<void> {
  // Over HTTP with token authentication every request brings its own identity.
  const identity =
    mode === 'http' && config.auth !== undefined ? undefined : identityFrom(config, fallbackTenant);
  if (mode === 'http') checkBind({ host: config.http.host, auth: config.auth });
  const dependencies = await bootstrap(config);
  // Audit records are flushed before the warehouse closes, so a clean stop loses none.
  const shutdown = async (): Promise<void> => {
    await dependencies.audit.close().catch(() => undefined);
    await dependencies.limits.close().catch(() => undefined);
    await dependencies.service.warehouse.close().catch(() => undefined);
  };
  if (mode === 'stdio') {
    await reportFit(config, dependencies.service).catch((error: unknown) => {
      log(cannotOpen(config, error).message);
    });
    await serveStdio(dependencies, identityFrom(config, fallbackTenant));
    await shutdown();
    return;
  }
  // A long-running server should fail at start, not answer "unavailable" forever (e.g. another process
  // holds the embedded warehouse directory).
  await dependencies.service.warehouse.ping().catch(async (error: unknown) => {
    await shutdown();
    throw cannotOpen(config, error);
  });
  await reportFit(config, dependencies.service);
  const http = await serveHttp(dependencies, {
    host: config.http.host,
    port: config.http.port,
    ...(config.auth !== undefined ? { auth: config.auth } : {}),
    ...(identity !== undefined ? { identity } : {}),
  });
  const who =
    identity === undefined ? `bearer tokens from ${config.auth?.issuer}` : `local tenant ${identity.tenant}`;
  log(`serving MCP at ${http.url} for ${who} (${dependencies.service.warehouse.kind} warehouse)`);
  const stop = (): void => {
    log('shutting down');
    http
      .close()
      .then(shutdown)
      .finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
      const { values } = parseArgs({
        args: rest,
        options: { stdio: { type: 'boolean' }, http: { type: 'boolean' } },
      });
      if (values.stdio === true && values.http === true)
        throw new MarqueeError('usage', 'Choose one of --stdio and --http');
      await serve(loadConfig(), values.stdio === true ? 'stdio' : 'http');
      return values.stdio === true ? 0 : -1;
    }
    case 'start': {
      const config = loadConfig();
      const { demo, why } = await prepareStart(config);
      if (config.localIdentity.tenant === undefined && config.auth === undefined) {
        // The demo tenant is a name of the demo's data; on anyone else's warehouse it would be a guess.
        if (!demo)
          throw new MarqueeError(
            'identity_missing',
            `This warehouse is not the demo (${why}), and MARQUEE_TENANT is not set: set MARQUEE_TENANT to the tenant this local server answers for (e.g. MARQUEE_TENANT=acme npm start), or configure token authentication (MARQUEE_AUTH_ISSUER, MARQUEE_AUTH_JWKS_URL) so that each caller's token names its tenant`,
          );
        log(`MARQUEE_TENANT is not set: answering as the demo tenant ${DEMO_TENANT}`);
      }
      if (why !== undefined) log(why);
      await serve(config, 'http', demo ? DEMO_TENANT : undefined);
      return -1;
    }
    case 'seed': {
      const { values } = parseArgs({
        args: rest,
        options: { scale: { type: 'string' }, remote: { type: 'boolean' } },
      });
      const scale = values.scale === undefined ? DEFAULT_SCALE : Number(values.scale);
      if (!Number.isFinite(scale) || scale <= 0 || scale > 200) {
        throw new MarqueeError(
          'usage',
          `--scale takes millions of events, more than 0 and at most 200, not ${values.scale}`,
        );
      }
      await seed(loadConfig(), scale, { remote: values.remote === true });
      return 0;
    }
    case 'validate': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { warehouse: { type: 'boolean' } },
        allowPositionals: true,
      });
      const directory = positionals[0] ?? loadConfig().semanticLayerDir;
      let layer: SemanticLayer;
      try {
        layer = await loadSemanticLayer(directory, TOOL_KINDS);
      } catch (error) {
        if (!(error instanceof SemanticLayerError)) throw error;
        return printProblems(error.problems);
      }
      process.stdout.write(
        `${directory}: ok (${layer.models.size} models, ${layer.dimensions.size} dimensions, ${layer.metrics.size} metrics, ${layer.tools.size} tools, ${layer.resources.size} resources)\n`,
      );
      if (layer.access.default === undefined) {
        const roles = Object.keys(layer.access.policies);
        process.stdout.write(
          roles.length === 0
            ? 'note: the layer has no access section, so every caller is refused: add access: { default: { description: ... } } to let each caller see its whole tenant\n'
            : `note: the layer has no access.default, so callers without one of the roles ${roles.join(', ')} are refused\n`,
        );
      }
      return values.warehouse === true ? validateWarehouse(loadConfig(), layer) : 0;
    }
    case 'explain': {
      const [tool, json] = rest;
      if (tool === undefined || json === undefined)
        throw new MarqueeError('usage', 'explain takes a tool name and its arguments as JSON');
      let args: unknown;
      try {
        args = JSON.parse(json);
      } catch {
        throw new MarqueeError('usage', 'The arguments are not valid JSON');
      }
      const config = loadConfig();
      const dependencies = await bootstrap(config, { writes: false });
      try {
        const plan = await new Door(dependencies, identityFrom(config)).explain(tool, args);
        process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
      } finally {
        await dependencies.service.warehouse.close();
      }
      return 0;
    }
    case 'idp': {
      const config = loadConfig();
      const audience =
        config.auth?.audience ?? config.http.publicUrl ?? `http://127.0.0.1:${config.http.port}/mcp`;
      // Loaded only here: serving never loads the identity provider library.
      const [{ startLocalIdp }, { DEMO_DIRECTORY }] = await Promise.all([
        import('../auth/local-idp.js'),
        import('../../fixtures/idp-accounts.js'),
      ]);
      const idp = await startLocalIdp({ port: config.idpPort, audience, directory: DEMO_DIRECTORY });
      log(`local identity provider (development only) at ${idp.issuer}, issuing tokens for ${audience}`);
      log(
        `start Marquee with: MARQUEE_AUTH_ISSUER=${idp.issuer} MARQUEE_AUTH_JWKS_URL=${idp.jwksUrl} MARQUEE_PUBLIC_URL=${audience} npm start`,
      );
      for (const account of DEMO_DIRECTORY.accounts) {
        log(
          `  sign in as ${account.id} (any password): tenant ${account.tenant}, roles ${account.roles.join(', ')}`,
        );
      }
      for (const service of DEMO_DIRECTORY.services) {
        log(
          `  client credentials ${service.clientId} / ${service.secret}: tenant ${service.tenant}, roles ${service.roles.join(', ')}`,
        );
      }
      const stop = (): void => {
        idp.close().finally(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      return -1;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`Unknown command ${JSON.stringify(command)}\n\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    const message =
      error instanceof MarqueeError ? error.message : ((error as Error)?.stack ?? String(error));
    process.stderr.write(`marquee: ${message}\n`);
    process.exit(1);
  },
);
