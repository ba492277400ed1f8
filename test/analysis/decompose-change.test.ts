import { describe, expect, it } from 'vitest';
import {
  decomposeAdditive,
  decomposeRatio,
  noiseBand,
  seasonalReference,
} from '../../src/analysis/decompose-change.js';

describe('additive decomposition', () => {
  it('splits a change exactly, ranks by size and marks what is beyond noise', () => {
    const segments = [
      { segment: 'BR', current: { value: 300, variance: 300 }, baseline: { value: 1000, variance: 1000 } },
      { segment: 'MX', current: { value: 1010, variance: 1010 }, baseline: { value: 1000, variance: 1000 } },
      { segment: 'AR', current: { value: 520, variance: 520 }, baseline: { value: 500, variance: 500 } },
    ];
    const result = decomposeAdditive(segments, 1830 - 2500);
    expect(result.contributions.map((c) => c.segment)).toEqual(['BR', 'AR', 'MX']);
    expect(result.contributions.reduce((sum, c) => sum + c.change, 0)).toBe(-670);
    const [br] = result.contributions;
    expect(br?.share).toBeCloseTo(700 / 670, 12);
    expect(br?.z).toBeCloseTo(-700 / Math.sqrt(1300), 12);
    // Only BR moved beyond noise (|z| ≥ 1.96): MX z = 0.22, AR z = 0.63.
    expect(result.significantShare).toBeCloseTo(-700 / -670, 12);
    expect(noiseBand({ value: 1830, variance: 1830 }, { value: 2500, variance: 2500 })).toBeCloseTo(
      1.959963984540054 * Math.sqrt(4330),
      9,
    );
  });
});

describe('ratio decomposition', () => {
  it('separates mix from rate effects, and they add up to the change', () => {
    // Completion rate by device. TV completes more; Android's share of views grows and its own rate falls.
    const segments = [
      {
        segment: 'TV',
        current: { value: 0, numerator: 550, denominator: 1000 },
        baseline: { value: 0, numerator: 1100, denominator: 2000 },
      },
      {
        segment: 'Android',
        current: { value: 0, numerator: 600, denominator: 2000 },
        baseline: { value: 0, numerator: 350, denominator: 1000 },
      },
    ];
    const totals = {
      current: { value: 0, numerator: 1150, denominator: 3000 },
      baseline: { value: 0, numerator: 1450, denominator: 3000 },
    };
    const result = decomposeRatio(segments, totals, true);
    const r1 = 1150 / 3000;
    const r0 = 1450 / 3000;
    expect(result.totalChange).toBeCloseTo(r1 - r0, 14);
    const sum = result.contributions.reduce((s, c) => s + (c.mix ?? 0) + (c.rate ?? 0), 0);
    expect(sum).toBeCloseTo(r1 - r0, 14);
    const tv = result.contributions.find((c) => c.segment === 'TV');
    const android = result.contributions.find((c) => c.segment === 'Android');
    // TV: weight 2/3 → 1/3 at a rate above average: a mix loss; its own rate is unchanged.
    expect(tv?.mix).toBeCloseTo((1 / 3 - 2 / 3) * (0.55 - r0), 14);
    expect(tv?.rate).toBeCloseTo(0, 14);
    // Android: rate 0.35 → 0.30 on weight 2/3.
    expect(android?.rate).toBeCloseTo((2 / 3) * (0.3 - 0.35), 14);
    expect(android?.z).toBeCloseTo((0.3 - 0.35) / Math.sqrt((0.3 * 0.7) / 2000 + (0.35 * 0.65) / 1000), 12);
  });
});

// Closed form, worked by hand (python): g = 110/100; expected = 100·g = 110; unusual = 90 − 110 = −20;
// Var(g) = g²(25/110² + 36/100²) = 0.0068560; Var = 9 + g²·16 + 100²·Var(g) = 96.92; band = 1.96·√96.92.
describe('a change against the same change a year earlier', () => {
  it('is the part the season does not explain, with a delta-method band', () => {
    const reference = seasonalReference(
      { current: { value: 90, variance: 9 }, baseline: { value: 100, variance: 16 } },
      { current: { value: 110, variance: 25 }, baseline: { value: 100, variance: 36 } },
    );
    expect(reference?.growth).toBeCloseTo(1.1, 12);
    expect(reference?.expected).toBeCloseTo(110, 9);
    expect(reference?.unusual).toBeCloseTo(-20, 9);
    expect(reference?.band).toBeCloseTo(19.295444770765837, 9);
  });

  it('has nothing to say without a baseline a year earlier, or without variances', () => {
    expect(
      seasonalReference(
        { current: { value: 90, variance: 9 }, baseline: { value: 100, variance: 16 } },
        { current: { value: 0, variance: 0 }, baseline: { value: 0, variance: 0 } },
      ),
    ).toBeUndefined();
    expect(
      seasonalReference(
        { current: { value: 90 }, baseline: { value: 100 } },
        { current: { value: 110 }, baseline: { value: 100 } },
      ),
    ).toBeUndefined();
  });
});
