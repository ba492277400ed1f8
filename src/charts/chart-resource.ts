import { RESOURCE_SCHEME } from '../tools/entities.js';
import type { ChartSpec } from './chart-spec.js';
import { renderPng, renderSvg } from './render.js';

/** A chart resource: `marquee://charts/{token}` is its Vega-Lite spec, `.svg` and `.png` its drawings. */
const PREFIX = `${RESOURCE_SCHEME}://charts/`;
export const CHART_TEMPLATE = `${PREFIX}{token}`;
export const VEGA_LITE_MIME = 'application/vnd.vegalite.v6+json';
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
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) return undefined;
  return { token, variant: variant ?? 'spec' };
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
): Promise<
  { uri: string; mimeType: string; text: string } | { uri: string; mimeType: string; blob: string }
> {
  if (variant === 'spec') return { uri, mimeType: VEGA_LITE_MIME, text: JSON.stringify(spec) };
  const svg = await renderSvg(spec);
  if (variant === 'svg') return { uri, mimeType: VARIANTS.svg, text: svg };
  return { uri, mimeType: VARIANTS.png, blob: renderPng(svg).toString('base64') };
}
