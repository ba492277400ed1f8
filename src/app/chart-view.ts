/// <reference lib="dom" />
/**
 * The interactive chart for hosts that render MCP Apps: runs in the host's sandboxed frame, takes the tool
 * result the host hands it, reads the result's chart link through the host (so the chart is computed for the
 * same reader), and draws it with vega-embed. Everything is bundled into one HTML page: no CDN, and the vega
 * loader refuses every load (the data is inline). Built by `npm run build` into dist/chart-view.html.
 */
import { App } from '@modelcontextprotocol/ext-apps';
import embed from 'vega-embed';

const VEGA_LITE_MIME = 'application/vnd.vegalite.v6+json';

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
  const link = (result.content ?? []).find(
    (item) => item.type === 'resource_link' && (item as { mimeType?: string }).mimeType === VEGA_LITE_MIME,
  ) as { uri: string } | undefined;
  if (link === undefined) return say('This answer has no chart.');
  try {
    const read = await app.readServerResource({ uri: link.uri });
    const [content] = read.contents as { text?: string }[];
    const spec = JSON.parse(content?.text ?? '{}');
    await embed('#chart', spec, { actions: false, renderer: 'svg', loader: loader as never });
    say('');
  } catch (error) {
    say(`The chart could not be drawn: ${(error as Error).message}`);
  }
};
await app.connect();
