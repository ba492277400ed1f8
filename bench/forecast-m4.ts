/**
 * The M4 benchmark of Marquee's forecaster: Weekly (359 series, h = 13) and Hourly (414, h = 48) from
 * ../shared/data/m4, scored with sMAPE, MASE and OWA as the competition did, plus 95% interval coverage.
 * Writes the table into BENCHMARKS.md. Run: npm run bench:forecast
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { mase, smape } from '../src/analysis/accuracy.js';
import { forecastSeries } from '../src/analysis/forecast.js';
import { writeSection } from './benchmarks-md.js';

const DATA = resolve(process.env.M4_DATA ?? join(import.meta.dirname, '../../shared/data/m4'));
if (!existsSync(join(DATA, 'Weekly-train.csv.gz'))) {
  console.error(
    `No M4 data in ${DATA}: set M4_DATA to the folder holding Weekly-train.csv.gz and the other files`,
  );
  process.exit(2);
}

interface Frequency {
  name: 'Weekly' | 'Hourly';
  horizon: number;
  /** m for MASE, as the competition used it. */
  m: number;
  /** Seasonal periods the forecaster may try. */
  periods: number[];
  /** Official Naive2 sMAPE and MASE (three decimals), the OWA reference. */
  naive2: [number, number];
}

const FREQUENCIES: Frequency[] = [
  { name: 'Weekly', horizon: 13, m: 1, periods: [52], naive2: [9.161, 2.777] },
  { name: 'Hourly', horizon: 48, m: 24, periods: [24, 168], naive2: [18.383, 2.395] },
];

function readSeries(file: string): Map<string, number[]> {
  const text = gunzipSync(readFileSync(join(DATA, file))).toString('ascii');
  const series = new Map<string, number[]>();
  for (const line of text.split('\n').slice(1)) {
    if (line === '') continue;
    const cells = line
      .split(',')
      .filter((cell) => cell !== '')
      .map((cell) => cell.replaceAll('"', ''));
    series.set(cells[0] ?? '', cells.slice(1).map(Number));
  }
  return series;
}

interface Score {
  name: string;
  count: number;
  sMAPE: number;
  MASE: number;
  owa: number;
  coverage: number;
  coverage80: number;
  seconds: number;
  models: [string, number][];
}

/** Official scores (Evaluation and Ranks.xlsx, via ../shared/data/m4/README.md): sMAPE, MASE, OWA per frequency. */
const OFFICIAL: [string, [number, number, number], [number, number, number]][] = [
  ['Naive2', [9.161, 2.777, 1.0], [18.383, 2.395, 1.0]],
  ['sNaive', [9.161, 2.777, 1.0], [13.912, 1.193, 0.627]],
  ['SES', [9.012, 2.685, 0.975], [18.094, 2.385, 0.99]],
  ['Theta', [9.093, 2.637, 0.971], [18.138, 2.455, 1.006]],
  ['Comb S-H-D', [8.944, 2.432, 0.926], [22.053, 4.582, 1.556]],
  ['Smyl ES-RNN (winner, ID 118)', [7.817, 2.356, 0.851], [9.328, 0.893, 0.44]],
];

function section(scores: Score[], seconds: number): string {
  const byName = new Map(scores.map((score) => [score.name, score]));
  const w = byName.get('Weekly');
  const h = byName.get('Hourly');
  const cells = (s: Score | undefined) =>
    s === undefined
      ? 'not run | | | '
      : `**${s.sMAPE.toFixed(3)}** | **${s.MASE.toFixed(3)}** | **${s.owa.toFixed(3)}** | **${s.coverage.toFixed(1)}%**`;
  const lines = [
    '## Forecasting: M4 Weekly and Hourly',
    '',
    `Command: \`npm run bench:forecast\` (bench/forecast-m4.ts), ${new Date().toISOString().slice(0, 10)}, ${seconds.toFixed(1)} s on 2 cores.`,
    'Fit on `*-train`, forecast the horizon (Weekly h = 13, Hourly h = 48), scored as the competition did',
    '(sMAPE, MASE with m = 1 Weekly and 24 Hourly, OWA from three-decimal sMAPE and MASE against the official',
    'Naive2). Coverage: share of test values inside the 95% prediction interval. Official rows from',
    '`../shared/data/m4/README.md` (no interval scores there).',
    '',
    '| method | Weekly sMAPE | Weekly MASE | Weekly OWA | Weekly 95% coverage | Hourly sMAPE | Hourly MASE | Hourly OWA | Hourly 95% coverage |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...OFFICIAL.map(
      ([name, weekly, hourly]) =>
        `| ${name} | ${weekly[0].toFixed(3)} | ${weekly[1].toFixed(3)} | ${weekly[2].toFixed(3)} | n/a | ${hourly[0].toFixed(3)} | ${hourly[1].toFixed(3)} | ${hourly[2].toFixed(3)} | n/a |`,
    ),
    `| **Marquee** | ${cells(w)} | ${cells(h)} |`,
    '',
    'Targets: OWA below Comb S-H-D on Weekly (< 0.926) and below sNaive on Hourly (< 0.627); 95% coverage',
    'between 92% and 97%.',
    '',
    `80% interval coverage: ${scores.map((score) => `${score.name} ${score.coverage80.toFixed(1)}%`).join(', ')}.`,
    '',
    'Models chosen (per series, by a holdout of the last h values):',
    '',
    ...scores.map(
      (score) =>
        `- ${score.name} (${score.count} series, ${score.seconds.toFixed(1)} s): ${score.models.map(([model, n]) => `${model} ${n}`).join('; ')}`,
    ),
  ];
  return lines.join('\n');
}

const only = process.argv[2];
const scores: Score[] = [];
const started = Date.now();
const limit = Number(process.env.M4_LIMIT ?? Number.POSITIVE_INFINITY);
for (const frequency of FREQUENCIES) {
  if (only !== undefined && only !== frequency.name) continue;
  const t0 = Date.now();
  const train = readSeries(`${frequency.name}-train.csv.gz`);
  const test = readSeries(`${frequency.name}-test.csv.gz`);
  let smapeSum = 0;
  let maseSum = 0;
  let inside = 0;
  let inside80 = 0;
  let points = 0;
  let count = 0;
  const models = new Map<string, number>();
  for (const [id, history] of train) {
    if (count >= limit) break;
    const actual = test.get(id) ?? [];
    const result = forecastSeries(history, { horizon: frequency.horizon, periods: frequency.periods });
    smapeSum += smape(actual, result.mean);
    maseSum += mase(history, actual, result.mean, frequency.m);
    actual.forEach((y, i) => {
      if (y >= (result.intervals[95].lower[i] ?? 0) && y <= (result.intervals[95].upper[i] ?? 0)) inside++;
      if (y >= (result.intervals[80].lower[i] ?? 0) && y <= (result.intervals[80].upper[i] ?? 0)) inside80++;
      points++;
    });
    models.set(result.model, (models.get(result.model) ?? 0) + 1);
    count++;
  }
  const sMAPE = smapeSum / count;
  const MASE = maseSum / count;
  const owa =
    (Number(sMAPE.toFixed(3)) / frequency.naive2[0] + Number(MASE.toFixed(3)) / frequency.naive2[1]) / 2;
  const coverage = (100 * inside) / points;
  const coverage80 = (100 * inside80) / points;
  const seconds = (Date.now() - t0) / 1000;
  console.log(
    `${frequency.name}: ${count} series, sMAPE ${sMAPE.toFixed(3)}, MASE ${MASE.toFixed(3)}, OWA ${owa.toFixed(3)}, 95% coverage ${coverage.toFixed(1)}%, 80% coverage ${coverage80.toFixed(1)}% (${seconds.toFixed(1)} s)`,
  );
  console.log(
    '  models:',
    [...models.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([m, n]) => `${m}: ${n}`)
      .join('; '),
  );
  scores.push({
    name: frequency.name,
    count,
    sMAPE,
    MASE,
    owa,
    coverage,
    coverage80,
    seconds,
    models: [...models.entries()].sort((a, b) => b[1] - a[1]),
  });
}
const total = (Date.now() - started) / 1000;
if (only === undefined && limit === Number.POSITIVE_INFINITY) {
  writeSection('forecast-m4', section(scores, total));
  console.log('wrote BENCHMARKS.md');
}
console.log(`total ${total.toFixed(1)} s`);
