import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import {
  hostHeaderValidation,
  localhostHostValidation,
  localhostOriginValidation,
  type NodeIncomingMessageLike,
  toNodeHandler,
} from '@modelcontextprotocol/node';
import {
  bearerAuthChallengeResponse,
  createMcpHandler,
  OAuthError,
  OAuthErrorCode,
} from '@modelcontextprotocol/server';
import type { Identity } from '../auth/identity.js';
import { createBearerGate, type MarqueeAuthInfo } from '../auth/verify-token.js';
import { chartUri, resultsUri } from '../charts/chart-resource.js';
import type { AuthConfig } from '../config.js';
import { ArgumentError, MarqueeError } from '../errors.js';
import { processLog } from '../observe/log.js';
import { formatProblem } from '../semantic/load-semantic-layer.js';
import { scopeOf, scopesOf } from '../tools/catalog.js';
import { Door, NotFoundError } from '../tools/framework/door.js';
import { createMcpServer, type ServerDependencies } from './create-server.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const MCP_PATH = '/mcp';
/** RFC 9728 metadata for the resource at /mcp (and the root form some clients probe first). */
const METADATA_PATHS = new Set([
  '/.well-known/oauth-protected-resource/mcp',
  '/.well-known/oauth-protected-resource',
]);
/** Tool arguments are small; anything larger is refused before parsing. */
const MAX_BODY_BYTES = 256 * 1024;
/** Charts and results for BI tools: /charts/{token}.vl.json|.svg|.png and /results/{token}.csv|.json. */
const RESOURCE_ROUTE = /^\/(charts|results)\/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)\.(vl\.json|svg|png|csv|json)$/;

/** Whether a request's Cache-Control asks for a fresh answer (no-cache or no-store). */
function noCache(header: string | null | undefined): boolean {
  return header != null && /(^|[\s,])no-(cache|store)($|[\s,;=])/i.test(header);
}

/** The MCP resource a BI route names (and the route, for the audit), or undefined. */
function routedResource(path: string): { uri: string; route: string } | undefined {
  const match = RESOURCE_ROUTE.exec(path);
  if (match === null) return undefined;
  const [, kind, token = '', format] = match;
  const route = `GET /${kind}`;
  if (kind === 'charts' && format === 'vl.json') return { uri: chartUri(token), route };
  if (kind === 'charts' && (format === 'svg' || format === 'png'))
    return { uri: `${chartUri(token)}.${format}`, route };
  if (kind === 'results' && (format === 'csv' || format === 'json'))
    return { uri: resultsUri(token, format), route };
  return undefined;
}

/** How a request refused before any answer ended, and the error class its audit record names by default. */
const REFUSAL_CLASSES = {
  unauthenticated: 'invalid_token',
  forbidden: 'insufficient_scope',
  invalid_request: 'batch_not_supported',
} as const;

/** The one audit record of a request refused before any answer: what was asked (never the token), by whom. */
function auditRefusal(
  audit: ServerDependencies['audit'],
  refusal: {
    tool: string;
    args: unknown;
    who: Identity | undefined;
    outcome: keyof typeof REFUSAL_CLASSES;
    errorClass?: string;
    started: number;
  },
): void {
  audit.record({
    tenant: refusal.who?.tenant ?? '',
    subject: refusal.who?.subject ?? '',
    tool: refusal.tool,
    argumentHash: audit.hash(refusal.args ?? null),
    resultHash: '',
    rows: 0,
    latencyMs: Math.round((performance.now() - refusal.started) * 100) / 100,
    cacheHit: false,
    redactions: 0,
    suppressedGroups: 0,
    outcome: refusal.outcome,
    errorClass: refusal.errorClass ?? REFUSAL_CLASSES[refusal.outcome],
    anonymous: refusal.who === undefined,
  });
}

/** What one HTTP request asked, for its one audit record: a tool's name or a method, or a batch's size. */
function askedBy(
  body: unknown,
  messages: readonly { method?: unknown; params?: { name?: unknown } }[],
): string {
  if (body === undefined) return '(not JSON)';
  if (Array.isArray(body)) return `(batch of ${body.length})`;
  const [message] = messages;
  if (message === undefined) return '(not a JSON-RPC message)';
  return message.method === 'tools/call' ? String(message.params?.name) : String(message.method ?? '');
}

/**
 * Whether a request may carry a JSON-RPC batch: only under protocol version 2025-03-26, which a request without
 * the MCP-Protocol-Version header is taken to speak; 2025-06-18 removed batches and later versions have none.
 */
function batchesAllowed(request: Request): boolean {
  const version = request.headers.get('mcp-protocol-version');
  return version === null || version === '2025-03-26';
}

/** The JSON-RPC error answering a batch under a protocol version that has none (HTTP 400). */
function batchRefusal(request: Request): Response {
  const version = request.headers.get('mcp-protocol-version');
  return Response.json(
    {
      jsonrpc: '2.0',
      id: null,
      error: {
        code: -32600,
        message: `Invalid Request: MCP protocol version ${version} has no JSON-RPC batches; send one message per request`,
      },
    },
    { status: 400, headers: { 'cache-control': 'no-store' } },
  );
}

/**
 * Options of the HTTP server. With `auth`, every /mcp request needs a bearer token and the server may bind
 * any address; without it, it serves one local `identity` on loopback only.
 */
export interface HttpOptions {
  readonly host: string;
  readonly port: number;
  readonly identity?: Identity;
  readonly auth?: AuthConfig;
  /** `/readyz` says not ready when the data was last written longer ago than this (unset: not checked). */
  readonly maxDataAgeSeconds?: number;
}

/** How long `/readyz` waits for the warehouse to answer before it says it does not. */
const READY_TIMEOUT_MS = 5_000;

/** `work`, or the `reason` once `ms` have passed. */
function within<T>(work: Promise<T>, ms: number, reason: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(reason)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** One dependency as `/readyz` reports it. */
interface ReadyCheck {
  readonly ok: boolean;
  readonly [detail: string]: unknown;
}

/**
 * `/readyz`: every dependency named with whether it is ready (the warehouse answering, the layer matching it,
 * the data fresh enough), 200 when all are, 503 with the first reason otherwise. Without a token gate the
 * layer's problems are listed; with one (the server may be reachable beyond loopback) only their count.
 */
async function readiness(
  dependencies: ServerDependencies,
  options: { detailed: boolean; maxDataAgeSeconds: number | undefined },
): Promise<{ code: number; body: Record<string, unknown> }> {
  const { service } = dependencies;
  const kind = service.warehouse.kind;
  const notReady = (
    reason: string,
    checks: Record<string, ReadyCheck>,
    extra: Record<string, unknown> = {},
  ) => ({
    code: 503,
    body: { status: 'not ready', reason, ...extra, checks },
  });
  try {
    await within(service.warehouse.ping(), READY_TIMEOUT_MS, `no answer within ${READY_TIMEOUT_MS / 1000} s`);
  } catch (error) {
    return notReady(`The warehouse does not answer: ${(error as Error).message}`, {
      warehouse: { ok: false, kind },
      layer: { ok: false, checked: false },
      data: { ok: false, checked: false },
    });
  }
  const problems = await service.fit();
  const { asOf } = await service.data.current();
  const age = asOf === null ? null : Math.max(0, Math.round((Date.now() - Date.parse(asOf)) / 1000));
  const { maxDataAgeSeconds } = options;
  const fresh = maxDataAgeSeconds === undefined || (age !== null && age <= maxDataAgeSeconds);
  const checks: Record<string, ReadyCheck> = {
    warehouse: { ok: true, kind },
    layer: { ok: problems.length === 0, problems: problems.length },
    data: { ok: fresh, as_of: asOf, age_seconds: age, max_age_seconds: maxDataAgeSeconds ?? null },
  };
  if (problems.length > 0)
    return notReady(
      `The semantic layer does not match the warehouse (${problems.length} problem(s)${options.detailed ? '' : '; see the server log, or run marquee validate --warehouse'})`,
      checks,
      options.detailed
        ? { problems: problems.map((problem) => formatProblem({ ...problem, file: basename(problem.file) })) }
        : {},
    );
  if (!fresh)
    return notReady(
      asOf === null
        ? 'The warehouse holds no data the layer reads'
        : `The data was last written ${age} s ago, more than MARQUEE_READY_MAX_DATA_AGE (${maxDataAgeSeconds} s)`,
      checks,
    );
  return { code: 200, body: { status: 'ready', warehouse: kind, checks } };
}

/** How long a stop waits for the requests in flight before it closes their connections. */
const DRAIN_MS = 20_000;

/** A running HTTP server and how to stop it. */
export interface HttpServer {
  readonly url: string;
  readonly server: Server;
  /** Stops accepting, drains the requests in flight (at most `drainMs`, default 20 s: inside the 30 s an orchestrator usually grants), then closes. */
  close(drainMs?: number): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** The body as sent, parsed, and its JSON-RPC messages (one or a batch); no messages when it is not JSON. */
async function messagesOf(request: Request): Promise<{
  text: string;
  body: unknown;
  messages: { method?: unknown; params?: { name?: unknown } }[];
}> {
  const text = await request
    .clone()
    .text()
    .catch(() => '');
  try {
    const body: unknown = JSON.parse(text);
    const messages = (Array.isArray(body) ? body : [body]).filter(
      (message) => typeof message === 'object' && message !== null,
    );
    return { text, body, messages };
  } catch {
    return { text, body: undefined, messages: [] };
  }
}

/** Refuses a bind that would serve beyond loopback without token authentication (checked before any I/O). */
export function checkBind(options: { readonly host: string; readonly auth?: AuthConfig | undefined }): void {
  if (options.auth === undefined && !LOOPBACK.has(options.host)) {
    throw new MarqueeError(
      'bind_refused',
      `Refusing to listen on ${options.host}: without token authentication (MARQUEE_AUTH_ISSUER, MARQUEE_AUTH_JWKS_URL) Marquee serves only loopback (127.0.0.1, ::1, localhost)`,
    );
  }
}

/** Serves MCP (stateless streamable HTTP) at /mcp, with /healthz, /readyz and protected resource metadata. */
export async function serveHttp(dependencies: ServerDependencies, options: HttpOptions): Promise<HttpServer> {
  const { auth, identity } = options;
  checkBind(options);
  if (auth === undefined && identity === undefined) {
    throw new MarqueeError(
      'identity_missing',
      'Without token authentication the HTTP server needs a local identity',
    );
  }

  const mcp = createMcpHandler(
    ({ authInfo, requestInfo }) =>
      createMcpServer(
        dependencies,
        (authInfo as MarqueeAuthInfo | undefined)?.extra.identity ?? (identity as Identity),
        {
          refresh: noCache(requestInfo?.headers.get('cache-control')),
          request: {
            traceparent: requestInfo?.headers.get('traceparent') ?? undefined,
            authMs: (authInfo as MarqueeAuthInfo | undefined)?.extra.authMs,
          },
        },
      ),
    {
      onerror: (error) => processLog().warn({ transport: 'http' }, error.message),
      maxRequestBodySize: MAX_BODY_BYTES,
    },
  );
  const resourceMetadataUrl =
    auth === undefined
      ? undefined
      : new URL('/.well-known/oauth-protected-resource/mcp', auth.audience).toString();
  const gate = auth === undefined ? undefined : createBearerGate(auth, resourceMetadataUrl);

  const app = {
    fetch: async (request: Request): Promise<Response> => {
      // The body is parsed once, here, for the checks below; the handler takes it as is.
      const { text, body, messages } = await messagesOf(request);
      const started = performance.now();
      // A refused request is audited once, whatever it holds: what was asked (never the token), by whom.
      const refuse = (
        response: Response,
        who: Identity | undefined,
        outcome: keyof typeof REFUSAL_CLASSES,
      ): Response => {
        auditRefusal(dependencies.audit, {
          tool: askedBy(body, messages),
          // The body as sent: a refused one may be nested too deep to serialise again.
          args: text,
          who,
          outcome,
          started,
        });
        return response;
      };
      let caller = identity;
      let authInfo: MarqueeAuthInfo | undefined;
      if (gate !== undefined) {
        const verified = await gate(request);
        if (verified instanceof Response) return refuse(verified, undefined, 'unauthenticated');
        authInfo = { ...verified, extra: { ...verified.extra, authMs: performance.now() - started } };
        caller = verified.extra.identity;
      }
      if (Array.isArray(body) && !batchesAllowed(request))
        return refuse(batchRefusal(request), caller, 'invalid_request');
      // A POST that is not a JSON-RPC message: the handler answers it (a parse error), audited here once.
      if (request.method === 'POST' && messages.length === 0)
        auditRefusal(dependencies.audit, {
          tool: askedBy(body, messages),
          args: null,
          who: caller,
          outcome: 'invalid_request',
          errorClass: body === undefined ? 'not_json' : 'not_json_rpc',
          started,
        });
      // A call to a tool outside the token's scopes is a 403 naming the scope (step-up), not "not found".
      for (const message of authInfo === undefined ? [] : messages) {
        const tool = String(message.params?.name);
        const scope = message.method === 'tools/call' ? scopeOf(tool) : undefined;
        if (scope !== undefined && !authInfo?.scopes.includes(scope)) {
          const challenge = bearerAuthChallengeResponse(
            new OAuthError(OAuthErrorCode.InsufficientScope, `The tool ${tool} needs scope ${scope}`),
            {
              requiredScopes: [scope],
              ...(resourceMetadataUrl === undefined ? {} : { resourceMetadataUrl }),
            },
          );
          return refuse(challenge, caller, 'forbidden');
        }
      }
      return mcp.fetch(request, {
        ...(authInfo === undefined ? {} : { authInfo }),
        ...(body === undefined ? {} : { parsedBody: body }),
      });
    },
  };
  const handleMcp = toNodeHandler(app, {
    maxRequestBodySize: MAX_BODY_BYTES,
    onerror: (error: Error) => processLog().error({ err: error }, 'http request failed'),
  });
  const publicHost = auth === undefined ? undefined : new URL(auth.audience).hostname;
  const validHost =
    publicHost === undefined
      ? localhostHostValidation()
      : hostHeaderValidation([publicHost, 'localhost', '127.0.0.1', '[::1]']);
  const validOrigin = localhostOriginValidation();

  /**
   * A chart or result for a BI tool: the same bearer token, scopes, rate limits and audit as /mcp (it is read
   * through the door for the token's identity), the bytes as the resource has them.
   */
  const serveRouted = async (
    req: IncomingMessage,
    res: ServerResponse,
    { uri, route }: { uri: string; route: string },
  ): Promise<void> => {
    if (req.method !== 'GET') return json(res, 405, { error: 'GET only' });
    const started = performance.now();
    let who = identity as Identity;
    let authMs: number | undefined;
    if (gate !== undefined) {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers))
        if (typeof value === 'string') headers.set(name, value);
      const authInfo = await gate(
        new Request(new URL(req.url ?? '/', auth?.audience ?? 'http://localhost'), { headers }),
      );
      if (authInfo instanceof Response) {
        // Refused like a refused /mcp request: one audit record.
        auditRefusal(dependencies.audit, {
          tool: route,
          args: uri,
          who: undefined,
          outcome: 'unauthenticated',
          started,
        });
        res.writeHead(authInfo.status, Object.fromEntries(authInfo.headers));
        res.end(await authInfo.text());
        return;
      }
      who = (authInfo as MarqueeAuthInfo).extra.identity;
      authMs = performance.now() - started;
    }
    try {
      const header = req.headers['cache-control'];
      const traceparent = req.headers.traceparent;
      const content = await new Door(dependencies, who, noCache(header), {
        traceparent: typeof traceparent === 'string' ? traceparent : undefined,
        authMs,
      }).read(uri);
      res.writeHead(200, {
        'content-type': content.mimeType === 'text/csv' ? 'text/csv; charset=utf-8' : content.mimeType,
        'cache-control': 'private, max-age=60',
        // An SVG or JSON served from this origin is a file, never a page that runs.
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'none'",
      });
      res.end('blob' in content ? Buffer.from(content.blob, 'base64') : content.text);
    } catch (error) {
      if (error instanceof NotFoundError) return json(res, 404, { error: error.message });
      if (error instanceof MarqueeError) {
        const status =
          error.code === 'rate_limited'
            ? 429
            : error.code.endsWith('unavailable') || error.code === 'warehouse_busy'
              ? 503
              : error instanceof ArgumentError
                ? 400
                : 500;
        return json(res, status, { error: status === 500 ? 'internal error' : error.message });
      }
      throw error;
    }
  };

  /**
   * A request the HTTP layer refused (a Host or Origin not served, a body over the limit) is audited once, as
   * the gate's refusals are: no identity is established yet.
   */
  const auditHttp = (req: IncomingMessage, path: string, errorClass: string, started: number): void =>
    auditRefusal(dependencies.audit, {
      tool: `${req.method ?? ''} ${path}`,
      args: null,
      who: undefined,
      outcome: 'invalid_request',
      errorClass,
      started,
    });
  /** validHost, then (without token authentication) validOrigin; a refusal is answered and audited. */
  const served = (req: IncomingMessage, res: ServerResponse, path: string, started: number): boolean => {
    if (!validHost(req, res)) {
      auditHttp(req, path, 'host_refused', started);
      return false;
    }
    if (auth === undefined && !validOrigin(req, res)) {
      auditHttp(req, path, 'origin_refused', started);
      return false;
    }
    return true;
  };

  /**
   * One readiness check at a time, shared by every probe that comes while it runs (a flood of /readyz, which
   * needs no token, is one ping of the warehouse, not one each), and bounded as a whole.
   */
  let checking: Promise<{ code: number; body: Record<string, unknown> }> | undefined;
  const ready = () => {
    checking ??= within(
      readiness(dependencies, { detailed: auth === undefined, maxDataAgeSeconds: options.maxDataAgeSeconds }),
      READY_TIMEOUT_MS * 2,
      `the readiness check took more than ${(READY_TIMEOUT_MS * 2) / 1000} s`,
    ).finally(() => {
      checking = undefined;
    });
    return checking;
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      // /readyz needs no token, so a server reachable beyond loopback (token authentication) gives the count of
      // the layer's problems, not the tables and columns it could not find: those are in its log and in
      // `marquee validate --warehouse`.
      ready().then(
        ({ code, body }) => json(res, code, body),
        (error: unknown) => json(res, 503, { status: 'not ready', reason: (error as Error).message }),
      );
      return;
    }
    if (auth !== undefined && METADATA_PATHS.has(path)) {
      res.setHeader('access-control-allow-origin', '*');
      return json(res, 200, {
        resource: auth.audience,
        authorization_servers: [auth.issuer],
        scopes_supported: scopesOf(dependencies.service.layer),
        bearer_methods_supported: ['header'],
        resource_name: 'Marquee',
      });
    }
    const routed = routedResource(path);
    if (routed !== undefined) {
      if (!served(req, res, path, started)) return;
      serveRouted(req, res, routed).catch((error: unknown) => {
        processLog().error({ err: error }, 'http request failed');
        if (!res.headersSent) json(res, 500, { error: 'internal error' });
      });
      return;
    }
    if (path !== MCP_PATH)
      return json(res, 404, {
        error: 'not found',
        endpoints: [
          MCP_PATH,
          '/healthz',
          '/readyz',
          '/charts/{token}.vl.json|.svg|.png',
          '/results/{token}.csv|.json',
        ],
      });
    if (!served(req, res, path, started)) return;
    // The handler refuses a body over the limit itself (413), before the gate: audited once when it does.
    res.once('finish', () => {
      if (res.statusCode === 413) auditHttp(req, path, 'body_too_large', started);
    });
    // Node's request always has a method on a server; the SDK's structural type just says so more strictly.
    handleMcp(req as NodeIncomingMessageLike, res).catch((error: unknown) => {
      processLog().error({ err: error }, 'http request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
    });
  });
  // A request Node refuses before any handler runs (a header too large, a malformed request line or header) is
  // audited once too, as a refusal without an identity, and answered as Node would.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    // A connection the client dropped or that timed out is no request.
    if (error.code?.startsWith('HPE_') !== true) {
      socket.destroy();
      return;
    }
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    auditRefusal(dependencies.audit, {
      tool: '(bad HTTP request)',
      args: null,
      who: undefined,
      outcome: 'invalid_request',
      errorClass: tooLarge ? 'header_too_large' : 'bad_http_request',
      started: performance.now(),
    });
    if (socket.writable)
      socket.end(
        tooLarge
          ? 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n'
          : 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n',
      );
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new MarqueeError(
              'bind_failed',
              `Cannot listen on ${options.host}:${options.port}: the port is in use; set MARQUEE_HTTP_PORT`,
            )
          : error,
      );
    });
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}${MCP_PATH}`,
    server,
    async close(drainMs = DRAIN_MS) {
      // Stop accepting, let the requests in flight finish (each connection closes once idle), and only then
      // tear the MCP handler down: a stop loses no answer a client is waiting for. Past `drainMs`, cut.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const cut = setTimeout(() => server.closeAllConnections(), drainMs);
      cut.unref();
      await closed;
      clearTimeout(cut);
      await mcp.close();
    },
  };
}
