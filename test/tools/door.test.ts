import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerDependencies } from '../../src/server/create-server.js';
import type { HttpServer } from '../../src/server/serve-http.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import {
  callTool,
  connectHttp,
  SEMANTIC_LAYER,
  seededWarehouse,
  startHttp,
  tempDir,
  testDependencies,
  toolErrorText,
} from '../helpers.js';

/**
 * Every request that gets an answer passes the door once: rate limited, then audited exactly once, whether
 * it was answered, refused by the schema, named an unknown tool or resource, or came from a role without a
 * policy.
 */
let warehouse: Warehouse;
let remove: () => Promise<void>;
let removeLayer: () => Promise<void>;
const servers: (HttpServer & { dependencies: ServerDependencies })[] = [];
let limited: Client;
let intern: Client;
let internWithDefault: Client;

beforeAll(async () => {
  ({ warehouse, remove } = await seededWarehouse());
  // Three calls a minute per tool for the tenant `cascade`, on a clock that never moves.
  const tight = await testDependencies(warehouse, SEMANTIC_LAYER, {
    perTenant: 1_000,
    perTool: 3,
    now: () => 0,
  });
  servers.push(await startHttp(warehouse, 'cascade', SEMANTIC_LAYER, [], tight));
  // The shipped layer without its default policy: a role it does not name is refused.
  const layer = await tempDir('layer');
  removeLayer = layer.remove;
  await cp(SEMANTIC_LAYER, layer.path, { recursive: true });
  const access = join(layer.path, 'access.yaml');
  const text = await readFile(access, 'utf8');
  await writeFile(access, text.replace(/\n {2}default:\n {4}description: [^\n]*\n/, '\n'));
  servers.push(await startHttp(warehouse, 'aurora', layer.path, ['intern']));
  servers.push(await startHttp(warehouse, 'borealis', SEMANTIC_LAYER, ['intern']));
  const [first, second, third] = servers;
  limited = await connectHttp(first?.url ?? '');
  intern = await connectHttp(second?.url ?? '');
  internWithDefault = await connectHttp(third?.url ?? '');
});

afterAll(async () => {
  for (const client of [limited, intern, internWithDefault]) await client?.close();
  for (const server of servers) await server.close();
  await removeLayer?.();
  await remove?.();
});

async function audited(tenant: string): Promise<Record<string, unknown>[]> {
  for (const server of servers) await server.dependencies.audit.flush();
  return warehouse
    .admin()
    .query(
      `SELECT tool, outcome, error_class, rows FROM marquee.audit WHERE tenant = '${tenant}' ORDER BY time`,
    );
}

describe('refused calls', () => {
  it('are rate limited and audited once each, like answered ones', async () => {
    const hostile = 'x'.repeat(201);
    expect(await toolErrorText(limited, { tenant: 'aurora' })).toMatch(/Unknown argument "tenant"/);
    expect(await toolErrorText(limited, { content_id: hostile })).toMatch(/^content_id: /);
    expect(await toolErrorText(limited, { metrics: 5 })).toMatch(/^metrics: /);
    // The fourth call of the minute is refused even though it is valid: the three refusals counted.
    expect(await toolErrorText(limited, { metrics: ['views'] })).toMatch(
      /^Rate limit reached for query_engagement/,
    );
    await expect(limited.callTool({ name: 'explain_chnage', arguments: {} })).rejects.toThrow(
      /Unknown tool "explain_chnage": did you mean "explain_change"\?/,
    );
    await expect(limited.readResource({ uri: 'marquee://campaign/no-such-campaign' })).rejects.toThrow(
      /No campaign "no-such-campaign"/,
    );
    await expect(limited.readResource({ uri: 'marquee://bogus/1' })).rejects.toThrow(/No resource/);
    const records = await audited('cascade');
    expect(records.map((record) => [record.tool, record.outcome, record.error_class])).toEqual([
      ['query_engagement', 'tool_error', 'invalid_argument'],
      ['query_engagement', 'tool_error', 'invalid_argument'],
      ['query_engagement', 'tool_error', 'invalid_argument'],
      ['query_engagement', 'rate_limited', 'rate_limited'],
      ['explain_chnage', 'tool_error', 'unknown_tool'],
      ['resource:campaign', 'tool_error', 'not_found'],
      ['resource:(unknown)', 'tool_error', 'not_found'],
    ]);
    // No argument is stored, even refused ones.
    expect(JSON.stringify(records)).not.toContain(hostile);
  });

  it('are audited even when the protocol refuses them before the door sees them', async () => {
    const url = servers[2]?.url ?? '';
    const malformed = [
      { method: 'tools/call', params: { name: 5 } },
      { method: 'tools/call', params: { name: 'query_engagement', arguments: [1] } },
      { method: 'resources/read', params: {} },
      { method: 'prompts/get', params: { arguments: 5 } },
      {
        method: 'completion/complete',
        params: { ref: { type: 'ref/prompt', name: 'weekly' }, argument: { name: 'x', value: '' } },
      },
    ];
    for (const [id, message] of malformed.entries()) {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-11-25',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id, ...message }),
      });
      expect(await response.text()).toMatch(/"error":\{"code":-326/);
    }
    const records = (await audited('borealis')).filter((record) => record.error_class !== '');
    expect(records.map((record) => [record.tool, record.error_class])).toEqual([
      ['tools/call', 'invalid_request'],
      ['query_engagement', 'invalid_request'],
      ['resources/read', 'invalid_request'],
      ['prompts/get', 'invalid_request'],
      ['prompt:(unknown):complete', 'not_found'],
    ]);
  });

  it('speak Marquee’s language: a wrong argument name gets did-you-mean and the valid names', async () => {
    const text = await toolErrorText(internWithDefault, { metrics: ['views'] }, 'explain_change');
    expect(text).toMatch(
      /^Unknown argument "metrics": did you mean "metric"\? Valid arguments: metric, time_range, compare_to, baseline, /,
    );
  });
});

describe('the catalogue', () => {
  it('generates the server instructions from the tools and entities a caller is offered', async () => {
    const instructions = internWithDefault.getInstructions() ?? '';
    const { tools } = await internWithDefault.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      'compare_campaigns',
      'explain_change',
      'find_content',
      'forecast_subs',
      'list_campaigns',
      'query_engagement',
    ]);
    for (const tool of tools) expect(instructions).toContain(`${tool.name}: `);
    expect(instructions).toContain('marquee://campaign/{campaign_id}');
    // A caller offered nothing is told why, not given a list of tools it cannot call.
    expect(intern.getInstructions()).toMatch(/offers this caller no tool/);
  });
});

describe('roles', () => {
  it('a role no policy names is refused when the layer has no default policy, and audited', async () => {
    expect((await intern.listTools()).tools).toEqual([]);
    const text = await toolErrorText(intern, { time_range: '2026-Q3' });
    expect(text).toMatch(/^Role "intern" has no access policy in the semantic layer/);
    const records = await audited('aurora');
    // Its listing is audited too (every request is), and lists nothing.
    expect(
      records.map((record) => [record.tool, record.outcome, record.error_class, Number(record.rows)]),
    ).toEqual([
      ['tools/list', 'ok', '', 0],
      ['query_engagement', 'tool_error', 'access_denied', 0],
    ]);
  });

  it('gets the explicit default policy when the layer has one', async () => {
    const result = await callTool(internWithDefault, { metrics: ['views'], time_range: '2026-Q3' });
    expect(result.isError).toBeUndefined();
  });
});
