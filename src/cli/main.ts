#!/usr/bin/env node
import './threadpool.js';
import { parseArgs } from 'node:util';
import { DEMO_TENANT } from '../../fixtures/profiles.js';
import { DEFAULT_SCALE, fixtureDdl } from '../../fixtures/seed-fixtures.js';
import { localIdentity } from '../auth/identity.js';
import { type Config, loadConfig } from '../config.js';
import { applyConfigFile, ConfigFileError } from '../config-file.js';
import { MarqueeError } from '../errors.js';
import { processLog } from '../observe/log.js';
import { serveMetrics } from '../observe/metrics.js';
import { closest } from '../semantic/did-you-mean.js';
import { loadSemanticLayer, SemanticLayerError } from '../semantic/load-semantic-layer.js';
import type { SemanticLayer } from '../semantic/semantic-layer.js';
import { SERVER_VERSION } from '../server/create-server.js';
import { checkBind, serveHttp } from '../server/serve-http.js';
import { serveStdio } from '../server/serve-stdio.js';
import { ALL_SCOPES, TOOL_KINDS } from '../tools/catalog.js';
import { Door } from '../tools/framework/door.js';
import { buildRollups } from '../warehouse/build-rollups.js';
import { createWarehouse } from '../warehouse/create-warehouse.js';
import { bootstrap } from './bootstrap.js';
import { cannotOpen, log } from './console.js';
import { prepareStart, seed } from './demo-warehouse.js';
import { withProgress } from './progress.js';
import { printProblems, reportFit, validateWarehouse } from './warehouse-fit.js';

/** Each command's usage line(s), as `marquee --help` lists them and `marquee <command> --help` shows one. */
const COMMANDS: Record<string, string> = {
  serve: `  serve [--stdio | --http]   serve MCP (default --http on MARQUEE_HTTP_HOST:MARQUEE_HTTP_PORT; /metrics on
                             MARQUEE_METRICS_PORT when set); SIGTERM drains calls in flight and flushes the audit`,
  start:
    '  start                      seed the demo into an empty embedded warehouse (shipped layer only), then serve HTTP',
  seed: `  seed [--scale N] [--remote] [--cluster NAME] [--ddl]
                             (re)build the fixture warehouse; N = millions of viewing events (default ${DEFAULT_SCALE});
                             --remote is required to seed the server at CLICKHOUSE_URL; --cluster spreads it over
                             that ClickHouse cluster (MergeTree <table>_local on each node, Distributed <table>);
                             --ddl prints the tables' DDL (for --cluster too) and touches no warehouse`,
  rollups: `  rollups build [--rebuild]  create the layer's rollups (tables kept current by materialised views) and fill
                             them from their models, month by month; --rebuild replaces complete ones too`,
  validate: `  validate [DIR] [--warehouse] check a semantic layer (default MARQUEE_SEMANTIC_LAYER); with --warehouse, also
                             against the warehouse's tables and column types; exit 1 on problems`,
  explain:
    '  explain TOOL JSON          print the SQL and parameters a tool call would run, without running it',
  idp: '  idp                        run a local OpenID provider with demo accounts (development only, loopback)',
};

const IDENTITY = `Identity: bearer tokens when MARQUEE_AUTH_ISSUER and MARQUEE_AUTH_JWKS_URL are set; otherwise
MARQUEE_TENANT (and MARQUEE_ROLES, MARQUEE_SCOPES) on loopback only. Configuration: environment variables, or
marquee.config.yaml here (MARQUEE_CONFIG names another; a variable set in the environment wins) (README).`;

const USAGE = `Usage: marquee <command>   (marquee <command> --help for one)

${Object.values(COMMANDS).join('\n')}

${IDENTITY}`;

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

async function serve(config: Config, mode: 'stdio' | 'http', fallbackTenant?: string): Promise<void> {
  // Over HTTP with token authentication every request brings its own identity.
  const identity =
    mode === 'http' && config.auth !== undefined ? undefined : identityFrom(config, fallbackTenant);
  if (mode === 'http') checkBind({ host: config.http.host, auth: config.auth });
  const dependencies = await bootstrap(config);
  // Loaded only when asked for: the SDK and its exporter are not needed otherwise.
  let tracing: { shutdown(): Promise<void> } | undefined;
  if (config.tracing !== undefined) {
    tracing = (await import('../observe/tracing.js')).startTracing(config.tracing, SERVER_VERSION);
    log(`exporting traces over OTLP (${config.tracing.protocol}), as the OTEL_* variables configure`);
  }
  // Audit records are flushed before the warehouse closes, so a clean stop loses none; spans last.
  const shutdown = async (): Promise<void> => {
    await dependencies.audit.close().catch(() => undefined);
    await tracing?.shutdown().catch(() => undefined);
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
    ...(config.http.maxDataAgeSeconds === undefined
      ? {}
      : { maxDataAgeSeconds: config.http.maxDataAgeSeconds }),
  });
  const who =
    identity === undefined ? `bearer tokens from ${config.auth?.issuer}` : `local tenant ${identity.tenant}`;
  log(`serving MCP at ${http.url} for ${who} (${dependencies.service.warehouse.kind} warehouse)`);
  const metrics =
    config.http.metrics === undefined || dependencies.metrics === undefined
      ? undefined
      : await serveMetrics(dependencies.metrics, config.http.metrics);
  if (metrics !== undefined) log(`serving Prometheus metrics at ${metrics.url}`);
  let stopping = false;
  const stop = (): void => {
    // A second signal during the drain cuts the requests still in flight; the audit log is flushed either way.
    if (stopping) {
      http.server.closeAllConnections();
      return;
    }
    stopping = true;
    log('shutting down');
    http
      .close()
      .then(() => metrics?.close())
      .then(shutdown)
      .finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // `marquee <command> --help`: that command's usage, and nothing run.
  const help = command === undefined ? undefined : COMMANDS[command];
  if (help !== undefined && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(`Usage: marquee\n${help}\n\n${IDENTITY}\n`);
    return 0;
  }
  // Settings from marquee.config.yaml (or MARQUEE_CONFIG) fill what the environment leaves unset.
  if (help !== undefined) {
    let read: ReturnType<typeof applyConfigFile>;
    try {
      read = applyConfigFile();
    } catch (error) {
      // `validate` lists a config file's problems as it lists the layer's; other commands stop on them.
      if (command === 'validate' && error instanceof ConfigFileError) return printProblems(error.problems);
      throw error;
    }
    if (read !== undefined)
      log(
        `read ${read.applied.length} setting(s) from ${read.file}${read.overridden.length === 0 ? '' : `; the environment overrides ${read.overridden.join(', ')}`}`,
      );
  }
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
        options: {
          scale: { type: 'string' },
          remote: { type: 'boolean' },
          cluster: { type: 'string' },
          ddl: { type: 'boolean' },
        },
      });
      if (values.ddl === true) {
        // The database the tables go in: CLICKHOUSE_DATABASE, else the server's default one.
        const database = process.env.CLICKHOUSE_DATABASE?.trim() || 'default';
        process.stdout.write(`${fixtureDdl(values.cluster, database).join(';\n\n')};\n`);
        return 0;
      }
      const scale = values.scale === undefined ? DEFAULT_SCALE : Number(values.scale);
      if (!Number.isFinite(scale) || scale <= 0 || scale > 200) {
        throw new MarqueeError(
          'usage',
          `--scale takes millions of events, more than 0 and at most 200, not ${values.scale}`,
        );
      }
      await seed(loadConfig(), scale, { remote: values.remote === true, cluster: values.cluster });
      return 0;
    }
    case 'rollups': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { rebuild: { type: 'boolean' } },
        allowPositionals: true,
      });
      if (positionals[0] !== 'build' || positionals.length > 1)
        throw new MarqueeError('usage', 'rollups takes one command: build [--rebuild]');
      const config = loadConfig();
      const layer = await loadSemanticLayer(config.semanticLayerDir, TOOL_KINDS);
      if (layer.rollups.size === 0) {
        log(`the semantic layer at ${config.semanticLayerDir} declares no rollups`);
        return 0;
      }
      const warehouse = createWarehouse(config.warehouse);
      try {
        await withProgress('rollups', (bar) =>
          buildRollups(layer, warehouse.admin(), { rebuild: values.rebuild === true, progress: bar }),
        );
      } finally {
        await warehouse.close();
      }
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
    default: {
      // stderr stays one JSON log stream: the refusal there, the usage on stdout.
      const meant = closest(command, Object.keys(COMMANDS));
      processLog().error(
        `Unknown command ${JSON.stringify(command)}${meant === undefined ? '' : `: did you mean ${JSON.stringify(meant)}?`}`,
      );
      process.stdout.write(`${USAGE}\n`);
      return 2;
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    // The reason, as the last line of the process's JSON log (a stack only for what is not Marquee's own).
    // An option a command does not take, or one missing its value, is a usage error like any other.
    if ((error as { code?: unknown })?.code?.toString().startsWith('ERR_PARSE_ARGS') === true) {
      processLog().fatal({ code: 'usage' }, `${(error as Error).message} (marquee <command> --help)`);
      process.exit(2);
    }
    if (error instanceof MarqueeError) processLog().fatal({ code: error.code }, error.message);
    else processLog().fatal({ err: error }, (error as Error)?.message ?? String(error));
    process.exit(1);
  },
);
