import type { Config } from '../config.js';
import { readsOf, tableOfModel } from '../semantic/fit-warehouse.js';
import { formatProblem, type Problem } from '../semantic/load-semantic-layer.js';
import { isDay } from '../semantic/schema.js';
import type { SemanticLayer } from '../semantic/semantic-layer.js';
import { AnalyticsService } from '../tools/framework/analytics-service.js';
import { createWarehouse } from '../warehouse/create-warehouse.js';
import { describeWarehouse } from '../warehouse/describe-warehouse.js';
import { cannotOpen, log, warehouseAt } from './console.js';

/** Prints problems one per line (`file:line:column path: message`) and a count; the exit code of a failure. */
export function printProblems(problems: readonly Problem[]): number {
  process.stdout.write(`${problems.map(formatProblem).join('\n')}\n${problems.length} problem(s)\n`);
  return 1;
}

/** Checks `layer` against the configured warehouse's tables and column types; prints what each model reads. */
export async function validateWarehouse(config: Config, layer: SemanticLayer): Promise<number> {
  const warehouse = createWarehouse(config.warehouse);
  try {
    const schema = await describeWarehouse(warehouse, readsOf(layer)).catch((error: unknown) => {
      throw cannotOpen(config, error);
    });
    const problems = await new AnalyticsService(layer, warehouse).fitTo(schema);
    const where = warehouseAt(config);
    if (problems.length > 0) {
      process.stdout.write(`warehouse ${where} (database ${schema.currentDatabase}) does not match:\n`);
      return printProblems(problems);
    }
    process.stdout.write(`warehouse ${where} (database ${schema.currentDatabase}): matches\n`);
    for (const model of layer.models.values()) {
      const { database, table } = tableOfModel(model, schema.currentDatabase);
      const scope =
        model.tenant_column === undefined ? 'shared by every tenant' : `tenant column ${model.tenant_column}`;
      const time = [...layer.dimensions.values()].filter(
        (dimension) => dimension.model === model.name && isDay(dimension.type),
      );
      const days = time.map(
        (dimension) =>
          `${dimension.name} (${schema.tables.get(database)?.get(table)?.get(dimension.column)})`,
      );
      process.stdout.write(
        `  ${model.name}: ${database}.${table}, ${scope}${days.length === 0 ? '' : `, days: ${days.join(', ')}`}\n`,
      );
    }
    process.stdout.write(`  days are calendar days in ${layer.timeZone}\n`);
    return 0;
  } finally {
    await warehouse.close();
  }
}

/**
 * Logs every way the layer and the warehouse disagree, before serving: until they agree, /readyz says not
 * ready and calls are refused with the reason.
 */
export async function reportFit(config: Config, service: AnalyticsService): Promise<void> {
  const problems = await service.fit();
  if (problems.length === 0) return;
  for (const problem of problems) log(formatProblem(problem));
  const schema = await service.schema();
  const empty = [...schema.tables.values()].every((tables) => tables.size === 0);
  const where = warehouseAt(config);
  log(
    `the semantic layer ${config.semanticLayerDir} does not match the warehouse (${problems.length} problem(s) above): /readyz says not ready and calls reading those models are refused until they agree (a fixed warehouse is noticed within seconds; a fixed layer needs a restart); "marquee validate --warehouse" checks again` +
      (empty
        ? `. The warehouse at ${where} has no tables in the databases the layer reads: point MARQUEE_DATA_DIR (or CLICKHOUSE_URL) at your warehouse, or run "marquee seed" for the demo one (with the shipped layer)`
        : ''),
  );
}
