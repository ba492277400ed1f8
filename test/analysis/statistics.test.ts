import { describe, expect, it } from 'vitest';
import {
  benjaminiHochberg,
  chiSquareSf,
  normalCdf,
  normalQuantile,
  normalSf,
  sampleRatioMismatch,
  studentTCdf,
  studentTQuantile,
  studentTSf,
  twoProportionTest,
  welchTest,
} from '../../src/analysis/statistics.js';

/** Equal to at least `digits` significant digits. */
function expectSignificant(actual: number, expected: number, digits = 6): void {
  const scale = Math.abs(expected) || 1;
  expect(Math.abs(actual - expected) / scale, `${actual} vs ${expected}`).toBeLessThan(
    0.5 * 10 ** (1 - digits),
  );
}

// Reference values: scipy 1.10.1 (scipy.stats), computed on 2026-11-21 with Debian's python3-scipy.
describe('distributions (scipy.stats)', () => {
  it.each([
    ['norm.cdf(-1.96)', () => normalCdf(-1.96), 0.024997895148220435],
    ['norm.sf(5.5)', () => normalSf(5.5), 1.898956246588768e-8],
    ['norm.sf(0.3)', () => normalSf(0.3), 0.3820885778110474],
    ['norm.ppf(0.975)', () => normalQuantile(0.975), 1.959963984540054],
    ['norm.ppf(0.001)', () => normalQuantile(0.001), -3.090232306167813],
    ['norm.ppf(0.995)', () => normalQuantile(0.995), 2.5758293035489004],
    ['t.sf(2.5, 1)', () => studentTSf(2.5, 1), 0.12111894159084335],
    ['t.cdf(-1.3, 5)', () => studentTCdf(-1.3, 5), 0.12515031708533858],
    ['t.sf(2.1, 12.7)', () => studentTSf(2.1, 12.7), 0.02815149547149031],
    ['t.sf(0.4, 30)', () => studentTSf(0.4, 30), 0.345995258257096],
    ['t.sf(3.3, 2000.5)', () => studentTSf(3.3, 2000.5), 0.0004919148097004425],
    ['t.ppf(0.975, 5)', () => studentTQuantile(0.975, 5), 2.5705818366147395],
    ['t.ppf(0.975, 12.7)', () => studentTQuantile(0.975, 12.7), 2.1655677313665023],
    ['t.ppf(0.995, 200)', () => studentTQuantile(0.995, 200), 2.600634436165038],
    ['chi2.sf(7.3, 3)', () => chiSquareSf(7.3, 3), 0.06292623645904312],
  ] as const)('%s', (_name, compute, expected) => {
    expectSignificant(compute(), expected);
  });
});

describe('two-proportion z-test', () => {
  // scipy.stats.chi2_contingency(table, correction=False): chi2 = z², same p-value; the fixture's planted pairs.
  // Intervals: Newcombe's hybrid score interval (method 10), computed in python from scipy.stats.norm.ppf and
  // the Wilson bounds of each rate.
  it.each([
    [
      [539, 8971, 404, 9020],
      4.602090912891317,
      4.1827054475990485e-6,
      [0.00878671584959486, 0.021829777052873926],
    ],
    [
      [250, 5382, 275, 5402],
      -1.0750930483160865,
      0.2823330715136618,
      [-0.012607124808231238, 0.003682617211384274],
    ],
    [
      [2077, 36039, 1651, 36052],
      7.176066149840312,
      7.174585053203646e-13,
      [0.008606693087171652, 0.015072976900231539],
    ],
  ] as const)('%j', ([xa, na, xb, nb], z, p, [low, high]) => {
    const result = twoProportionTest(xa, na, xb, nb);
    expectSignificant(result.z, z);
    expectSignificant(result.pValue, p);
    expectSignificant(result.interval[0], low);
    expectSignificant(result.interval[1], high);
  });

  // Newcombe (1998), Statistics in Medicine 17:873-890, table II, method 10, to the 4 decimals printed there:
  // small and extreme counts, where a Wald interval leaves [−1, 1] or collapses to a point.
  it.each([
    [
      [56, 70, 48, 80],
      [0.0524, 0.3339],
    ],
    [
      [9, 10, 3, 10],
      [0.1705, 0.809],
    ],
    [
      [6, 7, 2, 7],
      [0.0582, 0.8062],
    ],
    [
      [5, 56, 0, 29],
      [-0.0381, 0.1926],
    ],
    [
      [0, 10, 0, 20],
      [-0.1611, 0.2775],
    ],
    [
      [10, 10, 0, 20],
      [0.6791, 1],
    ],
  ] as const)('Newcombe %j', ([xa, na, xb, nb], [low, high]) => {
    const { interval } = twoProportionTest(xa, na, xb, nb);
    expect(interval[0]).toBeCloseTo(low, 4);
    expect(interval[1]).toBeCloseTo(high, 4);
  });
});

describe("Welch's t-test", () => {
  it('matches scipy.stats.ttest_ind(equal_var=False) on samples', () => {
    // Samples A1 and A2 from the Wikipedia article "Welch's t-test" (worked example 1).
    const a = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4];
    const b = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4];
    const summary = (xs: number[]) => {
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
      return { n: xs.length, mean, variance: xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1) };
    };
    const result = welchTest(summary(a), summary(b));
    expectSignificant(result.t, -2.455356398286006);
    expectSignificant(result.df, 24.988529290231416);
    expectSignificant(result.pValue, 0.021378001462866985);
  });

  it('matches scipy.stats.ttest_ind_from_stats(equal_var=False)', () => {
    const result = welchTest(
      { n: 412, mean: 52.3, variance: 31.2 ** 2 },
      { n: 389, mean: 47.9, variance: 29.8 ** 2 },
    );
    expectSignificant(result.t, 2.041417723771379);
    expectSignificant(result.pValue, 0.04153739768682372);
  });
});

describe('sample ratio mismatch', () => {
  // scipy.stats.chisquare(observed, f_exp=n·shares).
  it.each([
    [[1029, 8971], 0.9344444444444444, 0.33371069574356327],
    [[1100, 8900], 11.11111111111111, 0.0008581206663936758],
    [[980, 9020], 0.4444444444444445, 0.5049850750938457],
  ] as const)('%j against 10/90', (observed, chiSquare, p) => {
    const result = sampleRatioMismatch(observed, [0.1, 0.9]);
    expectSignificant(result.chiSquare, chiSquare);
    expectSignificant(result.pValue, p);
  });
});

// Reference: the 15 p-values of Benjamini & Hochberg (1995), section 4.3, whose procedure rejects the four
// smallest at q = 0.05; scipy 1.17.1 `false_discovery_control(p, method="bh")` agrees (adjusted p ≤ 0.05 for
// exactly those four), as it does on the two small cases (all four rejected; none of five).
describe('Benjamini–Hochberg', () => {
  it.each([
    [
      [
        0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.324, 0.4262, 0.5719, 0.6528,
        0.759, 1,
      ],
      [true, true, true, true, false, false, false, false, false, false, false, false, false, false, false],
    ],
    [
      [0.04, 0.01, 0.03, 0.02],
      [true, true, true, true],
    ],
    [
      [0.2, 0.6, 0.03, 0.9, 0.5],
      [false, false, false, false, false],
    ],
  ])('%j', (pValues, expected) => {
    expect(benjaminiHochberg(pValues, 0.05)).toEqual(expected);
  });
});
