import { resolve } from 'node:path';
import { z } from 'zod';
import { MarqueeError } from './errors.js';
import { type TracingConfig, tracingFrom } from './observe/tracing-config.js';
import { IDENTIFIER } from './semantic/schema.js';
import type { BreakerOptions } from './warehouse/circuit-breaker.js';

/** DESIGN.md: the default name of the token claim that carries the tenant (a product default, not a column). */
export const DEFAULT_TENANT_CLAIM = 'tenant_id';

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const environmentSchema = z.object({
  CLICKHOUSE_URL: optionalText.pipe(z.url().optional()),
  CLICKHOUSE_USER: optionalText,
  CLICKHOUSE_PASSWORD: optionalText,
  CLICKHOUSE_ADMIN_USER: optionalText,
  CLICKHOUSE_ADMIN_PASSWORD: optionalText,
  CLICKHOUSE_DATABASE: optionalText.pipe(
    z.string().regex(IDENTIFIER, 'must be a plain database name').optional(),
  ),
  MARQUEE_DATA_DIR: z.string().default('.marquee/warehouse'),
  MARQUEE_SEMANTIC_LAYER: z.string().default('semantic-layer'),
  MARQUEE_HTTP_HOST: z.string().default('127.0.0.1'),
  MARQUEE_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  MARQUEE_PUBLIC_URL: optionalText,
  MARQUEE_TENANT: optionalText,
  MARQUEE_ROLES: optionalText,
  MARQUEE_CURSOR_SECRET: optionalText,
  MARQUEE_INLINE_CHART_PNG: z.enum(['true', 'false']).default('false'),
  MARQUEE_SCOPES: optionalText,
  MARQUEE_AUTH_ISSUER: optionalText.pipe(z.url().optional()),
  MARQUEE_AUTH_JWKS_URL: optionalText.pipe(z.url().optional()),
  MARQUEE_AUTH_AUDIENCE: optionalText,
  MARQUEE_AUTH_TENANT_CLAIM: z.string().default(DEFAULT_TENANT_CLAIM),
  MARQUEE_AUTH_ROLES_CLAIM: z.string().default('roles'),
  MARQUEE_AUTH_SCOPE_CLAIM: z.string().default('scope'),
  MARQUEE_AUTH_MAX_TOKEN_AGE: z.coerce.number().int().positive().optional(),
  MARQUEE_IDP_PORT: z.coerce.number().int().min(0).max(65535).default(9400),
  MARQUEE_STATE_DATABASE: z.string().regex(IDENTIFIER, 'must be a plain database name').default('marquee'),
  MARQUEE_AUDIT_TABLE: z.string().regex(IDENTIFIER, 'must be a plain table name').default('audit'),
  MARQUEE_STATE_DIR: z.string().default('.marquee/state'),
  MARQUEE_RATE_TENANT_PER_MINUTE: positiveInt(600),
  MARQUEE_RATE_TOOL_PER_MINUTE: positiveInt(120),
  MARQUEE_REDIS_URL: optionalText,
  MARQUEE_MAX_ROWS_TO_READ: positiveInt(2_000_000_000),
  MARQUEE_CALL_MAX_ROWS_READ: positiveInt(1_000_000_000),
  MARQUEE_READERS: positiveInt(4),
  MARQUEE_MAX_EXECUTION_SECONDS: positiveInt(30),
  MARQUEE_MAX_RESULT_ROWS: positiveInt(100_000),
  MARQUEE_MAX_MEMORY_BYTES: positiveInt(4 * 1024 ** 3),
  MARQUEE_RESULT_CACHE_MB: z.coerce.number().int().min(0).default(256),
  MARQUEE_DATA_CHECK_MS: z.coerce.number().int().min(0).default(2_000),
  MARQUEE_TENANT_QUERIES: positiveInt(2),
  MARQUEE_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  MARQUEE_METRICS_HOST: z.string().default('127.0.0.1'),
  MARQUEE_READY_MAX_DATA_AGE: z.coerce.number().int().positive().optional(),
  MARQUEE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Node's timers hold at most 2^31 - 1 ms (about 24.8 days); a longer wait would fire at once.
  MARQUEE_QUEUE_WAIT_MS: z.coerce.number().int().min(0).max(2_147_483_647).default(10_000),
});

/**
 * Why `value` is not a valid value of the environment variable `name` (undefined: it is, or the variable is
 * not one of Marquee's own): the check the config file's settings get, value by value.
 */
export function checkVariable(name: string, value: string): string | undefined {
  const schema = (environmentSchema.shape as Record<string, z.ZodType | undefined>)[name];
  const checked = schema?.safeParse(value);
  return checked === undefined || checked.success
    ? undefined
    : checked.error.issues.map((issue) => issue.message).join('; ');
}

/** Query limits applied to every read. */
export interface QueryLimits {
  readonly maxExecutionSeconds: number;
  readonly maxRowsToRead?: number;
  readonly maxResultRows: number;
  readonly maxMemoryBytes: number;
}

/** Where the warehouse is: an embedded chDB directory, or a ClickHouse server by URL. */
export type WarehouseConfig =
  | {
      readonly kind: 'embedded';
      readonly dataDir: string;
      /** The database unqualified tables are read from (default: the engine's `default`). */
      readonly database?: string | undefined;
      readonly readers: number;
      readonly limits: QueryLimits;
    }
  | {
      readonly kind: 'remote';
      readonly url: string;
      readonly user: string | undefined;
      readonly password: string | undefined;
      /**
       * The user of writes (the audit log, seeding, rollups), when reads go as a read-only user; unset, writes
       * go as `user`.
       */
      readonly admin?: { readonly user: string; readonly password: string | undefined } | undefined;
      readonly database: string | undefined;
      readonly readers: number;
      readonly limits: QueryLimits;
      /** The circuit breaker in front of the server (default DEFAULT_BREAKER: 3 failures, 10 s). */
      readonly breaker?: BreakerOptions;
    };

/** Token verification for the HTTP transport; absent when auth is not configured. */
export interface AuthConfig {
  readonly issuer: string;
  readonly jwksUrl: string;
  /** The RFC 8707 resource (token audience): this server's canonical MCP URL. */
  readonly audience: string;
  readonly claims: { readonly tenant: string; readonly roles: string; readonly scope: string };
  /** Seconds after its `iat` a token is refused, however late its `exp` (a token without `iat` is refused). */
  readonly maxTokenAgeSeconds?: number;
}

/** The whole process configuration, read once from the environment. */
export interface Config {
  readonly warehouse: WarehouseConfig;
  readonly semanticLayerDir: string;
  readonly http: {
    readonly host: string;
    readonly port: number;
    readonly publicUrl: string | undefined;
    /** `/readyz` is not ready when the data is older than this many seconds (unset: not checked). */
    readonly maxDataAgeSeconds: number | undefined;
    /** Where `/metrics` is served, on its own port (unset: not served). */
    readonly metrics: { readonly host: string; readonly port: number } | undefined;
  };
  readonly localIdentity: {
    readonly tenant: string | undefined;
    readonly roles: readonly string[];
    /** Scopes of the local identity; undefined means every tool's scope. */
    readonly scopes: readonly string[] | undefined;
  };
  readonly auth: AuthConfig | undefined;
  /** OpenTelemetry traces, from the standard OTEL_* variables (absent: off, the default). */
  readonly tracing: TracingConfig | undefined;
  /** The warehouse database Marquee's own tables (the audit log) go in, created when first needed. */
  readonly stateDatabase: string;
  /** The audit table's name, in the state database. */
  readonly auditTable: string;
  /** The directory of Marquee's own files (the cursor key), created when first needed. */
  readonly stateDir: string;
  readonly idpPort: number;
  readonly rateLimits: {
    readonly perTenant: number;
    readonly perTool: number;
    readonly redisUrl: string | undefined;
  };
  readonly cursorSecret: string | undefined;
  /** Whether tool results carry their chart as an inline PNG image too (off: a link costs fewer tokens). */
  readonly inlineChartPng: boolean;
  /** The result cache's bound (0: nothing kept) and how often the data's watermark is read. */
  readonly cache: {
    readonly maxBytes: number;
    readonly dataCheckMs: number;
    /** The most rows one call may read, over all its statements. */
    readonly maxRowsReadPerCall: number;
    /** Warehouse queries in flight (the readers), per tenant, and the longest wait for a turn. */
    readonly fairness: { readonly slots: number; readonly perTenant: number; readonly maxWaitMs: number };
  };
}

/** Reads and validates the environment; throws a MarqueeError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // A variable set to nothing (`MARQUEE_HTTP_PORT=`, a compose `${PORT}` with PORT unset) is unset: its default
  // applies, never a number read from "" (0: a random port, no cache, no wait).
  const given = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value === undefined || value.trim() !== ''),
  );
  const parsed = environmentSchema.safeParse(given);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new MarqueeError('config_invalid', `Invalid environment: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  if (e.CLICKHOUSE_ADMIN_PASSWORD !== undefined && e.CLICKHOUSE_ADMIN_USER === undefined)
    throw new MarqueeError(
      'config_invalid',
      'Invalid environment: CLICKHOUSE_ADMIN_PASSWORD is set without CLICKHOUSE_ADMIN_USER (the user writes go as)',
    );
  const limits: QueryLimits = {
    maxExecutionSeconds: e.MARQUEE_MAX_EXECUTION_SECONDS,
    maxRowsToRead: e.MARQUEE_MAX_ROWS_TO_READ,
    maxResultRows: e.MARQUEE_MAX_RESULT_ROWS,
    maxMemoryBytes: e.MARQUEE_MAX_MEMORY_BYTES,
  };
  const auth = authConfig(e);
  const warehouse: WarehouseConfig =
    e.CLICKHOUSE_URL === undefined
      ? {
          kind: 'embedded',
          dataDir: resolve(e.MARQUEE_DATA_DIR),
          database: e.CLICKHOUSE_DATABASE,
          readers: e.MARQUEE_READERS,
          limits,
        }
      : {
          kind: 'remote',
          url: e.CLICKHOUSE_URL,
          user: e.CLICKHOUSE_USER,
          password: e.CLICKHOUSE_PASSWORD,
          admin:
            e.CLICKHOUSE_ADMIN_USER === undefined
              ? undefined
              : { user: e.CLICKHOUSE_ADMIN_USER, password: e.CLICKHOUSE_ADMIN_PASSWORD },
          database: e.CLICKHOUSE_DATABASE,
          readers: e.MARQUEE_READERS,
          limits,
        };
  return {
    warehouse,
    semanticLayerDir: resolve(e.MARQUEE_SEMANTIC_LAYER),
    http: {
      host: e.MARQUEE_HTTP_HOST,
      port: e.MARQUEE_HTTP_PORT,
      publicUrl: e.MARQUEE_PUBLIC_URL,
      maxDataAgeSeconds: e.MARQUEE_READY_MAX_DATA_AGE,
      metrics:
        e.MARQUEE_METRICS_PORT === undefined
          ? undefined
          : { host: e.MARQUEE_METRICS_HOST, port: e.MARQUEE_METRICS_PORT },
    },
    localIdentity: {
      tenant: e.MARQUEE_TENANT,
      roles: list(e.MARQUEE_ROLES),
      scopes: e.MARQUEE_SCOPES === undefined ? undefined : list(e.MARQUEE_SCOPES),
    },
    auth,
    tracing: tracingFrom(env),
    stateDatabase: e.MARQUEE_STATE_DATABASE,
    auditTable: e.MARQUEE_AUDIT_TABLE,
    stateDir: resolve(e.MARQUEE_STATE_DIR),
    idpPort: e.MARQUEE_IDP_PORT,
    rateLimits: {
      perTenant: e.MARQUEE_RATE_TENANT_PER_MINUTE,
      perTool: e.MARQUEE_RATE_TOOL_PER_MINUTE,
      redisUrl: e.MARQUEE_REDIS_URL,
    },
    cursorSecret: e.MARQUEE_CURSOR_SECRET,
    inlineChartPng: e.MARQUEE_INLINE_CHART_PNG === 'true',
    cache: {
      maxBytes: e.MARQUEE_RESULT_CACHE_MB * 1024 ** 2,
      dataCheckMs: e.MARQUEE_DATA_CHECK_MS,
      maxRowsReadPerCall: e.MARQUEE_CALL_MAX_ROWS_READ,
      fairness: {
        slots: e.MARQUEE_READERS,
        perTenant: Math.min(e.MARQUEE_TENANT_QUERIES, e.MARQUEE_READERS),
        maxWaitMs: e.MARQUEE_QUEUE_WAIT_MS,
      },
    },
  };
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(/[\s,]+/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function authConfig(e: z.infer<typeof environmentSchema>): AuthConfig | undefined {
  const { MARQUEE_AUTH_ISSUER: issuer, MARQUEE_AUTH_JWKS_URL: jwksUrl } = e;
  if (issuer === undefined && jwksUrl === undefined) return undefined;
  const audience = e.MARQUEE_AUTH_AUDIENCE ?? e.MARQUEE_PUBLIC_URL;
  const missing = [
    ...(issuer === undefined ? ['MARQUEE_AUTH_ISSUER'] : []),
    ...(jwksUrl === undefined ? ['MARQUEE_AUTH_JWKS_URL'] : []),
    ...(audience === undefined ? ['MARQUEE_AUTH_AUDIENCE or MARQUEE_PUBLIC_URL'] : []),
  ];
  if (issuer === undefined || jwksUrl === undefined || audience === undefined) {
    throw new MarqueeError('config_invalid', `Token authentication needs ${missing.join(', ')}`);
  }
  return {
    issuer,
    jwksUrl,
    audience,
    claims: {
      tenant: e.MARQUEE_AUTH_TENANT_CLAIM,
      roles: e.MARQUEE_AUTH_ROLES_CLAIM,
      scope: e.MARQUEE_AUTH_SCOPE_CLAIM,
    },
    ...(e.MARQUEE_AUTH_MAX_TOKEN_AGE === undefined
      ? {}
      : { maxTokenAgeSeconds: e.MARQUEE_AUTH_MAX_TOKEN_AGE }),
  };
}
