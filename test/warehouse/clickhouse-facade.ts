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
  /** The `query_id` it was sent with. */
  readonly queryId: string | undefined;
  /** Rows the engine underneath read for it. */
  rowsRead?: number;
  /** Refused for reading past its `max_rows_to_read`, as a server would. */
  overRead?: boolean;
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
  /**
   * An exception a server hits after its answer began: the next JSON answer carries it in its `exception`
   * field (as ClickHouse 24.11 and later write it), with status 200.
   */
  failMidAnswer: (exception: string) => void;
  close: () => Promise<void>;
}> {
  const seen: SeenRequest[] = [];
  let down = false;
  let attempts = 0;
  let midAnswer: string | undefined;
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
        else if (key !== 'query' && key !== 'query_id') settings[key] = value;
      }
      const format = /\s+FORMAT\s+(\w+)\s*$/i.exec(text);
      const sql = format === null ? text : text.slice(0, format.index);
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const user = basic === undefined ? '' : Buffer.from(basic, 'base64').toString('utf8').split(':')[0];
      const request: SeenRequest = {
        settings,
        parameters,
        sql,
        user: user ?? '',
        queryId: url.searchParams.get('query_id') ?? undefined,
      };
      seen.push(request);
      // The statistics a server writes in the JSON format: what the engine underneath read.
      let statistics = { rows_read: 0, bytes_read: 0 };
      const onRead = ({ rows, bytes }: { rows: number; bytes: number }) => {
        statistics = { rows_read: rows, bytes_read: bytes };
        request.rowsRead = rows;
      };
      warehouse.query({ sql, parameters }, { onRead }).then(
        (rows) => {
          // A server stops a statement that reads past max_rows_to_read (read_overflow_mode=throw); here the
          // engine underneath has read it already, so the facade refuses the answer as the server would.
          const bound = settings.max_rows_to_read;
          if (bound !== undefined && statistics.rows_read > Number(bound)) {
            request.overRead = true;
            res.writeHead(500, { 'x-clickhouse-exception-code': '158' });
            res.end(
              `Code: 158. DB::Exception: Limit for rows (controlled by 'max_rows_to_read' setting) exceeded, max rows: ${bound}, current rows: ${statistics.rows_read}. (TOO_MANY_ROWS)\n`,
            );
            return;
          }
          const json = format?.[1] === 'JSON';
          if (json && midAnswer !== undefined) {
            res.writeHead(200, { 'content-type': 'application/json', 'x-clickhouse-format': 'JSON' });
            res.end(JSON.stringify({ meta: [], data: rows.slice(0, 1), exception: midAnswer }));
            midAnswer = undefined;
            return;
          }
          res.writeHead(200, {
            'content-type': json ? 'application/json' : 'application/x-ndjson',
            'x-clickhouse-format': format?.[1] ?? 'JSONEachRow',
          });
          res.end(
            json
              ? JSON.stringify({
                  meta: [],
                  data: rows,
                  rows: rows.length,
                  statistics: { elapsed: 0, ...statistics },
                })
              : rows.map((row) => `${JSON.stringify(row)}\n`).join(''),
          );
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
    failMidAnswer: (exception) => {
      midAnswer = exception;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
