import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpServer } from '../../src/server/serve-http.js';
import {
  callTool,
  connectHttp,
  type ForecastSubsOutput,
  SEMANTIC_LAYER,
  seededWarehouse,
  startHttp,
  tempDir,
  toolErrorText,
} from '../helpers.js';

/**
 * The fixture's subscriber counts are all large, so a market of three subscribers is planted: its daily stock
 * and flows describe three people, and the forecast must neither show them nor let a list filter give them away.
 */
let server: HttpServer;
let client: Client;
let remove: () => Promise<void>;
/** A caller whose policy hides the region campaigns target (the forecast's campaign kind). */
let regionBlind: { server: HttpServer; client: Client; removeLayer: () => Promise<void> };

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
  const layer = await tempDir('layer');
  await cp(SEMANTIC_LAYER, layer.path, { recursive: true });
  const access = join(layer.path, 'access.yaml');
  await writeFile(
    access,
    (await readFile(access, 'utf8')).replace(
      '  policies:\n',
      '  policies:\n    region_blind:\n      description: Sees no campaign targeting.\n      hidden_dimensions: [target_region]\n',
    ),
  );
  const blindServer = await startHttp(seeded.warehouse, 'aurora', layer.path, ['region_blind']);
  regionBlind = {
    server: blindServer,
    client: await connectHttp(blindServer.url),
    removeLayer: layer.remove,
  };
});

afterAll(async () => {
  await regionBlind?.client.close();
  await regionBlind?.server.close();
  await regionBlind?.removeLayer();
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

describe('forecast_subs and a hidden campaign kind', () => {
  it('models the campaigns without telling their kinds to a caller who may not see them', async () => {
    const ask = async (who: Client) => {
      const result = await callTool(who, { horizon: 1 }, 'forecast_subs');
      if (result.isError === true) throw new Error(String(result.content[0]?.text));
      return result.structuredContent as ForecastSubsOutput;
    };
    const seeing = await ask(client);
    const blind = await ask(regionBlind.client);
    expect(seeing.events.campaign_lift_by_kind.map((entry) => entry.kind)).toContain('LATAM');
    expect(blind.events.campaigns).toEqual(seeing.events.campaigns);
    expect(blind.events.campaign_lift_pct).toEqual(seeing.events.campaign_lift_pct);
    expect(blind.events.campaign_lift_by_kind).toEqual([]);
    expect(blind.events.withheld).toEqual([]);
    const text = JSON.stringify(blind);
    for (const region of ['LATAM', 'EMEA', 'APAC']) expect(text).not.toContain(region);
  });
});
