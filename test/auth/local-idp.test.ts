import { createHash, randomBytes } from 'node:crypto';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DIRECTORY } from '../../fixtures/idp-accounts.js';
import { type LocalIdp, startLocalIdp } from '../../src/auth/local-idp.js';
import type { HttpServer } from '../../src/server/serve-http.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { query, seededWarehouse, startAuthHttp, toolErrorText } from '../helpers.js';

const AUDIENCE = 'https://marquee.test/mcp';
const REDIRECT = 'http://127.0.0.1/callback';
let idp: LocalIdp;
let warehouse: Warehouse;
let remove: () => Promise<void>;
let server: HttpServer;

beforeAll(async () => {
  idp = await startLocalIdp({ audience: AUDIENCE, directory: DEMO_DIRECTORY });
  ({ warehouse, remove } = await seededWarehouse());
  server = await startAuthHttp(warehouse, idp, AUDIENCE);
});

afterAll(async () => {
  await server?.close();
  await idp?.close();
  await remove?.();
});

/** A browser-like session: follows the IdP's redirects by hand, keeping its cookies. */
async function authorizationCodeFlow(login: string, scope: string): Promise<string> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const cookies = new Map<string, string>();
  const go = async (url: string, init: RequestInit = {}): Promise<Response> => {
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: {
        ...(init.headers as Record<string, string>),
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      },
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const [name, ...value] = (pair ?? '').split('=');
      if (name !== undefined) cookies.set(name.trim(), value.join('='));
    }
    return response;
  };
  const params = new URLSearchParams({
    client_id: DEMO_DIRECTORY.publicClient.clientId,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: `openid ${scope}`,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    resource: AUDIENCE,
    state: 'xyz',
  });
  let response = await go(`${idp.issuer}/auth?${params}`);
  let signIns = 0;
  for (let step = 0; step < 10; step++) {
    const location = response.headers.get('location');
    if (location === null) {
      // An interaction page: sign in as `login`, then consent.
      const html = await response.text();
      const action = /action="([^"]+)"/.exec(html)?.[1];
      // A page without a form is the provider's error page: the flow ends there.
      if (action === undefined)
        throw new Error(
          `the provider refused (${response.status}): ${html
            .replace(/<[^>]+>/g, ' ')
            .replace(/\s+/g, ' ')
            .trim()
            .slice(0, 200)}`,
        );
      const signIn = html.includes('name="login"');
      // Asked to sign in again after signing in: the provider did not accept the account.
      if (signIn && ++signIns > 1) throw new Error(`sign-in refused for ${login}`);
      const form = signIn
        ? new URLSearchParams({ prompt: 'login', login, password: 'any' })
        : new URLSearchParams({ prompt: 'consent' });
      response = await go(new URL(action, idp.issuer).toString(), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
      continue;
    }
    const next = new URL(location, idp.issuer);
    if (next.toString().startsWith(REDIRECT)) {
      expect(next.searchParams.get('state')).toBe('xyz');
      const code = next.searchParams.get('code');
      if (code === null) throw new Error(`no code: ${next.search}`);
      const token = await fetch(`${idp.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: REDIRECT,
          client_id: DEMO_DIRECTORY.publicClient.clientId,
          code_verifier: verifier,
          resource: AUDIENCE,
        }).toString(),
      });
      const body = (await token.json()) as { access_token?: string; error?: string };
      if (body.access_token === undefined) throw new Error(`token: ${JSON.stringify(body)}`);
      return body.access_token;
    }
    response = await go(next.toString());
  }
  throw new Error('the authorization flow did not finish');
}

async function clientCredentials(clientId: string, secret: string, scope: string): Promise<string> {
  const response = await fetch(`${idp.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource: AUDIENCE }).toString(),
  });
  const body = (await response.json()) as { access_token?: string };
  if (body.access_token === undefined) throw new Error(`token: ${JSON.stringify(body)}`);
  return body.access_token;
}

async function connect(token: string): Promise<Client> {
  const client = new Client(
    { name: 'idp-test', version: '1.0.0' },
    { versionNegotiation: { mode: 'legacy' } },
  );
  await client.connect(
    new StreamableHTTPClientTransport(new URL(server.url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

describe('the local identity provider with Marquee', () => {
  it('auth code + PKCE gives a VP a token Marquee accepts', async () => {
    const token = await authorizationCodeFlow('vp@aurora', 'analytics:engagement');
    expect(decodeJwt(token)).toMatchObject({
      iss: idp.issuer,
      aud: AUDIENCE,
      sub: 'vp@aurora',
      tenant_id: 'aurora',
      roles: ['vp'],
      scope: 'analytics:engagement',
    });
    const client = await connect(token);
    try {
      const out = await query(client, { time_range: '2026-Q3', geo: 'LATAM', compare_to: 'previous_period' });
      expect(out.top_movers[0]).toMatchObject({ dimension: 'country', value: 'BR' });
    } finally {
      await client.close();
    }
  });

  it('a LATAM analyst gets only the scopes it may have, and only LATAM rows', async () => {
    const token = await authorizationCodeFlow('analyst@aurora', 'analytics:engagement analytics:forecast');
    expect(decodeJwt(token)).toMatchObject({ roles: ['latam_analyst'], scope: 'analytics:engagement' });
    const client = await connect(token);
    try {
      const out = await query(client, { metrics: ['views'], time_range: '2026', group_by: ['region'] });
      expect(out.rows.map((row) => row.region)).toEqual(['LATAM']);
    } finally {
      await client.close();
    }
  });

  it('a BI service uses client credentials and sees aggregates of its own tenant', async () => {
    const service = DEMO_DIRECTORY.services[0];
    if (service === undefined) throw new Error('no demo service');
    const token = await clientCredentials(service.clientId, service.secret, 'analytics:engagement');
    expect(decodeJwt(token)).toMatchObject({ tenant_id: 'borealis', roles: ['bi_service'] });
    const client = await connect(token);
    try {
      const out = await query(client, { metrics: ['views'], time_range: '2026', group_by: ['region'] });
      expect(out.rows.map((row) => row.region).sort()).toEqual(['EMEA', 'NA']);
      expect(await toolErrorText(client, { group_by: ['title'] })).toMatch(/Unknown dimension "title"/);
    } finally {
      await client.close();
    }
  });

  it('refuses people it does not know', async () => {
    // No code, so no token: the provider stops at its error page.
    await expect(authorizationCodeFlow('mallory@aurora', 'analytics:engagement')).rejects.toThrow(
      /the provider refused \(\d+\): Sign-in refused/,
    );
  });
});
