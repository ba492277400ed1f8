import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { AURORA_ROLES, callers, SEMANTIC_LAYER } from '../helpers.js';

/** The semantic catalogue as resources, through a real client, as each caller's policy shows it. */
let warehouse: Warehouse;
let clients: Record<keyof typeof AURORA_ROLES, Client>;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ warehouse, clients, close } = await callers(AURORA_ROLES));
});

afterAll(async () => {
  await close?.();
});

afterAll(async () => {
  await close?.();
});

async function read<T>(client: Client, uri: string): Promise<T> {
  const [content] = (await client.readResource({ uri })).contents;
  expect(content?.mimeType).toBe('application/json');
  return JSON.parse((content as { text: string }).text) as T;
}

interface Entry {
  name: string;
  description: string;
  tools: string[];
  values?: string[];
  values_total?: number;
}

const sql = async (text: string) =>
  (await warehouse.admin().query(text)).map((row) => String(Object.values(row)[0]));

/** The shipped YAML, read directly: the oracle for names and descriptions. */
async function yaml(file: string): Promise<{
  dimensions?: Record<string, { description: string }>;
  metrics?: Record<string, { description: string }>;
}> {
  return parse(await readFile(join(SEMANTIC_LAYER, file), 'utf8'));
}

describe('the semantic catalogue', () => {
  it('is listed, with a template for one metric and one dimension', async () => {
    const { resources } = await clients.vp.listResources();
    expect(resources.map((resource) => resource.uri)).toEqual([
      'marquee://semantic/metrics',
      'marquee://semantic/dimensions',
      'ui://marquee/chart.html',
    ]);
    const { resourceTemplates } = await clients.vp.listResourceTemplates();
    expect(resourceTemplates.map((template) => template.uriTemplate)).toEqual(
      expect.arrayContaining([
        'marquee://semantic/metric/{metric}',
        'marquee://semantic/dimension/{dimension}',
      ]),
    );
  });

  it('describes each metric as the layer does, with the tools that take it', async () => {
    const metrics = await read<Entry[]>(clients.vp, 'marquee://semantic/metrics');
    const engagement = (await yaml('engagement.yaml')).metrics ?? {};
    for (const [name, def] of Object.entries(engagement)) {
      const entry = metrics.find((metric) => metric.name === name);
      expect(entry?.description, name).toBe(def.description);
      expect(entry?.tools).toEqual(expect.arrayContaining(['query_engagement', 'explain_change']));
    }
    const one = await read<Entry & { format: string }>(clients.vp, 'marquee://semantic/metric/watch_minutes');
    expect(one).toMatchObject({
      name: 'watch_minutes',
      format: 'minutes',
      description: engagement.watch_minutes?.description,
    });
  });

  it("lists a dimension's values as the reader's policy shows them", async () => {
    const devices = await sql(
      `SELECT DISTINCT device FROM viewing_events WHERE tenant_id = 'aurora' ORDER BY device`,
    );
    const device = await read<Entry>(clients.vp, 'marquee://semantic/dimension/device');
    expect(device.values).toEqual(devices);
    expect(device.values_total).toBe(devices.length);
    const latamCountries = await sql(
      `SELECT DISTINCT country_code FROM viewing_events WHERE tenant_id = 'aurora' AND country_code IN
        (SELECT country_code FROM markets WHERE tenant_id = 'aurora' AND region = 'LATAM') ORDER BY country_code`,
    );
    expect((await read<Entry>(clients.latam, 'marquee://semantic/dimension/country')).values).toEqual(
      latamCountries,
    );
    // A dimension without a short list of values has none listed.
    expect((await read<Entry>(clients.vp, 'marquee://semantic/dimension/date')).values).toBeUndefined();
  });

  it('never shows what a policy hides', async () => {
    const dimensions = await read<Entry[]>(clients.bi, 'marquee://semantic/dimensions');
    const names = dimensions.map((dimension) => dimension.name);
    for (const hidden of ['content_id', 'title', 'catalog_id']) expect(names).not.toContain(hidden);
    expect(names).toContain('device');
    await expect(read(clients.bi, 'marquee://semantic/dimension/title')).rejects.toThrow(
      /Unknown dimension "title"/,
    );
    const completions = await clients.bi.complete({
      ref: { type: 'ref/resource', uri: 'marquee://semantic/dimension/{dimension}' },
      argument: { name: 'dimension', value: 'ti' },
    });
    expect(completions.completion.values).not.toContain('title');
  });

  it('completes names and refuses unknown ones with did-you-mean', async () => {
    const completions = await clients.vp.complete({
      ref: { type: 'ref/resource', uri: 'marquee://semantic/metric/{metric}' },
      argument: { name: 'metric', value: 'watch' },
    });
    expect(completions.completion.values).toEqual(['watch_minutes']);
    await expect(read(clients.vp, 'marquee://semantic/metric/watch_minuts')).rejects.toThrow(
      /Unknown metric "watch_minuts": did you mean "watch_minutes"\?/,
    );
  });
});
