import {
  type CallToolResult,
  type Tool as ListedTool,
  ProtocolError,
  ProtocolErrorCode,
  ResourceNotFoundError,
  Server,
} from '@modelcontextprotocol/server';
import type { z } from 'zod';
import type { Identity } from '../auth/identity.js';
import type { Dependencies } from '../tools/framework/context.js';
import { Door, NotFoundError, UnknownToolError } from '../tools/framework/door.js';
import { instructionsFor } from '../tools/framework/instructions.js';

export const SERVER_NAME = 'marquee';
export const SERVER_VERSION = '0.1.0';
/** JSON Schema draft of tool schemas, as the SDK converts them. */
const SCHEMA_TARGET = 'draft-2020-12';

/** What every MCP server instance shares across requests; instances themselves are never shared. */
export type ServerDependencies = Dependencies;

/** A zod schema as MCP lists it: JSON Schema with an object root. */
function jsonSchemaOf(schema: z.ZodObject, io: 'input' | 'output'): ListedTool['inputSchema'] {
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
export function createMcpServer(dependencies: ServerDependencies, identity: Identity): Server {
  const door = new Door(dependencies, identity);
  const tools = door.tools();
  const entities = door.entities();
  const listed: ListedTool[] = tools.map((tool) => ({
    name: tool.definition.name,
    title: tool.definition.title,
    description: tool.description,
    inputSchema: jsonSchemaOf(tool.input, 'input'),
    outputSchema: jsonSchemaOf(tool.output, 'output'),
    annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true },
  }));
  const server = new Server(
    { name: SERVER_NAME, version: SERVER_VERSION },
    {
      capabilities: { tools: { listChanged: false }, resources: { listChanged: false }, completions: {} },
      instructions: instructionsFor(tools, entities),
    },
  );
  server.setRequestHandler('tools/list', () => ({ tools: listed }));
  server.setRequestHandler('tools/call', async (request) => {
    const { name, arguments: args } = request.params;
    try {
      const response = await door.call(name, args ?? {});
      const result: CallToolResult = {
        content: response.texts.map((text) => ({ type: 'text' as const, text })),
        ...(response.structured === undefined ? {} : { structuredContent: response.structured }),
        ...(response.isError ? { isError: true } : {}),
      };
      return server.projectCallToolResult(result, listed.find((tool) => tool.name === name)?.outputSchema);
    } catch (error) {
      if (error instanceof UnknownToolError)
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, error.message);
      throw error;
    }
  });
  server.setRequestHandler('resources/list', () => ({ resources: [] }));
  server.setRequestHandler('resources/templates/list', () => ({
    resourceTemplates: entities.map((entity) => ({
      name: entity.resource.name,
      title: entity.resource.name,
      uriTemplate: entity.uriTemplate,
      description: entity.resource.description,
      mimeType: 'application/json',
    })),
  }));
  server.setRequestHandler('resources/read', async (request) => {
    try {
      return { contents: [await door.read(request.params.uri)] };
    } catch (error) {
      if (error instanceof NotFoundError) throw new ResourceNotFoundError(request.params.uri, error.message);
      throw error;
    }
  });
  server.setRequestHandler('completion/complete', async (request) => {
    const { ref, argument } = request.params;
    if (ref.type !== 'ref/resource') return { completion: { values: [], hasMore: false } };
    try {
      const values = await door.complete(ref.uri, argument.name, argument.value);
      return { completion: { values, total: values.length, hasMore: false } };
    } catch (error) {
      if (error instanceof NotFoundError)
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, error.message);
      throw error;
    }
  });
  return server;
}
