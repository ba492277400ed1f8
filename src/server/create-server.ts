import {
  type CallToolResult,
  type Tool as ListedTool,
  ProtocolError,
  ProtocolErrorCode,
  ResourceNotFoundError,
  Server,
  TRACEPARENT_META_KEY,
} from '@modelcontextprotocol/server';
import type { z } from 'zod';
import type { Identity } from '../auth/identity.js';
import {
  CHART_TEMPLATE,
  chartUri,
  drawChart,
  RESULTS_TEMPLATE,
  resultsUri,
  VEGA_LITE_MIME,
} from '../charts/chart-resource.js';
import { chartFor } from '../charts/chart-spec.js';
import { CHART_VIEW_MIME, CHART_VIEW_URI } from '../charts/chart-view.js';
import { MarqueeError } from '../errors.js';
import type { RequestTrace } from '../observe/call-trace.js';
import { FACT_TTL_MS } from '../tools/framework/analytics-service.js';
import type { Dependencies } from '../tools/framework/context.js';
import { Door, NotFoundError, UnknownToolError } from '../tools/framework/door.js';
import { instructionsFor } from '../tools/framework/instructions.js';
import { CATALOGUE_LISTS, CATALOGUE_TEMPLATES } from '../tools/semantic-catalogue.js';

export const SERVER_NAME = 'marquee';
export const SERVER_VERSION = '0.1.0';
/** JSON Schema draft of tool schemas, as the SDK converts them. */
const SCHEMA_TARGET = 'draft-2020-12';

/** What every MCP server instance shares across requests; instances themselves are never shared. */
export type ServerDependencies = Dependencies;

/** The `_meta` key of a tools/call asking for an answer computed afresh, not taken from the cache. */
export const REFRESH_META = 'marquee/refresh';

/** The requests the door answers: each is audited once, even when the protocol refuses its parameters. */
const DOOR_METHODS = new Set(['tools/call', 'resources/read', 'prompts/get', 'completion/complete']);

/**
 * A Server whose door requests refused by the protocol's own validation (a numeric tool name, arguments that
 * are not an object), before any handler of ours runs, still pass the door: rate limited and audited once.
 */
class DoorServer extends Server {
  private readonly reached = new WeakSet<object>();
  door: Door | undefined;

  /** Marks a request as answered by the door (which audits it itself). */
  reach(ctx: object): void {
    this.reached.add(ctx);
  }

  protected override _wrapHandler(
    method: string,
    handler: Parameters<Server['_wrapHandler']>[1],
  ): ReturnType<Server['_wrapHandler']> {
    const wrapped = super._wrapHandler(method, handler);
    if (!DOOR_METHODS.has(method)) return wrapped;
    return async (request, ctx) => {
      try {
        return await wrapped(request, ctx);
      } catch (error) {
        if (!this.reached.has(ctx)) await this.door?.refused(method, request.params);
        throw error;
      }
    };
  }
}

/**
 * Caching hints of the cacheable results (2026-07-28), true to what they hold. Every one depends on the caller
 * (scopes, tenant, policy): private. What depends on the data (filter values in tool descriptions, entity reads)
 * stays valid as long as the facts it was read from (a minute); what depends only on the layer and the caller
 * (prompts, templates, the server's instructions) until the layer is redeployed: ten minutes.
 */
const LAYER_TTL_MS = 600_000;
const CACHE_HINTS = {
  'tools/list': { ttlMs: FACT_TTL_MS, cacheScope: 'private' },
  'resources/read': { ttlMs: FACT_TTL_MS, cacheScope: 'private' },
  'prompts/list': { ttlMs: LAYER_TTL_MS, cacheScope: 'private' },
  'resources/list': { ttlMs: LAYER_TTL_MS, cacheScope: 'private' },
  'resources/templates/list': { ttlMs: LAYER_TTL_MS, cacheScope: 'private' },
  'server/discover': { ttlMs: LAYER_TTL_MS, cacheScope: 'private' },
} as const;

/** How long tools/list waits for filter values before listing the tools without them. */
const LIST_VALUES_WAIT_MS = 2_000;

/** An input schema whose filter arguments' descriptions end with the values they take. */
function withChoices(
  schema: ListedTool['inputSchema'],
  choices: Record<string, string[]>,
): ListedTool['inputSchema'] {
  const properties: Record<string, unknown> = { ...schema.properties };
  for (const [name, values] of Object.entries(choices)) {
    const property = properties[name] as { description?: string } | undefined;
    if (property === undefined) continue;
    properties[name] = {
      ...property,
      description: `${property.description ?? ''} Values: ${values.join(', ')}.`,
    };
  }
  return { ...schema, properties } as ListedTool['inputSchema'];
}

/** JSON Schemas by the zod schema they were made from (a policy's schemas are built once, then reused). */
const JSON_SCHEMAS = {
  input: new WeakMap<z.ZodObject, ListedTool['inputSchema']>(),
  output: new WeakMap<z.ZodObject, ListedTool['inputSchema']>(),
};

/** A zod schema as MCP lists it: JSON Schema with an object root (converted once per schema). */
function jsonSchemaOf(schema: z.ZodObject, io: 'input' | 'output'): ListedTool['inputSchema'] {
  const known = JSON_SCHEMAS[io].get(schema);
  if (known !== undefined) return known;
  const converted = convertSchema(schema, io);
  JSON_SCHEMAS[io].set(schema, converted);
  return converted;
}

function convertSchema(schema: z.ZodObject, io: 'input' | 'output'): ListedTool['inputSchema'] {
  const standard = schema['~standard'] as unknown as {
    jsonSchema: Record<'input' | 'output', (options: { target: string }) => Record<string, unknown>>;
  };
  return {
    ...standard.jsonSchema[io]({ target: SCHEMA_TARGET }),
    type: 'object',
  } as ListedTool['inputSchema'];
}

/**
 * A fresh MCP server for one request (HTTP) or one connection (stdio), scoped to `identity`. It only adapts
 * the protocol: every list, call, read and completion goes through the door, which validates, applies the
 * rules and audits (unknown tools and resources included, as protocol errors after their audit record).
 */
export function createMcpServer(
  dependencies: ServerDependencies,
  identity: Identity,
  options: { refresh?: boolean; request?: RequestTrace } = {},
): Server {
  const door = new Door(dependencies, identity, options.refresh === true, options.request);
  const tools = door.tools();
  const entities = door.entities();
  const base: ListedTool[] = tools.map((tool) => ({
    name: tool.definition.name,
    title: tool.definition.title,
    description: tool.description,
    inputSchema: jsonSchemaOf(tool.input, 'input'),
    outputSchema: jsonSchemaOf(tool.output, 'output'),
    annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true },
    // Hosts that render MCP Apps draw the answer's chart in this page (both keys: current and older hosts).
    _meta: { ui: { resourceUri: CHART_VIEW_URI }, 'ui/resourceUri': CHART_VIEW_URI },
  }));
  // Each filter's description lists its values where they are few; a warehouse that cannot say leaves it as is.
  const listed = (): Promise<ListedTool[]> =>
    Promise.all(
      base.map(async (entry, index) => {
        const tool = tools[index] as (typeof tools)[number];
        const choices = await Promise.race([
          door.filterChoices(tool).catch(() => ({})),
          new Promise<Record<string, string[]>>((resolve) => {
            setTimeout(() => resolve({}), LIST_VALUES_WAIT_MS).unref();
          }),
        ]);
        return { ...entry, inputSchema: withChoices(entry.inputSchema, choices) };
      }),
    );
  const server = new DoorServer(
    { name: SERVER_NAME, version: SERVER_VERSION },
    {
      capabilities: {
        tools: { listChanged: false },
        resources: { listChanged: false },
        prompts: { listChanged: false },
        completions: {},
      },
      instructions: instructionsFor(tools, entities),
      cacheHints: CACHE_HINTS,
    },
  );
  server.door = door;
  // A method no handler serves is refused by the protocol (method not found) after its audit record.
  server.fallbackRequestHandler = async (request) => {
    await door.refused(request.method, request.params, 'method_not_found');
    throw new ProtocolError(ProtocolErrorCode.MethodNotFound, `Method not found: ${request.method}`);
  };
  server.setRequestHandler('tools/list', async () => ({ tools: await door.listing('tools/list', listed) }));
  server.setRequestHandler('tools/call', async (request, ctx) => {
    server.reach(ctx);
    const { name, arguments: args, _meta: meta } = request.params;
    try {
      // A client may ask for a fresh answer: `_meta: {"marquee/refresh": true}` (or, over HTTP, no-cache).
      const refresh = meta?.[REFRESH_META] === true ? true : undefined;
      const traceparent = meta?.[TRACEPARENT_META_KEY];
      const response = await door.call(
        name,
        args ?? {},
        refresh,
        typeof traceparent === 'string' ? traceparent : undefined,
      );
      // The answer's own (already guarded) output, drawn: no second run.
      const png =
        dependencies.inlineChartPng === true &&
        response.structured !== undefined &&
        response.chart !== undefined
          ? await drawChart(chartUri(response.chart), chartFor(name, response.structured), 'png').then(
              (drawn) => ('blob' in drawn ? drawn.blob : undefined),
            )
          : undefined;
      const result: CallToolResult = {
        content: [
          ...response.texts.map((text) => ({ type: 'text' as const, text })),
          ...(response.chart === undefined
            ? []
            : [
                {
                  type: 'resource_link' as const,
                  uri: chartUri(response.chart),
                  name: 'chart',
                  title: `Chart of this ${name} answer`,
                  description:
                    'The answer as a Vega-Lite chart, recomputed for whoever reads it; append .svg or .png for a drawing.',
                  mimeType: VEGA_LITE_MIME,
                },
              ]),
          ...(png === undefined ? [] : [{ type: 'image' as const, data: png, mimeType: 'image/png' }]),
          ...(response.results === undefined
            ? []
            : [
                {
                  type: 'resource_link' as const,
                  uri: resultsUri(response.results),
                  name: 'all rows',
                  title: `Every row of this ${name} answer`,
                  description:
                    'Every row of the answer as CSV (or .json in place of .csv), recomputed for whoever reads it.',
                  mimeType: 'text/csv',
                },
              ]),
        ],
        ...(response.structured === undefined ? {} : { structuredContent: response.structured }),
        ...(response.isError ? { isError: true } : {}),
      };
      return server.projectCallToolResult(result, base.find((tool) => tool.name === name)?.outputSchema);
    } catch (error) {
      if (error instanceof UnknownToolError)
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, error.message);
      throw error;
    }
  });
  // The semantic catalogue is offered to any caller offered a tool: it describes what those tools take.
  const catalogue = tools.length > 0;
  server.setRequestHandler('resources/list', async () => ({
    resources: await door.listing('resources/list', () =>
      catalogue
        ? [
            ...Object.entries(CATALOGUE_LISTS).map(([name, list]) => ({
              name: `semantic-${name}`,
              title: `Semantic layer: ${name}`,
              uri: list.uri,
              description: list.description,
              mimeType: 'application/json',
            })),
            {
              name: 'chart-view',
              title: 'Interactive chart (MCP Apps)',
              uri: CHART_VIEW_URI,
              description:
                'Draws a tool answer’s chart in hosts that render MCP Apps; everything bundled, nothing loaded.',
              mimeType: CHART_VIEW_MIME,
            },
          ]
        : [],
    ),
  }));
  server.setRequestHandler('resources/templates/list', async () => ({
    resourceTemplates: await door.listing('resources/templates/list', () => [
      ...entities.map((entity) => ({
        name: entity.resource.name,
        title: entity.resource.name,
        uriTemplate: entity.uriTemplate,
        description: entity.resource.description,
        mimeType: 'application/json',
      })),
      ...(catalogue
        ? [
            {
              name: 'results',
              title: 'Every row of an answer',
              uriTemplate: RESULTS_TEMPLATE,
              description:
                "A tool answer's rows, all of them, from the link an answer with more than a page carries (.csv or .json).",
              mimeType: 'text/csv',
            },
            {
              name: 'chart',
              title: 'Chart of an answer',
              uriTemplate: CHART_TEMPLATE,
              description:
                "A tool answer's chart, from the link the answer carries: the Vega-Lite spec, or .svg / .png drawn.",
              mimeType: VEGA_LITE_MIME,
            },
          ]
        : []),
      ...(catalogue
        ? Object.entries(CATALOGUE_TEMPLATES).map(([name, template]) => ({
            name: `semantic-${name}`,
            title: `Semantic layer: one ${name}`,
            uriTemplate: template.uriTemplate,
            description: template.description,
            mimeType: 'application/json',
          }))
        : []),
    ]),
  }));
  server.setRequestHandler('resources/read', async (request, ctx) => {
    server.reach(ctx);
    try {
      return { contents: [await door.read(request.params.uri)] };
    } catch (error) {
      if (error instanceof NotFoundError) throw new ResourceNotFoundError(request.params.uri, error.message);
      throw error;
    }
  });
  server.setRequestHandler('completion/complete', async (request, ctx) => {
    server.reach(ctx);
    const { ref, argument } = request.params;
    try {
      const values =
        ref.type === 'ref/resource'
          ? await door.complete(ref.uri, argument.name, argument.value)
          : await door.completePrompt(ref.name, argument.name, argument.value);
      return { completion: { values, total: values.length, hasMore: false } };
    } catch (error) {
      if (error instanceof NotFoundError)
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, error.message);
      throw error;
    }
  });
  server.setRequestHandler('prompts/list', async () => ({
    prompts: await door.listing('prompts/list', () =>
      door.prompts().map((prompt) => ({
        name: prompt.name,
        title: prompt.title,
        description: prompt.description,
        arguments: Object.entries(prompt.arguments).map(([name, def]) => ({
          name,
          description:
            def.default === undefined
              ? def.description
              : `${def.description.replace(/\.$/, '')} (default ${def.default}).`,
          required: def.required,
        })),
      })),
    ),
  }));
  server.setRequestHandler('prompts/get', async (request, ctx) => {
    server.reach(ctx);
    const { name, arguments: given } = request.params;
    try {
      const answer = await door.getPrompt(name, given ?? {});
      return {
        description: answer.description,
        messages: [{ role: 'user' as const, content: { type: 'text' as const, text: answer.text } }],
      };
    } catch (error) {
      if (error instanceof MarqueeError)
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, error.message);
      throw error;
    }
  });
  return server;
}
