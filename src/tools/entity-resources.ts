import { type McpServer, ResourceNotFoundError, ResourceTemplate } from '@modelcontextprotocol/server';
import type { Identity } from '../auth/identity.js';
import { MarqueeError } from '../errors.js';
import type { QueryPlan } from '../semantic/query-plan.js';
import type { AccessPolicy, EntityResource, SemanticLayer } from '../semantic/semantic-layer.js';
import type { AnalyticsService } from './analytics-service.js';
import { auditedRead } from './audited-call.js';
import { shapeRow } from './format.js';
import type { ToolContext } from './query-engagement.js';

/** MCP answers at most 100 completion values. */
const MAX_COMPLETIONS = 100;
/** Trigram similarity a name needs to be offered without containing the typed text. */
const SEARCH_SCORE = 0.5;
export const RESOURCE_SCHEME = 'marquee';

/** The URI template of an entity: `marquee://campaign/{campaign_id}`. */
export function entityTemplate(resource: EntityResource): string {
  return `${RESOURCE_SCHEME}://${resource.name}/{${resource.key}}`;
}

/** The entity's columns a policy lets the caller see (none when its key is hidden). */
function visibleColumns(resource: EntityResource, policy: AccessPolicy): [string, string][] {
  if (policy.hiddenDimensions.has(resource.key)) return [];
  return Object.entries(resource.columns).filter(([, dimension]) => !policy.hiddenDimensions.has(dimension));
}

/**
 * Registers the semantic layer's entities as resource templates, for the entities whose model one of the
 * caller's tools reaches (`models`) and whose key its policy does not hide. Keys complete as the caller types,
 * from the rows it may see; reads go through the same envelope (rate limits, row policies, redaction, audit)
 * as tool calls.
 */
export function registerEntityResources(
  server: McpServer,
  context: ToolContext,
  models: ReadonlySet<string>,
): void {
  const { service } = context;
  const identity = context.identity();
  const policy = service.policy(identity);
  for (const resource of service.layer.resources.values()) {
    if (!models.has(resource.model)) continue;
    const columns = visibleColumns(resource, policy);
    if (columns.length === 0) continue;
    const name = `resource:${resource.name}`;
    const template = new ResourceTemplate(entityTemplate(resource), {
      list: undefined,
      complete: {
        [resource.key]: (value) =>
          auditedRead(context, identity, `${name}:complete`, { value }, async () => {
            const values = await completeKey(service, identity, resource, value).catch((error: unknown) => {
              // A caller whose policy cannot apply to this entity gets no suggestions, not an error.
              if (error instanceof MarqueeError && error.code === 'access_denied') return [];
              throw error;
            });
            return { result: values, facts: { rows: values.length, suppressedGroups: 0 } };
          }),
      },
    });
    server.registerResource(
      resource.name,
      template,
      { title: resource.name, description: resource.description, mimeType: 'application/json' },
      (uri, variables) =>
        auditedRead(context, identity, name, { uri: uri.href }, async () => {
          const raw = variables[resource.key];
          const key = decodeURIComponent(String(Array.isArray(raw) ? raw[0] : (raw ?? '')));
          const entity = await readEntity(service, identity, resource, columns, key);
          if (entity === undefined)
            throw new ResourceNotFoundError(uri.href, `No ${resource.name} ${JSON.stringify(key)}`);
          return {
            result: {
              contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(entity) }],
            },
            facts: { rows: 1, suppressedGroups: 0 },
          };
        }),
    );
  }
}

/** Keys starting with what was typed (any case); failing those, keys of entities whose name contains it. */
async function completeKey(
  service: AnalyticsService,
  identity: Identity,
  resource: EntityResource,
  typed: string,
): Promise<string[]> {
  const needle = typed.trim().toLowerCase();
  const keys = (
    await service.distinct(identity, { name: `resource:${resource.name}`, model: resource.model }, [
      resource.key,
    ])
  )
    .map((row) => String(row[resource.key] ?? ''))
    .filter((key) => key !== '');
  const found = keys.filter((key) => key.toLowerCase().startsWith(needle));
  // Only when the text is no key prefix: then it is part of a name (or a typo of one).
  if (resource.search !== undefined && needle.length >= 2 && found.length === 0) {
    const plan: QueryPlan = {
      model: resource.model,
      metrics: [],
      dimensions: [resource.key],
      timeDimension: '',
      periods: [],
      distinct: true,
      search: { dimension: resource.search, text: typed.trim(), minScore: SEARCH_SCORE },
      filters: [],
      order: [],
      limit: MAX_COMPLETIONS,
    };
    for (const row of await service.run(plan, identity)) {
      const key = String(row[resource.key] ?? '');
      if (key !== '' && !found.includes(key)) found.push(key);
    }
  }
  return found.slice(0, MAX_COMPLETIONS);
}

async function readEntity(
  service: AnalyticsService,
  identity: Identity,
  resource: EntityResource,
  columns: readonly [string, string][],
  key: string,
): Promise<Record<string, string | number | null> | undefined> {
  const policy = service.policy(identity);
  const metrics = resource.metrics.filter((metric) => !policy.hiddenMetrics.has(metric));
  const rows = await service.run(
    {
      model: resource.model,
      metrics,
      dimensions: [...new Set(columns.map(([, dimension]) => dimension))],
      timeDimension: '',
      periods: [],
      distinct: metrics.length === 0,
      filters: [{ dimension: resource.key, values: [key] }],
      order: [],
      limit: 2,
    },
    identity,
  );
  const row = rows[0];
  return row === undefined ? undefined : shapeRow(service.layer, row, columns, metrics);
}

/** Models the caller's tools reach: an entity of one of them is readable with the same grant. */
export function modelsReachedBy(layer: SemanticLayer, tools: Iterable<string>): Set<string> {
  const models = new Set<string>();
  for (const name of tools) {
    const tool = layer.tools.get(name);
    if (tool !== undefined) for (const model of layer.reachableModels(tool.model)) models.add(model);
  }
  return models;
}
