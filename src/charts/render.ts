import { createRequire } from 'node:module';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { MarqueeError } from '../errors.js';
import type { ChartSpec } from './chart-spec.js';

/** The font text is drawn in: bundled, as a machine without fonts draws no text at all. */
const FONT = createRequire(import.meta.url).resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');

/** A chart that asks to load anything (a URL, a file, an image) is refused: its data is inline. */
function refuse(): never {
  throw new MarqueeError('chart_refused', 'A chart may not load data, files or images: its data is inline');
}

/** A vega loader that refuses every load. */
function denyAllLoader(): vega.Loader {
  const loader = vega.loader();
  return Object.assign(loader, {
    load: async () => refuse(),
    sanitize: async () => refuse(),
    http: async () => refuse(),
    file: async () => refuse(),
  });
}

/** The chart's Vega-Lite spec compiled and drawn as SVG, headless, with no load allowed. */
export async function renderSvg(spec: ChartSpec): Promise<string> {
  const compiled = compile(spec as unknown as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader: denyAllLoader() });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The SVG drawn as PNG with the bundled font (scale 2 for crisp text). */
export function renderPng(svg: string): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: 2 },
    font: { fontFiles: [FONT], loadSystemFonts: false, defaultFontFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}
