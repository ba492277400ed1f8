import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callers } from '../helpers.js';

let aurora: Client;
let latam: Client;
let bi: Client;
let borealis: Client;
let close: () => Promise<void>;

beforeAll(async () => {
  const setup = await callers({
    aurora: { tenant: 'aurora' },
    latam: { tenant: 'aurora', roles: ['latam_analyst'] },
    bi: { tenant: 'aurora', roles: ['bi_service'] },
    borealis: { tenant: 'borealis' },
  });
  ({ close } = setup);
  ({ aurora, latam, bi, borealis } = setup.clients);
});

afterAll(async () => {
  await close?.();
});

const CAMPAIGN = 'marquee://campaign/{campaign_id}';
const TITLE = 'marquee://title/{catalog_id}';
const COUNTRY = 'marquee://country/{market}';

async function complete(client: Client, uri: string, name: string, value: string): Promise<string[]> {
  const result = await client.complete({ ref: { type: 'ref/resource', uri }, argument: { name, value } });
  return result.completion.values;
}

async function read(client: Client, uri: string): Promise<Record<string, unknown>> {
  const result = await client.readResource({ uri });
  return JSON.parse(String((result.contents[0] as { text: string }).text));
}

describe('argument completion', () => {
  it('completes campaign ids from the id or the name', async () => {
    expect(await complete(aurora, CAMPAIGN, 'campaign_id', 'aur-c-sp')).toEqual(['aur-c-spring-26']);
    expect(await complete(aurora, CAMPAIGN, 'campaign_id', 'Spring Binge')).toContain('aur-c-spring-26');
    expect(await complete(aurora, CAMPAIGN, 'campaign_id', 'AUR-C-MATCH')).toEqual([
      'aur-c-match-search',
      'aur-c-match-social',
    ]);
  });

  it('completes content ids from the id or part of the title', async () => {
    const byId = await complete(aurora, TITLE, 'catalog_id', 'aur-004');
    expect(byId).toContain('aur-0042');
    for (const id of byId) expect(id).toMatch(/^aur-004/);
    const byTitle = await complete(aurora, TITLE, 'catalog_id', "rosa's kitch");
    expect(byTitle).toContain('aur-0002');
  });

  it('completes country codes from the code or the name, within what the caller may see', async () => {
    expect(await complete(aurora, COUNTRY, 'market', 'b')).toEqual(['BR']);
    expect(await complete(aurora, COUNTRY, 'market', 'Brazi')).toEqual(['BR']);
    expect(await complete(aurora, COUNTRY, 'market', '')).toHaveLength(25);
    const latamCountries = await complete(latam, COUNTRY, 'market', '');
    expect(latamCountries).toContain('BR');
    expect(latamCountries).not.toContain('US');
  });

  it("never completes another tenant's values", async () => {
    for (const id of await complete(borealis, CAMPAIGN, 'campaign_id', 'aur')) expect(id).toMatch(/^bor-/);
    expect(await complete(borealis, CAMPAIGN, 'campaign_id', 'Spring Binge')).not.toContain(
      'aur-c-spring-26',
    );
    expect(await complete(borealis, COUNTRY, 'market', 'b')).toEqual([]);
  });
});

describe('entity resources', () => {
  it('reads a campaign, a title and a country', async () => {
    expect(await read(aurora, 'marquee://campaign/aur-c-spring-26')).toEqual({
      campaign_id: 'aur-c-spring-26',
      name: 'Spring Binge 2026',
      channel: 'social',
      target_region: 'ALL',
      start_date: '2026-04-01',
      end_date: '2026-05-15',
      spend: 450000,
    });
    expect(await read(aurora, 'marquee://title/aur-0002')).toMatchObject({
      content_id: 'aur-0002',
      title: "Rosa's Kitchen",
    });
    expect(await read(aurora, 'marquee://country/BR')).toEqual({
      country_code: 'BR',
      country_name: 'Brazil',
      region: 'LATAM',
      launch_date: '2020-01-01',
    });
  });

  it('redacts and neutralises warehouse text', async () => {
    expect((await read(aurora, 'marquee://campaign/aur-c-01')).name).toBe(
      'Referral Push (contact [redacted email])',
    );
    expect((await read(aurora, 'marquee://title/aur-0043')).title).not.toMatch(
      /Ignore all previous instructions/,
    );
  });

  it('is not found outside the caller’s rows', async () => {
    await expect(read(aurora, 'marquee://campaign/nope')).rejects.toThrow(/No campaign "nope"/);
    await expect(read(borealis, 'marquee://campaign/aur-c-spring-26')).rejects.toThrow(/No campaign/);
    await expect(read(latam, 'marquee://country/US')).rejects.toThrow(/No country "US"/);
    await expect(read(latam, 'marquee://campaign/aur-c-spring-26')).rejects.toThrow(/access policy/);
  });

  it('is not offered where the policy hides its key', async () => {
    const { resourceTemplates } = await bi.listResourceTemplates();
    expect(
      resourceTemplates
        .map((template) => template.uriTemplate)
        .filter((uri) => !/:\/\/(semantic|charts|results)\//.test(uri)),
    ).toEqual([CAMPAIGN, COUNTRY]);
    await expect(read(bi, 'marquee://title/aur-0002')).rejects.toThrow();
  });
});
