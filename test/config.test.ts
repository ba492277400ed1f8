import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';

describe('configuration', () => {
  it('defaults to the embedded warehouse on loopback', () => {
    const config = loadConfig({});
    expect(config.warehouse.kind).toBe('embedded');
    expect(config.http).toMatchObject({ host: '127.0.0.1', port: 3000 });
    expect(config.auth).toBeUndefined();
    expect(config.rateLimits).toMatchObject({ perTenant: 600, perTool: 120 });
    expect(config.inlineChartPng).toBe(false);
    expect(loadConfig({ MARQUEE_INLINE_CHART_PNG: 'true' }).inlineChartPng).toBe(true);
    expect(() => loadConfig({ MARQUEE_INLINE_CHART_PNG: 'yes' })).toThrow(/MARQUEE_INLINE_CHART_PNG: /);
  });

  it('names every bad variable at once', () => {
    expect(() =>
      loadConfig({ CLICKHOUSE_URL: 'not a url', MARQUEE_HTTP_PORT: '70000', MARQUEE_READERS: '-1' }),
    ).toThrow(/^Invalid environment: CLICKHOUSE_URL: .*; MARQUEE_HTTP_PORT: .*; MARQUEE_READERS: /);
  });

  it('reads a server user for writes apart from the read-only one, and refuses its password alone', () => {
    const server = { CLICKHOUSE_URL: 'http://ch:8123', CLICKHOUSE_USER: 'reader', CLICKHOUSE_PASSWORD: 'r' };
    expect(loadConfig(server).warehouse).toMatchObject({ user: 'reader', admin: undefined });
    expect(
      loadConfig({ ...server, CLICKHOUSE_ADMIN_USER: 'writer', CLICKHOUSE_ADMIN_PASSWORD: 'w' }).warehouse,
    ).toMatchObject({ user: 'reader', admin: { user: 'writer', password: 'w' } });
    expect(() => loadConfig({ ...server, CLICKHOUSE_ADMIN_PASSWORD: 'w' })).toThrow(
      'CLICKHOUSE_ADMIN_PASSWORD is set without CLICKHOUSE_ADMIN_USER',
    );
  });

  it('says what token authentication still needs', () => {
    expect(() => loadConfig({ MARQUEE_AUTH_ISSUER: 'https://idp.example' })).toThrow(
      'Token authentication needs MARQUEE_AUTH_JWKS_URL, MARQUEE_AUTH_AUDIENCE or MARQUEE_PUBLIC_URL',
    );
  });

  it('reads an optional maximum token age, in whole seconds', () => {
    const auth = {
      MARQUEE_AUTH_ISSUER: 'https://idp.example',
      MARQUEE_AUTH_JWKS_URL: 'https://idp.example/jwks',
      MARQUEE_PUBLIC_URL: 'https://marquee.example/mcp',
    };
    expect(loadConfig(auth).auth?.maxTokenAgeSeconds).toBeUndefined();
    expect(loadConfig({ ...auth, MARQUEE_AUTH_MAX_TOKEN_AGE: '3600' }).auth?.maxTokenAgeSeconds).toBe(3600);
    expect(() => loadConfig({ ...auth, MARQUEE_AUTH_MAX_TOKEN_AGE: '1h' })).toThrow(
      /MARQUEE_AUTH_MAX_TOKEN_AGE/,
    );
  });

  it('reads the local identity and a server URL', () => {
    const config = loadConfig({
      CLICKHOUSE_URL: 'http://clickhouse:8123',
      MARQUEE_TENANT: 'aurora',
      MARQUEE_ROLES: 'vp, latam_analyst',
    });
    expect(config.warehouse).toMatchObject({ kind: 'remote', url: 'http://clickhouse:8123' });
    expect(config.localIdentity).toEqual({
      tenant: 'aurora',
      roles: ['vp', 'latam_analyst'],
      scopes: undefined,
    });
  });
});
