import type { WarehouseSchema } from '../semantic/fit-warehouse.js';
import type { Warehouse } from './warehouse.js';

/** The engine's own databases: never a warehouse's data. */
export const SYSTEM_DATABASES: readonly string[] = ['system', 'INFORMATION_SCHEMA', 'information_schema'];

/**
 * Reads the warehouse's databases, the tables, columns and column types of the databases the layer `reads` and
 * the connection's own (read-only, through the readers; a large cluster's other columns are not read), and
 * where else tables of the layer's names are.
 */
export async function describeWarehouse(
  warehouse: Warehouse,
  reads: { readonly databases: readonly string[]; readonly tables: readonly string[] } = {
    databases: [],
    tables: [],
  },
): Promise<WarehouseSchema> {
  const skip = { skip: SYSTEM_DATABASES };
  const [current, databases, columns, sameNames] = await Promise.all([
    warehouse.query({ sql: 'SELECT currentDatabase() AS name', parameters: {} }),
    warehouse.query({
      sql: 'SELECT name FROM system.databases WHERE name NOT IN {skip:Array(String)}',
      parameters: skip,
    }),
    warehouse.query({
      sql: `SELECT database, table, name, type FROM system.columns
        WHERE (database IN {named:Array(String)} OR database = currentDatabase()) AND database NOT IN {skip:Array(String)}
        ORDER BY database, table, position`,
      parameters: { ...skip, named: [...reads.databases] },
    }),
    warehouse.query({
      sql: 'SELECT name, database FROM system.tables WHERE name IN {names:Array(String)} AND database NOT IN {skip:Array(String)} ORDER BY database',
      parameters: { ...skip, names: [...reads.tables] },
    }),
  ]);
  const elsewhere = new Map<string, string[]>();
  for (const row of sameNames)
    elsewhere.set(String(row.name), [...(elsewhere.get(String(row.name)) ?? []), String(row.database)]);
  const tables = new Map<string, Map<string, Map<string, string>>>();
  for (const row of databases) tables.set(String(row.name), new Map());
  for (const row of columns) {
    const database = tables.get(String(row.database)) ?? new Map<string, Map<string, string>>();
    tables.set(String(row.database), database);
    const table = database.get(String(row.table)) ?? new Map<string, string>();
    database.set(String(row.table), table);
    table.set(String(row.name), String(row.type));
  }
  return { currentDatabase: String(current[0]?.name ?? 'default'), tables, elsewhere };
}
