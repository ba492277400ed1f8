import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from 'jose';

export const ISSUER = 'https://idp.marquee.test';
export const AUDIENCE = 'https://marquee.test/mcp';

/** A test token issuer: an RS256 key pair served as a JWKS on loopback, and a signer for any claims. */
export async function startTokenIssuer() {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  const now = () => Math.floor(Date.now() / 1000);

  /** A signed access token; `claims` override the defaults (valid for aurora with every scope). */
  async function mint(claims: Record<string, unknown> = {}): Promise<string> {
    const payload = {
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'vp@aurora',
      tenant_id: 'aurora',
      roles: ['vp'],
      scope: 'analytics:engagement',
      iat: now(),
      exp: now() + 600,
      ...claims,
    };
    return new SignJWT(payload as JWTPayload)
      .setProtectedHeader({ alg: 'RS256', kid: 'test-key', typ: 'at+jwt' })
      .sign(privateKey);
  }

  return {
    jwksUrl,
    mint,
    now,
    publicKeyPem: await exportSPKI(publicKey),
    publicJwk: jwk,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
