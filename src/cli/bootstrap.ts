import { createHmac, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { RateLimits } from '../guard/rate-limits.js';
import { AuditLog } from '../observe/audit-log.js';
import { processLog } from '../observe/log.js';
import { metricsOf } from '../observe/metrics.js';
import { loadSemanticLayer } from '../semantic/load-semantic-layer.js';
import type { ServerDependencies } from '../server/create-server.js';
import { TOOL_KINDS } from '../tools/catalog.js';
import { AnalyticsService } from '../tools/framework/analytics-service.js';
import { CursorCodec } from '../tools/framework/cursor.js';
import { createWarehouse } from '../warehouse/create-warehouse.js';

/**
 * Loads the semantic layer and wires the warehouse, service, cursor key, audit log and rate limits. Without
 * `writes`, nothing is created on disk (a command that only reads).
 */
export async function bootstrap(
  config: Config,
  options: { writes?: boolean } = {},
): Promise<ServerDependencies> {
  const layer = await loadSemanticLayer(config.semanticLayerDir, TOOL_KINDS);
  const warehouse = createWarehouse(config.warehouse);
  const secret = await cursorKey(config, options.writes ?? true);
  const service = new AnalyticsService(layer, warehouse, config.cache);
  const audit = new AuditLog({
    sink: warehouse.admin(),
    database: config.stateDatabase,
    table: config.auditTable,
    key: auditKey(secret),
  });
  return {
    service,
    cursors: new CursorCodec(secret),
    audit,
    limits: await RateLimits.create(config.rateLimits),
    inlineChartPng: config.inlineChartPng,
    // Only a server that serves them keeps metrics (their series live as long as the process).
    ...(config.http.metrics === undefined ? {} : { metrics: metricsOf(audit, service) }),
  };
}

/** The key audit hashes are keyed with: derived from the server secret, so replicas agree on it. */
function auditKey(secret: string | Buffer): Buffer {
  return createHmac('sha256', secret).update('marquee audit hashes v1').digest();
}

/**
 * The key cursors are signed with (the server secret). Replicas must share it (MARQUEE_CURSOR_SECRET); a single embedded
 * deployment keeps a generated one in Marquee's state directory (never the warehouse's) so cursors survive restarts.
 */
async function cursorKey(config: Config, writes: boolean): Promise<string | Buffer> {
  if (config.cursorSecret !== undefined) return config.cursorSecret;
  if (config.warehouse.kind === 'remote') {
    processLog().warn('MARQUEE_CURSOR_SECRET is not set: cursors work only on this process');
    return randomBytes(32);
  }
  const file = join(config.stateDir, 'cursor.key');
  try {
    return await readFile(file);
  } catch {
    // A command that only reads (explain) leaves no state behind.
    if (!writes) return randomBytes(32);
    await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
    const created = await writeFile(file, randomBytes(32), { mode: 0o600, flag: 'wx' }).then(
      () => true,
      () => false,
    );
    if (created) processLog().info(`created the cursor key ${file} (MARQUEE_STATE_DIR)`);
    return readFile(file);
  }
}
