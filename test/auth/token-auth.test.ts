import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect as connectSocket } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerDependencies } from '../../src/server/create-server.js';
import type { HttpServer } from '../../src/server/serve-http.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { query, seededWarehouse, startAuthHttp, toolErrorText } from '../helpers.js';
import { AUDIENCE, ISSUER, startTokenIssuer } from './token-issuer.js';

let issuer: Awaited<ReturnType<typeof startTokenIssuer>>;
let warehouse: Warehouse;
let removeWarehouse: () => Promise<void>;
let server: HttpServer & { dependencies: ServerDependencies };
let dependencies: ServerDependencies;

beforeAll(async () => {
  issuer = await startTokenIssuer();
  ({ warehouse, remove: removeWarehouse } = await seededWarehouse());
  server = await startAuthHttp(warehouse, { issuer: ISSUER, jwksUrl: issuer.jwksUrl }, AUDIENCE);
  dependencies = server.dependencies;
});

afterAll(async () => {
  await server?.close();
  await issuer?.close();
  await removeWarehouse?.();
});

/** A raw MCP request, as a 2025-11-25 stateless client sends it (`authorization`: the header as given). */
function post(
  body: unknown,
  token?: string,
  options: { authorization?: string; url?: string } = {},
): Promise<Response> {
  const authorization = options.authorization ?? (token === undefined ? undefined : `Bearer ${token}`);
  return fetch(options.url ?? server.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
      ...(authorization === undefined ? {} : { authorization }),
    },
    body: JSON.stringify(body),
  });
}

const LIST = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
const CALL = {
  jsonrpc: '2.0',
  id: 2,
  method: 'tools/call',
  params: { name: 'query_engagement', arguments: { time_range: '2026-Q3' } },
};

async function connect(token: string): Promise<Client> {
  const client = new Client(
    { name: 'auth-test', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await client.connect(
    new StreamableHTTPClientTransport(new URL(server.url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

function base64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

describe('protected resource metadata (RFC 9728)', () => {
  it('names the resource, the issuer and the scopes', async () => {
    const response = await fetch(new URL('/.well-known/oauth-protected-resource/mcp', server.url));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      resource: AUDIENCE,
      authorization_servers: [ISSUER],
      scopes_supported: ['analytics:engagement', 'analytics:campaigns', 'analytics:forecast'],
    });
  });
});

describe('refused tokens', () => {
  const cases: [string, () => Promise<string | undefined>, RegExp][] = [
    ['no token', async () => undefined, /invalid_token|Missing/i],
    ['an expired token', () => issuer.mint({ exp: issuer.now() - 120 }), /expired/],
    ['a not-yet-valid token', () => issuer.mint({ nbf: issuer.now() + 600 }), /not yet valid/],
    ['another issuer', () => issuer.mint({ iss: 'https://evil.test' }), /another issuer/],
    ['another audience', () => issuer.mint({ aud: 'https://other.test/mcp' }), /another resource/],
    ['no tenant claim', () => issuer.mint({ tenant_id: undefined }), /no tenant_id claim/],
    ['no subject', () => issuer.mint({ sub: undefined }), /sub|malformed|invalid/i],
    [
      'alg none',
      async () =>
        `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ iss: ISSUER, aud: AUDIENCE, sub: 'x', tenant_id: 'borealis', exp: issuer.now() + 600 })}.`,
      /algorithm is not allowed|malformed|cannot be verified/,
    ],
    [
      'a tampered payload',
      async () => {
        const [header, , signature] = (await issuer.mint()).split('.');
        const payload = {
          iss: ISSUER,
          aud: AUDIENCE,
          sub: 'vp@aurora',
          tenant_id: 'borealis',
          scope: 'analytics:engagement',
          exp: issuer.now() + 600,
        };
        return `${header}.${base64url(payload)}.${signature}`;
      },
      /signature is invalid/,
    ],
    [
      'HS256 signed with the public key',
      async () => {
        const header = base64url({ alg: 'HS256', kid: 'test-key', typ: 'JWT' });
        const payload = base64url({
          iss: ISSUER,
          aud: AUDIENCE,
          sub: 'x',
          tenant_id: 'borealis',
          scope: 'analytics:engagement',
          exp: issuer.now() + 600,
        });
        const signature = createHmac('sha256', issuer.publicKeyPem)
          .update(`${header}.${payload}`)
          .digest('base64url');
        return `${header}.${payload}.${signature}`;
      },
      /algorithm is not allowed/,
    ],
    ['garbage', async () => 'not.a.jwt', /malformed|cannot be verified/],
  ];

  it.each(cases)('%s: 401 with a challenge and no leak', async (_name, token, reason) => {
    const bearer = await token();
    for (const body of [LIST, CALL]) {
      const response = await post(body, bearer);
      expect(response.status).toBe(401);
      const challenge = response.headers.get('www-authenticate') ?? '';
      expect(challenge).toMatch(/^Bearer /);
      expect(challenge).toContain(
        'resource_metadata="https://marquee.test/.well-known/oauth-protected-resource/mcp"',
      );
      const text = `${challenge} ${await response.text()}`;
      expect(text).toMatch(reason);
      if (bearer !== undefined && bearer.length > 10)
        expect(text).not.toContain(bearer.split('.')[1] ?? bearer);
    }
  });
});

describe('the Authorization header', () => {
  it('is exactly Bearer and one token: anything else is 401, whatever the token', async () => {
    const token = await issuer.mint();
    expect((await post(LIST, undefined, { authorization: `Bearer ${token}` })).status).toBe(200);
    // The scheme is case-insensitive (RFC 7235).
    expect((await post(LIST, undefined, { authorization: `bearer ${token}` })).status).toBe(200);
    for (const authorization of [
      `Bearer ${token} extra`,
      `Bearer  ${token}`,
      `Bearer ${token},Bearer ${token}`,
      `Bearer ${token}, Basic eDp5`,
      `Bearer\t${token}`,
      `Basic ${Buffer.from('vp:secret').toString('base64')}`,
      `Token ${token}`,
      `${token}`,
      'Bearer',
    ]) {
      const response = await post(LIST, undefined, { authorization });
      expect(response.status, authorization.slice(0, 20)).toBe(401);
      expect(response.headers.get('www-authenticate') ?? '').toMatch(/^Bearer .*invalid_token/);
    }
  });
});

describe('clock skew and token age', () => {
  it('tolerates 30 s on exp as on nbf, and no more', async () => {
    const now = issuer.now();
    expect((await post(LIST, await issuer.mint({ exp: now - 10 }))).status).toBe(200);
    expect((await post(LIST, await issuer.mint({ nbf: now + 10 }))).status).toBe(200);
    const late = await post(LIST, await issuer.mint({ exp: now - 45 }));
    expect(late.status).toBe(401);
    expect(late.headers.get('www-authenticate')).toMatch(/expired/);
    const early = await post(LIST, await issuer.mint({ nbf: now + 45 }));
    expect(early.status).toBe(401);
    expect(early.headers.get('www-authenticate')).toMatch(/not yet valid/);
  });

  it('refuses a token older than MARQUEE_AUTH_MAX_TOKEN_AGE, or without iat, when one is set', async () => {
    const aged = await startAuthHttp(
      warehouse,
      { issuer: ISSUER, jwksUrl: issuer.jwksUrl },
      AUDIENCE,
      undefined,
      { maxTokenAgeSeconds: 300 },
    );
    try {
      const now = issuer.now();
      const at = (token: string) => post(LIST, token, { url: aged.url });
      expect((await at(await issuer.mint({ iat: now - 60 }))).status).toBe(200);
      // Within the skew of the age, then past it, though exp is an hour away.
      expect((await at(await issuer.mint({ iat: now - 320, exp: now + 3600 }))).status).toBe(200);
      const old = await at(await issuer.mint({ iat: now - 400, exp: now + 3600 }));
      expect(old.status).toBe(401);
      expect(old.headers.get('www-authenticate')).toMatch(/older than this server accepts/);
      const undated = await at(await issuer.mint({ iat: undefined }));
      expect(undated.status).toBe(401);
      expect(undated.headers.get('www-authenticate')).toMatch(/no valid iat claim/);
      // Without a maximum age, the same old token is accepted (exp decides).
      expect((await post(LIST, await issuer.mint({ iat: now - 400, exp: now + 3600 }))).status).toBe(200);
    } finally {
      await aged.close();
    }
  });
});

describe('scopes', () => {
  it('a token without the tool scope sees no tool and gets 403 naming the scope', async () => {
    const token = await issuer.mint({ scope: 'openid profile' });
    const client = await connect(token);
    try {
      expect((await client.listTools()).tools).toEqual([]);
    } finally {
      await client.close();
    }
    const response = await post(CALL, token);
    expect(response.status).toBe(403);
    const challenge = response.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/error="insufficient_scope"/);
    expect(challenge).toMatch(/scope="analytics:engagement"/);
  });

  it('a token with the scope lists and calls the tool', async () => {
    const client = await connect(await issuer.mint());
    try {
      expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual([
        'query_engagement',
        'explain_change',
        'find_content',
      ]);
      const out = await query(client, { time_range: '2026-Q3', geo: 'LATAM' });
      expect(Number(out.totals.views)).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  });
});

describe('tenant isolation from the token', () => {
  it('the tenant comes from the token, for data and for cursors', async () => {
    const aurora = await connect(await issuer.mint());
    const borealis = await connect(await issuer.mint({ sub: 'bi@borealis', tenant_id: 'borealis' }));
    try {
      const mine = await toolErrorText(aurora, {
        metrics: ['views'],
        time_range: '2026',
        content_id: 'bor-0007',
      });
      expect(mine).toMatch(/^Unknown content_id value "bor-0007": nothing has it/);
      const theirs = await query(borealis, {
        metrics: ['views'],
        time_range: '2026',
        group_by: ['content_id'],
        limit: 5,
      });
      for (const row of theirs.rows) expect(String(row.content_id)).toMatch(/^bor-/);
      const resumed = await query(aurora, { cursor: theirs.page.next_cursor });
      expect(resumed.rows.length).toBe(5);
      for (const row of resumed.rows) expect(String(row.content_id)).toMatch(/^aur-/);
    } finally {
      await aurora.close();
      await borealis.close();
    }
  });
});

describe('refusals are audited', () => {
  it("with the call's trace, what it read and each stage's time, the token check among them", async () => {
    const client = await connect(await issuer.mint({ sub: 'staged@aurora' }));
    try {
      await query(client, { time_range: '2026-Q2', geo: 'EMEA' });
    } finally {
      await client.close();
    }
    await dependencies.audit.flush();
    const [row] = await warehouse
      .admin()
      .query(
        `SELECT trace_id, read_rows, read_bytes, stage_ms FROM marquee.audit WHERE subject = 'staged@aurora' AND tool = 'query_engagement'`,
      );
    expect(String(row?.trace_id)).toMatch(/^[\da-f]{32}$/);
    expect(Number(row?.read_rows)).toBeGreaterThan(0);
    expect(Number(row?.read_bytes)).toBeGreaterThan(0);
    const stages = row?.stage_ms as Record<string, number>;
    expect(Object.keys(stages).sort()).toEqual(['auth', 'plan', 'queue', 'summarise', 'warehouse']);
    expect(stages.auth).toBeGreaterThan(0);
  });

  it('with their outcome and without the token', async () => {
    const token = await issuer.mint({ scope: 'analytics:forecast', sub: 'audited@aurora' });
    expect((await post(CALL, token)).status).toBe(403);
    expect((await post(CALL, 'not.a.jwt')).status).toBe(401);
    await dependencies.audit.flush();
    const rows = await warehouse
      .admin()
      .query(
        `SELECT tenant, subject, tool, outcome, error_class FROM marquee.audit WHERE outcome IN ('forbidden', 'unauthenticated')`,
      );
    expect(rows).toEqual(
      expect.arrayContaining([
        {
          tenant: 'aurora',
          subject: 'audited@aurora',
          tool: 'query_engagement',
          outcome: 'forbidden',
          error_class: 'insufficient_scope',
        },
        {
          tenant: '',
          subject: '',
          tool: 'query_engagement',
          outcome: 'unauthenticated',
          error_class: 'invalid_token',
        },
      ]),
    );
    const everything = JSON.stringify(await warehouse.admin().query('SELECT * FROM marquee.audit'));
    expect(everything).not.toContain(token.split('.')[1]);
  });
});

describe('the gate under attack', () => {
  /** Audit rows whose `where` holds, once everything recorded so far is written. */
  async function audited(where: string, deps = dependencies) {
    await deps.audit.flush();
    return warehouse.admin().query(`SELECT * FROM marquee.audit WHERE ${where} ORDER BY time`);
  }

  it('audits a refused request once, however many messages it holds, and stores names cut and neutralised', async () => {
    const batch = Array.from({ length: 5_000 }, (_, id) => ({ jsonrpc: '2.0', id, method: 'tools/list' }));
    expect((await post(batch, 'not.a.jwt')).status).toBe(401);
    expect(await audited(`tool LIKE '(batch of%'`)).toMatchObject([
      { tool: '(batch of 5000)', outcome: 'unauthenticated', error_class: 'invalid_token' },
    ]);
    // Not JSON: still one record.
    const garbled = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer not.a.jwt' },
      body: '{"jsonrpc": "2.0", "id": ',
    });
    expect(garbled.status).toBe(401);
    expect(await audited(`tool = '(not JSON)'`)).toHaveLength(1);
    // A 200,013-character tool name, and one with a line break and a bidi override.
    const long = `q${'x'.repeat(200_012)}`;
    for (const name of [long, 'query_engagement\nforged line \u202eevil'])
      expect((await post({ ...CALL, params: { name, arguments: {} } }, 'not.a.jwt')).status).toBe(401);
    const names = (await audited(`tool LIKE 'qxxx%' OR tool LIKE 'query_engagement %'`)).map((row) =>
      String(row.tool),
    );
    expect(names).toHaveLength(2);
    expect(names[0]?.length).toBeLessThanOrEqual(160);
    expect(names[1]).toBe('query_engagement forged line evil');
    // A body nested too deep to serialise again (240 KB of brackets): refused and audited all the same.
    const deep = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer not.a.jwt' },
      body: `${'['.repeat(120_000)}${']'.repeat(120_000)}`,
    });
    expect(deep.status).toBe(401);
    expect(await audited(`tool = '(batch of 1)' AND outcome = 'unauthenticated'`)).toHaveLength(1);
    // An identity is stored as the token gives it (only unprintable characters go), so queries by it find it.
    const odd = await issuer.mint({ sub: 'system:serviceaccount:ns:sa' });
    expect((await post(CALL, odd)).status).toBe(200);
    expect(await audited(`subject = 'system:serviceaccount:ns:sa'`)).toHaveLength(1);
  });

  it('counts refusals past a bound in one record, and never drops an authenticated call for them', async () => {
    // Nothing is written during the flood (a long flush interval), and at most three calls are kept while the
    // warehouse could not be reached: refusals are kept apart and bounded to five.
    const guarded = await startAuthHttp(
      warehouse,
      { issuer: ISSUER, jwksUrl: issuer.jwksUrl },
      AUDIENCE,
      undefined,
      { audit: { flushIntervalMs: 60_000, maxBuffered: 3, maxRefusals: 5 } },
    );
    try {
      const token = await issuer.mint({
        sub: 'flooded@aurora',
        scope: 'analytics:engagement analytics:campaigns',
      });
      const probe = { ...CALL, params: { name: 'flood_probe', arguments: {} } };
      const flood = Array.from({ length: 40 }, () =>
        post(probe, 'not.a.jwt', { url: guarded.url }).then((response) => response.status),
      );
      const calls = [CALL, { ...CALL, params: { name: 'list_campaigns', arguments: {} } }].map((call) =>
        post(call, token, { url: guarded.url }).then((response) => response.status),
      );
      expect(await Promise.all(flood)).toEqual(Array(40).fill(401));
      expect(await Promise.all(calls)).toEqual([200, 200]);
      const rows = await audited(
        `subject = 'flooded@aurora' OR tool IN ('flood_probe', '(refusals not itemised)')`,
        guarded.dependencies,
      );
      const mine = rows.filter((row) => row.subject === 'flooded@aurora').map((row) => row.tool);
      expect(mine.sort()).toEqual(['list_campaigns', 'query_engagement']);
      const counted = rows.filter((row) => row.tool === '(refusals not itemised)');
      expect(counted).toHaveLength(1);
      expect(Number(counted[0]?.rows)).toBe(35);
      expect(
        rows.filter((row) => row.outcome === 'unauthenticated' && row.tool === 'flood_probe'),
      ).toHaveLength(5);
    } finally {
      await guarded.close();
    }
  });

  it('audits what the HTTP layer refuses, what is not JSON, and tools/list, once each', async () => {
    const token = await issuer.mint({ sub: 'gaps@aurora' });
    // A body over 256 KiB, with a valid token: refused before the gate, still one record.
    const big = await post({ ...LIST, params: { padding: 'x'.repeat(300 * 1024) } }, token);
    expect(big.status).toBe(413);
    // A Host this server does not serve, with a valid token.
    const url = new URL(server.url);
    const host = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: {
            host: 'evil.example',
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
          },
        },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      request.on('error', reject);
      request.end(JSON.stringify(LIST));
    });
    expect(host).toBeGreaterThanOrEqual(400);
    const refused = await audited(`error_class IN ('body_too_large', 'host_refused')`);
    expect(refused).toMatchObject([
      { tool: 'POST /mcp', subject: '', outcome: 'invalid_request', error_class: 'body_too_large' },
      { tool: 'POST /mcp', subject: '', outcome: 'invalid_request', error_class: 'host_refused' },
    ]);
    // Not JSON, from a caller with a valid token: the handler's parse error, and one record naming the caller.
    const garbled = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-11-25',
        authorization: `Bearer ${token}`,
      },
      body: '{"jsonrpc": "2.0", "id": ',
    });
    expect(garbled.status).toBe(400);
    // tools/list, audited (and not rate limited) like every request.
    const listed = await post(LIST, token);
    expect(listed.status).toBe(200);
    // The answer comes as one server-sent event: its data line is the JSON-RPC response.
    const data = (await listed.text()).split('\n').find((line) => line.startsWith('data: ')) ?? '';
    const tools = (JSON.parse(data.slice('data: '.length)) as { result: { tools: unknown[] } }).result.tools;
    expect(tools.length).toBeGreaterThan(0);
    expect(await audited(`subject = 'gaps@aurora'`)).toMatchObject([
      { tool: '(not JSON)', outcome: 'invalid_request', error_class: 'not_json' },
      { tool: 'tools/list', outcome: 'ok', rows: tools.length },
    ]);
  });

  it('audits a method no handler serves, every listing, and a request Node refuses before any handler', async () => {
    const token = await issuer.mint({ sub: 'lister@aurora' });
    const unknown = await post({ jsonrpc: '2.0', id: 3, method: 'weird/method_def', params: {} }, token);
    const data = (await unknown.text()).split('\n').find((line) => line.startsWith('data: ')) ?? '';
    expect(JSON.parse(data.slice('data: '.length))).toMatchObject({ error: { code: -32601 } });
    for (const method of ['resources/list', 'resources/templates/list', 'prompts/list'])
      expect((await post({ jsonrpc: '2.0', id: 4, method, params: {} }, token)).status).toBe(200);
    expect(await audited(`subject = 'lister@aurora'`)).toMatchObject([
      { tool: 'weird/method_def', outcome: 'tool_error', error_class: 'method_not_found' },
      { tool: 'resources/list', outcome: 'ok' },
      { tool: 'resources/templates/list', outcome: 'ok' },
      { tool: 'prompts/list', outcome: 'ok' },
    ]);
    // A header over Node's limit (431) and a header with a control character (400): one record each.
    const url = new URL(server.url);
    const raw = (head: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connectSocket(Number(url.port), url.hostname, () => socket.write(head));
        let answer = '';
        socket.on('data', (chunk) => {
          answer += chunk.toString();
        });
        socket.on('end', () => resolve(answer.split('\r\n')[0] ?? ''));
        socket.on('error', reject);
      });
    expect(
      await raw(`GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\ntraceparent: ${'x'.repeat(20_000)}\r\n\r\n`),
    ).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(await raw('GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nx-evil: a\u0001b\r\n\r\n')).toBe(
      'HTTP/1.1 400 Bad Request',
    );
    expect(await audited(`tool = '(bad HTTP request)'`)).toMatchObject([
      { outcome: 'invalid_request', error_class: 'header_too_large', subject: '' },
      { outcome: 'invalid_request', error_class: 'bad_http_request', subject: '' },
    ]);
  });

  it('refuses a JSON-RPC batch under a protocol version that has none, audited once', async () => {
    const token = await issuer.mint({ sub: 'batcher@aurora' });
    const response = await post([LIST, { ...LIST, id: 9 }], token);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32600, message: expect.stringMatching(/2025-11-25 has no JSON-RPC batches/) },
    });
    expect(await audited(`subject = 'batcher@aurora'`)).toMatchObject([
      { tool: '(batch of 2)', outcome: 'invalid_request', error_class: 'batch_not_supported' },
    ]);
    // One message per request still works.
    expect((await post(LIST, token)).status).toBe(200);
  });
});

describe('charts and results for BI tools over plain HTTP', () => {
  /** An answer's chart and result links, asked with `token`. */
  async function links(token: string): Promise<{ chart: string; results: string }> {
    const client = await connect(token);
    try {
      const result = (await client.callTool({
        name: 'query_engagement',
        arguments: { metrics: ['views'], time_range: '2026', grain: 'day', group_by: ['country'], limit: 50 },
      })) as { content: { type: string; uri?: string; mimeType?: string }[] };
      const uri = (mime: string) =>
        result.content.find((item) => item.type === 'resource_link' && item.mimeType === mime)?.uri ?? '';
      return { chart: uri('application/vnd.vegalite.v6+json'), results: uri('text/csv') };
    } finally {
      await client.close();
    }
  }
  const route = (uri: string, suffix: string) =>
    `${server.url.replace(/\/mcp$/, '')}/${uri.replace(/^marquee:\/\//, '').replace(/\.csv$/, '')}${suffix}`;
  const get = (url: string, token?: string) =>
    fetch(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

  it('need the same bearer token as /mcp, and answer for its tenant and scopes', async () => {
    const token = await issuer.mint();
    const { chart, results } = await links(token);
    const csv = route(results, '.csv');
    const png = route(chart, '.png');
    for (const url of [csv, png]) {
      const refused = await get(url);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect((await get(url, `${token}x`)).status).toBe(401);
    }
    await dependencies.audit.flush();
    const refusals = await warehouse
      .admin()
      .query(`SELECT tool, outcome FROM marquee.audit WHERE tool LIKE 'GET /%' ORDER BY time`);
    expect(refusals.map((row) => [row.tool, row.outcome])).toEqual([
      ['GET /results', 'unauthenticated'],
      ['GET /results', 'unauthenticated'],
      ['GET /charts', 'unauthenticated'],
      ['GET /charts', 'unauthenticated'],
    ]);
    expect((await get(csv, token)).status).toBe(200);
    expect((await get(png, token)).headers.get('content-type')).toBe('image/png');
    // A token without the tool's scope reads nothing; another tenant's token reads its own rows.
    expect((await get(csv, await issuer.mint({ scope: 'analytics:forecast' }))).status).toBe(404);
    const borealis = await (
      await get(csv, await issuer.mint({ tenant_id: 'borealis', sub: 'vp@borealis' }))
    ).text();
    expect(borealis).not.toMatch(/,BR,|\r\nBR,|,BR\r\n/);
    expect(borealis.split('\r\n')[0]).toBe('date,country,views');
  });
});
