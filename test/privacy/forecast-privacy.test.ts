import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpServer } from '../../src/server/serve-http.js';
import {
  callTool,
  connectHttp,
  type ForecastSubsOutput,
  seededWarehouse,
  startHttp,
  toolErrorText,
} from '../helpers.js';

/**
 * The fixture's subscriber counts are all large, so a market of three subscribers is planted: its daily stock
 * and flows describe three people, and the forecast must neither show them nor let a list filter give them away.
 */
let server: HttpServer;
let client: Client;
let remove: () => Promise<void>;

beforeAll(async () => {
  const seeded = await seededWarehouse();
  remove = seeded.remove;
  const admin = seeded.warehouse.admin();
  await admin.command(`INSERT INTO markets (tenant_id, country_code, country_name, region, launch_date)
    VALUES ('aurora', 'XQ', 'Tiny Island', 'LATAM', '2024-01-01')`);
  await admin.command(`INSERT INTO subscriptions_daily (tenant_id, date, country_code, plan, active_subscribers,
      new_subscribers, churned_subscribers)
    SELECT 'aurora', toDate('2025-11-01') + number, 'XQ', 'premium', 3, number % 2, number % 2 FROM numbers(365)`);
  server = await startHttp(seeded.warehouse, 'aurora', undefined, ['vp']);
  client = await connectHttp(server.url);
});

afterAll(async () => {
  await client?.close();
  await server?.close();
  await remove?.();
});

describe('forecast_subs under the minimum group size', () => {
  it('does not forecast three subscribers', async () => {
    const text = await toolErrorText(client, { country: 'XQ', horizon: 1 }, 'forecast_subs');
    expect(text).toMatch(/are too few on some days to forecast without describing individuals/);
  });

  it('leaves a market of three out of a list, answering exactly as without it', async () => {
    const ask = async (country: string | string[]) => {
      const result = await callTool(client, { country, horizon: 1 }, 'forecast_subs');
      if (result.isError === true) throw new Error(String(result.content[0]?.text));
      return result.structuredContent as ForecastSubsOutput;
    };
    const both = await ask(['XQ', 'BR']);
    const alone = await ask('BR');
    expect(both.current).toEqual(alone.current);
    expect(both.baseline).toEqual(alone.baseline);
    expect(both.privacy.left_out).toEqual([{ argument: 'country', value: 'XQ' }]);
  });
});
