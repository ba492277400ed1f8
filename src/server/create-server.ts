import { McpServer } from '@modelcontextprotocol/server';
import type { Identity } from '../auth/identity.js';
import type { AnalyticsService } from '../tools/analytics-service.js';
import type { Envelope } from '../tools/audited-call.js';
import { CATALOG } from '../tools/catalog.js';
import type { CursorCodec } from '../tools/cursor.js';
import { modelsReachedBy, registerEntityResources } from '../tools/entity-resources.js';

export const SERVER_NAME = 'marquee';
export const SERVER_VERSION = '0.1.0';

/** What every MCP server instance shares across requests; instances themselves are never shared. */
export interface ServerDependencies extends Envelope {
  readonly service: AnalyticsService;
  readonly cursors: CursorCodec;
}

/** A fresh MCP server for one request (HTTP) or one connection (stdio), scoped to `identity`. */
export function createMcpServer(dependencies: ServerDependencies, identity: Identity): McpServer {
  const server = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION },
    {
      capabilities: { tools: {} },
      instructions:
        'Marquee answers questions about a streaming-video service from its warehouse. query_engagement gives numbers (named periods like 2026-Q3, compare_to for changes); explain_change says why a metric moved; compare_campaigns says whether one campaign beat another (it takes campaign ids: find them with list_campaigns); find_content turns a title into its id. Every answer says which dates it covered. Entity resources (marquee://campaign/{id}, marquee://title/{id}, marquee://country/{code}) complete ids as you type.',
    },
  );
  // Only the tools the caller's scopes allow are registered, so tools/list shows exactly what it may call.
  const granted = new Set(identity.scopes);
  const context = { ...dependencies, identity: () => identity };
  const permitted = CATALOG.filter((entry) => granted.has(entry.scope));
  for (const entry of permitted) entry.register(server, context);
  // Entities are readable with the grant of a tool that reaches their model.
  const models = modelsReachedBy(
    dependencies.service.layer,
    permitted.map((entry) => entry.name),
  );
  registerEntityResources(server, context, models);
  return server;
}
