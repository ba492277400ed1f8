import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRICE_CHANGE } from '../../fixtures/profiles.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { callers, callTool, type ForecastSubsOutput, toolErrorText } from '../helpers.js';

let warehouse: Warehouse;
let vp: Client;
let latam: Client;
let close: () => Promise<void>;

beforeAll(async () => {
  const setup = await callers({
    vp: { tenant: 'aurora' },
    latam: { tenant: 'aurora', roles: ['latam_analyst'] },
  });
  ({ warehouse, close } = setup);
  ({ vp, latam } = setup.clients);
});

afterAll(async () => {
  await close?.();
});

async function forecast(client: Client, args: Record<string, unknown>): Promise<ForecastSubsOutput> {
  const result = await callTool(client, args, 'forecast_subs');
  if (result.isError === true) throw new Error(`tool error: ${result.content[0]?.text}`);
  return result.structuredContent as ForecastSubsOutput;
}

const sql = (text: string) => warehouse.admin().query(text);

describe('forecast_subs', () => {
  it('answers "six months out if churn rises a point" with baseline, scenario, intervals and accuracy', async () => {
    const out = await forecast(vp, { horizon: 6, unit: 'months', scenario: { churn_rate_change_points: 1 } });
    const [last] = await sql(`SELECT sum(active_subscribers) AS n FROM subscriptions_daily
      WHERE tenant_id = 'aurora' AND date = (SELECT max(date) FROM subscriptions_daily WHERE tenant_id = 'aurora')`);
    expect(out.current.value).toBe(Number(last?.n));
    // Six calendar months after the last day of data (2026-10-31): 2026-11-01 to 2027-04-30.
    expect(out.horizon).toMatchObject({ from: '2026-11-01', to: '2027-04-30', days: 181 });
    for (const band of [out.baseline, out.scenario]) {
      expect(band).not.toBeNull();
      const b = band as ForecastSubsOutput['baseline'];
      expect(b.lower95).toBeLessThanOrEqual(b.lower80);
      expect(b.lower80).toBeLessThanOrEqual(b.mean);
      expect(b.mean).toBeLessThanOrEqual(b.upper80);
      expect(b.upper80).toBeLessThanOrEqual(b.upper95);
    }
    // One more point of monthly churn on about 4.4 M subscribers for six months costs a few hundred thousand.
    expect(out.difference).toBeLessThan(-100_000);
    expect(out.difference).toBeGreaterThan(-400_000);
    expect(out.accuracy).not.toBeNull();
    expect(out.accuracy?.mase).toBeLessThan(out.accuracy?.seasonal_naive_mase as number);
    expect(out.summary).toMatch(/Backtest on this series \(3 origins, 28 days ahead\): MASE/);
    expect(out.accuracy?.coverage95).toBeGreaterThan(0.8);
    expect(out.rows.at(-1)?.date).toBe(out.horizon.to);
    expect(out.rows.length).toBeLessThanOrEqual(60);
  });

  it('warns on the planted price-change break, and answers the same question the same way', async () => {
    const out = await forecast(vp, {});
    expect((await forecast(vp, {})).baseline).toEqual(out.baseline);
    expect(out.warnings.join(' ')).toContain(`The series broke on ${PRICE_CHANGE.date}`);
    expect(out.scenario).toBeNull();
  });

  it('moves the forecast the right way for each kind of scenario', async () => {
    const base = (await forecast(vp, { horizon: 60, unit: 'days' })).baseline.mean;
    const cases: [Record<string, unknown>, 1 | -1][] = [
      [{ churn_rate_change_pct: 20 }, -1],
      [{ acquisition_change_pct: 20 }, 1],
      [{ price_change_pct: 10 }, -1],
      [{ campaign_uplift_pct: 50 }, 1],
    ];
    for (const [scenario, direction] of cases) {
      const out = await forecast(vp, { horizon: 60, unit: 'days', scenario });
      expect(out.baseline.mean).toBe(base);
      expect(Math.sign(out.difference ?? 0)).toBe(direction);
    }
  });

  it('forecasts only what a row policy lets the caller see', async () => {
    const out = await forecast(latam, { horizon: 4, unit: 'weeks' });
    const [last] = await sql(`SELECT sum(active_subscribers) AS n FROM subscriptions_daily
      WHERE tenant_id = 'aurora' AND date = '${out.current.date}'
        AND country_code IN (SELECT country_code FROM markets WHERE tenant_id = 'aurora' AND region = 'LATAM')`);
    expect(out.current.value).toBe(Number(last?.n));
  });
});

describe('arguments models get wrong', () => {
  it.each([
    [{ horizon: 400, unit: 'days' }, /horizon/],
    [{ horizon: 13, unit: 'months' }, /horizon is 396 days; at most 366 days/],
    [{ country: 'Brasil' }, /Unknown country value "Brasil"/],
    [{ plan: 'premum' }, /Unknown plan value "premum": did you mean "premium"\?/],
    [
      { scenario: { campaign_uplift_pct: 20, campaign_start: '2026-12-20', campaign_end: '2026-12-01' } },
      /scenario.campaign_start "2026-12-20" is after campaign_end "2026-12-01"; swap them/,
    ],
    [
      { scenario: { price_change_pct: 10, price_change_date: '2025-01-01' } },
      /scenario.price_change_date "2025-01-01" is outside the forecast/,
    ],
    [{ scenario: { churn: 1 } }, /churn/],
  ])('%j', async (args, message) => {
    expect(await toolErrorText(vp, args, 'forecast_subs')).toMatch(message);
  });
});
