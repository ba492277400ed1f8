import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROKEN_SPLIT } from '../../fixtures/profiles.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { type CompareCampaignsOutput, callers, callTool, toolErrorText } from '../helpers.js';

let warehouse: Warehouse;
let vp: Client;
let latam: Client;
let borealis: Client;
let close: () => Promise<void>;

beforeAll(async () => {
  const setup = await callers({
    vp: { tenant: 'aurora', roles: ['vp'] },
    latam: { tenant: 'aurora', roles: ['latam_analyst'] },
    borealis: { tenant: 'borealis' },
  });
  ({ warehouse, close } = setup);
  ({ vp, latam, borealis } = setup.clients);
});

afterAll(async () => {
  await close?.();
});

type Campaign = CompareCampaignsOutput['campaigns'][number];
/** The output, with its two campaigns (A, then B) as a pair. */
type Comparison = Omit<CompareCampaignsOutput, 'campaigns'> & { campaigns: [Campaign, Campaign] };

async function compare(client: Client, args: Record<string, unknown>): Promise<Comparison> {
  const result = await callTool(client, args, 'compare_campaigns');
  if (result.isError === true) throw new Error(`tool error: ${result.content[0]?.text}`);
  const output = result.structuredContent as CompareCampaignsOutput;
  expect(output.campaigns).toHaveLength(2);
  return output as Comparison;
}

const sql = (text: string) => warehouse.admin().query(text);
const SPRING = 'aur-c-spring-26';
const WINTER = 'aur-c-winter-25';
const SOCIAL = 'aur-c-match-social';
const SEARCH = 'aur-c-match-search';

/** Relative agreement to `digits` significant digits. */
function expectSignificant(actual: number | undefined, expected: number, digits = 4): void {
  expect(actual).toBeDefined();
  expect(Math.abs((actual as number) - expected)).toBeLessThanOrEqual(Math.abs(expected) * 10 ** -digits);
}

describe('the planted campaign pairs', () => {
  it('calls the real difference: Spring Binge 2026 beat Winter Warmers 2025', async () => {
    const out = await compare(vp, { campaign_a: SPRING, campaign_b: WINTER });
    expect(out.verdict).toBe('A better');
    expect(out.confidence).toBe(0.95);
    expect(out.tests.conversion_rate?.significant).toBe(true);
    expect(out.summary).toMatch(/^Verdict: A better \(95% confidence\)/);
    const swapped = await compare(vp, { campaign_a: WINTER, campaign_b: SPRING });
    expect(swapped.verdict).toBe('B better');
    expect(swapped.tests.conversion_rate?.difference).toBeCloseTo(
      -(out.tests.conversion_rate?.difference ?? 0),
      9,
    );
  });

  it('refuses to call the noise pair', async () => {
    const out = await compare(vp, { campaign_a: SOCIAL, campaign_b: SEARCH });
    expect(out.verdict).toBe('no significant difference');
    expect(out.tests.conversion_rate?.p_value).toBeGreaterThan(0.05);
    expect(out.summary).toMatch(/^Verdict: no significant difference at 95% confidence/);
    expect(out.summary).toMatch(/detect differences of about 1\.16 pp or more/);
    // Even at a lax confidence level the noise stays noise.
    expect((await compare(vp, { campaign_a: SOCIAL, campaign_b: SEARCH, confidence: 0.8 })).verdict).toBe(
      'no significant difference',
    );
  });

  it('counts the funnel, retention and lift as hand-written SQL does', async () => {
    const out = await compare(vp, { campaign_a: SPRING, campaign_b: WINTER });
    const rows =
      await sql(`SELECT campaign_id, exposure_group, count() AS reach, sum(impressions) AS impressions,
      sum(clicked) AS clicks, sum(trial_started) AS trials, sum(converted) AS conversions,
      count(retained_30d) AS cohort, sum(retained_30d) AS retained
      FROM campaign_exposures WHERE tenant_id = 'aurora' AND campaign_id IN ('${SPRING}', '${WINTER}')
      GROUP BY campaign_id, exposure_group`);
    const [spend] = await sql(
      `SELECT spend FROM campaigns WHERE tenant_id = 'aurora' AND campaign_id = '${SPRING}'`,
    );
    for (const campaign of out.campaigns) {
      const arm = (group: string) =>
        rows.find((row) => row.campaign_id === campaign.campaign_id && row.exposure_group === group) ?? {};
      const treatment = arm('treatment');
      for (const metric of ['reach', 'impressions', 'clicks', 'trials', 'conversions'])
        expect(campaign.funnel[metric]).toBe(Number(treatment[metric]));
      expect(campaign.holdout?.units).toBe(Number(arm('holdout').reach));
      expect(campaign.holdout?.conversions).toBe(Number(arm('holdout').conversions));
      expect(campaign.retention).toMatchObject({
        days: 30,
        cohort: Number(treatment.cohort),
        retained: Number(treatment.retained),
      });
    }
    const [spring] = out.campaigns;
    expect(spring.spend).toBe(Number(spend?.spend));
    expect(spring.cost_per_acquisition).toBeCloseTo(
      Number(spend?.spend) / (spring.funnel.conversions ?? 1),
      2,
    );
    expect(spring).toMatchObject({ name: 'Spring Binge 2026', launch: '2026-04-01', end: '2026-05-15' });
    expect(spring.lift?.significant).toBe(true);
    expect(spring.split?.mismatch).toBe(false);
  });

  it('measures watch time per converted subscriber as hand-written SQL does', async () => {
    const out = await compare(vp, { campaign_a: SPRING, campaign_b: WINTER });
    const rows = await sql(`SELECT c, count() AS n, avg(w) AS mean, stddevSamp(w) AS sd FROM (
        SELECT e.campaign_id AS c, e.user_id AS u,
          sumIf(v.watch_seconds, v.event_date >= e.converted_date AND v.event_date < e.converted_date + 28) / 60 AS w
        FROM (SELECT campaign_id, user_id, converted_date FROM campaign_exposures WHERE tenant_id = 'aurora'
              AND exposure_group = 'treatment' AND converted_date IS NOT NULL AND campaign_id IN ('${SPRING}', '${WINTER}')) AS e
        LEFT JOIN (SELECT user_id, event_date, watch_seconds FROM viewing_events WHERE tenant_id = 'aurora') AS v
          ON e.user_id = v.user_id
        GROUP BY c, u) GROUP BY c`);
    for (const campaign of out.campaigns) {
      const row = rows.find((r) => r.c === campaign.campaign_id);
      expect(campaign.engagement?.units).toBe(Number(row?.n));
      expect(campaign.engagement?.mean).toBeCloseTo(Number(row?.mean), 2);
      expect(campaign.engagement?.sd).toBeCloseTo(Number(row?.sd), 2);
    }
    // Converted subscribers are real viewers: most of them watched something.
    expect(out.campaigns[0].engagement?.mean).toBeGreaterThan(10);
  });
});

/**
 * Reference values from scipy 1.10.1 (Debian python3-scipy; the Welch figures from scipy 1.17.1, recomputed when
 * the fixture's viewer pool began to grow with its subscribers) on the counts and per-subscriber minutes of the
 * fixture at test scale: two-proportion z-test (stats.norm) with Newcombe's hybrid score interval (Wilson bounds
 * from stats.norm.ppf, method 10 of Newcombe 1998), stats.ttest_ind(equal_var=False)
 * with its confidence_interval(0.95), stats.chisquare, and the minimum detectable difference
 * (norm.ppf(0.975) + norm.ppf(0.8)) * sqrt(p(1 − p)(1/nA + 1/nB)).
 */
describe('statistics against scipy', () => {
  it('conversion-rate z-test, its interval and the lift over holdout', async () => {
    const out = await compare(vp, { campaign_a: SPRING, campaign_b: WINTER });
    const test = out.tests.conversion_rate;
    expectSignificant(test?.z, 4.602090912891317);
    expectSignificant(test?.p_value, 4.182705447599031e-6);
    expectSignificant(test?.interval[0], 0.00878671584959486);
    expectSignificant(test?.interval[1], 0.021829777052873926);
    expectSignificant(out.campaigns[0].lift?.p_value, 2.437956292499454e-6);
    // Treatment 539/8971 against its holdout 25/1029.
    expectSignificant(out.campaigns[0].lift?.interval[0], 0.02351397596034062);
    expectSignificant(out.tests.retention?.p_value, 0.9287393460384963);
  });

  it('Welch t-test of watch time per converted subscriber', async () => {
    const planted = await compare(vp, { campaign_a: SPRING, campaign_b: WINTER });
    expectSignificant(planted.tests.engagement?.t, -1.6050604351366862);
    expectSignificant(planted.tests.engagement?.p_value, 0.10883665488721846);
    expectSignificant(planted.tests.engagement?.interval[0], -26.92359379262411);
    expectSignificant(planted.tests.engagement?.interval[1], 2.6984926090363555);
    const noise = await compare(vp, { campaign_a: SOCIAL, campaign_b: SEARCH });
    expectSignificant(noise.tests.engagement?.t, 0.3239272395427019);
    expectSignificant(noise.tests.engagement?.p_value, 0.7461246890151452);
    expectSignificant(noise.minimum_detectable_difference ?? undefined, 0.011611729966878988);
    expectSignificant(noise.tests.conversion_rate?.p_value, 0.2823330715136646);
  });

  it('flags the planted sample ratio mismatch, and only it', async () => {
    const out = await compare(vp, { campaign_a: BROKEN_SPLIT.id, campaign_b: SPRING });
    const [broken, fine] = out.campaigns;
    expect(broken.split?.mismatch).toBe(true);
    expectSignificant(broken.split?.chi_square, 30.61777777777778, 3);
    expectSignificant(broken.split?.p_value, 3.1420153700490085e-8);
    expect(fine.split?.mismatch).toBe(false);
    expectSignificant(fine.split?.p_value, 0.33371069574356327);
    expect(out.warnings.join(' ')).toMatch(/Sample ratio mismatch in A \("aur-c-05"\).*planned 10%/);
  });
});

describe('too little data', () => {
  it('gives no verdict when a campaign has too few conversions', async () => {
    const out = await compare(vp, { campaign_a: SPRING, campaign_b: WINTER, country: 'SE' });
    expect(out.verdict).toBe('not enough data');
    expect(out.warnings[0]).toMatch(/^No verdict: .*at least 30 per campaign are needed/);
    expect(out.summary).toMatch(/^Verdict: not enough data/);
    expect(out.filters).toEqual([{ argument: 'country', dimension: 'exposure_country', values: ['SE'] }]);
  });
});

describe('days since launch', () => {
  it('aligns both campaigns on their own launch and pages through every day once', async () => {
    const whole = await compare(vp, { campaign_a: SPRING, campaign_b: WINTER, limit: 400 });
    expect(whole.page.next_cursor).toBeNull();
    const last = whole.aligned.at(-1);
    expect(last?.a_reach).toBe(whole.campaigns[0].funnel.reach);
    expect(last?.b_conversions).toBe(whole.campaigns[1].funnel.conversions);
    expect(whole.aligned[0]?.days_since_launch).toBe(0);
    const seen: number[] = [];
    let page = await compare(vp, { campaign_a: SPRING, campaign_b: WINTER, limit: 10 });
    for (;;) {
      seen.push(...page.aligned.map((row) => Number(row.days_since_launch)));
      if (page.page.next_cursor === null) break;
      page = await compare(vp, { cursor: page.page.next_cursor });
    }
    expect(seen).toEqual(whole.aligned.map((row) => Number(row.days_since_launch)));
    expect(seen.length).toBeGreaterThan(30);
  });

  it('never lets a row, or the step between two rows, describe fewer than 5 people', async () => {
    const out = await compare(vp, { campaign_a: SPRING, campaign_b: 'aur-c-01', country: 'US', limit: 400 });
    let previous = { a: 0, b: 0 };
    for (const row of out.aligned) {
      for (const side of ['a', 'b'] as const) {
        const step = Number(row[`${side}_reach`]) - previous[side];
        expect(step === 0 || step >= 5).toBe(true);
      }
      previous = { a: Number(row.a_reach), b: Number(row.b_reach) };
    }
  });
});

describe('access', () => {
  it('a LATAM analyst only counts people reached in LATAM, and sees no campaign spend', async () => {
    const out = await compare(latam, { campaign_a: SPRING, campaign_b: WINTER });
    const rows = await sql(`SELECT campaign_id, count() AS reach FROM campaign_exposures
      WHERE tenant_id = 'aurora' AND exposure_group = 'treatment' AND campaign_id IN ('${SPRING}', '${WINTER}')
        AND country_code IN (SELECT country_code FROM markets WHERE tenant_id = 'aurora' AND region = 'LATAM')
      GROUP BY campaign_id`);
    for (const campaign of out.campaigns) {
      expect(campaign.funnel.reach).toBe(
        Number(rows.find((r) => r.campaign_id === campaign.campaign_id)?.reach),
      );
      expect(campaign.spend).toBeNull();
    }
    expect(out.warnings.join(' ')).toMatch(/Spend and cost per acquisition are withheld/);
  });

  it("another tenant's campaigns do not exist for a caller", async () => {
    const text = await toolErrorText(
      borealis,
      { campaign_a: SPRING, campaign_b: WINTER },
      'compare_campaigns',
    );
    expect(text).toMatch(/Unknown campaign "aur-c-spring-26" for campaign_a/);
    expect(text).not.toMatch(/Spring Binge/);
  });
});

describe('the catalogue', () => {
  it('stays under 15 tools, with schemas every JSON Schema draft reads (no tuples)', async () => {
    const { tools } = await vp.listTools();
    expect(tools.length).toBeLessThan(15);
    for (const tool of tools) {
      expect(JSON.stringify(tool.outputSchema ?? {})).not.toMatch(/prefixItems|"items":false/);
      expect(tool.description?.length ?? 0).toBeGreaterThan(80);
    }
    const compareTool = tools.find((tool) => tool.name === 'compare_campaigns');
    expect(compareTool?.description).toMatch(/campaign ids \(from list_campaigns\), not names/);
  });
});

describe('arguments models get wrong', () => {
  it.each([
    [
      { campaign_a: 'Spring Binge 2026', campaign_b: WINTER },
      /campaign_a: "Spring Binge 2026" is a campaign name, not an id; pass campaign_a: "aur-c-spring-26"/,
    ],
    [
      { campaign_a: SPRING, campaign_b: 'winter warmers 2025' },
      /campaign_b: "winter warmers 2025" is a campaign name, not an id; pass campaign_b: "aur-c-winter-25"/,
    ],
    [
      { campaign_a: 'aur-c-sprng-26', campaign_b: WINTER },
      /Unknown campaign "aur-c-sprng-26" for campaign_a: did you mean "aur-c-spring-26"\? .*list_campaigns/,
    ],
    [
      { campaign_a: 'Spring Bing', campaign_b: WINTER },
      /Unknown campaign "Spring Bing" for campaign_a: did you mean "aur-c-spring-26" \("Spring Binge 2026"\)\?/,
    ],
    [{ campaign_a: SPRING, campaign_b: SPRING }, /campaign_b is the same campaign as campaign_a/],
    [
      { campaign_a: SPRING, campaign_b: WINTER, country: 'Brazil' },
      /Unknown country value "Brazil"; allowed: .*BR/,
    ],
    [
      { campaign_a: SPRING, campaign_b: WINTER, country: 'UY' },
      /Unknown country value "UY": did you mean "US"\?/,
    ],
    [
      { campaign_a: SPRING, campaign_b: WINTER, region: 'LATM' },
      /Unknown region value "LATM": did you mean "LATAM"\?/,
    ],
    [{ campaign_a: SPRING }, /campaign_b/],
    [{ campaign_a: SPRING, campaign_b: WINTER, confidence: 95 }, /confidence/],
  ])('%j', async (args, message) => {
    expect(await toolErrorText(vp, args, 'compare_campaigns')).toMatch(message);
  });
});
