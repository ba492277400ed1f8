import { RESOURCE_SCHEME } from '../tools/entities.js';
import type { ResourceContent } from '../tools/framework/door.js';
import { type ChartSpec, VEGA_LITE_MIME } from './chart-spec.js';

export { VEGA_LITE_MIME };

import { renderPng, renderSvg } from './render.js';

/** A chart resource: `marquee://charts/{token}` is its Vega-Lite spec, `.svg` and `.png` its drawings. */
const PREFIX = `${RESOURCE_SCHEME}://charts/`;
export const CHART_TEMPLATE = `${PREFIX}{token}`;
/** A result resource: `marquee://results/{token}.csv` (or `.json`) is every row of an answer. */
const RESULTS_PREFIX = `${RESOURCE_SCHEME}://results/`;
export const RESULTS_TEMPLATE = `${RESULTS_PREFIX}{token}.csv`;
const TOKEN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const VARIANTS = { svg: 'image/svg+xml', png: 'image/png' } as const;

export interface ChartTarget {
  readonly token: string;
  readonly variant: 'spec' | keyof typeof VARIANTS;
}

/** The chart a URI names (its token and variant), or undefined for any other URI. */
export function chartTarget(uri: string): ChartTarget | undefined {
  if (!uri.startsWith(PREFIX)) return undefined;
  const rest = uri.slice(PREFIX.length);
  const variant = (Object.keys(VARIANTS) as (keyof typeof VARIANTS)[]).find((name) =>
    rest.endsWith(`.${name}`),
  );
  const token = variant === undefined ? rest : rest.slice(0, -(variant.length + 1));
  if (!TOKEN.test(token)) return undefined;
  return { token, variant: variant ?? 'spec' };
}

export interface ResultsTarget {
  readonly token: string;
  readonly format: 'csv' | 'json';
}

/** The result a URI names (its token and format), or undefined for any other URI. */
export function resultsTarget(uri: string): ResultsTarget | undefined {
  if (!uri.startsWith(RESULTS_PREFIX)) return undefined;
  const match = /^(.+)\.(csv|json)$/.exec(uri.slice(RESULTS_PREFIX.length));
  if (match === null || !TOKEN.test(match[1] ?? '')) return undefined;
  return { token: match[1] ?? '', format: match[2] as 'csv' | 'json' };
}

/** The URI of every row of an answer. */
export function resultsUri(token: string, format: ResultsTarget['format'] = 'csv'): string {
  return `${RESULTS_PREFIX}${token}.${format}`;
}

/**
 * A CSV field: quoted when it must be, and a text that a spreadsheet would run as a formula (=, +, -, @, a tab
 * or a carriage return first) led by an apostrophe.
 */
function field(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text) && !/^-?\d+(\.\d+)?%?$/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Rows as CSV (RFC 4180, a header line, CRLF). */
export function toCsv(columns: readonly string[], rows: readonly Record<string, unknown>[]): string {
  return [columns, ...rows.map((row) => columns.map((column) => row[column]))]
    .map((line) => line.map(field).join(','))
    .join('\r\n')
    .concat('\r\n');
}

/** The URI of an answer's chart. */
export function chartUri(token: string): string {
  return `${PREFIX}${token}`;
}

/** The chart as the variant asks: its spec, or drawn as SVG or PNG (base64). */
export async function drawChart(
  uri: string,
  spec: ChartSpec,
  variant: ChartTarget['variant'],
): Promise<ResourceContent> {
  if (variant === 'spec') return { uri, mimeType: VEGA_LITE_MIME, text: JSON.stringify(spec) };
  const svg = await renderSvg(spec);
  if (variant === 'svg') return { uri, mimeType: VARIANTS.svg, text: svg };
  return { uri, mimeType: VARIANTS.png, blob: renderPng(svg).toString('base64') };
}
