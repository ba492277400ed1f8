import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Warehouse } from '../../src/warehouse/warehouse.js';

/** What the facade saw of one query: its settings and parameters as sent over HTTP. */
export interface SeenRequest {
  readonly settings: Record<string, string>;
  readonly parameters: Record<string, string>;
  readonly sql: string;
  /** The user the request was sent as (basic authentication). */
  readonly user: string;
}

/**
 * A loopback stand-in for a ClickHouse server's HTTP interface, over an embedded warehouse, for tests only
 * (no server can be installed here). It speaks enough of the protocol for @clickhouse/client: settings and
 * `param_*` in the URL, SQL in the body ending in FORMAT, errors as `Code: N. DB::Exception: … (TYPE)`.
 */
export async function startFacade(warehouse: Warehouse): Promise<{
  url: string;
  seen: SeenRequest[];
  /** `down`: every request's connection is dropped, as by a server that is gone; `up`: answered again. */
  setDown: (down: boolean) => void;
  /** Requests that reached the facade, answered or dropped. */
  attempts: () => number;
  close: () => Promise<void>;
}> {
  const seen: SeenRequest[] = [];
  let down = false;
  let attempts = 0;
  const server: Server = createServer((req, res) => {
    attempts++;
    if (down) {
      req.socket.destroy();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/ping') {
      res.end('Ok.\n');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const text = url.searchParams.get('query') ?? body;
      const settings: Record<string, string> = {};
      const parameters: Record<string, string> = {};
      for (const [key, value] of url.searchParams) {
        if (key.startsWith('param_')) parameters[key.slice(6)] = value;
        else if (key !== 'query') settings[key] = value;
      }
      const format = /\s+FORMAT\s+(\w+)\s*$/i.exec(text);
      const sql = format === null ? text : text.slice(0, format.index);
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const user = basic === undefined ? '' : Buffer.from(basic, 'base64').toString('utf8').split(':')[0];
      seen.push({ settings, parameters, sql, user: user ?? '' });
      warehouse.query({ sql, parameters }).then(
        (rows) => {
          res.writeHead(200, {
            'content-type': 'application/x-ndjson',
            'x-clickhouse-format': format?.[1] ?? 'JSONEachRow',
          });
          res.end(rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
        },
        (error: Error & { cause?: Error & { code?: string; type?: string } }) => {
          const cause = error.cause;
          res.writeHead(500, { 'x-clickhouse-exception-code': cause?.code ?? '1000' });
          res.end(
            `Code: ${cause?.code ?? 1000}. DB::Exception: ${cause?.message ?? error.message}. (${cause?.type ?? 'UNKNOWN'})\n`,
          );
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    setDown: (value) => {
      down = value;
    },
    attempts: () => attempts,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
