import { describe, expect, it } from 'vitest';
import type { Forecast } from '../../src/analysis/forecast.js';
import {
  type CampaignRun,
  drawResponses,
  estimatedResponses,
  fitChurnResponse,
  fitSignupResponses,
  jumpAt,
  signupFactor,
} from '../../src/analysis/interventions.js';
import { leastSquares } from '../../src/analysis/statistics.js';
import { projectStock } from '../../src/analysis/stock-flow.js';

const WEEK = [0.9, 0.9, 0.95, 1, 1.1, 1.2, 1.0];

describe('least squares', () => {
  it('matches numpy.linalg.lstsq and σ²(XᵀX)⁻¹', () => {
    // x = [[1,0.5,2],[1,1.5,1],[1,2.5,0.5],[1,3,3],[1,4.5,2.5],[1,5,0],[1,6.5,1.5]], y as below:
    // numpy 1.26: b = [-0.19756026, 1.08477366, 0.5324515], s² = 0.03250881834, se = [0.17885642, 0.03533587, 0.06856713].
    const x = [
      [1, 0.5, 2],
      [1, 1.5, 1],
      [1, 2.5, 0.5],
      [1, 3, 3],
      [1, 4.5, 2.5],
      [1, 5, 0],
      [1, 6.5, 1.5],
    ];
    const fit = leastSquares(x, [1.2, 2.1, 2.9, 4.8, 5.9, 5.1, 7.7]);
    expect(fit?.coefficients[0]).toBeCloseTo(-0.19756026, 7);
    expect(fit?.coefficients[1]).toBeCloseTo(1.08477366, 7);
    expect(fit?.coefficients[2]).toBeCloseTo(0.5324515, 7);
    expect(fit?.sigma2).toBeCloseTo(0.03250881834, 9);
    expect(Math.sqrt(fit?.covariance[1]?.[1] ?? 0)).toBeCloseTo(0.03533587, 7);
    expect(Math.sqrt(fit?.covariance[2]?.[2] ?? 0)).toBeCloseTo(0.06856713, 7);
    // Two identical columns cannot be told apart.
    expect(
      leastSquares(
        x.map((row) => [row[1] ?? 0, row[1] ?? 0]),
        [1, 2, 3, 4, 5, 6, 7],
      ),
    ).toBeUndefined();
  });
});

describe("the churn rate's answer to a price change", () => {
  it('recovers a planted jump, its shape and a lasting shift exactly from noise-free days', () => {
    // +10% price on day 200: the rate is multiplied by 1 + 10·(0.05·e^(−k/10) + 0.002) k days after.
    const rates = Array.from({ length: 365 }, (_, t) => {
      const k = t - 200;
      return 0.002 * (WEEK[t % 7] ?? 1) * (k < 0 ? 1 : 1 + 10 * (0.05 * Math.exp(-k / 10) + 0.002));
    });
    const response = fitChurnResponse(rates, [{ step: 200, pct: 10 }]);
    const best = response?.fits[0];
    expect(best?.shape).toEqual({ kind: 'fading', days: 10 });
    expect(best?.weight).toBeGreaterThan(0.99);
    expect(best?.peak.value).toBeCloseTo(0.05, 9);
    expect(best?.lasting.value).toBeCloseTo(0.002, 9);
  });

  it('keeps every future a half-seen jump allows: one that ends soon and one that lasts', () => {
    // A billing-month step (+20% price, rate ×2 for 30 days), seen for only 16 days, with ±5% daily noise.
    const noise = (t: number) => 1 + 0.05 * ((Math.sin(t * 12.9898) * 43758.5453) % 1);
    const rates = Array.from(
      { length: 216 },
      (_, t) => 0.002 * (WEEK[t % 7] ?? 1) * (t >= 200 ? 2 : 1) * noise(t),
    );
    const response = fitChurnResponse(rates, [{ step: 200, pct: 20 }]);
    const fits = response?.fits ?? [];
    const ending = fits.filter(
      (fit) => fit.shape.kind === 'step' && fit.shape.days >= 21 && fit.lasting.value === 0,
    );
    const lasting = fits.filter((fit) => fit.lasting.value > 0.03);
    expect(ending.length).toBeGreaterThan(0);
    expect(lasting.length).toBeGreaterThan(0);
    // The data cannot tell them apart, so both keep a share of the sample paths (every shape has the same
    // prior, and more shapes with a lasting shift fit, so the lasting account gets most of it).
    expect(ending.reduce((sum, fit) => sum + fit.weight, 0)).toBeGreaterThan(0.01);
    expect(lasting.reduce((sum, fit) => sum + fit.weight, 0)).toBeGreaterThan(0.5);
  });

  it('says nothing without a change that has days around it', () => {
    const rates = Array.from({ length: 100 }, () => 0.002);
    expect(fitChurnResponse(rates, [{ step: 95, pct: 10 }])).toBeUndefined();
    expect(fitChurnResponse(rates, [{ step: 10, pct: 10 }])).toBeUndefined();
    expect(fitChurnResponse(rates, [])).toBeUndefined();
  });
});

describe("sign-ups' answer to campaigns and price", () => {
  it('recovers each campaign its own lift and a price shift exactly, through growth and the weekday pattern', () => {
    const national: CampaignRun = { from: 60, to: 89 };
    const regional: CampaignRun = { from: 150, to: 170 };
    const events = { campaigns: [national, regional], priceChanges: [{ step: 250, pct: 10 }] };
    // log sign-ups = 5 + 0.001·t + weekday + 0.3 (national) + 0.1 (regional) − 0.004 per % of price.
    const signups = Array.from({ length: 365 }, (_, t) =>
      Math.exp(
        5 +
          0.001 * t +
          Math.log(WEEK[t % 7] ?? 1) +
          (t >= 60 && t <= 89 ? 0.3 : 0) +
          (t >= 150 && t <= 170 ? 0.1 : 0) +
          (t >= 250 ? -0.04 : 0),
      ),
    );
    const responses = fitSignupResponses(signups, events);
    expect(responses.campaignLifts?.get(national)).toBeCloseTo(0.3, 9);
    expect(responses.campaignLifts?.get(regional)).toBeCloseTo(0.1, 9);
    // A new campaign: the mean lift, uncertain by how much campaigns differ (sd of 0.3 and 0.1).
    expect(responses.signupsPerCampaign?.value).toBeCloseTo(0.2, 9);
    expect(responses.signupsPerCampaign?.se).toBeCloseTo(Math.sqrt(0.02), 9);
    expect(responses.signupsPerPricePct?.value).toBeCloseTo(-0.004, 9);
  });

  it('expects a scheduled campaign to lift as past ones of its kind did', () => {
    // Three national campaigns lift log sign-ups 0.3, 0.25 and 0.35; two regional ones 0.05 and 0.07.
    const planted: [CampaignRun, number][] = [
      [{ from: 20, to: 40, kind: 'ALL' }, 0.3],
      [{ from: 60, to: 75, kind: 'EMEA' }, 0.05],
      [{ from: 100, to: 130, kind: 'ALL' }, 0.25],
      [{ from: 160, to: 180, kind: 'EMEA' }, 0.07],
      [{ from: 220, to: 250, kind: 'ALL' }, 0.35],
    ];
    const signups = Array.from({ length: 365 }, (_, t) =>
      Math.exp(
        5 +
          0.0005 * t +
          Math.log(WEEK[t % 7] ?? 1) +
          planted.reduce((sum, [run, lift]) => sum + (t >= run.from && t <= run.to ? lift : 0), 0),
      ),
    );
    const events = { campaigns: planted.map(([run]) => run), priceChanges: [] };
    const responses = fitSignupResponses(signups, events);
    // By kind, the mean of its campaigns' lifts; the spread of three national ones is their own sd (0.05), two
    // regional ones are too few to tell and take the spread of all five (sd of 0.3, 0.05, 0.25, 0.07, 0.35).
    const all = [0.3, 0.05, 0.25, 0.07, 0.35];
    const mean = all.reduce((a, b) => a + b) / all.length;
    const sdAll = Math.sqrt(all.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (all.length - 1));
    expect(responses.campaignKinds?.get('ALL')?.value).toBeCloseTo(0.3, 9);
    expect(responses.campaignKinds?.get('ALL')?.se).toBeCloseTo(0.05, 9);
    expect(responses.campaignKinds?.get('ALL')?.campaigns).toBe(3);
    expect(responses.campaignKinds?.get('EMEA')?.value).toBeCloseTo(0.06, 9);
    expect(responses.campaignKinds?.get('EMEA')?.se).toBeCloseTo(sdAll, 9);
    // Scheduled campaigns: a regional one lifts e^0.06, a national one e^0.3, one of a kind never seen e^mean.
    const estimate = estimatedResponses(responses);
    const scheduled = (kind?: string) =>
      signupFactor({ campaigns: [{ from: 400, to: 420, kind }], priceChanges: [] }, estimate, 410);
    expect(scheduled('EMEA')).toBeCloseTo(Math.exp(0.06), 9);
    expect(scheduled('ALL')).toBeCloseTo(Math.exp(0.3), 9);
    expect(scheduled('APAC')).toBeCloseTo(Math.exp(mean), 9);
    expect(scheduled()).toBeCloseTo(Math.exp(mean), 9);
    // A sample path draws every kind with one shared deviate: N(0, 1) = 1 puts each kind one spread above.
    const draw = drawResponses(responses, () => 1);
    expect(draw.campaignKinds.get('ALL')).toBeCloseTo(0.35, 9);
    expect(draw.campaignKinds.get('EMEA')).toBeCloseTo(0.06 + sdAll, 9);
  });
});

describe('a price scenario from the estimated response', () => {
  it('moves the stock as the recursion with the estimated churn multiplier does', () => {
    const horizon = 60;
    const flat = (value: number): Forecast => ({
      mean: new Array(horizon).fill(value),
      intervals: { 80: { lower: [], upper: [] }, 95: { lower: [], upper: [] } },
      model: 'flat',
      simulate: () => new Array(horizon).fill(value),
    });
    const shape = { kind: 'step' as const, days: 30 };
    const flows = {
      inflow: flat(1_000),
      churnRate: flat(0.002),
      known: {
        events: { priceChanges: [], campaigns: [] },
        days: 365,
        responses: {
          churn: {
            changes: 1,
            fits: [
              {
                peak: { value: 0.05, se: 0 },
                lasting: { value: 0.001, se: 0 },
                correlation: 0,
                shape,
                weight: 1,
              },
            ],
          },
          signupsPerPricePct: { value: -0.003, se: 0 },
        },
      },
    };
    const path = projectStock(400_000, flows, horizon, { priceChange: { pct: 10, from: 5 } });
    // The oracle: active(t) = active(t − 1) + new(t) − rate(t)·active(t − 1), from day 5 on with
    // new × e^(−0.003·10) and rate × (1 + 10·(0.05·[k < 30] + 0.001)).
    let stock = 400_000;
    for (let i = 0; i < horizon; i++) {
      const k = i - 5;
      const signups = 1_000 * (k >= 0 ? Math.exp(-0.03) : 1);
      const rate = 0.002 * (k >= 0 ? 1 + 10 * (0.05 * jumpAt(shape, k) + 0.001) : 1);
      stock = stock + signups - rate * stock;
      expect(path.mean[i]).toBeCloseTo(stock, 6);
    }
  });
});
