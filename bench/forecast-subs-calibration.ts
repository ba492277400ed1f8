/**
 * How honest forecast_subs' intervals are: rolling-origin calibration of the stock forecast, as the tool makes
 * it (365 days of flows, weekly season, 500 sample paths), on the fixture's subscribers and on three other
 * series shapes. For each horizon, 12 origins 14 days apart: the share of actual values inside the 80% and 95%
 * intervals, and the 95% interval's median width relative to the actual value. Run: npm run
 * bench:forecast-subs-calibration
 */
import { type KnownEvents, NO_EVENTS } from '../src/analysis/interventions.js';
import { forecastFlows, projectStock } from '../src/analysis/stock-flow.js';
import { seededWarehouse } from '../test/helpers.js';
import { writeSection } from './benchmarks-md.js';

const HISTORY = 365;
const ORIGINS = 24;
const SPACING = 7;
const HORIZONS = [7, 28, 91, 182];
const SCALE = 1;

interface Series {
  readonly name: string;
  readonly stock: number[];
  readonly inflow: number[];
  readonly outflow: number[];
  /** Known events, days numbered from the series' first. */
  readonly events: KnownEvents;
}

/** The events of a series, days numbered from `from` (those before it left out; later ones are scheduled). */
function knownFrom(events: KnownEvents, from: number): KnownEvents {
  return {
    priceChanges: events.priceChanges
      .map((change) => ({ ...change, step: change.step - from }))
      .filter((change) => change.step >= 0),
    campaigns: events.campaigns
      .map((run) => ({ ...run, from: run.from - from, to: run.to - from }))
      .filter((run) => run.to >= 0),
  };
}

/** A deterministic stock and flow history from daily sign-ups and churn rates. */
function synthetic(
  name: string,
  days: number,
  signups: (t: number) => number,
  rate: (t: number) => number,
  events: KnownEvents = NO_EVENTS,
): Series {
  const stock = [100_000];
  const inflow = [0];
  const outflow = [0];
  for (let t = 1; t < days; t++) {
    const churned = rate(t) * (stock[t - 1] ?? 0);
    inflow.push(signups(t));
    outflow.push(churned);
    stock.push((stock[t - 1] ?? 0) + signups(t) - churned);
  }
  return { name, stock, inflow, outflow, events };
}

/** Pseudo-random noise in [−1, 1], the same on every run. */
const noise = (t: number, salt: number) => (Math.sin(t * 12.9898 + salt * 78.233) * 43758.5453) % 1;
const weekly = (t: number) => [0.9, 0.9, 0.95, 1, 1.1, 1.2, 1.0][t % 7] ?? 1;

const started = performance.now();
const { warehouse, remove } = await seededWarehouse(SCALE);
const series: Series[] = [];
try {
  const rows = await warehouse.admin().query(`SELECT date, sum(active_subscribers) AS stock,
      sum(new_subscribers) AS inflow, sum(churned_subscribers) AS outflow
    FROM subscriptions_daily WHERE tenant_id = 'aurora' GROUP BY date ORDER BY date`);
  const first = String(rows[0]?.date);
  const step = `dateDiff('day', toDate('${first}'), %s)`;
  const prices = await warehouse.admin().query(`SELECT ${step.replace('%s', 'effective_date')} AS step,
      100 * (sum(new_price) / sum(old_price) - 1) AS pct
    FROM price_changes WHERE tenant_id = 'aurora' GROUP BY effective_date`);
  const campaigns = await warehouse.admin().query(`SELECT ${step.replace('%s', 'start_date')} AS start,
      ${step.replace('%s', 'end_date')} AS end, target_region AS kind FROM campaigns WHERE tenant_id = 'aurora'`);
  series.push({
    name: 'fixture (aurora, all plans)',
    stock: rows.map((row) => Number(row.stock)),
    inflow: rows.map((row) => Number(row.inflow)),
    outflow: rows.map((row) => Number(row.outflow)),
    events: {
      priceChanges: prices.map((row) => ({ step: Number(row.step), pct: Number(row.pct) })),
      campaigns: campaigns.map((row) => ({
        from: Number(row.start),
        to: Number(row.end),
        kind: String(row.kind),
      })),
    },
  });
} finally {
  await remove();
}
const days = 730;
series.push(
  synthetic(
    'smooth growth, weekly sign-ups',
    days,
    (t) => (300 + t / 5) * weekly(t) * (1 + 0.05 * noise(t, 1)),
    (t) => 0.0015 * (1 + 0.1 * noise(t, 2)),
  ),
  synthetic(
    'decline, noisy churn',
    days,
    (t) => 150 * weekly(t) * (1 + 0.1 * noise(t, 3)),
    (t) => 0.002 * (1 + 0.4 * noise(t, 4)),
  ),
  synthetic(
    'price rises at days 250 and 500 (+10%, +15%): churn up for a billing month',
    days,
    (t) => 260 * weekly(t) * (1 + 0.05 * noise(t, 5)),
    (t) => 0.0018 * (t >= 250 && t < 280 ? 2 : t >= 500 && t < 530 ? 2.5 : 1) * (1 + 0.1 * noise(t, 6)),
    {
      priceChanges: [
        { step: 250, pct: 10 },
        { step: 500, pct: 15 },
      ],
      campaigns: [],
    },
  ),
);

const lines: string[] = [];
const pooled = { inside80: 0, inside95: 0, forecasts: 0 };
const share = (count: number, of: number) => `${((100 * count) / Math.max(1, of)).toFixed(0)}%`;
for (const { name, stock, inflow, outflow, events } of series) {
  const all = { inside80: 0, inside95: 0, forecasts: 0 };
  for (const horizon of HORIZONS) {
    let inside95 = 0;
    let inside80 = 0;
    const widths: number[] = [];
    for (let k = 0; k < ORIGINS; k++) {
      const origin = stock.length - horizon - k * SPACING;
      const from = origin - HISTORY;
      if (from < 1) continue;
      const flows = forecastFlows(
        {
          inflow: inflow.slice(from, origin),
          stock: stock.slice(from, origin),
          outflow: outflow.slice(from, origin),
        },
        horizon,
        [7],
        knownFrom(events, from),
      );
      const path = projectStock(stock[origin - 1] ?? 0, flows, horizon);
      const actual = stock[origin + horizon - 1] ?? 0;
      const at = horizon - 1;
      if (actual >= (path.lower95[at] ?? 0) && actual <= (path.upper95[at] ?? 0)) inside95++;
      if (actual >= (path.lower80[at] ?? 0) && actual <= (path.upper80[at] ?? 0)) inside80++;
      widths.push(((path.upper95[at] ?? 0) - (path.lower95[at] ?? 0)) / actual);
    }
    widths.sort((a, b) => a - b);
    const width = widths[Math.floor(widths.length / 2)] ?? 0;
    for (const total of [all, pooled]) {
      total.inside80 += inside80;
      total.inside95 += inside95;
      total.forecasts += widths.length;
    }
    const line = `| ${name} | ${horizon} | ${widths.length} | ${share(inside80, widths.length)} | ${share(inside95, widths.length)} | ±${((100 * width) / 2).toFixed(1)}% |`;
    console.log(line);
    lines.push(line);
  }
  const line = `| ${name} | all four | ${all.forecasts} | ${share(all.inside80, all.forecasts)} | **${share(all.inside95, all.forecasts)}** | |`;
  console.log(line);
  lines.push(line);
}
lines.push(
  `| every series | all four | ${pooled.forecasts} | ${share(pooled.inside80, pooled.forecasts)} | **${share(pooled.inside95, pooled.forecasts)}** | |`,
);

writeSection(
  'forecast-subs-calibration',
  [
    '## forecast_subs calibration',
    '',
    `Command: \`npm run bench:forecast-subs-calibration\` (bench/forecast-subs-calibration.ts), ${new Date().toISOString().slice(0, 10)}, ${((performance.now() - started) / 1000).toFixed(0)} s on 2 cores.`,
    `The stock forecast as forecast_subs makes it (flows of the last ${HISTORY} days, weekly season, 500 sample paths), from`,
    `${ORIGINS} origins ${SPACING} days apart per horizon: the share of actual values inside the 80% and 95% intervals at`,
    'the horizon, and the median half-width of the 95% interval relative to the actual value. The fixture series is',
    `the aurora tenant's subscribers (scale ${SCALE}); the other three are generated in the script. Well calibrated is`,
    '80% and 95% (the issue asks 90-98% for the 95% interval) with the narrowest band that does it.',
    "Known events are interventions: the fixture's price change and campaigns (read from its warehouse) and the",
    'synthetic price rises are known at every origin, as announced, with their responses estimated from the',
    'history before the origin; a scheduled campaign takes the lift of past campaigns of its kind (the fixture: the',
    'region it targets). Sign-ups follow the line or the level of their last 91 days, whichever strayed less in the',
    "history, and the churn rate the level of its last 91 days; each one's measured error is scaled by 0.8 (README decision 31).",
    '',
    '| series | horizon (days) | origins | inside 80% | inside 95% | 95% half-width |',
    '| --- | --- | --- | --- | --- | --- |',
    ...lines,
  ].join('\n'),
);
