import { MarqueeError } from '../errors.js';
import {
  dayDimensionOf,
  isRollupComment,
  quotedTable,
  ROLLUP_COMMENT,
  rollupCompleteness,
  rollupDdl,
  rollupSelect,
  type Tier,
  type TierState,
  tierState,
  tiersOf,
  tierTable,
} from '../semantic/rollups.js';
import type { Rollup, SemanticLayer } from '../semantic/semantic-layer.js';
import type { AdminConnection } from './warehouse.js';

/** What a build did to one rollup's tier. */
export interface RollupBuilt {
  readonly rollup: string;
  readonly tier: Tier;
  readonly action: 'up to date' | 'built';
  readonly rows: number;
  readonly modelRows: number;
}

/** A rollup tier's state (complete, stale, its rows); undefined where its table is missing. */
async function completeness(
  admin: AdminConnection,
  layer: SemanticLayer,
  rollup: Rollup,
  tier: Tier,
): Promise<TierState | undefined> {
  const statement = rollupCompleteness(layer, rollup, tier);
  const [row] = await admin.query(statement.sql, statement.parameters).catch(() => []);
  return row === undefined ? undefined : tierState(layer, rollup, tier, row);
}

/** Refuses to replace a table or view of a rollup's names that Marquee did not create (a name clash, a typo). */
async function refuseForeign(
  admin: AdminConnection,
  rollup: Rollup,
  table: { table: string; database?: string | undefined },
): Promise<void> {
  const found = await admin.query(
    `SELECT name, comment FROM system.tables
     WHERE database = if({database:String} = '', currentDatabase(), {database:String}) AND name IN {names:Array(String)}`,
    { database: table.database ?? '', names: [table.table, `${table.table}_mv`] },
  );
  const theirs = found.find((row) => !isRollupComment(String(row.comment)));
  if (theirs !== undefined)
    throw new MarqueeError(
      'rollup_refused',
      `Rollup ${rollup.name}: ${String(theirs.name)} exists and was not made by Marquee (its comment is not "${ROLLUP_COMMENT}"); it is left as it is: name the rollup's table otherwise`,
    );
}

/**
 * Creates and backfills the layer's rollups: each tier's table with the materialised view that keeps it
 * current as rows arrive, filled month by month from its model (`progress` is told each month). A tier already
 * complete is left alone unless `rebuild`. Build while no rows are being loaded: a load during the backfill is
 * counted twice or not at all, which the completeness check then reports (and queries never read such a tier).
 */
export async function buildRollups(
  layer: SemanticLayer,
  admin: AdminConnection,
  options: { rebuild?: boolean; progress?: RollupProgress } = {},
): Promise<RollupBuilt[]> {
  const built: RollupBuilt[] = [];
  const tiers = [...layer.rollups.values()].flatMap((rollup) =>
    tiersOf(rollup).map((tier) => ({ rollup, tier })),
  );
  for (const [index, { rollup, tier }] of tiers.entries()) {
    // How far the build is: tiers done, and the months of this one.
    const progress = (message: string, part = 1) =>
      options.progress?.(message, { done: Math.round((index + part) * 100) / 100, total: tiers.length });
    built.push(await buildTier(layer, admin, rollup, tier, { rebuild: options.rebuild, progress }));
  }
  return built;
}

/** Told of each step of a rollup build, with how many of the layer's tiers are done (fractions: months). */
export type RollupProgress = (message: string, step: { done: number; total: number }) => void;

async function buildTier(
  layer: SemanticLayer,
  admin: AdminConnection,
  rollup: Rollup,
  tier: Tier,
  options: { rebuild?: boolean | undefined; progress: (message: string, part?: number) => void },
): Promise<RollupBuilt> {
  const label = tier === 'day' ? rollup.name : `${rollup.name} (by month)`;
  const before = options.rebuild === true ? undefined : await completeness(admin, layer, rollup, tier);
  if (before?.complete === true) {
    options.progress(`${label}: up to date (${before.rows.toLocaleString('en-US')} rows)`);
    return {
      rollup: rollup.name,
      tier,
      action: 'up to date',
      rows: before.rows,
      modelRows: before.modelRows,
    };
  }
  const table = tierTable(rollup, tier);
  await refuseForeign(admin, rollup, table);
  if (before?.stale === true) options.progress(`${label}: built from another definition; rebuilding`, 0);
  const ddl = rollupDdl(layer, rollup, tier);
  for (const statement of [...ddl.drop, ...ddl.create]) await admin.command(statement);
  const model = layer.models.get(rollup.model);
  if (model?.time_column === undefined || dayDimensionOf(layer, rollup.model) === undefined)
    throw new MarqueeError('rollup_invalid', `Rollup ${rollup.name} needs a model with a date time column`);
  const months = await admin.query(
    `SELECT DISTINCT toYYYYMM(\`${model.time_column}\`) AS month FROM ${quotedTable(model)} ORDER BY month`,
  );
  for (const [index, { month }] of months.entries()) {
    await admin.command(`INSERT INTO ${quotedTable(table)} ${rollupSelect(layer, rollup, true, tier)}`, {
      month: Number(month),
    });
    options.progress(`${label}: ${index + 1}/${months.length} months`, (index + 1) / (months.length + 1));
  }
  const after = await completeness(admin, layer, rollup, tier);
  if (after?.complete !== true)
    throw new MarqueeError(
      'rollup_incomplete',
      `Rollup ${label} accounts for a different number of rows than ${rollup.model} has (rows were loaded while it was built): run marquee rollups build --rebuild when no load runs`,
    );
  options.progress(
    `${label}: ${after.rows.toLocaleString('en-US')} rows for ${after.modelRows.toLocaleString('en-US')} rows of ${rollup.model}`,
  );
  return { rollup: rollup.name, tier, action: 'built', rows: after.rows, modelRows: after.modelRows };
}
