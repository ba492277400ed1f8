import { randomUUID } from 'node:crypto';
import { MarqueeError } from '../../errors.js';
import { processLog } from '../../observe/log.js';

/**
 * The text of a tool error a model can act on. Marquee's own errors carry their message; anything else is a
 * server fault, logged with a reference and shown only as that reference, never as a stack or SQL.
 */
export function toolErrorText(error: unknown, tool: string): string {
  if (error instanceof MarqueeError) {
    if (error.code === 'query_failed' || error.code === 'warehouse_unavailable') {
      // The model sees the short message; the operator needs the engine's own words.
      const cause = error.cause instanceof Error ? error.cause.message : String(error.cause ?? '');
      processLog().warn({ tool, code: error.code, cause }, error.message);
    }
    return error.message;
  }
  const reference = randomUUID().slice(0, 8);
  processLog().error({ tool, reference, err: error }, `internal error in ${tool} (ref ${reference})`);
  return `Internal error in ${tool} (reference ${reference}); the operator can look it up in the server log`;
}
