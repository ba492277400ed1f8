import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWarehouse } from '../../src/warehouse/create-warehouse.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { LIMITS, tempWarehouse } from '../helpers.js';

let warehouse: Warehouse;
let remove: () => Promise<void>;

beforeAll(async () => {
  ({ warehouse, remove } = await tempWarehouse('readonly', { ...LIMITS, maxResultRows: 1000 }));
  await warehouse.admin().command('CREATE TABLE t (x UInt64) ENGINE = MergeTree ORDER BY x');
  await warehouse.admin().command('INSERT INTO t SELECT number FROM numbers(5000)');
});
afterAll(async () => {
  await remove?.();
});

describe('embedded readers', () => {
  it.each([
    ['DROP TABLE t', 'READONLY'],
    ['INSERT INTO t VALUES (1)', 'READONLY'],
    ["INSERT INTO FUNCTION file('/tmp/marquee-leak.csv', 'CSV') SELECT 1", 'READONLY'],
    ["SELECT * FROM file('/etc/hostname', 'LineAsString')", 'READONLY'],
    ['SELECT count() FROM t SETTINGS readonly = 0', 'READONLY'],
  ])('refuse %s', async (statement, type) => {
    await expect(warehouse.query({ sql: statement, parameters: {} })).rejects.toThrow(
      new RegExp(`rejected the query \\((${type})\\)`),
    );
    const rows = await warehouse.query({ sql: 'SELECT count() AS n FROM t', parameters: {} });
    expect(rows).toEqual([{ n: '5000' }]);
  });

  it('stop at the row limit with an error that says what to do', async () => {
    await expect(warehouse.query({ sql: 'SELECT x FROM t', parameters: {} })).rejects.toThrow(
      /exceeded the result size limit: narrow the time range/,
    );
  });

  it('answer correctly after a failed read on the same reader', async () => {
    // One query at a time: the pool hands back the reader the failed read just used.
    for (let round = 0; round < 3; round++) {
      await expect(warehouse.query({ sql: 'SELECT x FROM t', parameters: {} })).rejects.toThrow(
        /result size limit/,
      );
      expect(await warehouse.query({ sql: 'SELECT count() AS n FROM t', parameters: {} })).toEqual([
        { n: '5000' },
      ]);
    }
  });

  it('run typed parameters and quote 64-bit integers', async () => {
    const rows = await warehouse.query({
      sql: 'SELECT count() AS n, {p0:String} AS s FROM t WHERE x < {p1:UInt64}',
      parameters: { p0: "it's", p1: 10 },
    });
    expect(rows).toEqual([{ n: '10', s: "it's" }]);
  });

  it('serve concurrent reads', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        warehouse.query({ sql: 'SELECT count() AS n FROM t WHERE x < {p0:UInt64}', parameters: { p0: i } }),
      ),
    );
    expect(results.map((rows) => rows[0]?.n)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
  });
});

describe('a warehouse that is not there', () => {
  it('is temporarily unavailable, not a stack trace', async () => {
    const remote = createWarehouse({
      kind: 'remote',
      url: 'http://127.0.0.1:9',
      user: undefined,
      password: undefined,
      database: undefined,
      readers: 1,
      limits: LIMITS,
    });
    try {
      await expect(remote.query({ sql: 'SELECT 1', parameters: {} })).rejects.toThrow(
        /^The warehouse is temporarily unavailable; try again in a moment$/,
      );
      await expect(remote.ping()).rejects.toThrow(/temporarily unavailable/);
    } finally {
      await remote.close();
    }
  });
});
