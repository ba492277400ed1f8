import { existsSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DEFAULT_SCALE, isSeeded, isSeedTable, seedFixtures } from '../../fixtures/seed-fixtures.js';
import type { Config } from '../config.js';
import { MarqueeError } from '../errors.js';
import { loadSemanticLayer } from '../semantic/load-semantic-layer.js';
import { isRollupComment } from '../semantic/rollups.js';
import { TOOL_KINDS } from '../tools/catalog.js';
import { buildRollups } from '../warehouse/build-rollups.js';
import { createWarehouse } from '../warehouse/create-warehouse.js';
import { SYSTEM_DATABASES } from '../warehouse/describe-warehouse.js';
import type { AdminConnection } from '../warehouse/warehouse.js';
import { cannotOpen, log, warehouseAt } from './console.js';
import { withProgress } from './progress.js';

/** The shipped demo layer: `start` seeds the demo warehouse only for it (any other layer has other tables). */
const DEMO_LAYER = resolve(import.meta.dirname, '../../../semantic-layer');

/** What `start` found: whether it serves the demo (seeded now or before) and why not when it does not. */
export interface StartWarehouse {
  readonly demo: boolean;
  readonly why?: string;
}

/**
 * Prepares `npm start`'s warehouse: seeds the demo only into a missing or empty embedded warehouse, and only
 * for the shipped layer. A warehouse holding anyone else's tables is served as it is (and is not the demo,
 * even beside demo tables), so no demo tenant is assumed for it.
 */
export async function prepareStart(config: Config): Promise<StartWarehouse> {
  const real = (path: string) => realpath(path).catch(() => path);
  const demoLayer = (await real(config.semanticLayerDir)) === (await real(DEMO_LAYER));
  if (config.warehouse.kind === 'embedded' && !demoLayer && !existsSync(config.warehouse.dataDir))
    throw new MarqueeError(
      'warehouse_missing',
      `There is no warehouse at ${config.warehouse.dataDir} (MARQUEE_DATA_DIR); "marquee start" seeds the demo warehouse only for the shipped semantic layer, not for ${config.semanticLayerDir}: point MARQUEE_DATA_DIR at your warehouse`,
    );
  const warehouse = createWarehouse(config.warehouse, { create: demoLayer });
  const target = warehouseAt(config);
  try {
    const admin = warehouse.admin();
    const seeded = await isSeeded(admin).catch((error: unknown) => {
      throw cannotOpen(config, error);
    });
    const theirs = await foreignTables(admin, config.stateDatabase);
    if (theirs.length > 0)
      return {
        demo: false,
        why: `the warehouse at ${target} holds tables Marquee did not create (${listed(theirs)}): serving it as it is, without seeding the demo`,
      };
    if (seeded) return { demo: true };
    if (config.warehouse.kind !== 'embedded' || !demoLayer)
      return {
        demo: false,
        why: `the warehouse at ${target} is not the demo, and start seeds only an embedded one for the shipped layer`,
      };
  } finally {
    await warehouse.close();
  }
  await seed(config, DEFAULT_SCALE, {});
  return { demo: true };
}

/** Up to eight names, then an ellipsis. */
function listed(names: readonly string[]): string {
  return `${names.slice(0, 8).join(', ')}${names.length > 8 ? ', …' : ''}`;
}

/**
 * Seeds the demo warehouse into the configured one (creating an embedded directory), replacing only tables an
 * earlier seed created; says where, and what else the warehouse holds (left as it is).
 */
export async function seed(
  config: Config,
  scale: number,
  options: { remote?: boolean; cluster?: string | undefined },
): Promise<void> {
  if (options.cluster !== undefined && config.warehouse.kind === 'embedded')
    throw new MarqueeError(
      'usage',
      `--cluster ${options.cluster} seeds a ClickHouse cluster: set CLICKHOUSE_URL to one of its nodes and pass --remote (the embedded engine is one node)`,
    );
  if (config.warehouse.kind !== 'embedded' && options.remote !== true) {
    throw new MarqueeError(
      'seed_refused',
      'CLICKHOUSE_URL is set: seeding writes the fixture tables on that server; pass --remote if that is what you want',
    );
  }
  if (config.warehouse.kind === 'embedded' && !existsSync(config.warehouse.dataDir))
    log(`creating the embedded warehouse directory ${config.warehouse.dataDir} (MARQUEE_DATA_DIR)`);
  const warehouse = createWarehouse(config.warehouse, { create: true });
  const target = warehouseAt(config);
  try {
    const admin = warehouse.admin();
    const theirs = await foreignTables(admin, config.stateDatabase).catch((error: unknown) => {
      throw cannotOpen(config, error);
    });
    const database = config.warehouse.kind === 'embedded' ? config.warehouse.database : undefined;
    if (database !== undefined) {
      await admin.command(`CREATE DATABASE IF NOT EXISTS ${database}`);
      await admin.command(`USE ${database}`);
    }
    if (theirs.length > 0)
      log(
        `the warehouse at ${target} also holds tables Marquee did not create (${listed(theirs)}): they are left as they are, and the demo tables go beside them`,
      );
    log(
      `seeding the demo warehouse at scale ${scale} (${(scale * 1_000_000).toLocaleString('en-US')} events) into ${target}${database === undefined ? '' : `, database ${database}`}`,
    );
    await withProgress('seed', (bar) =>
      seedFixtures(admin, { scale, cluster: options.cluster, onProgress: bar }),
    );
    // The demo layer's rollups, built from the fresh rows (replacing any an earlier seed built).
    const layer = await loadSemanticLayer(DEMO_LAYER, TOOL_KINDS);
    await withProgress('rollups', (bar) => buildRollups(layer, admin, { rebuild: true, progress: bar }));
  } finally {
    await warehouse.close();
  }
}

/** Tables of the warehouse that neither the seed nor Marquee's own state created: a user's data. */
async function foreignTables(admin: AdminConnection, stateDatabase: string): Promise<string[]> {
  const rows = await admin.query(
    `SELECT database, name, comment FROM system.tables
     WHERE database NOT IN {skip:Array(String)} AND NOT is_temporary ORDER BY database, name`,
    { skip: [...SYSTEM_DATABASES, stateDatabase] },
  );
  return rows
    .filter((row) => !isSeedTable(String(row.comment)) && !isRollupComment(String(row.comment)))
    .map((row) => `${String(row.database)}.${String(row.name)}`);
}
