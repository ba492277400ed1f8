import {
  type AuthInfo,
  bearerAuthChallengeResponse,
  OAuthError,
  OAuthErrorCode,
} from '@modelcontextprotocol/server';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import type { AuthConfig } from '../config.js';
import type { Identity } from './identity.js';

/** Asymmetric algorithms only: `none` and HMAC (which a public key could forge) are never accepted. */
export const ALLOWED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];
/** Clock skew tolerated on `exp` and `nbf` alike (and on `iat` against a maximum token age). */
export const CLOCK_SKEW_SECONDS = 30;

/**
 * The only Authorization header accepted: the `Bearer` scheme (any case), one space, one RFC 6750 token, and
 * nothing else (no second credential, no parameters, no trailing text).
 */
const BEARER = /^bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

/** The identity a verified token carries, kept on AuthInfo for the per-request server factory. */
export interface MarqueeAuthInfo extends AuthInfo {
  /** The caller, and how long the token check took (the `auth` stage of its call). */
  readonly extra: { readonly identity: Identity; readonly authMs?: number };
}

function stringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  if (typeof value === 'string') return value.split(/\s+/).filter((item) => item !== '');
  return [];
}

/**
 * Verifies bearer JWTs against the issuer's JWKS: signature, issuer, audience (RFC 8707 resource),
 * exp/nbf with a small skew, allowed algorithms. Failures are OAuth `invalid_token` errors whose text
 * names the check, never the token.
 */
function createTokenVerifier(config: AuthConfig) {
  const keys = createRemoteJWKSet(new URL(config.jwksUrl), {
    timeoutDuration: 5_000,
    cooldownDuration: 30_000,
  });
  return {
    async verifyAccessToken(token: string): Promise<MarqueeAuthInfo> {
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          issuer: config.issuer,
          audience: config.audience,
          algorithms: ALLOWED_ALGORITHMS,
          clockTolerance: CLOCK_SKEW_SECONDS,
          requiredClaims: config.maxTokenAgeSeconds === undefined ? ['exp', 'sub'] : ['exp', 'sub', 'iat'],
          ...(config.maxTokenAgeSeconds === undefined ? {} : { maxTokenAge: config.maxTokenAgeSeconds }),
        }));
      } catch (error) {
        throw new OAuthError(OAuthErrorCode.InvalidToken, describe(error));
      }
      const tenant = payload[config.claims.tenant];
      if (typeof tenant !== 'string' || tenant === '') {
        throw new OAuthError(
          OAuthErrorCode.InvalidToken,
          `The token carries no ${config.claims.tenant} claim`,
        );
      }
      const subject = String(payload.sub);
      const scopes = stringList(payload[config.claims.scope] ?? payload.scp);
      const identity: Identity = { tenant, subject, roles: stringList(payload[config.claims.roles]), scopes };
      return {
        token,
        clientId:
          typeof payload.client_id === 'string'
            ? payload.client_id
            : typeof payload.azp === 'string'
              ? payload.azp
              : subject,
        scopes,
        expiresAt: Number(payload.exp),
        resource: new URL(config.audience),
        extra: { identity },
      };
    },
  };
}

/**
 * The bearer gate of every protected request: the caller's verified token, or the refusal to send (401 with a
 * challenge naming the failed check). Stricter than the SDK's: the header must be exactly `Bearer <token>`, and
 * the skew applies to `exp` as it does to `nbf` (jose checks both; nothing checks `exp` again without it).
 */
export function createBearerGate(
  config: AuthConfig,
  resourceMetadataUrl: string | undefined,
): (request: Request) => Promise<MarqueeAuthInfo | Response> {
  const verifier = createTokenVerifier(config);
  const challenge = resourceMetadataUrl === undefined ? {} : { resourceMetadataUrl };
  return async (request) => {
    try {
      const header = request.headers.get('authorization');
      if (header === null) throw new OAuthError(OAuthErrorCode.InvalidToken, 'Missing Authorization header');
      const token = BEARER.exec(header)?.[1];
      if (token === undefined)
        throw new OAuthError(
          OAuthErrorCode.InvalidToken,
          'The Authorization header must be exactly Bearer and one token',
        );
      return await verifier.verifyAccessToken(token);
    } catch (error) {
      return bearerAuthChallengeResponse(error, challenge);
    }
  };
}

/** Why a token failed, in words safe for a WWW-Authenticate header (no quotes, no token text). */
function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired)
    return error.claim === 'iat' ? 'The token is older than this server accepts' : 'The token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'The token is not yet valid';
    if (error.claim === 'iat') return 'The token has no valid iat claim (this server limits token age)';
    if (error.claim === 'iss') return 'The token was issued by another issuer';
    if (error.claim === 'aud') return 'The token is for another resource (audience)';
    return `The token claim ${error.claim} is invalid`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'The token signing algorithm is not allowed';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'The token signature is invalid';
  if (error instanceof errors.JWKSNoMatchingKey) return 'The token was signed with an unknown key';
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JOSENotSupported)
    return 'The token cannot be verified';
  return 'The token is malformed or cannot be verified';
}
