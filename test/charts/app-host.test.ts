import { type Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { App } from '@modelcontextprotocol/ext-apps';
import { AppBridge } from '@modelcontextprotocol/ext-apps/app-bridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartOfResult } from '../../src/app/chart-of-result.js';
import { AURORA_ROLES, callers } from '../helpers.js';

/**
 * The MCP Apps chart view's host path, with the ext-apps host bridge and view client connected in memory: the
 * host hands the view a tool result, the view reads the result's chart link through the host, and the host
 * reads it from Marquee with its own (the reader's) connection.
 */
let clients: Record<'vp' | 'borealis', Client>;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ clients, close } = await callers({
    vp: AURORA_ROLES.vp,
    borealis: { tenant: 'borealis', roles: ['vp'] },
  }));
});

afterAll(async () => {
  await close?.();
});

/** A host for `client` with the view connected; resolves the chart the view gets for `result`. */
async function viewChart(client: Client, result: Awaited<ReturnType<Client['callTool']>>) {
  const [hostSide, viewSide] = InMemoryTransport.createLinkedPair();
  const bridge = new AppBridge(client, { name: 'test-host', version: '1.0.0' }, { serverResources: {} });
  // No page to size here: the host's frame sizing is the browser's business.
  const app = new App({ name: 'marquee-chart', version: '1.0.0' }, {}, { autoResize: false });
  const chart = new Promise<Record<string, unknown> | undefined>((resolve, reject) => {
    app.ontoolresult = (params) => {
      chartOfResult(app, params).then(resolve, reject);
    };
  });
  const initialized = new Promise<void>((resolve) => {
    bridge.oninitialized = () => resolve();
  });
  await bridge.connect(hostSide);
  await app.connect(viewSide);
  await initialized;
  await bridge.sendToolResult(result as Parameters<AppBridge['sendToolResult']>[0]);
  const spec = await chart;
  await app.close();
  await bridge.close();
  return spec;
}

describe('the MCP Apps chart view through a host', () => {
  it("gets the answer's chart, read through the host for the host's reader", async () => {
    const args = {
      name: 'query_engagement',
      arguments: { time_range: '2026-08', group_by: ['country'], metrics: ['views'] },
    };
    const result = await clients.vp.callTool(args);
    const spec = (await viewChart(clients.vp, result)) as { data?: { values?: Record<string, unknown>[] } };
    const rows = (result.structuredContent as { rows: Record<string, unknown>[] }).rows;
    expect(spec.data?.values?.map((row) => [row.country, row.views])).toEqual(
      rows.slice(0, 25).map((row) => [row.country, row.views]),
    );
    // The same result handed to a borealis host draws borealis's rows: the view reads as its host's reader.
    const seen = (await viewChart(clients.borealis, result)) as {
      data?: { values?: Record<string, unknown>[] };
    };
    expect(seen.data?.values?.map((row) => row.country)).not.toContain('BR');
  });
});
