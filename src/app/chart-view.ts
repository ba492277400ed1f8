/// <reference lib="dom" />
/**
 * The interactive chart for hosts that render MCP Apps: runs in the host's sandboxed frame, takes the tool
 * result the host hands it, reads the result's chart link through the host (so the chart is computed for the
 * same reader), and draws it with vega-embed. Everything is bundled into one HTML page: no CDN, and the vega
 * loader refuses every load (the data is inline). Built by `npm run build` into dist/chart-view.html.
 */
import { App } from '@modelcontextprotocol/ext-apps';
import embed from 'vega-embed';
import { chartOfResult } from './chart-of-result.js';

const refuse = async (): Promise<never> => {
  throw new Error('A chart may not load data, files or images: its data is inline');
};
const loader = { load: refuse, sanitize: refuse, http: refuse, file: refuse };

function say(text: string): void {
  const note = document.getElementById('note');
  if (note !== null) note.textContent = text;
}

const app = new App({ name: 'marquee-chart', version: '1.0.0' });
app.ontoolresult = async (result) => {
  try {
    const spec = await chartOfResult(app, result);
    if (spec === undefined) return say('This answer has no chart.');
    await embed('#chart', spec, { actions: false, renderer: 'svg', loader: loader as never });
    say('');
  } catch (error) {
    say(`The chart could not be drawn: ${(error as Error).message}`);
  }
};
await app.connect();
