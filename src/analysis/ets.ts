/**
 * Exponential smoothing state-space models with additive errors (Hyndman et al., "Forecasting with
 * Exponential Smoothing", 2008): ETS(A,N,N), (A,A,N), (A,Ad,N) and their additively seasonal versions, fitted by
 * maximum likelihood, with the analytic prediction variance of class-1 models. Pure: no I/O.
 */

import { nelderMead } from './optimize.js';

export type Trend = 'none' | 'additive' | 'damped';

export interface EtsSpec {
  readonly trend: Trend;
  /** Seasonal period; 1 for none. */
  readonly period: number;
}

export interface EtsParameters {
  readonly alpha: number;
  readonly beta: number;
  readonly gamma: number;
  readonly phi: number;
}

export interface EtsFit {
  readonly spec: EtsSpec;
  readonly parameters: EtsParameters;
  /** Final level, trend and seasonal states (seasonal: oldest first, the next period's first). */
  readonly level: number;
  readonly slope: number;
  readonly seasonal: readonly number[];
  /** One-step residual variance: SSE / (n − number of estimated parameters). */
  readonly sigma2: number;
  readonly aicc: number;
  readonly n: number;
  readonly fitted: readonly number[];
}

export interface EtsForecast {
  readonly mean: number[];
  /** Forecast variance per step. */
  readonly variance: number[];
}

const BOUNDS = {
  alpha: [1e-4, 0.9999],
  beta: [1e-4, 0.9999],
  gamma: [1e-4, 0.9999],
  phi: [0.8, 0.98],
} as const;

interface Initial {
  level: number;
  slope: number;
  seasonal: number[];
}

/** Initial states from the first seasons: a classical decomposition of the first two periods (or 10 points). */
function initialStates(y: readonly number[], spec: EtsSpec): Initial {
  const m = spec.period;
  const seasonal: number[] = new Array(m > 1 ? m : 0).fill(0);
  if (m > 1) {
    const cycles = Math.max(1, Math.min(Math.floor(y.length / m), 4));
    for (let i = 0; i < m; i++) {
      let sum = 0;
      for (let c = 0; c < cycles; c++) {
        const start = c * m;
        let mean = 0;
        for (let k = 0; k < m; k++) mean += y[start + k] ?? 0;
        mean /= m;
        sum += (y[start + i] ?? 0) - mean;
      }
      seasonal[i] = sum / cycles;
    }
  }
  const span = Math.max(2, Math.min(m > 1 ? m : 10, y.length));
  let level = 0;
  for (let i = 0; i < span; i++) level += (y[i] ?? 0) - (m > 1 ? (seasonal[i % m] ?? 0) : 0);
  level /= span;
  let slope = 0;
  if (spec.trend !== 'none' && y.length >= 2 * span) {
    let later = 0;
    for (let i = span; i < 2 * span; i++) later += (y[i] ?? 0) - (m > 1 ? (seasonal[i % m] ?? 0) : 0);
    slope = (later / span - level) / span;
  }
  return { level, slope, seasonal };
}

interface Run {
  sse: number;
  level: number;
  slope: number;
  seasonal: number[];
  fitted: number[];
}

/** Runs the filter over `y`; returns the sum of squared one-step errors and the final states. */
function filter(y: readonly number[], spec: EtsSpec, p: EtsParameters, init: Initial): Run {
  const m = spec.period;
  const seasonal = [...init.seasonal];
  let level = init.level;
  let slope = spec.trend === 'none' ? 0 : init.slope;
  const phi = spec.trend === 'damped' ? p.phi : 1;
  let sse = 0;
  const fitted: number[] = new Array(y.length);
  for (let t = 0; t < y.length; t++) {
    const s = m > 1 ? (seasonal[t % m] ?? 0) : 0;
    const forecast = level + phi * slope + s;
    fitted[t] = forecast;
    const error = (y[t] ?? 0) - forecast;
    sse += error * error;
    const previousLevel = level;
    level = previousLevel + phi * slope + p.alpha * error;
    if (spec.trend !== 'none') slope = phi * slope + p.beta * error;
    if (m > 1) seasonal[t % m] = s + p.gamma * error;
  }
  // Rotate so that index 0 is the season of the next step.
  const offset = y.length % Math.max(m, 1);
  const rotated = m > 1 ? [...seasonal.slice(offset), ...seasonal.slice(0, offset)] : [];
  return { sse, level, slope, seasonal: rotated, fitted };
}

/** Standard deviation of the series' first differences (or of the series when they vanish). */
function spread(y: readonly number[]): number {
  let sum = 0;
  let squares = 0;
  for (let t = 1; t < y.length; t++) {
    const d = (y[t] ?? 0) - (y[t - 1] ?? 0);
    sum += d;
    squares += d * d;
  }
  const n = Math.max(1, y.length - 1);
  const variance = squares / n - (sum / n) ** 2;
  return Math.sqrt(Math.max(variance, 0)) || Math.abs(y[0] ?? 1) * 0.01;
}

function clamp(value: number, [low, high]: readonly [number, number]): number {
  return Math.min(high, Math.max(low, value));
}

/** Parameters from an unconstrained vector, inside the usual (traditional) admissible region. */
function decode(x: readonly number[], spec: EtsSpec): EtsParameters {
  const alpha = clamp(x[0] ?? 0.3, BOUNDS.alpha);
  let index = 1;
  let beta = 0;
  let phi = 1;
  if (spec.trend !== 'none') {
    beta = clamp(x[index++] ?? 0.05, [BOUNDS.beta[0], alpha]);
    if (spec.trend === 'damped') phi = clamp(x[index++] ?? 0.95, BOUNDS.phi);
  }
  const gamma = spec.period > 1 ? clamp(x[index++] ?? 0.05, [BOUNDS.gamma[0], 1 - alpha]) : 0;
  return { alpha, beta, gamma, phi };
}

/** Fits one ETS model by maximum likelihood (minimum SSE with Gaussian errors). */
export function fitEts(y: readonly number[], spec: EtsSpec): EtsFit {
  const heuristic = initialStates(y, spec);
  const smoothing = [0.3];
  if (spec.trend !== 'none') smoothing.push(0.05);
  if (spec.trend === 'damped') smoothing.push(0.95);
  if (spec.period > 1) smoothing.push(0.05);
  // The initial level (and slope) are estimated with the smoothing parameters, as R's ets does; they enter the
  // simplex as offsets from the heuristic start in units of the series' scale, so all coordinates are O(1).
  const scale = Math.max(spread(y), 1e-8);
  const states = spec.trend === 'none' ? 1 : 2;
  const initial = (x: readonly number[]): Initial => ({
    level: heuristic.level + (x[smoothing.length] ?? 0) * scale,
    slope: heuristic.slope + (x[smoothing.length + 1] ?? 0) * scale * 0.1,
    seasonal: heuristic.seasonal,
  });
  const objective = (x: readonly number[]): number => {
    // Penalise leaving the box so the simplex comes back inside.
    let penalty = 0;
    for (let i = 0; i < smoothing.length; i++) {
      const value = x[i] ?? 0;
      if (value < 0 || value > 1) penalty += 1e6 * (Math.abs(value - clamp(value, [0, 1])) + 1);
    }
    return filter(y, spec, decode(x, spec), initial(x)).sse * (1 + penalty);
  };
  const start = [...smoothing, ...new Array(states).fill(0)];
  // A restart from the first optimum refines it (the simplex often stalls on these flat likelihoods).
  const first = nelderMead(objective, start, { maxIterations: 300 * start.length, tolerance: 1e-10 });
  const best = nelderMead(objective, first, {
    maxIterations: 200 * start.length,
    tolerance: 1e-12,
    step: 0.02,
  });
  const parameters = decode(best, spec);
  const run = filter(y, spec, parameters, initial(best));
  const n = y.length;
  // Parameters: smoothing and initial states (seasonal ones counted as m − 1); k adds the error variance.
  const parameterCount = start.length + (spec.period > 1 ? spec.period - 1 : 0);
  const k = parameterCount + 1;
  const logLik = -0.5 * n * (Math.log(2 * Math.PI * Math.max(run.sse / n, 1e-300)) + 1);
  // The residual variance for intervals, on n − (parameters) degrees of freedom, as R's forecast::ets.
  const sigma2 = run.sse / Math.max(1, n - parameterCount);
  const aic = -2 * logLik + 2 * k;
  const aicc = n - k - 1 > 0 ? aic + (2 * k * (k + 1)) / (n - k - 1) : Number.POSITIVE_INFINITY;
  return {
    spec,
    parameters,
    level: run.level,
    slope: run.slope,
    seasonal: run.seasonal,
    sigma2,
    aicc,
    n,
    fitted: run.fitted,
  };
}

/** Point forecasts and their variances: σ²(1 + Σ_{j<h} c_j²), the class-1 formula of Hyndman et al. (2008), 6.3. */
export function forecastEts(fit: EtsFit, horizon: number): EtsForecast {
  const { alpha, beta, gamma, phi: phiRaw } = fit.parameters;
  const m = fit.spec.period;
  const phi = fit.spec.trend === 'damped' ? phiRaw : 1;
  const trended = fit.spec.trend !== 'none';
  const mean: number[] = [];
  const variance: number[] = [];
  let damping = 0; // φ + φ² + … + φ^h
  let power = 1;
  let sumC2 = 0;
  for (let h = 1; h <= horizon; h++) {
    power *= phi;
    damping += power;
    const season = m > 1 ? (fit.seasonal[(h - 1) % m] ?? 0) : 0;
    mean.push(fit.level + (trended ? damping * fit.slope : 0) + season);
    variance.push(fit.sigma2 * (1 + sumC2));
    // c_h = α + β·φ_h + γ·[h is a multiple of m], with φ_h = φ + … + φ^h, for the next step's variance.
    const c = alpha + (trended ? beta * damping : 0) + (m > 1 && h % m === 0 ? gamma : 0);
    sumC2 += c * c;
  }
  return { mean, variance };
}

/**
 * One sample path of the model's future: the state-space recursion driven by Gaussian errors of variance σ²
 * (so uncertainty accumulates exactly as the model says, correlated across steps). `normal` draws N(0, 1).
 */
export function simulateEts(fit: EtsFit, horizon: number, normal: () => number): number[] {
  const { alpha, beta, gamma, phi: phiRaw } = fit.parameters;
  const m = fit.spec.period;
  const phi = fit.spec.trend === 'damped' ? phiRaw : 1;
  const trended = fit.spec.trend !== 'none';
  const seasonal = [...fit.seasonal];
  const sigma = Math.sqrt(fit.sigma2);
  let level = fit.level;
  let slope = trended ? fit.slope : 0;
  const path: number[] = [];
  for (let h = 0; h < horizon; h++) {
    const s = m > 1 ? (seasonal[h % m] ?? 0) : 0;
    const error = sigma * normal();
    path.push(level + phi * slope + s + error);
    level = level + phi * slope + alpha * error;
    if (trended) slope = phi * slope + beta * error;
    if (m > 1) seasonal[h % m] = s + gamma * error;
  }
  return path;
}
