/**
 * Known events of a subscriber history, treated as interventions rather than noise: price changes (the churn
 * rate jumps and the jump fades into a lasting shift; sign-ups shift) and campaigns (sign-ups lift while one
 * runs). Their responses are estimated from this very history, with standard errors; the history is cleaned
 * of them before the flows are fitted, and they are put back on the forecast days: the lasting part and the
 * tail of past events at their estimates, events not yet happened (scheduled ones, a scenario's price change)
 * drawn from their estimates' uncertainty on every sample path. Pure: no I/O.
 */
import { levelOf, measuredLevelError, WINDOW } from './stationary-rate.js';
import { leastSquares, normalCdf, Z95 } from './statistics.js';

/** A price change taking effect on day `step` of the history (past its end: scheduled), by `pct` percent. */
export interface PriceChange {
  readonly step: number;
  readonly pct: number;
}

/** A campaign running from day `from` to day `to` of the history, both included. */
export interface CampaignRun {
  readonly from: number;
  readonly to: number;
  /** Campaigns of one kind (the region they target, say) lift sign-ups alike. */
  readonly kind?: string | undefined;
}

export interface KnownEvents {
  readonly priceChanges: readonly PriceChange[];
  readonly campaigns: readonly CampaignRun[];
}

export const NO_EVENTS: KnownEvents = { priceChanges: [], campaigns: [] };

export interface Estimate {
  readonly value: number;
  readonly se: number;
}

/**
 * The shape of the churn rate's jump after a price change, `k` days after it takes effect: fading
 * (e^(−k/days), people leaving soon after the news) or a step of `days` days (everyone meets the new price at
 * their next monthly bill).
 */
export interface JumpShape {
  readonly kind: 'fading' | 'step';
  readonly days: number;
}

/** The jump's size `k` days after the change, 1 on the day. */
export function jumpAt(shape: JumpShape, k: number): number {
  if (k < 0) return 0;
  return shape.kind === 'fading' ? Math.exp(-k / shape.days) : k < shape.days ? 1 : 0;
}

/**
 * One account of how the churn rate answers a price rise of 1%: `k` days after it takes effect, the rate is
 * multiplied by 1 + peak·jumpAt(shape, k) + lasting (a jump, and a lasting shift), with its weight among the
 * accounts the history supports.
 */
export interface ChurnFit {
  readonly peak: Estimate;
  readonly lasting: Estimate;
  /** Correlation of the two estimates. */
  readonly correlation: number;
  readonly shape: JumpShape;
  readonly weight: number;
}

/**
 * The churn rate's response to price: every jump shape the history supports, weighted by how well it fits
 * (BIC weights), most likely first. A few days after a change, a jump that ends soon and a lasting shift fit
 * alike: both stay in, and the forecast's band spans them.
 */
export interface ChurnResponse {
  readonly fits: readonly ChurnFit[];
  /** Price changes it was estimated from. */
  readonly changes: number;
}

export interface Responses {
  readonly churn?: ChurnResponse | undefined;
  /** Change of log sign-ups per 1% of price, lasting. */
  readonly signupsPerPricePct?: Estimate | undefined;
  /**
   * Change of log sign-ups while a campaign runs: the mean over the history's campaigns, uncertain for a new
   * campaign by as much as campaigns differ.
   */
  readonly signupsPerCampaign?: Estimate | undefined;
  /** Each past campaign's own change of log sign-ups while it ran. */
  readonly campaignLifts?: ReadonlyMap<CampaignRun, number> | undefined;
  /**
   * By kind, the mean change of log sign-ups of the history's campaigns of that kind (uncertain for a new one
   * by as much as they differ, or as all campaigns do when too few to tell), and how many there were.
   */
  readonly campaignKinds?: ReadonlyMap<string, Estimate & { readonly campaigns: number }> | undefined;
}

/** The responses one sample path lives with (0 where there is no estimate). */
export interface ResponseDraw {
  readonly peak: number;
  readonly lasting: number;
  readonly shape: JumpShape;
  readonly signupsPerPricePct: number;
  readonly signupsPerCampaign: number;
  /** A new campaign's lift by its kind (a kind not seen before takes `signupsPerCampaign`). */
  readonly campaignKinds: ReadonlyMap<string, number>;
}

/** The fewest days before a change its baseline level (of up to `WINDOW` days) is read from. */
const MIN_BEFORE_DAYS = 28;
/** Days after a change its response is read over, and the fewest that tell anything. */
const AFTER_DAYS = 182;
const MIN_AFTER_DAYS = 14;
/** Accounts of the churn response less likely than this are dropped. */
const MIN_WEIGHT = 0.001;
/** The jump shapes tried. */
const SHAPES: readonly JumpShape[] = [
  ...[1, 2, 3, 5, 7, 10, 14, 21, 30, 45, 60, 90].map((days) => ({ kind: 'fading' as const, days })),
  ...[7, 14, 21, 28, 31, 45, 60, 90].map((days) => ({ kind: 'step' as const, days })),
];

/**
 * The churn rate's response to a price rise of 1%, from the history's own price changes: each day's rate after
 * a change, relative to the level and weekday profile of the days before it, is regressed on the change times
 * a jump and a lasting shift (least squares, the jump's shape chosen on a grid). Daily `rates` are
 * positive, `changes` in the same day numbering. Undefined without a change that has enough days around it.
 */
export function fitChurnResponse(
  rates: readonly number[],
  changes: readonly PriceChange[],
  period = 7,
): ChurnResponse | undefined {
  const logs = rates.map((rate) => Math.log(rate));
  const usable = changes
    .filter(
      (change) =>
        change.pct !== 0 && change.step >= MIN_BEFORE_DAYS && change.step <= rates.length - MIN_AFTER_DAYS,
    )
    .sort((a, b) => a.step - b.step);
  if (usable.length === 0) return undefined;
  const observations: { pct: number; k: number; excess: number }[] = [];
  // The baseline level's own error shifts every day after a change alike: it adds to the lasting shift's. It
  // is the mean's sampling error, and how far the level has drifted, in this history, over as many days.
  let levelVariance = 0;
  usable.forEach((change, index) => {
    const before = logs.slice(0, change.step);
    const { level, profile, spread } = levelOf(before, period);
    const end = Math.min(logs.length, change.step + AFTER_DAYS, usable[index + 1]?.step ?? logs.length);
    const drift = measuredLevelError(before, end - change.step);
    levelVariance += (spread ** 2 / Math.min(WINDOW, change.step) + drift ** 2) / change.pct ** 2;
    for (let t = change.step; t < end; t++) {
      const expected = level + (profile[t % period] ?? 0);
      observations.push({
        pct: change.pct,
        k: t - change.step,
        excess: Math.exp((logs[t] ?? 0) - expected) - 1,
      });
    }
  });
  const excess = observations.map((observation) => observation.excess);
  const n = observations.length;
  const candidates = SHAPES.flatMap((shape) => {
    const jump = observations.map(({ pct, k }) => pct * jumpAt(shape, k));
    // Where the days seen cannot tell this jump from a lasting shift (every day still inside a step), the
    // account is the jump alone: it is one of the futures the history allows.
    const both = leastSquares(
      observations.map(({ pct }, i) => [jump[i] ?? 0, pct]),
      excess,
    );
    const fit =
      both ??
      leastSquares(
        jump.map((value) => [value]),
        excess,
      );
    if (fit === undefined) return [];
    const { coefficients, covariance } = fit;
    const peakVariance = covariance[0]?.[0] ?? 0;
    const lastingVariance =
      both === undefined ? 0 : (covariance[1]?.[1] ?? 0) + levelVariance / usable.length ** 2;
    const bic = n * Math.log(Math.max(fit.sse, 1e-300) / n) + coefficients.length * Math.log(n);
    return [
      {
        bic,
        peak: { value: coefficients[0] ?? 0, se: Math.sqrt(peakVariance) },
        lasting: { value: coefficients[1] ?? 0, se: Math.sqrt(lastingVariance) },
        correlation:
          both === undefined
            ? 0
            : (covariance[0]?.[1] ?? 0) / Math.sqrt(Math.max(peakVariance * lastingVariance, 1e-300)),
        shape,
      },
    ];
  });
  if (candidates.length === 0) return undefined;
  const lowest = Math.min(...candidates.map((candidate) => candidate.bic));
  const likelihoods = candidates.map((candidate) => Math.exp(-(candidate.bic - lowest) / 2));
  const total = likelihoods.reduce((sum, value) => sum + value, 0);
  const fits = candidates
    .map(({ bic: _, ...candidate }, i) => ({ ...candidate, weight: (likelihoods[i] ?? 0) / total }))
    .filter((fit) => fit.weight >= MIN_WEIGHT)
    .sort((a, b) => b.weight - a.weight);
  const kept = fits.reduce((sum, fit) => sum + fit.weight, 0);
  return { fits: fits.map((fit) => ({ ...fit, weight: fit.weight / kept })), changes: usable.length };
}

/** Whether a campaign runs on day `t`. */
function isRunning(run: CampaignRun, t: number): boolean {
  return run.from <= t && t <= run.to;
}

/**
 * The summed change of log sign-ups of the campaigns running on day `t`: each its own, else the draw's for its
 * kind, else the draw's for any campaign.
 */
function lifted(
  campaigns: readonly CampaignRun[],
  t: number,
  draw: ResponseDraw,
  lifts?: Responses['campaignLifts'],
) {
  // A loop, not closures: this runs for every day of every projection and backtest.
  let sum = 0;
  for (const run of campaigns)
    if (isRunning(run, t))
      sum +=
        lifts?.get(run) ??
        (run.kind === undefined ? undefined : draw.campaignKinds.get(run.kind)) ??
        draw.signupsPerCampaign;
  return sum;
}

/** The responses of sign-ups fitSignupResponses estimates. */
type SignupResponses = Pick<
  Responses,
  'signupsPerPricePct' | 'signupsPerCampaign' | 'campaignLifts' | 'campaignKinds'
>;

/** Of at least this many campaigns, a kind's lifts tell how much its campaigns differ. */
const KIND_SPREAD_CAMPAIGNS = 3;

const meanAndSpread = (values: readonly number[]) => {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const spread =
    values.length > 1
      ? Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1))
      : undefined;
  return { mean, spread };
};

/** The sum of price changes in effect on day `t`, in percent. */
function priced(changes: readonly PriceChange[], t: number): number {
  let sum = 0;
  for (const change of changes) sum += change.step <= t ? change.pct : 0;
  return sum;
}

/**
 * Sign-ups' responses to price (a lasting shift per 1%) and to campaigns (a lift per campaign running), from
 * the history: week-on-week changes of log sign-ups (which drop the weekday pattern and the level) regressed
 * on week-on-week changes of the campaigns running and of the price, with a constant for growth. A price
 * response rests on a week of days per change, so its error is read from placebo weeks (the same estimate at
 * every week without a change), which carry whatever else moves sign-ups, not from the regression's
 * independent-days formula. Positive daily `signups`; a response whose regressor never changes is undefined.
 */
export function fitSignupResponses(
  signups: readonly number[],
  events: KnownEvents,
  period = 7,
): SignupResponses {
  const logs = signups.map((value) => Math.log(value));
  const days = Array.from({ length: Math.max(0, logs.length - period) }, (_, i) => i + period);
  const weekly = (at: (t: number) => number) => days.map((t) => at(t) - at(t - period));
  // One regressor per campaign (campaigns differ: a national one lifts more than a regional one), campaigns of
  // the same days together (their lift is shared alike), and one for price.
  const windows = new Map<string, CampaignRun[]>();
  for (const run of events.campaigns) {
    const key = `${run.from}:${run.to}`;
    windows.set(key, [...(windows.get(key) ?? []), run]);
  }
  const campaigns = [...windows.values()]
    .map((runs) => ({ runs, column: weekly((t) => Number(isRunning(runs[0] as CampaignRun, t))) }))
    .filter(({ column }) => column.some((value) => value !== 0));
  const price = weekly((t) => priced(events.priceChanges, t));
  const pricedAt = price.some((value) => value !== 0);
  const columns = [...campaigns.map(({ column }) => column), ...(pricedAt ? [price] : [])];
  if (columns.length === 0) return {};
  const rows = days.map((_, i) => [1, ...columns.map((column) => column[i] ?? 0)]);
  const changes = days.map((t) => (logs[t] ?? 0) - (logs[t - period] ?? 0));
  const fit = leastSquares(rows, changes);
  if (fit === undefined) return {};
  const coefficient = (index: number) => fit.coefficients[index + 1] ?? 0;
  const each = campaigns.flatMap(({ runs }, index) =>
    runs.map((run) => ({ run, lift: coefficient(index) / runs.length })),
  );
  const result: SignupResponses = {};
  if (each.length > 0) {
    const all = meanAndSpread(each.map(({ lift }) => lift));
    const se = all.spread ?? Math.sqrt(fit.covariance[1]?.[1] ?? 0);
    const kinds = new Map<string, number[]>();
    // Campaigns of one window share its lift evenly: a kind learns only from windows of that kind alone.
    const mixed = new Set(
      campaigns
        .filter(({ runs }) => new Set(runs.map((run) => run.kind)).size > 1)
        .flatMap(({ runs }) => runs),
    );
    for (const { run, lift } of each)
      if (run.kind !== undefined && !mixed.has(run))
        kinds.set(run.kind, [...(kinds.get(run.kind) ?? []), lift]);
    Object.assign(result, {
      signupsPerCampaign: { value: all.mean, se },
      campaignLifts: new Map(each.map(({ run, lift }) => [run, lift])),
      campaignKinds: new Map(
        [...kinds].map(([kind, lifts]) => {
          const own = meanAndSpread(lifts);
          const spread = lifts.length >= KIND_SPREAD_CAMPAIGNS ? own.spread : undefined;
          return [kind, { value: own.mean, se: spread ?? se, campaigns: lifts.length }];
        }),
      ),
    });
  }
  if (pricedAt) {
    const index = campaigns.length;
    const se = Math.sqrt(fit.covariance[index + 1]?.[index + 1] ?? 0);
    Object.assign(result, {
      signupsPerPricePct: {
        value: coefficient(index),
        se: Math.max(se, placeboSe(fit.residuals, price, period)),
      },
    });
  }
  return result;
}

/**
 * The error of a response read from a few weeks of week-on-week changes: for every stretch of `period` days
 * the regressor does not touch, the mean residual over it, as the response of a change of the regressor's
 * typical size would be; their root mean square.
 */
function placeboSe(residuals: readonly number[], column: readonly number[], period: number): number {
  const touched = column.flatMap((value, i) => (value === 0 ? [] : [i]));
  const size = Math.sqrt(touched.reduce((sum, i) => sum + (column[i] ?? 0) ** 2, 0) / touched.length);
  const estimates: number[] = [];
  for (let start = 0; start + period <= residuals.length; start += period) {
    if (touched.some((i) => i >= start - period && i < start + 2 * period)) continue;
    let sum = 0;
    for (let i = start; i < start + period; i++) sum += residuals[i] ?? 0;
    estimates.push(sum / period / size);
  }
  if (estimates.length < 3) return 0;
  return Math.sqrt(
    estimates.reduce((sum, value) => sum + value * value, 0) / estimates.length / (touched.length / period),
  );
}

/** The responses at their estimates (the churn response's most likely account). */
export function estimatedResponses(responses: Responses): ResponseDraw {
  const best = responses.churn?.fits[0];
  return {
    peak: best?.peak.value ?? 0,
    lasting: best?.lasting.value ?? 0,
    shape: best?.shape ?? { kind: 'step', days: 0 },
    signupsPerPricePct: responses.signupsPerPricePct?.value ?? 0,
    signupsPerCampaign: responses.signupsPerCampaign?.value ?? 0,
    campaignKinds: new Map([...(responses.campaignKinds ?? [])].map(([kind, lift]) => [kind, lift.value])),
  };
}

/**
 * One sample path's responses: an account of the churn response drawn by its weight, each estimate normal
 * around its value (the churn response's two parts correlated).
 */
export function drawResponses(responses: Responses, normal: () => number): ResponseDraw {
  const mean = estimatedResponses(responses);
  const [pick, a, b, c, d] = [normalCdf(normal()), normal(), normal(), normal(), normal()];
  const fits = responses.churn?.fits ?? [];
  let cumulative = 0;
  const churn =
    fits.find((fit) => {
      cumulative += fit.weight;
      return pick <= cumulative;
    }) ?? fits[fits.length - 1];
  const rho = Math.max(-1, Math.min(1, churn?.correlation ?? 0));
  return {
    ...mean,
    shape: churn?.shape ?? mean.shape,
    peak: (churn?.peak.value ?? 0) + (churn?.peak.se ?? 0) * a,
    lasting:
      (churn?.lasting.value ?? 0) + (churn?.lasting.se ?? 0) * (rho * a + Math.sqrt(1 - rho * rho) * b),
    signupsPerPricePct: mean.signupsPerPricePct + (responses.signupsPerPricePct?.se ?? 0) * c,
    signupsPerCampaign: mean.signupsPerCampaign + (responses.signupsPerCampaign?.se ?? 0) * d,
    // One draw for every new campaign of a path: how far this future's campaigns lift from their kinds' past.
    campaignKinds: new Map(
      [...(responses.campaignKinds ?? [])].map(([kind, lift]) => [kind, lift.value + lift.se * d]),
    ),
  };
}

/** The churn rate's multiplier on day `t` from price changes (never below 0). */
export function churnFactor(changes: readonly PriceChange[], draw: ResponseDraw, t: number): number {
  let factor = 1;
  for (const change of changes) {
    if (t < change.step) continue;
    factor += change.pct * (draw.peak * jumpAt(draw.shape, t - change.step) + draw.lasting);
  }
  return Math.max(0, factor);
}

/**
 * Sign-ups' multiplier on day `t` from price changes and campaigns (a campaign of the history at its own lift,
 * given `lifts`; any other at the draw's).
 */
export function signupFactor(
  events: KnownEvents,
  draw: ResponseDraw,
  t: number,
  lifts?: Responses['campaignLifts'],
): number {
  return Math.exp(
    draw.signupsPerPricePct * priced(events.priceChanges, t) + lifted(events.campaigns, t, draw, lifts),
  );
}

/** The events that had happened by day `day` (changes in effect, campaigns started), and those that had not. */
export function splitAt(events: KnownEvents, day: number): { past: KnownEvents; future: KnownEvents } {
  return {
    past: {
      priceChanges: events.priceChanges.filter((change) => change.step < day),
      campaigns: events.campaigns.filter((run) => run.from < day),
    },
    future: {
      priceChanges: events.priceChanges.filter((change) => change.step >= day),
      campaigns: events.campaigns.filter((run) => run.from >= day),
    },
  };
}

/** A figure with its 95% interval. */
export interface Interval95 {
  readonly value: number;
  readonly lower95: number;
  readonly upper95: number;
}

/** Days the churn response is summed over for its one-figure elasticity: a quarter. */
export const ELASTICITY_DAYS = 91;

/**
 * The estimated responses as a reader takes them, per +1% of price: the churn rate's jump on the day (in %) and
 * how it goes, by the most likely account; the lasting shift (in %) and the churn elasticity over a quarter
 * (the mean change of the churn rate over 91 days, in % per % of price), over every account, sign-ups' lasting change (in %), and
 * the lift of sign-ups while a campaign runs (in %).
 */
export function describeResponses(responses: Responses) {
  const interval = (value: number, se: number, map = (x: number) => 100 * x): Interval95 => ({
    value: map(value),
    lower95: map(value - Z95 * se),
    upper95: map(value + Z95 * se),
  });
  const relative = (x: number) => 100 * (Math.exp(x) - 1);
  const churn = responses.churn;
  const best = churn?.fits[0];
  // The mixture of the accounts: its mean and variance, from each account's.
  const mixture = (of: (fit: ChurnFit) => { mean: number; variance: number }): Interval95 | undefined => {
    if (churn === undefined) return undefined;
    const parts = churn.fits.map((fit) => ({ weight: fit.weight, ...of(fit) }));
    const mean = parts.reduce((sum, part) => sum + part.weight * part.mean, 0);
    const second = parts.reduce((sum, part) => sum + part.weight * (part.variance + part.mean ** 2), 0);
    return interval(mean, Math.sqrt(Math.max(0, second - mean ** 2)));
  };
  // The churn elasticity: the jump's mean over days 0 to 90, times the peak, plus the lasting shift.
  const elasticity = mixture((fit) => {
    let weight = 0;
    for (let k = 0; k < ELASTICITY_DAYS; k++) weight += jumpAt(fit.shape, k) / ELASTICITY_DAYS;
    return {
      mean: weight * fit.peak.value + fit.lasting.value,
      variance:
        (weight * fit.peak.se) ** 2 +
        fit.lasting.se ** 2 +
        2 * weight * fit.correlation * fit.peak.se * fit.lasting.se,
    };
  });
  const lasting = mixture((fit) => ({ mean: fit.lasting.value, variance: fit.lasting.se ** 2 }));
  const signups = responses.signupsPerPricePct;
  const campaign = responses.signupsPerCampaign;
  return {
    churn:
      churn === undefined || best === undefined || elasticity === undefined || lasting === undefined
        ? undefined
        : {
            changes: churn.changes,
            jump: interval(best.peak.value, best.peak.se),
            shape: `${
              best.shape.kind === 'fading'
                ? `fades with a half-life of ${(best.shape.days * Math.LN2).toFixed(1)} days`
                : `lasts ${best.shape.days} days, then ends`
            }, ${(100 * best.weight).toFixed(0)}% likely among the shapes tried`,
            lasting,
            elasticity,
          },
    signups: signups === undefined ? undefined : interval(signups.value, signups.se, relative),
    campaignLift: campaign === undefined ? undefined : interval(campaign.value, campaign.se, relative),
    campaignKinds: [...(responses.campaignKinds ?? [])].map(([kind, lift]) => ({
      kind,
      campaigns: lift.campaigns,
      lift: interval(lift.value, lift.se, relative),
    })),
  };
}
