import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROKEN_SPLIT, PLANNED_HOLDOUT_SHARE } from '../fixtures/profiles.js';
import { seedFixtures } from '../fixtures/seed-fixtures.js';
import type { Warehouse } from '../src/warehouse/warehouse.js';
import { seededWarehouse, TEST_SCALE } from './helpers.js';

let warehouse: Warehouse;
let remove: () => Promise<void>;
beforeAll(async () => {
  ({ warehouse, remove } = await seededWarehouse());
});
afterAll(async () => {
  await remove?.();
});

const sql = (text: string) => warehouse.admin().query(text);

/** Two-proportion z statistic of treatment conversion between two campaigns. */
async function conversionZ(a: string, b: string): Promise<number> {
  const rows = await sql(`SELECT campaign_id, count() AS n, sum(converted) AS k FROM campaign_exposures
    WHERE exposure_group = 'treatment' AND campaign_id IN ('${a}', '${b}') GROUP BY campaign_id`);
  const get = (id: string) => {
    const row = rows.find((r) => r.campaign_id === id);
    return { n: Number(row?.n), p: Number(row?.k) / Number(row?.n) };
  };
  const x = get(a);
  const y = get(b);
  return (x.p - y.p) / Math.sqrt((x.p * (1 - x.p)) / x.n + (y.p * (1 - y.p)) / y.n);
}

describe('the fixture warehouse', () => {
  it('covers three tenants over 2024-11-01..2026-10-31 at the asked scale', async () => {
    const rows =
      await sql(`SELECT tenant_id, count() AS views, min(event_date) AS first, max(event_date) AS last,
      uniqExact(country_code) AS countries, uniqExact(device) AS devices, uniqExact(plan) AS plans
      FROM viewing_events GROUP BY tenant_id ORDER BY tenant_id`);
    expect(rows.map((r) => r.tenant_id)).toEqual(['aurora', 'borealis', 'cascade']);
    const total = rows.reduce((sum, r) => sum + Number(r.views), 0);
    expect(Math.abs(total - TEST_SCALE * 1_000_000)).toBeLessThan(TEST_SCALE * 1_000_000 * 0.01);
    for (const row of rows) {
      expect(row).toMatchObject({ first: '2024-11-01', last: '2026-10-31' });
      expect([Number(row.devices), Number(row.plans)]).toEqual([6, 3]);
    }
    expect(Number(rows[0]?.countries)).toBe(25);
    const [campaigns] = await sql('SELECT count() AS n, uniqExact(channel) AS channels FROM campaigns');
    expect(Number(campaigns?.n)).toBeGreaterThanOrEqual(36);
  });

  it('has repeat viewers and a weekly rhythm', async () => {
    const [viewers] = await sql(
      `SELECT count() / uniqExact(user_id) AS per_viewer FROM viewing_events WHERE tenant_id = 'aurora'`,
    );
    expect(Number(viewers?.per_viewer)).toBeGreaterThan(10);
    const days = await sql(
      `SELECT toDayOfWeek(event_date) AS dow, count() AS views FROM viewing_events GROUP BY dow ORDER BY dow`,
    );
    const [tuesday, saturday] = [Number(days[1]?.views), Number(days[5]?.views)];
    expect(saturday / tuesday).toBeGreaterThan(1.2);
  });

  it('plants a real conversion difference and a noise one', async () => {
    expect(await conversionZ('aur-c-spring-26', 'aur-c-winter-25')).toBeGreaterThan(3);
    expect(Math.abs(await conversionZ('aur-c-match-social', 'aur-c-match-search'))).toBeLessThan(1.96);
    const [lift] =
      await sql(`SELECT avgIf(converted, exposure_group = 'treatment') - avgIf(converted, exposure_group = 'holdout') AS lift
      FROM campaign_exposures WHERE campaign_id = 'aur-c-spring-26'`);
    expect(Number(lift?.lift)).toBeGreaterThan(0.02);
  });

  it('plants a broken holdout split in one campaign only', async () => {
    const rows = await sql(`SELECT campaign_id, countIf(exposure_group = 'holdout') / count() AS share
      FROM campaign_exposures GROUP BY campaign_id`);
    for (const row of rows) {
      const share = Number(row.share);
      if (row.campaign_id === BROKEN_SPLIT.id) expect(share).toBeGreaterThan(0.125);
      else expect(Math.abs(share - PLANNED_HOLDOUT_SHARE)).toBeLessThan(0.025);
    }
  });

  it('draws converted people from the real viewers of the campaign region, each once per campaign', async () => {
    const [row] = await sql(`SELECT count() AS people, uniqExact(campaign_id, user_id) AS distinct_people,
        countIf(user_id IN (SELECT user_id FROM viewing_events)) AS viewers,
        countIf(retained_30d IS NOT NULL) AS cohort
      FROM campaign_exposures WHERE converted = 1`);
    expect(Number(row?.distinct_people)).toBe(Number(row?.people));
    expect(Number(row?.viewers) / Number(row?.people)).toBeGreaterThan(0.95);
    expect(Number(row?.cohort)).toBeGreaterThan(0.9 * Number(row?.people));
    const [outside] = await sql(`SELECT count() AS n FROM campaign_exposures AS e
      INNER JOIN campaigns AS c ON e.tenant_id = c.tenant_id AND e.campaign_id = c.campaign_id
      INNER JOIN markets AS m ON e.tenant_id = m.tenant_id AND e.country_code = m.country_code
      WHERE c.target_region != 'ALL' AND m.region != c.target_region`);
    expect(Number(outside?.n)).toBe(0);
  });

  it('plants a churn spike after the aurora price change of 2026-03-01', async () => {
    const churn = async (tenant: string, from: string, to: string) => {
      const [row] =
        await sql(`SELECT sum(churned_subscribers) / sum(active_subscribers) AS rate FROM subscriptions_daily
        WHERE tenant_id = '${tenant}' AND plan IN ('standard', 'premium') AND date BETWEEN '${from}' AND '${to}'`);
      return Number(row?.rate);
    };
    expect(
      (await churn('aurora', '2026-03-01', '2026-03-14')) /
        (await churn('aurora', '2026-02-01', '2026-02-14')),
    ).toBeGreaterThan(2);
    expect(
      (await churn('borealis', '2026-03-01', '2026-03-14')) /
        (await churn('borealis', '2026-02-01', '2026-02-14')),
    ).toBeLessThan(1.3);
    const [change] = await sql(
      `SELECT count() AS n FROM price_changes WHERE tenant_id = 'aurora' AND effective_date = '2026-03-01'`,
    );
    expect(Number(change?.n)).toBe(2);
  });

  it('keeps subscriber stocks and flows consistent', async () => {
    const [broken] =
      await sql(`SELECT countIf(active_subscribers != previous + new_subscribers - churned_subscribers) AS n FROM (
      SELECT active_subscribers, new_subscribers, churned_subscribers, row_number() OVER w AS i,
        lagInFrame(active_subscribers) OVER w AS previous
      FROM subscriptions_daily WINDOW w AS (PARTITION BY tenant_id, country_code, plan ORDER BY date ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
    ) WHERE i > 1`);
    expect(Number(broken?.n)).toBe(0);
  });

  it('is deterministic: seeding again gives the same rows', async () => {
    const checksum = async () => {
      const rows = await sql(`SELECT
        (SELECT sum(cityHash64(tenant_id, event_date, user_id, content_id, device, plan, watch_seconds, completed)) FROM viewing_events) AS events,
        (SELECT sum(cityHash64(campaign_id, user_id, exposure_group, converted)) FROM campaign_exposures) AS exposures,
        (SELECT sum(cityHash64(tenant_id, date, country_code, plan, active_subscribers)) FROM subscriptions_daily) AS subscriptions`);
      return rows[0];
    };
    const before = await checksum();
    await seedFixtures(warehouse.admin(), { scale: TEST_SCALE });
    expect(await checksum()).toEqual(before);
  });
});
