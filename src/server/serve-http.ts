import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  localhostHostValidation,
  localhostOriginValidation,
  type NodeIncomingMessageLike,
  toNodeHandler,
} from '@modelcontextprotocol/node';
import { createMcpHandler } from '@modelcontextprotocol/server';
import type { Identity } from '../auth/identity.js';
import { MarqueeError } from '../errors.js';
import { createMcpServer, type ServerDependencies } from './create-server.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Options of the HTTP server; until token auth lands it serves one local identity, on loopback only. */
export interface HttpOptions {
  readonly host: string;
  readonly port: number;
  readonly identity: Identity;
}

/** A running HTTP server and how to stop it. */
export interface HttpServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** Serves MCP (stateless streamable HTTP) at /mcp, with /healthz and /readyz. */
export async function serveHttp(dependencies: ServerDependencies, options: HttpOptions): Promise<HttpServer> {
  if (!LOOPBACK.has(options.host)) {
    throw new MarqueeError(
      'bind_refused',
      `Refusing to listen on ${options.host}: without token authentication Marquee serves only loopback (127.0.0.1, ::1, localhost)`,
    );
  }
  const mcp = createMcpHandler(() => createMcpServer(dependencies, options.identity), {
    onerror: (error) => process.stderr.write(`[marquee] mcp: ${error.message}\n`),
  });
  const handleMcp = toNodeHandler(mcp);
  const validHost = localhostHostValidation();
  const validOrigin = localhostOriginValidation();

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      dependencies.service.warehouse.ping().then(
        () => json(res, 200, { status: 'ready', warehouse: dependencies.service.warehouse.kind }),
        (error: unknown) => json(res, 503, { status: 'not ready', reason: (error as Error).message }),
      );
      return;
    }
    if (path !== '/mcp')
      return json(res, 404, { error: 'not found', endpoints: ['/mcp', '/healthz', '/readyz'] });
    if (!validHost(req, res) || !validOrigin(req, res)) return;
    // Node's request always has a method on a server; the SDK's structural type just says so more strictly.
    handleMcp(req as NodeIncomingMessageLike, res).catch((error: unknown) => {
      process.stderr.write(`[marquee] http: ${(error as Error).message}\n`);
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
    });
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
    url: `http://${host}:${address.port}/mcp`,
    server,
    async close() {
      await mcp.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
