import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import { DEFAULT_TENANT_CLAIM } from '../config.js';

/** A person who can sign in to the local identity provider. */
export interface LocalAccount {
  readonly id: string;
  readonly tenant: string;
  readonly roles: readonly string[];
  /** The most a token for this account may carry; what a client asks for is narrowed to it. */
  readonly scopes: readonly string[];
}

/** A machine client using client credentials. */
export interface LocalServiceClient {
  readonly clientId: string;
  readonly secret: string;
  readonly tenant: string;
  readonly roles: readonly string[];
  readonly scopes: readonly string[];
}

export interface LocalIdpDirectory {
  readonly accounts: readonly LocalAccount[];
  readonly services: readonly LocalServiceClient[];
  readonly publicClient: { readonly clientId: string; readonly redirectUris: readonly string[] };
}

export interface LocalIdpOptions {
  readonly host?: string;
  readonly port?: number;
  /** The resource (RFC 8707) tokens are for: Marquee's MCP URL. */
  readonly audience: string;
  readonly directory: LocalIdpDirectory;
  /** Claim names, matching Marquee's MARQUEE_AUTH_*_CLAIM settings. */
  readonly claims?: { readonly tenant: string; readonly roles: string };
}

export interface LocalIdp {
  readonly issuer: string;
  readonly jwksUrl: string;
  close(): Promise<void>;
}

/**
 * A development OpenID provider on loopback (oidc-provider): auth code + PKCE for people, client credentials
 * for services, resource indicators, and RS256 JWT access tokens carrying tenant, roles and scope.
 */
export async function startLocalIdp(options: LocalIdpOptions): Promise<LocalIdp> {
  const host = options.host ?? '127.0.0.1';
  const tenantClaim = options.claims?.tenant ?? DEFAULT_TENANT_CLAIM;
  const rolesClaim = options.claims?.roles ?? 'roles';
  const { accounts, services, publicClient } = options.directory;
  const allScopes = [...new Set([...accounts, ...services].flatMap((entry) => entry.scopes))];

  // The issuer URL must be known before the provider exists: take the port first, attach the provider after.
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const issuer = `http://${host}:${(server.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = {
    ...(await exportJWK(privateKey)),
    kid: `local-${randomBytes(4).toString('hex')}`,
    alg: 'RS256',
    use: 'sig',
  };

  const subjectOf = (token: { accountId?: string; clientId?: string }) =>
    token.accountId !== undefined
      ? accounts.find((account) => account.id === token.accountId)
      : services.find((service) => service.clientId === token.clientId);

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: publicClient.clientId,
        token_endpoint_auth_method: 'none',
        redirect_uris: [...publicClient.redirectUris],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
      ...services.map((service) => ({
        client_id: service.clientId,
        client_secret: service.secret,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        scope: service.scopes.join(' '),
      })),
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    pkce: { required: () => true },
    // A plain page naming the OAuth error, instead of the library's styled one that loads web fonts.
    async renderError(ctx, out) {
      ctx.type = 'html';
      const text = `${out.error ?? 'error'}: ${out.error_description ?? ''}`.replace(/[<>&"]/g, '');
      ctx.body = `<!doctype html><title>Sign-in refused</title><h1>Sign-in refused</h1><p>${text}</p>`;
    },
    scopes: ['openid', 'offline_access', ...allScopes],
    async findAccount(_ctx, id) {
      const account = accounts.find((candidate) => candidate.id === id);
      return account === undefined
        ? undefined
        : { accountId: account.id, claims: async () => ({ sub: account.id }) };
    },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      registration: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => options.audience,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: allScopes.join(' '),
          audience: options.audience,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 3600,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    async extraTokenClaims(_ctx, token) {
      const subject = subjectOf(token as { accountId?: string; clientId?: string });
      return subject === undefined ? {} : { [tenantClaim]: subject.tenant, [rolesClaim]: [...subject.roles] };
    },
    formats: {
      customizers: {
        // A token never carries more than its account or service may have, whatever the client asked for.
        async jwt(_ctx, token, jwt) {
          const subject = subjectOf(token as { accountId?: string; clientId?: string });
          const asked = String(jwt.payload.scope ?? '').split(' ');
          jwt.payload.scope = asked.filter((scope) => subject?.scopes.includes(scope)).join(' ');
        },
      },
    },
  });
  // Loopback over plain HTTP is the point of a local IdP.
  provider.proxy = false;
  server.on('request', provider.callback());
  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
