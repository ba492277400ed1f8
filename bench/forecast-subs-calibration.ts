/**
 * How honest forecast_subs' intervals are: rolling-origin calibration of the stock forecast, as the tool makes
 * it (365 days of flows, weekly season, 500 sample paths), on the fixture's subscribers and on three other
 * series shapes. For each horizon, 12 origins 14 days apart: the share of actual values inside the 80% and 95%
 * intervals, and the 95% interval's median width relative to the actual value. Run: npm run
 * bench:forecast-subs-calibration
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedFixtures } from '../fixtures/seed-fixtures.js';
import { forecastFlows, projectStock } from '../src/analysis/stock-flow.js';
import { createWarehouse } from '../src/warehouse/create-warehouse.js';
import { LIMITS } from '../test/helpers.js';
import { writeSection } from './benchmarks-md.js';

const HISTORY = 365;
const ORIGINS = 12;
const SPACING = 14;
const HORIZONS = [7, 28, 91, 182];
const SCALE = 1;

interface Series {
  readonly name: string;
  readonly stock: number[];
  readonly inflow: number[];
  readonly outflow: number[];
}

/** A deterministic stock and flow history from daily sign-ups and churn rates. */
function synthetic(
  name: string,
  days: number,
  signups: (t: number) => number,
  rate: (t: number) => number,
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
  return { name, stock, inflow, outflow };
}

/** Pseudo-random noise in [−1, 1], the same on every run. */
const noise = (t: number, salt: number) => (Math.sin(t * 12.9898 + salt * 78.233) * 43758.5453) % 1;
const weekly = (t: number) => [0.9, 0.9, 0.95, 1, 1.1, 1.2, 1.0][t % 7] ?? 1;

const started = performance.now();
const dir = await mkdtemp(join(tmpdir(), 'marquee-bench-'));
const warehouse = createWarehouse({ kind: 'embedded', dataDir: dir, readers: 2, limits: LIMITS });
const series: Series[] = [];
try {
  await seedFixtures(warehouse.admin(), { scale: SCALE });
  const rows = await warehouse.admin().query(`SELECT date, sum(active_subscribers) AS stock,
      sum(new_subscribers) AS inflow, sum(churned_subscribers) AS outflow
    FROM subscriptions_daily WHERE tenant_id = 'aurora' GROUP BY date ORDER BY date`);
  series.push({
    name: 'fixture (aurora, all plans)',
    stock: rows.map((row) => Number(row.stock)),
    inflow: rows.map((row) => Number(row.inflow)),
    outflow: rows.map((row) => Number(row.outflow)),
  });
} finally {
  await warehouse.close();
  await rm(dir, { recursive: true, force: true });
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
    'churn break (a price rise at day 500)',
    days,
    (t) => 260 * weekly(t) * (1 + 0.05 * noise(t, 5)),
    (t) => (t >= 500 && t < 530 ? 0.005 : 0.0018) * (1 + 0.1 * noise(t, 6)),
  ),
);

const lines: string[] = [];
for (const { name, stock, inflow, outflow } of series) {
  for (const horizon of HORIZONS) {
    let inside95 = 0;
    let inside80 = 0;
    const widths: number[] = [];
    for (let k = 0; k < ORIGINS; k++) {
      const origin = stock.length - horizon - k * SPACING;
      const from = origin - HISTORY;
      if (from < 1) continue;
      const flows = forecastFlows(
        inflow.slice(from, origin),
        stock.slice(from, origin),
        outflow.slice(from, origin),
        horizon,
        [7],
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
    const line = `| ${name} | ${horizon} | ${widths.length} | ${((100 * inside80) / widths.length).toFixed(0)}% | ${((100 * inside95) / widths.length).toFixed(0)}% | ±${((100 * width) / 2).toFixed(1)}% |`;
    console.log(line);
    lines.push(line);
  }
}

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
    '',
    '| series | horizon (days) | origins | inside 80% | inside 95% | 95% half-width |',
    '| --- | --- | --- | --- | --- | --- |',
    ...lines,
  ].join('\n'),
);
