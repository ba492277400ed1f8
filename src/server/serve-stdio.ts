import { serveStdio as sdkServeStdio } from '@modelcontextprotocol/server/stdio';
import type { Identity } from '../auth/identity.js';
import { processLog } from '../observe/log.js';
import { createMcpServer, type ServerDependencies } from './create-server.js';

/** Serves MCP over this process's stdin/stdout; resolves when the client closes stdin. */
export function serveStdio(dependencies: ServerDependencies, identity: Identity): Promise<void> {
  return new Promise((resolve) => {
    process.stdin.once('end', () => resolve());
    process.stdin.once('close', () => resolve());
    sdkServeStdio(() => createMcpServer(dependencies, identity), {
      onerror: (error) => processLog().warn({ transport: 'stdio' }, error.message),
    });
  });
}
