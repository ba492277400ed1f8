/**
 * The statistics Marquee reports, in plain TypeScript: distributions from the regularized incomplete gamma and
 * beta functions (continued fractions, double precision), and the tests built on them. Checked against scipy
 * in test/analysis/statistics.test.ts. (simple-statistics is inexact for inference; see STACK.md.)
 */

const EPSILON = 1e-15;
const TINY = 1e-300;
const MAX_ITERATIONS = 10_000;

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** The two-sided 95% normal quantile. */
export const Z95 = 1.959963984540054;

/** ln Γ(x) for x > 0 (Lanczos, g = 7). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0] as number;
  for (let i = 1; i < LANCZOS.length; i++) sum += (LANCZOS[i] as number) / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Regularized upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a). */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const prefix = Math.exp(-x + a * Math.log(x) - logGamma(a));
  if (x < a + 1) {
    // Series for P, then Q = 1 - P.
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < MAX_ITERATIONS; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * EPSILON) break;
    }
    return 1 - sum * prefix;
  }
  // Continued fraction for Q (modified Lentz).
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPSILON) break;
  }
  return prefix * h;
}

function betaContinuedFraction(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < MAX_ITERATIONS; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPSILON) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2)
    ? (front * betaContinuedFraction(a, b, x)) / a
    : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(Z > z) for a standard normal Z, accurate in the far tail. */
export function normalSf(z: number): number {
  const q = gammaQ(0.5, (z * z) / 2) / 2;
  return z >= 0 ? q : 1 - q;
}

export function normalCdf(z: number): number {
  return normalSf(-z);
}

/** The standard normal quantile (Acklam's approximation, refined by one Halley step). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile needs 0 < p < 1, got ${p}`);
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  let x: number;
  if (p < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(p));
    x =
      (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
      ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  } else if (p <= 1 - 0.02425) {
    const q = p - 0.5;
    const r = q * q;
    x =
      ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) /
      (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x =
      -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
      ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/** P(T > t) for Student's t with `df` degrees of freedom (df may be fractional, as in Welch's test). */
export function studentTSf(t: number, df: number): number {
  const tail = incompleteBeta(df / (df + t * t), df / 2, 0.5) / 2;
  return t >= 0 ? tail : 1 - tail;
}

export function studentTCdf(t: number, df: number): number {
  return studentTSf(-t, df);
}

/** The Student t quantile, by bisection on the CDF (to double precision). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`studentTQuantile needs 0 < p < 1, got ${p}`);
  let low = -1;
  let high = 1;
  while (studentTCdf(low, df) > p) low *= 2;
  while (studentTCdf(high, df) < p) high *= 2;
  for (let i = 0; i < 200 && high - low > 1e-13 * Math.max(1, Math.abs(low)); i++) {
    const mid = (low + high) / 2;
    if (studentTCdf(mid, df) < p) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

/** P(X > x) for a chi-square X with `df` degrees of freedom. */
export function chiSquareSf(x: number, df: number): number {
  return gammaQ(df / 2, x / 2);
}

/** Two-sided test of pA = pB, with the pooled z statistic and an unpooled (Wald) interval for pA − pB. */
export interface TwoProportionTest {
  readonly rateA: number;
  readonly rateB: number;
  readonly difference: number;
  readonly z: number;
  readonly pValue: number;
  readonly confidence: number;
  readonly interval: readonly [number, number];
}

export function twoProportionTest(
  successesA: number,
  trialsA: number,
  successesB: number,
  trialsB: number,
  confidence = 0.95,
): TwoProportionTest {
  const rateA = successesA / trialsA;
  const rateB = successesB / trialsB;
  const difference = rateA - rateB;
  const pooled = (successesA + successesB) / (trialsA + trialsB);
  const pooledSe = Math.sqrt(pooled * (1 - pooled) * (1 / trialsA + 1 / trialsB));
  const z = pooledSe === 0 ? 0 : difference / pooledSe;
  const quantile = normalQuantile(1 - (1 - confidence) / 2);
  // Newcombe's hybrid score interval (1998, method 10), from each rate's Wilson interval: a score interval to
  // go with the score (pooled) test, and never outside [−1, 1] for small or extreme counts as Wald's is.
  const [lowA, highA] = wilsonInterval(successesA, trialsA, quantile);
  const [lowB, highB] = wilsonInterval(successesB, trialsB, quantile);
  return {
    rateA,
    rateB,
    difference,
    z,
    pValue: pooledSe === 0 ? 1 : 2 * normalSf(Math.abs(z)),
    confidence,
    interval: [
      difference - Math.sqrt((rateA - lowA) ** 2 + (highB - rateB) ** 2),
      difference + Math.sqrt((highA - rateA) ** 2 + (rateB - lowB) ** 2),
    ],
  };
}

/** The Wilson score interval of a proportion `successes / trials` at normal quantile `z`. */
export function wilsonInterval(successes: number, trials: number, z: number): [number, number] {
  if (trials === 0) return [0, 1];
  const p = successes / trials;
  const centre = 2 * trials * p + z * z;
  const spread = z * Math.sqrt(z * z + 4 * trials * p * (1 - p));
  const denominator = 2 * (trials + z * z);
  return [(centre - spread) / denominator, (centre + spread) / denominator];
}

/** A sample summarised: size, mean and (n − 1) variance. */
export interface SampleSummary {
  readonly n: number;
  readonly mean: number;
  readonly variance: number;
}

export interface WelchTest {
  readonly difference: number;
  readonly t: number;
  readonly df: number;
  readonly pValue: number;
  readonly confidence: number;
  readonly interval: readonly [number, number];
}

/** Welch's unequal-variances t-test of meanA = meanB, from summaries. */
export function welchTest(a: SampleSummary, b: SampleSummary, confidence = 0.95): WelchTest {
  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  const se = Math.sqrt(va + vb);
  const difference = a.mean - b.mean;
  const t = se === 0 ? 0 : difference / se;
  const df = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1));
  const margin = se === 0 ? 0 : studentTQuantile(1 - (1 - confidence) / 2, df) * se;
  return {
    difference,
    t,
    df,
    pValue: se === 0 ? 1 : 2 * studentTSf(Math.abs(t), df),
    confidence,
    interval: [difference - margin, difference + margin],
  };
}

/** Chi-square goodness of fit of observed group sizes to the planned split (sample ratio mismatch). */
export function sampleRatioMismatch(
  observed: readonly number[],
  expectedShares: readonly number[],
): { chiSquare: number; df: number; pValue: number } {
  const total = observed.reduce((sum, count) => sum + count, 0);
  const shareTotal = expectedShares.reduce((sum, share) => sum + share, 0);
  let chiSquare = 0;
  observed.forEach((count, index) => {
    const expected = (total * (expectedShares[index] ?? 0)) / shareTotal;
    chiSquare += (count - expected) ** 2 / expected;
  });
  const df = observed.length - 1;
  return { chiSquare, df, pValue: chiSquareSf(chiSquare, df) };
}

/**
 * The Benjamini–Hochberg procedure: which of `pValues` are discoveries at false discovery rate `q` (the
 * largest k with p₍ₖ₎ ≤ k·q/m, and every smaller p). Holds the expected share of false discoveries at q
 * for independent or positively dependent tests.
 */
export function benjaminiHochberg(pValues: readonly number[], q: number): boolean[] {
  const m = pValues.length;
  const order = pValues.map((p, index) => ({ p, index })).sort((a, b) => a.p - b.p);
  let cutoff = -1;
  order.forEach((item, rank) => {
    if (item.p <= ((rank + 1) * q) / m) cutoff = rank;
  });
  const discoveries = new Array<boolean>(m).fill(false);
  for (let rank = 0; rank <= cutoff; rank++) discoveries[order[rank]?.index ?? 0] = true;
  return discoveries;
}

/** An ordinary least-squares fit: coefficients, their covariance σ²(XᵀX)⁻¹, and the residual sum of squares. */
export interface LeastSquares {
  readonly coefficients: number[];
  readonly covariance: number[][];
  /** Observed minus fitted, per observation. */
  readonly residuals: number[];
  readonly sse: number;
  /** Residual variance, SSE / (n − p). */
  readonly sigma2: number;
}

/**
 * Ordinary least squares of `y` on the columns of `rows` (no intercept unless a column of ones is given), by
 * Gauss–Jordan inversion of XᵀX: for the few regressors Marquee's models take. Undefined when XᵀX is
 * singular or there are no more observations than coefficients.
 */
export function leastSquares(
  rows: readonly (readonly number[])[],
  y: readonly number[],
): LeastSquares | undefined {
  const p = rows[0]?.length ?? 0;
  const n = rows.length;
  if (p === 0 || n <= p) return undefined;
  const xtx = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  const xty = new Array<number>(p).fill(0);
  rows.forEach((row, i) => {
    for (let a = 0; a < p; a++) {
      xty[a] = (xty[a] ?? 0) + (row[a] ?? 0) * (y[i] ?? 0);
      for (let b = 0; b < p; b++)
        (xtx[a] as number[])[b] = (xtx[a]?.[b] ?? 0) + (row[a] ?? 0) * (row[b] ?? 0);
    }
  });
  const inverse = invert(xtx);
  if (inverse === undefined) return undefined;
  const coefficients = inverse.map((line) => line.reduce((sum, value, b) => sum + value * (xty[b] ?? 0), 0));
  const residuals = rows.map(
    (row, i) => (y[i] ?? 0) - row.reduce((sum, value, a) => sum + value * (coefficients[a] ?? 0), 0),
  );
  const sse = residuals.reduce((sum, value) => sum + value * value, 0);
  const sigma2 = sse / (n - p);
  return {
    coefficients,
    covariance: inverse.map((line) => line.map((value) => value * sigma2)),
    residuals,
    sse,
    sigma2,
  };
}

/** The inverse of a small square matrix (Gauss–Jordan with partial pivoting); undefined when singular. */
function invert(matrix: readonly (readonly number[])[]): number[][] | undefined {
  const p = matrix.length;
  const scale = Math.max(...matrix.map((line, a) => Math.abs(line[a] ?? 0)), TINY);
  const work = matrix.map((line, a) => [...line, ...Array.from({ length: p }, (_, b) => (a === b ? 1 : 0))]);
  for (let column = 0; column < p; column++) {
    let pivot = column;
    for (let row = column + 1; row < p; row++)
      if (Math.abs(work[row]?.[column] ?? 0) > Math.abs(work[pivot]?.[column] ?? 0)) pivot = row;
    if (Math.abs(work[pivot]?.[column] ?? 0) < 1e-12 * scale) return undefined;
    [work[column], work[pivot]] = [work[pivot] as number[], work[column] as number[]];
    const lead = work[column] as number[];
    const divisor = lead[column] ?? 1;
    for (let k = 0; k < 2 * p; k++) lead[k] = (lead[k] ?? 0) / divisor;
    work.forEach((line, row) => {
      if (row === column) return;
      const factor = line[column] ?? 0;
      for (let k = 0; k < 2 * p; k++) line[k] = (line[k] ?? 0) - factor * (lead[k] ?? 0);
    });
  }
  return work.map((line) => line.slice(p));
}
