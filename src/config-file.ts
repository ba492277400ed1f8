import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq } from 'yaml';
import { checkVariable } from './config.js';
import { MarqueeError } from './errors.js';
import { InvalidVariableError, tracingFrom } from './observe/tracing-config.js';
import { closest, quote } from './semantic/did-you-mean.js';
import { formatProblem, type Problem, SourceFile } from './semantic/load-semantic-layer.js';

/** The file `marquee` reads its settings from when no MARQUEE_CONFIG names another, in the working directory. */
export const CONFIG_FILE = 'marquee.config.yaml';

/**
 * The config file's settings: each key, by section, stands for one environment variable (README,
 * Configuration). `path` values are read relative to the file's directory.
 */
const SETTINGS: Record<string, Record<string, { readonly variable: string; readonly path?: true }>> = {
  warehouse: {
    url: { variable: 'CLICKHOUSE_URL' },
    user: { variable: 'CLICKHOUSE_USER' },
    password: { variable: 'CLICKHOUSE_PASSWORD' },
    admin_user: { variable: 'CLICKHOUSE_ADMIN_USER' },
    admin_password: { variable: 'CLICKHOUSE_ADMIN_PASSWORD' },
    database: { variable: 'CLICKHOUSE_DATABASE' },
    data_dir: { variable: 'MARQUEE_DATA_DIR', path: true },
    readers: { variable: 'MARQUEE_READERS' },
  },
  '': {
    semantic_layer: { variable: 'MARQUEE_SEMANTIC_LAYER', path: true },
    cursor_secret: { variable: 'MARQUEE_CURSOR_SECRET' },
    log_level: { variable: 'MARQUEE_LOG_LEVEL' },
  },
  http: {
    host: { variable: 'MARQUEE_HTTP_HOST' },
    port: { variable: 'MARQUEE_HTTP_PORT' },
    public_url: { variable: 'MARQUEE_PUBLIC_URL' },
    ready_max_data_age: { variable: 'MARQUEE_READY_MAX_DATA_AGE' },
  },
  metrics: { host: { variable: 'MARQUEE_METRICS_HOST' }, port: { variable: 'MARQUEE_METRICS_PORT' } },
  auth: {
    issuer: { variable: 'MARQUEE_AUTH_ISSUER' },
    jwks_url: { variable: 'MARQUEE_AUTH_JWKS_URL' },
    audience: { variable: 'MARQUEE_AUTH_AUDIENCE' },
    tenant_claim: { variable: 'MARQUEE_AUTH_TENANT_CLAIM' },
    roles_claim: { variable: 'MARQUEE_AUTH_ROLES_CLAIM' },
    scope_claim: { variable: 'MARQUEE_AUTH_SCOPE_CLAIM' },
    max_token_age: { variable: 'MARQUEE_AUTH_MAX_TOKEN_AGE' },
  },
  identity: {
    tenant: { variable: 'MARQUEE_TENANT' },
    roles: { variable: 'MARQUEE_ROLES' },
    scopes: { variable: 'MARQUEE_SCOPES' },
  },
  state: {
    dir: { variable: 'MARQUEE_STATE_DIR', path: true },
    database: { variable: 'MARQUEE_STATE_DATABASE' },
    audit_table: { variable: 'MARQUEE_AUDIT_TABLE' },
  },
  limits: {
    max_execution_seconds: { variable: 'MARQUEE_MAX_EXECUTION_SECONDS' },
    max_rows_to_read: { variable: 'MARQUEE_MAX_ROWS_TO_READ' },
    call_max_rows_read: { variable: 'MARQUEE_CALL_MAX_ROWS_READ' },
    max_result_rows: { variable: 'MARQUEE_MAX_RESULT_ROWS' },
    max_memory_bytes: { variable: 'MARQUEE_MAX_MEMORY_BYTES' },
    tenant_queries: { variable: 'MARQUEE_TENANT_QUERIES' },
    queue_wait_ms: { variable: 'MARQUEE_QUEUE_WAIT_MS' },
  },
  rate_limits: {
    tenant_per_minute: { variable: 'MARQUEE_RATE_TENANT_PER_MINUTE' },
    tool_per_minute: { variable: 'MARQUEE_RATE_TOOL_PER_MINUTE' },
    redis_url: { variable: 'MARQUEE_REDIS_URL' },
  },
  cache: {
    result_mb: { variable: 'MARQUEE_RESULT_CACHE_MB' },
    data_check_ms: { variable: 'MARQUEE_DATA_CHECK_MS' },
  },
  charts: { inline_png: { variable: 'MARQUEE_INLINE_CHART_PNG' } },
  idp: { port: { variable: 'MARQUEE_IDP_PORT' } },
  tracing: {
    exporter: { variable: 'OTEL_TRACES_EXPORTER' },
    endpoint: { variable: 'OTEL_EXPORTER_OTLP_ENDPOINT' },
    protocol: { variable: 'OTEL_EXPORTER_OTLP_PROTOCOL' },
    headers: { variable: 'OTEL_EXPORTER_OTLP_HEADERS' },
    service_name: { variable: 'OTEL_SERVICE_NAME' },
    sampler: { variable: 'OTEL_TRACES_SAMPLER' },
    sampler_arg: { variable: 'OTEL_TRACES_SAMPLER_ARG' },
  },
};

const SECTIONS = Object.keys(SETTINGS).filter((section) => section !== '');
const TOP_LEVEL = [...SECTIONS, ...Object.keys(SETTINGS[''] ?? {})];

/** Every problem of a config file at once, each `file:line:column path: message`. */
export class ConfigFileError extends MarqueeError {
  constructor(readonly problems: readonly Problem[]) {
    super(
      'config_invalid',
      `The config file has ${problems.length} problem(s):\n${problems.map(formatProblem).join('\n')}`,
    );
  }
}

/** What a config file set: each variable with its value, and where in the file it was set. */
export interface ConfigFile {
  readonly file: string;
  readonly values: ReadonlyMap<string, { readonly value: string; readonly path: string }>;
}

/** A scalar (or, for lists like roles, a sequence of scalars) as the environment variable's text. */
function textOf(node: unknown): string | undefined {
  const text = (item: unknown) => (isScalar(item) && item.value !== null ? String(item.value) : '');
  if (isScalar(node)) return text(node).trim() === '' ? undefined : text(node);
  // A list of names (roles, scopes): each a name of its own, no separators inside.
  if (isSeq(node) && node.items.length > 0 && node.items.every((item) => /^[^\s,]+$/.test(text(item))))
    return node.items.map(text).join(',');
  return undefined;
}

/**
 * Reads and checks a config file: its YAML, every key against the settings (did-you-mean for a misspelt one),
 * every value as its environment variable would be checked; throws ConfigFileError listing every problem.
 */
export function readConfigFile(file: string, text?: string): ConfigFile {
  if (text === undefined) {
    // A file others may write, or replace (in a directory they may write, without the sticky bit), could point
    // the server at their warehouse, collector or identity.
    const octal = (mode: number) => mode.toString(8).padStart(4, '0');
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o022) !== 0)
      throw new MarqueeError(
        'config_invalid',
        `The config file ${file} may be written by others (mode ${octal(mode)}): make it writable by its owner only (chmod go-w)`,
      );
    const folder = dirname(resolve(file));
    const folderMode = statSync(folder).mode & 0o7777;
    if ((folderMode & 0o022) !== 0 && (folderMode & 0o1000) === 0)
      throw new MarqueeError(
        'config_invalid',
        `The config file ${file} is in a directory others may write (${folder}, mode ${octal(folderMode)}), so they could replace it: move it, or make the directory writable by its owner only`,
      );
    return readConfigFile(file, readFileSync(file, 'utf8'));
  }
  // Every value as written (the failsafe schema reads no numbers or booleans): a secret 0123 stays 0123.
  const { source, document, errors } = SourceFile.parse(file, text, 'failsafe');
  const problems: Problem[] = errors;
  const values = new Map<string, { value: string; path: string }>();
  const root = document.contents;
  if (problems.length === 0 && root !== null && !isMap(root))
    problems.push(source.problem([], `Expected a mapping of settings (${TOP_LEVEL.join(', ')})`));
  const unknown = (path: string[], key: string, allowed: readonly string[]) => {
    const suggestion = closest(key, allowed);
    problems.push(
      source.keyProblem(
        path,
        `Unknown setting ${quote(key)}${suggestion === undefined ? `; settings here: ${allowed.join(', ')}` : `: did you mean ${quote(suggestion)}?`}`,
      ),
    );
  };
  const take = (path: string[], node: unknown, setting: { variable: string; path?: true }) => {
    const raw = textOf(node);
    if (raw === undefined) {
      problems.push(
        source.problem(
          path,
          'Expected a value (text, a number, true or false, or a list of names without spaces or commas)',
        ),
      );
      return;
    }
    const value = setting.path === true ? resolve(dirname(resolve(file)), raw) : raw;
    const problem = checkVariable(setting.variable, value);
    if (problem !== undefined)
      problems.push(source.problem(path, `${problem}, not ${quote(raw)} (${setting.variable})`));
    else values.set(setting.variable, { value, path: path.join('.') });
  };
  for (const pair of isMap(root) ? root.items : []) {
    const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
    const top = SETTINGS['']?.[key];
    if (top !== undefined) {
      take([key], pair.value, top);
      continue;
    }
    const section = SETTINGS[key];
    if (section === undefined || key === '') {
      unknown([key], key, TOP_LEVEL);
      continue;
    }
    if (!isMap(pair.value)) {
      problems.push(
        source.problem([key], `Expected the settings of ${key}: ${Object.keys(section).join(', ')}`),
      );
      continue;
    }
    for (const item of pair.value.items) {
      const name = String(isScalar(item.key) ? item.key.value : item.key);
      const setting = section[name];
      if (setting === undefined) unknown([key, name], name, Object.keys(section));
      else take([key, name], item.value, setting);
    }
  }
  // The trace settings are checked together, as the exporter reads them.
  const tracing = Object.fromEntries(
    [...values]
      .filter(([variable]) => variable.startsWith('OTEL_'))
      .map(([variable, { value }]) => [variable, value]),
  );
  if (Object.keys(tracing).length > 0) {
    try {
      tracingFrom({ OTEL_TRACES_EXPORTER: 'otlp', ...tracing });
    } catch (error) {
      if (!(error instanceof InvalidVariableError)) throw error;
      const at = values.get(error.variable)?.path.split('.') ?? ['tracing'];
      problems.push(source.problem(at, error.message.replace('Invalid environment: ', '')));
    }
  }
  if (problems.length > 0) throw new ConfigFileError(problems);
  return { file, values };
}

/** The config file to read: MARQUEE_CONFIG (which must exist), else marquee.config.yaml here if there is one. */
export function configFileOf(env: NodeJS.ProcessEnv, cwd = process.cwd()): string | undefined {
  const named = env.MARQUEE_CONFIG?.trim();
  if (named !== undefined && named !== '') {
    const file = resolve(cwd, named);
    if (!existsSync(file))
      throw new MarqueeError('config_invalid', `MARQUEE_CONFIG names ${file}, which does not exist`);
    if (!statSync(file).isFile())
      throw new MarqueeError('config_invalid', `MARQUEE_CONFIG names ${file}, which is not a file`);
    return file;
  }
  const here = resolve(cwd, CONFIG_FILE);
  return existsSync(here) ? here : undefined;
}

/**
 * Applies the config file's settings to `env` where the environment does not set them (a variable always wins
 * over the file); says which file, what it set and what the environment overrode.
 */
export function applyConfigFile(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): { file: string; applied: string[]; overridden: string[] } | undefined {
  const file = configFileOf(env, cwd);
  if (file === undefined) return undefined;
  const { values } = readConfigFile(file);
  const applied: string[] = [];
  const overridden: string[] = [];
  for (const [variable, { value, path }] of values) {
    if (env[variable] !== undefined && env[variable] !== '') overridden.push(`${path} (${variable})`);
    else {
      env[variable] = value;
      applied.push(path);
    }
  }
  return { file, applied, overridden };
}
