import { roundMetric, toNumber } from '../../analysis/period-results.js';
import { neutralise, quoteData } from '../../guard/untrusted-text.js';
import type { Metric, SemanticLayer } from '../../semantic/semantic-layer.js';
import type { Row } from '../../warehouse/warehouse.js';

/** A metric value as a person reads it: thousands separators, percentages for rates. */
export function formatValue(metric: Metric, value: number | null): string {
  if (value === null) return 'n/a';
  if (metric.format === 'percent') return `${(value * 100).toFixed(Math.max(0, metric.decimals - 2))}%`;
  const unit = metric.unit === undefined ? '' : ` ${metric.unit}`;
  return `${value.toLocaleString('en-US', { maximumFractionDigits: metric.decimals })}${unit}`;
}

/** The sign of a change as shown: "+", "−" or "±". */
export function signOf(value: number): string {
  return value > 0 ? '+' : value < 0 ? '−' : '±';
}

/** A difference of rates in percentage points: "+1.53 pp". */
export function formatPoints(value: number): string {
  return `${signOf(value)}${(Math.abs(value) * 100).toFixed(2)} pp`;
}

/** A signed change: "+1,204" or "−3.1 pp" for rates. */
export function formatChange(metric: Metric, absolute: number | null, percent: number | null): string {
  if (absolute === null) return 'no comparison data';
  const change =
    metric.format === 'percent'
      ? formatPoints(absolute)
      : `${signOf(absolute)}${Math.abs(absolute).toLocaleString('en-US', { maximumFractionDigits: metric.decimals })}`;
  const relative =
    percent === null
      ? ''
      : ` (${signOf(percent)}${Math.abs(percent).toFixed(Math.abs(percent) < 0.1 ? 2 : 1)}%)`;
  return `${change}${relative}`;
}

/** Rows as a compact tab-separated table with a header, for clients that only show text. */
export function formatTable(columns: readonly string[], rows: readonly Record<string, unknown>[]): string {
  const cell = (value: unknown): string =>
    value === null || value === undefined ? '' : String(value).replace(/[\t\n\r]/g, ' ');
  return [
    columns.join('\t'),
    ...rows.map((row) => columns.map((column) => cell(row[column])).join('\t')),
  ].join('\n');
}

/** The filters an answer applied, for its summary: `country "BR"; plan "premium", "standard"`. */
export function describeFilters(
  filters: readonly { dimension: string; values: readonly (string | number)[] }[],
): string {
  return filters
    .map(
      (filter) => `${filter.dimension} ${filter.values.map((value) => quoteData(String(value))).join(', ')}`,
    )
    .join('; ');
}

/** A warehouse row as an answer shows it: columns renamed from dimensions and neutralised, metrics rounded. */
export function shapeRow(
  layer: SemanticLayer,
  row: Row,
  columns: readonly (readonly [string, string])[],
  metrics: readonly string[],
): Record<string, string | number | null> {
  const out: Record<string, string | number | null> = {};
  for (const [column, dimension] of columns) {
    const value = row[dimension];
    out[column] = value === null || value === undefined ? null : neutralise(String(value));
  }
  for (const name of metrics) {
    const metric = layer.metrics.get(name);
    out[name] = metric === undefined ? null : roundMetric(metric, toNumber(row[name]));
  }
  return out;
}

/** A count as a person reads it: "1,234,567". */
export function formatCount(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 0 });
}
