import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TENANTS } from '../fixtures/profiles.js';
import { DEFAULT_SCALE, seedFixtures } from '../fixtures/seed-fixtures.js';
import { seededWarehouse, TEST_SCALE } from './helpers.js';

/** The proportions of the default-scale fixture (its own warehouse: one embedded data directory per process). */
describe('the fixture at the default scale, as a VP would check it', () => {
  let big: Awaited<ReturnType<typeof seededWarehouse>>;
  beforeAll(async () => {
    big = await seededWarehouse(DEFAULT_SCALE);
  }, 120_000);
  afterAll(async () => {
    await big?.remove();
  });
  const bigSql = (text: string) => big.warehouse.admin().query(text);

  it('has about three monthly viewers in four subscribers, every month of every tenant', async () => {
    const months = await bigSql(`SELECT v.tenant_id AS tenant, v.m AS month, viewers / subscribers AS ratio,
        plays / viewers AS plays_per_viewer
      FROM (SELECT tenant_id, toStartOfMonth(event_date) AS m, uniqExact(user_id) AS viewers, count() AS plays
            FROM viewing_events GROUP BY tenant_id, m) AS v
      JOIN (SELECT tenant_id, toStartOfMonth(date) AS m, sum(active_subscribers) / uniqExact(date) AS subscribers
            FROM subscriptions_daily GROUP BY tenant_id, m) AS s ON v.tenant_id = s.tenant_id AND v.m = s.m`);
    expect(months).toHaveLength(3 * 24);
    for (const month of months) {
      expect(Number(month.ratio), `${month.tenant} ${month.month}`).toBeGreaterThan(0.65);
      expect(Number(month.ratio), `${month.tenant} ${month.month}`).toBeLessThan(0.85);
      expect(Number(month.plays_per_viewer)).toBeGreaterThan(1.5);
    }
  });

  it("grows subscribers in the second year at the tenant's stated growth", async () => {
    const rows = await bigSql(`SELECT tenant_id AS tenant,
        sumIf(active_subscribers, date = '2026-10-31') / sumIf(active_subscribers, date = '2025-10-31') - 1 AS growth
      FROM subscriptions_daily GROUP BY tenant_id`);
    for (const tenant of TENANTS) {
      const row = rows.find((r) => r.tenant === tenant.id);
      expect(Math.abs(Number(row?.growth) - tenant.growth), tenant.id).toBeLessThan(0.05);
    }
  });

  it('names each campaign for when it ran', async () => {
    const seasons: [RegExp, number[]][] = [
      [/New Year/, [1]],
      [/Valentine/, [2]],
      [/March Madness/, [3]],
      [/Easter/, [3, 4]],
      [/Summer/, [6, 7, 8]],
      [/Back to School/, [7, 8, 9]],
      [/Halloween/, [10]],
      [/Black Friday|Thanksgiving/, [11]],
      [/Holiday|Year in Review/, [12]],
    ];
    const campaigns = await bigSql(
      'SELECT name, toMonth(start_date) AS month, toYear(start_date) AS year FROM campaigns',
    );
    let seasonal = 0;
    for (const campaign of campaigns) {
      const name = String(campaign.name);
      const year = name.match(/\b(20\d\d)\b/)?.[1];
      if (year !== undefined) expect(Number(year), name).toBe(Number(campaign.year));
      const season = seasons.find(([pattern]) => pattern.test(name));
      if (season === undefined) continue;
      seasonal += 1;
      expect(season[1], `${name} starts in month ${campaign.month}`).toContain(Number(campaign.month));
    }
    expect(seasonal).toBeGreaterThan(20);
  });

  // Last: it reseeds the warehouse at the test scale.
  it('keeps the subscriber book of the default scale at smaller scales', async () => {
    const book = () =>
      bigSql(`SELECT sum(cityHash64(tenant_id, date, country_code, plan, active_subscribers, new_subscribers,
        churned_subscribers)) AS book FROM subscriptions_daily`);
    const atDefault = await book();
    await seedFixtures(big.warehouse.admin(), { scale: TEST_SCALE });
    expect(await book()).toEqual(atDefault);
  });
});
