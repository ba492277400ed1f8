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
    // The history a chart draws: the stock every 7 days, ending on the last day of data.
    const weekly = out.history.weekly;
    expect(weekly.at(-1)).toEqual({ date: out.current.date, value: out.current.value });
    expect(weekly).toHaveLength(Math.ceil(out.history.days / 7));
    const [week] = await sql(`SELECT sum(active_subscribers) AS n FROM subscriptions_daily
      WHERE tenant_id = 'aurora' AND date = toDate('${out.current.date}') - 7`);
    expect(weekly.at(-2)?.value).toBe(Number(week?.n));
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
    // One more point of monthly churn for six months costs, in closed form, 1 − exp(−0.01 × 181 / 30.4375) = 5.8%
    // of the subscribers there are; inflows and the existing churn move that a little either way.
    const closedForm = 1 - Math.exp((-0.01 * 181) / 30.4375);
    expect(-(out.difference as number) / out.current.value).toBeGreaterThan(closedForm * 0.8);
    expect(-(out.difference as number) / out.current.value).toBeLessThan(closedForm * 1.2);
    expect(out.accuracy).not.toBeNull();
    expect(out.accuracy?.mase).toBeLessThan(out.accuracy?.seasonal_naive_mase as number);
    expect(out.summary).toMatch(/Backtest on this series \(3 origins, 28 days ahead\): MASE/);
    expect(out.accuracy?.coverage95).toBeGreaterThan(0.8);
    expect(out.rows.at(-1)?.date).toBe(out.horizon.to);
    expect(out.rows.length).toBeLessThanOrEqual(60);
  });

  it('models the planted price change and the campaigns as interventions, and answers the same way again', async () => {
    const out = await forecast(vp, {});
    expect((await forecast(vp, {})).baseline).toEqual(out.baseline);
    expect(out.scenario).toBeNull();
    // Oracle: the day's summed prices, new over old, by hand-written SQL.
    const [change] = await sql(`SELECT toString(effective_date) AS date,
        round(100 * (sum(new_price) / sum(old_price) - 1), 2) AS pct
      FROM price_changes WHERE tenant_id = 'aurora' GROUP BY effective_date`);
    expect(out.events.prices).toEqual([{ date: PRICE_CHANGE.date, change_pct: Number(change?.pct) }]);
    const [campaigns] = await sql(`SELECT count() AS n FROM campaigns
      WHERE tenant_id = 'aurora' AND end_date >= '${out.history.from}' AND start_date <= '${out.history.to}'`);
    expect(out.events.campaigns).toEqual({ in_history: Number(campaigns?.n), scheduled: 0 });
    const response = out.events.price_response;
    expect(response?.source).toBe('estimated');
    if (response?.source !== 'estimated') return;
    // Planted: the changed plans' churn ran 1 + 2.5·e^(−k/12) times its usual rate. On the whole tenant that is
    // a jump of 2.5 × their share of the day-before churn, per percent of the change.
    const [share] =
      await sql(`SELECT sumIf(churned_subscribers, plan IN ('standard', 'premium')) / sum(churned_subscribers) AS s
      FROM subscriptions_daily WHERE tenant_id = 'aurora'
        AND date BETWEEN toDate('${PRICE_CHANGE.date}') - 28 AND toDate('${PRICE_CHANGE.date}') - 1`);
    const planted = (100 * PRICE_CHANGE.spike * Number(share?.s)) / Number(change?.pct);
    expect(response.churn_jump_pct.value).toBeGreaterThan(0.85 * planted);
    expect(response.churn_jump_pct.value).toBeLessThan(1.15 * planted);
    expect(response.churn_jump_shape).toMatch(/^fades with a half-life of \d/);
    // Sign-ups were not planted to answer price: the interval says so.
    expect(response.signups_pct?.lower95).toBeLessThan(0);
    expect(response.signups_pct?.upper95).toBeGreaterThan(0);
    // A known change is not an unexplained break; the summary says how it was modelled.
    expect(out.warnings.join(' ')).not.toContain('The series broke');
    expect(out.summary).toContain(
      `Price changes (${PRICE_CHANGE.date} +${Number(change?.pct).toFixed(1)}%) are modelled as interventions`,
    );
    // Campaigns by kind (the region they target): the history's campaigns of each, by hand-written SQL.
    const kinds = await sql(`SELECT target_region AS kind, toUInt32(count()) AS n FROM campaigns
      WHERE tenant_id = 'aurora' AND end_date >= '${out.history.from}' AND start_date <= '${out.history.to}'
      GROUP BY kind ORDER BY kind`);
    expect(
      out.events.campaign_lift_by_kind
        .map(({ kind, campaigns }) => ({ kind, n: campaigns }))
        .sort((a, b) => a.kind.localeCompare(b.kind)),
    ).toEqual(kinds.map((row) => ({ kind: row.kind, n: Number(row.n) })));
    // Planted: a campaign lifts its region's sign-ups +30%; a national one (ALL) lifts every market, so the
    // tenant's +30%, a regional one only its region's share of them.
    const lift = (kind: string) =>
      out.events.campaign_lift_by_kind.find((entry) => entry.kind === kind)?.lift_pct.value as number;
    expect(lift('ALL')).toBeGreaterThan(20);
    expect(lift('ALL')).toBeLessThan(40);
    for (const { kind } of out.events.campaign_lift_by_kind)
      if (kind !== 'ALL') expect(lift(kind)).toBeLessThan(lift('ALL'));
    expect(out.summary).toMatch(
      /By kind \(a scheduled campaign is expected to lift as past ones of its kind did\): .*"ALL" \+\d/,
    );
  });

  it('a caller whose policy does not reach price changes and campaigns is told, and sees the break as a break', async () => {
    const out = await forecast(latam, {});
    expect(out.events.withheld).toEqual(['price changes', 'campaigns']);
    expect(out.events.prices).toEqual([]);
    expect(out.summary).toContain('Your access policy does not cover price changes or campaigns');
    // A price scenario then falls back to the default elasticity, and says why: not that there was no change.
    const priced = await forecast(latam, { horizon: 4, unit: 'weeks', scenario: { price_change_pct: 10 } });
    expect(priced.events.price_response).toEqual({ source: 'assumed', elasticity: -0.5 });
    expect(priced.summary).toContain(
      'your access policy does not cover the price changes it could be estimated from',
    );
    expect(priced.summary).not.toContain('this history has no price change');
    expect(out.warnings.join(' ')).toContain(`The series broke on ${PRICE_CHANGE.date}`);
  });

  it("prices a scenario from the tenant's own price change, or from an elasticity the caller gives", async () => {
    const estimated = await forecast(vp, { horizon: 60, unit: 'days', scenario: { price_change_pct: 10 } });
    expect(estimated.events.price_response?.source).toBe('estimated');
    const assumed = await forecast(vp, {
      horizon: 60,
      unit: 'days',
      scenario: { price_change_pct: 10, price_elasticity: -0.5 },
    });
    expect(assumed.events.price_response).toEqual({ source: 'assumed', elasticity: -0.5 });
    expect(assumed.summary).toContain('The price scenario assumes an elasticity of -0.5');
    // The history's jump of churn costs more subscribers within 60 days than a 5% lasting rise does.
    expect(estimated.difference as number).toBeLessThan(assumed.difference as number);
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
