import { describe, expect, it } from 'vitest';
import { forecastRate } from '../../src/analysis/stationary-rate.js';
import { withoutBreaks } from '../../src/analysis/stock-flow.js';

const WEEK = [0.9, 0.9, 0.95, 1, 1.1, 1.2, 1.0];

describe('a rate that returns to its level', () => {
  it('forecasts a rate that never moves exactly, with no spread at all', () => {
    const rates = Array.from({ length: 365 }, (_, t) => 0.002 * (WEEK[t % 7] ?? 1));
    const forecast = forecastRate(rates, 28);
    forecast.mean.forEach((value, step) => {
      // Day 365 + step of the same weekly cycle.
      expect(value).toBeCloseTo(0.002 * (WEEK[(365 + step) % 7] ?? 1), 12);
      expect(forecast.intervals[95].upper[step]).toBeCloseTo(value, 12);
    });
  });

  it('keeps the same band at every horizon: daily noise does not accumulate as a random walk would', () => {
    // ±40% day-to-day noise (a deterministic pseudo-random sequence) around a constant level.
    const rates = Array.from(
      { length: 365 },
      (_, t) => 0.002 * (1 + 0.4 * ((Math.sin(t * 12.9898) * 43758.5453) % 1)),
    );
    const forecast = forecastRate(rates, 182);
    const ratio = (step: number) => (forecast.intervals[95].upper[step] ?? 0) / (forecast.mean[step] ?? 1);
    expect(ratio(181)).toBeCloseTo(ratio(0), 9);
    // log-scale sd of the noise is about 0.25: the daily 95% band is about ×/÷ e^(1.96·0.25) ≈ 1.6, not ×/÷ 6.
    expect(ratio(181)).toBeLessThan(2);
    expect(ratio(181)).toBeGreaterThan(1.3);
  });

  it('takes a week-long spike out before fitting, leaving the usual days', () => {
    const rates = Array.from({ length: 200 }, (_, t) => (t >= 120 && t < 127 ? 0.006 : 0.002));
    const cleaned = withoutBreaks(rates);
    expect(cleaned.slice(120, 127)).toEqual(new Array(7).fill(0.002));
    expect(cleaned.filter((value, t) => value !== rates[t]).length).toBe(7);
  });
});
