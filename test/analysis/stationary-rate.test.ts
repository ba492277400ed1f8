import { describe, expect, it } from 'vitest';
import { forecastGrowth, forecastRate } from '../../src/analysis/stationary-rate.js';
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

describe('a flow that grows along a line', () => {
  it('continues an exact log-linear trend with its weekly profile, with no spread at all', () => {
    // 22% a year, compounded daily: log(value) = log(300) + t·log(1.22)/365 + log(WEEK[t mod 7]).
    const slope = Math.log(1.22) / 365;
    const exact = (t: number) => 300 * Math.exp(slope * t) * (WEEK[t % 7] ?? 1);
    const history = Array.from({ length: 365 }, (_, t) => exact(t));
    const forecast = forecastGrowth(history, 182);
    forecast.mean.forEach((value, step) => {
      expect(value / exact(365 + step)).toBeCloseTo(1, 9);
      expect((forecast.intervals[95].upper[step] ?? 0) / value).toBeCloseTo(1, 9);
    });
    expect(forecast.model).toMatch(/^line of 91 days with a weekly profile on log \(line error 0\.000\)/);
  });

  it('widens its band by how far the line has missed in this history', () => {
    // Growth of 0.2% a day bending ±5% over a yearly cycle: a line of the last quarter misses what follows, and
    // the band says so (a level misses by far more: the growth).
    const curve = (t: number) => 300 * Math.exp(0.002 * t + 0.05 * Math.sin((2 * Math.PI * t) / 364));
    const history = Array.from({ length: 365 }, (_, t) => curve(t) * (WEEK[t % 7] ?? 1));
    const forecast = forecastGrowth(history, 91);
    expect(forecast.model).toMatch(/^line of 91 days/);
    const drift = Number(forecast.model.match(/line error ([0-9.]+)/)?.[1]);
    expect(drift).toBeGreaterThan(0.02);
    const ratio = (forecast.intervals[95].upper[90] ?? 0) / (forecast.mean[90] ?? 1);
    expect(ratio).toBeGreaterThan(1.02);
    // What happened next lies inside the band on the last day.
    const next = curve(365 + 90) * (WEEK[(365 + 90) % 7] ?? 1);
    expect(next).toBeGreaterThan(forecast.intervals[95].lower[90] ?? Infinity);
    expect(next).toBeLessThan(forecast.intervals[95].upper[90] ?? 0);
  });

  it('forecasts a flat flow with bumps a line would extrapolate as a level', () => {
    // 300 a day, 30% more for 30 days of every 91 (campaigns the forecast is not told of).
    const history = Array.from({ length: 365 }, (_, t) => 300 * (t % 91 < 30 ? 1.3 : 1) * (WEEK[t % 7] ?? 1));
    const forecast = forecastGrowth(history, 91);
    expect(forecast.model).toMatch(/^level of 91 days/);
    // A level: the same weekday a week apart is forecast the same.
    expect(forecast.mean[84]).toBeCloseTo(forecast.mean[0] ?? 0, 9);
  });

  it('falls back to a level when the history is too short for a line', () => {
    expect(forecastGrowth([5, 6, 5, 6, 5, 6, 5, 6], 7).model).toMatch(/^level of/);
  });
});
