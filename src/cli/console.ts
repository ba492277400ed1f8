import type { Config } from '../config.js';
import { MarqueeError } from '../errors.js';
import { processLog } from '../observe/log.js';

/** A line for the operator, in the process's JSON log on stderr (stdout carries MCP over stdio, and command output). */
export const log = (message: string): void => {
  processLog().info(message);
};

/** Where the configured warehouse is: an embedded one's directory, or a server's URL. */
export function warehouseAt(config: Config): string {
  return config.warehouse.kind === 'embedded' ? config.warehouse.dataDir : config.warehouse.url;
}

/** Why the warehouse would not open, with the usual cause of an embedded one spelled out. */
export function cannotOpen(config: Config, error: unknown): MarqueeError {
  // A missing or locked directory, or a missing database, already says its cause and its fix.
  if (error instanceof MarqueeError && error.code !== 'warehouse_unavailable') return error;
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const hint =
    config.warehouse.kind === 'embedded'
      ? ' (an embedded warehouse directory serves one process at a time: is another Marquee using it? Stop it or set MARQUEE_DATA_DIR)'
      : '';
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new MarqueeError('warehouse_unavailable', `Cannot open the warehouse: ${reason}${hint}`);
}
