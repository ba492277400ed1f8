import { MarqueeError } from '../errors.js';
import {
  dayDimensionOf,
  quotedTable,
  rollupCompleteness,
  rollupDdl,
  rollupSelect,
} from '../semantic/rollups.js';
import type { Rollup, SemanticLayer } from '../semantic/semantic-layer.js';
import type { AdminConnection } from './warehouse.js';

/** What a build did to one rollup. */
export interface RollupBuilt {
  readonly rollup: string;
  readonly action: 'up to date' | 'built';
  readonly rows: number;
  readonly modelRows: number;
}

/** Whether the rollup's table exists and accounts for every row of its model; its rows either way. */
async function completeness(
  admin: AdminConnection,
  layer: SemanticLayer,
  rollup: Rollup,
): Promise<{ complete: boolean; rows: number; modelRows: number } | undefined> {
  const [row] = await admin.query(rollupCompleteness(layer, rollup)).catch(() => []);
  if (row === undefined) return undefined;
  return {
    complete: String(row.model_rows) === String(row.accounted),
    rows: Number(row.rollup_rows),
    modelRows: Number(row.model_rows),
  };
}

/**
 * Creates and backfills the layer's rollups: each table with the materialised view that keeps it current as
 * rows arrive, filled month by month from its model (`progress` is told each month). A rollup already complete
 * is left alone unless `rebuild`. Build while no rows are being loaded: a load during the backfill is counted
 * twice or not at all, which the completeness check then reports (and queries never read such a rollup).
 */
export async function buildRollups(
  layer: SemanticLayer,
  admin: AdminConnection,
  options: { rebuild?: boolean; progress?: (message: string) => void } = {},
): Promise<RollupBuilt[]> {
  const built: RollupBuilt[] = [];
  for (const rollup of layer.rollups.values()) {
    const before = options.rebuild === true ? undefined : await completeness(admin, layer, rollup);
    if (before?.complete === true) {
      built.push({
        rollup: rollup.name,
        action: 'up to date',
        rows: before.rows,
        modelRows: before.modelRows,
      });
      options.progress?.(`${rollup.name}: up to date (${before.rows.toLocaleString('en-US')} rows)`);
      continue;
    }
    const ddl = rollupDdl(layer, rollup);
    for (const statement of [...ddl.drop, ...ddl.create]) await admin.command(statement);
    const model = layer.models.get(rollup.model);
    const day = dayDimensionOf(layer, rollup.model);
    if (model?.time_column === undefined || day === undefined)
      throw new MarqueeError('rollup_invalid', `Rollup ${rollup.name} needs a model with a date time column`);
    const months = await admin.query(
      `SELECT DISTINCT toYYYYMM(\`${model.time_column}\`) AS month FROM ${quotedTable(model)} ORDER BY month`,
    );
    const target = quotedTable(rollup);
    for (const [index, { month }] of months.entries()) {
      await admin.command(`INSERT INTO ${target} ${rollupSelect(layer, rollup, true)}`, {
        month: Number(month),
      });
      options.progress?.(`${rollup.name}: ${index + 1}/${months.length} months`);
    }
    const after = await completeness(admin, layer, rollup);
    if (after?.complete !== true)
      throw new MarqueeError(
        'rollup_incomplete',
        `Rollup ${rollup.name} accounts for a different number of rows than ${rollup.model} has (rows were loaded while it was built): run marquee rollups build --rebuild when no load runs`,
      );
    built.push({ rollup: rollup.name, action: 'built', rows: after.rows, modelRows: after.modelRows });
    options.progress?.(
      `${rollup.name}: ${after.rows.toLocaleString('en-US')} rows for ${after.modelRows.toLocaleString('en-US')} rows of ${rollup.model}`,
    );
  }
  return built;
}
