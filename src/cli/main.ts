#!/usr/bin/env node
import './threadpool.js';
import { parseArgs } from 'node:util';
import { DEMO_TENANT } from '../../fixtures/profiles.js';
import { DEFAULT_SCALE, isSeeded, seedFixtures } from '../../fixtures/seed-fixtures.js';
import { localIdentity } from '../auth/identity.js';
import { type Config, loadConfig } from '../config.js';
import { MarqueeError } from '../errors.js';
import { formatProblem, loadSemanticLayer, SemanticLayerError } from '../semantic/load-semantic-layer.js';
import { serveHttp } from '../server/serve-http.js';
import { serveStdio } from '../server/serve-stdio.js';
import { ALL_SCOPES, TOOL_KINDS } from '../tools/catalog.js';
import { Door } from '../tools/framework/door.js';
import { createWarehouse } from '../warehouse/create-warehouse.js';
import { bootstrap } from './bootstrap.js';

const USAGE = `Usage: marquee <command>

  serve [--stdio | --http]   serve MCP (default --http on MARQUEE_HTTP_HOST:MARQUEE_HTTP_PORT)
  start                      seed the embedded warehouse if it is empty, then serve HTTP
  seed [--scale N] [--remote] (re)build the fixture warehouse; N = millions of viewing events (default ${DEFAULT_SCALE});
                             --remote is required to seed the server at CLICKHOUSE_URL
  validate [DIR]             check a semantic layer (default MARQUEE_SEMANTIC_LAYER); exit 1 on problems
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
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const hint =
    config.warehouse.kind === 'embedded'
      ? ' (an embedded warehouse directory serves one process at a time: is another Marquee using it? Stop it or set MARQUEE_DATA_DIR)'
      : '';
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new MarqueeError('warehouse_unavailable', `Cannot open the warehouse: ${reason}${hint}`);
}

async function seed(
  config: Config,
  scale: number,
  options: { onlyIfEmpty: boolean; remote?: boolean },
): Promise<void> {
  if (config.warehouse.kind !== 'embedded' && options.remote !== true) {
    if (options.onlyIfEmpty) return;
    throw new MarqueeError(
      'seed_refused',
      'CLICKHOUSE_URL is set: seeding replaces the fixture tables on that server; pass --remote if that is what you want',
    );
  }
  const warehouse = createWarehouse(config.warehouse);
  const target = config.warehouse.kind === 'embedded' ? config.warehouse.dataDir : config.warehouse.url;
  try {
    const seeded = await isSeeded(warehouse.admin()).catch((error: unknown) => {
      throw cannotOpen(config, error);
    });
    if (options.onlyIfEmpty && seeded) return;
    log(
      `seeding fixtures at scale ${scale} (${(scale * 1_000_000).toLocaleString('en-US')} events) into ${target}`,
    );
    await seedFixtures(warehouse.admin(), { scale, onProgress: (message) => log(`seed: ${message}`) });
  } finally {
    await warehouse.close();
  }
}

async function serve(config: Config, mode: 'stdio' | 'http', fallbackTenant?: string): Promise<void> {
  // Over HTTP with token authentication every request brings its own identity.
  const identity =
    mode === 'http' && config.auth !== undefined ? undefined : identityFrom(config, fallbackTenant);
  const dependencies = await bootstrap(config);
  // Audit records are flushed before the warehouse closes, so a clean stop loses none.
  const shutdown = async (): Promise<void> => {
    await dependencies.audit.close().catch(() => undefined);
    await dependencies.limits.close().catch(() => undefined);
    await dependencies.service.warehouse.close().catch(() => undefined);
  };
  if (mode === 'stdio') {
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
      await seed(config, DEFAULT_SCALE, { onlyIfEmpty: true });
      if (config.localIdentity.tenant === undefined)
        log(`MARQUEE_TENANT is not set: answering as the demo tenant ${DEMO_TENANT}`);
      await serve(config, 'http', DEMO_TENANT);
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
      await seed(loadConfig(), scale, { onlyIfEmpty: false, remote: values.remote === true });
      return 0;
    }
    case 'validate': {
      const directory = rest[0] ?? loadConfig().semanticLayerDir;
      try {
        const layer = await loadSemanticLayer(directory, TOOL_KINDS);
        process.stdout.write(
          `${directory}: ok (${layer.models.size} models, ${layer.dimensions.size} dimensions, ${layer.metrics.size} metrics, ${layer.tools.size} tools, ${layer.resources.size} resources)\n`,
        );
        return 0;
      } catch (error) {
        if (!(error instanceof SemanticLayerError)) throw error;
        process.stdout.write(
          `${error.problems.map(formatProblem).join('\n')}\n${error.problems.length} problem(s)\n`,
        );
        return 1;
      }
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
      const dependencies = await bootstrap(config);
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
