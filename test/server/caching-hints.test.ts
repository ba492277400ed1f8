import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpServer } from '../../src/server/serve-http.js';
import { FACT_TTL_MS } from '../../src/tools/framework/analytics-service.js';
import { connectHttp, SEMANTIC_LAYER, seededWarehouse, startHttp } from '../helpers.js';

/** Caching hints (2026-07-28) that are true: every list and read is the caller's own, valid as long as it holds. */
let server: HttpServer;
let modern: Client;
let legacy: Client;
let remove: () => Promise<void>;

beforeAll(async () => {
  const seeded = await seededWarehouse();
  remove = seeded.remove;
  server = await startHttp(seeded.warehouse, 'aurora', SEMANTIC_LAYER, ['vp']);
  modern = await connectHttp(server.url);
  legacy = await connectHttp(server.url, 'legacy');
});

afterAll(async () => {
  for (const client of [modern, legacy]) await client?.close();
  await server?.close();
  await remove?.();
});

const hints = (result: object) => {
  const { ttlMs, cacheScope } = result as { ttlMs?: number; cacheScope?: string };
  return { ttlMs, cacheScope };
};

describe('caching hints', () => {
  it('mark every list and read private, for as long as what it shows stays valid', async () => {
    // Tool descriptions carry filter values read from the data, and an entity is a row: as long as facts last.
    expect(hints(await modern.listTools())).toEqual({ ttlMs: FACT_TTL_MS, cacheScope: 'private' });
    expect(hints(await modern.readResource({ uri: 'marquee://campaign/aur-c-spring-26' }))).toEqual({
      ttlMs: FACT_TTL_MS,
      cacheScope: 'private',
    });
    // Prompts and templates depend on the layer and the caller's scopes only.
    for (const result of [
      await modern.listPrompts(),
      await modern.listResources(),
      await modern.listResourceTemplates(),
    ])
      expect(hints(result)).toEqual({ ttlMs: 600_000, cacheScope: 'private' });
  });

  it('are not sent to a 2025-era client, whose protocol has none', async () => {
    expect(hints(await legacy.listTools())).toEqual({ ttlMs: undefined, cacheScope: undefined });
  });
});
