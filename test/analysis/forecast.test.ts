import { describe, expect, it } from 'vitest';
import { type EtsFit, fitEts, forecastEts, simulateEts } from '../../src/analysis/ets.js';
import { forecastSeries } from '../../src/analysis/forecast.js';
import { normalQuantile } from '../../src/analysis/statistics.js';
import { seededNormal } from '../../src/analysis/stock-flow.js';

/**
 * A fixed series and reference values from R 4.2 with forecast 8.20 (Debian r-cran-forecast), made by:
 *   set.seed(42); n <- 60; lvl <- 100 + cumsum(rnorm(n, 0.3, 1)); y <- round(lvl + rnorm(n, 0, 3), 1)
 *   f1 <- ets(y, model = "ANN", opt.crit = "lik", bounds = "usual")
 *   forecast(f1, h = 4, level = c(80, 95))
 *   f3 <- ets(y, model = "AAN", damped = FALSE, opt.crit = "lik", bounds = "usual")
 */
const Y = [
  100.6, 102, 103.8, 107.2, 101.5, 107.8, 106.7, 109, 111, 110.6, 106.9, 112.4, 113.4, 108.7, 110.1, 114.4,
  115, 111.8, 105.6, 106.5, 114.4, 109.1, 108.7, 109.6, 108.6, 113.9, 111.4, 110.1, 114.2, 113.5, 116, 111.4,
  116.1, 118, 111.3, 110.6, 109.4, 107.8, 110.3, 112.4, 114.5, 114, 108.9, 117, 108.4, 111.5, 109.4, 112,
  112.8, 113.6, 113.8, 113.7, 113.8, 114.7, 111.6, 116, 116.6, 126.6, 111.7, 116.8,
];

function significant(value: number, digits = 4): string {
  return value.toPrecision(digits);
}

function expectClose(actual: number | undefined, expected: number, relative: number): void {
  expect(actual).toBeDefined();
  expect(Math.abs((actual as number) - expected)).toBeLessThanOrEqual(Math.abs(expected) * relative);
}

describe('ETS against R forecast::ets', () => {
  it('ETS(A,N,N): smoothing parameter, residual variance, point forecasts and intervals', () => {
    const fit = fitEts(Y, { trend: 'none', period: 1 });
    // R: alpha 0.3182330836, sigma2 12.31358311. The likelihood is flat in alpha: equal to 4 digits.
    expect(significant(fit.parameters.alpha)).toBe(significant(0.3182330836));
    expectClose(fit.sigma2, 12.31358311, 1e-6);
    const { mean, variance } = forecastEts(fit, 4);
    for (const value of mean) expectClose(value, 116.5186121, 1e-5);
    const z80 = normalQuantile(0.9);
    const z95 = normalQuantile(0.975);
    const lower80 = [112.0215559, 111.7993329, 111.5871136, 111.3836575];
    const upper95 = [123.3962659, 123.7361267, 124.0606882, 124.3718475];
    mean.forEach((m, h) => {
      expectClose(m - z80 * Math.sqrt(variance[h] ?? 0), lower80[h] as number, 1e-5);
      expectClose(m + z95 * Math.sqrt(variance[h] ?? 0), upper95[h] as number, 1e-5);
    });
  });

  it('ETS(A,A,N): at least as good a fit as R (R stops at mse 11.28321162)', () => {
    const fit = fitEts(Y, { trend: 'additive', period: 1 });
    // sigma2 is SSE over n − 4 (alpha, beta and the two initial states), as in R.
    const sse = fit.sigma2 * (Y.length - 4);
    expect(sse / Y.length).toBeLessThanOrEqual(11.28321162);
    expect(fit.parameters.beta).toBeCloseTo(0.0001, 6);
  });
});

describe('ETS forecasts in closed form', () => {
  const fit: EtsFit = {
    spec: { trend: 'damped', period: 4 },
    parameters: { alpha: 0.4, beta: 0.1, gamma: 0.2, phi: 0.9 },
    level: 50,
    slope: 2,
    seasonal: [3, -1, -4, 2],
    sigma2: 4,
    aicc: 0,
    n: 40,
    fitted: [],
  };

  it('point forecast l + (φ + … + φ^h)·b + s, variance σ²(1 + Σ_{j<h} (α + β·φ_j + γ·[m | j])²)', () => {
    const { mean, variance } = forecastEts(fit, 9);
    let phiSum = 0;
    let sum = 0;
    for (let h = 1; h <= 9; h++) {
      phiSum += 0.9 ** h;
      expect(mean[h - 1]).toBeCloseTo(50 + phiSum * 2 + (fit.seasonal[(h - 1) % 4] as number), 10);
      expect(variance[h - 1]).toBeCloseTo(4 * (1 + sum), 10);
      const c = 0.4 + 0.1 * phiSum + (h % 4 === 0 ? 0.2 : 0);
      sum += c * c;
    }
  });

  it('sample paths have the analytic mean and variance', () => {
    const normal = seededNormal(7);
    const paths = Array.from({ length: 20_000 }, () => simulateEts(fit, 9, normal));
    const { mean, variance } = forecastEts(fit, 9);
    for (let h = 0; h < 9; h++) {
      const values = paths.map((path) => path[h] as number);
      const average = values.reduce((sum, value) => sum + value, 0) / values.length;
      const spread = values.reduce((sum, value) => sum + (value - average) ** 2, 0) / (values.length - 1);
      expect(Math.abs(average - (mean[h] as number))).toBeLessThan(0.05 * Math.sqrt(variance[h] as number));
      expect(Math.abs(spread / (variance[h] as number) - 1)).toBeLessThan(0.05);
    }
  });

  it('ETS(A,N,N) variance grows as σ²(1 + (h − 1)α²)', () => {
    const simple: EtsFit = { ...fit, spec: { trend: 'none', period: 1 }, seasonal: [] };
    const { mean, variance } = forecastEts(simple, 5);
    mean.forEach((value) => {
      expect(value).toBe(50);
    });
    variance.forEach((value, i) => {
      expect(value).toBeCloseTo(4 * (1 + i * 0.16), 12);
    });
  });
});

describe('the forecaster', () => {
  // A known answer: a weekly cycle on a trend, with small deterministic noise.
  const cycle = [0.92, 0.9, 0.93, 0.97, 1.08, 1.2, 1.0];
  const truth = (t: number) => (1000 + 2 * t) * (cycle[t % 7] as number);
  const noise = (t: number) => 1 + 0.01 * Math.sin(t * 12.9898);
  const history = Array.from({ length: 140 }, (_, t) => truth(t) * noise(t));

  it('finds the weekly cycle and the trend, within its intervals', () => {
    const result = forecastSeries(history, { horizon: 28, periods: [7] });
    expect(result.model).toMatch(/period 7/);
    result.mean.forEach((value, h) => {
      const expected = truth(140 + h);
      expect(Math.abs(value - expected) / expected).toBeLessThan(0.03);
      expect(result.intervals[95].lower[h]).toBeLessThan(expected);
      expect(result.intervals[95].upper[h]).toBeGreaterThan(expected);
      expect(result.intervals[80].lower[h]).toBeGreaterThan(result.intervals[95].lower[h] as number);
    });
  });

  it('forecasts a short non-seasonal history without a season', () => {
    const result = forecastSeries([5, 6, 5, 7, 6, 7, 8, 7], { horizon: 3, periods: [7] });
    expect(result.model).not.toMatch(/period/);
    expect(result.mean).toHaveLength(3);
  });
});
