/**
 * Bundles the MCP Apps chart view (src/app/chart-view.ts, with vega-embed and the ext-apps client) into one
 * self-contained HTML page, dist/chart-view.html. Run by `npm run build`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

// npm runs its scripts from the package root.
const root = process.cwd();
const out = await build({
  entryPoints: [join(root, 'src', 'app', 'chart-view.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  write: false,
  logLevel: 'silent',
});
const script = out.outputFiles[0]?.text ?? '';
// A script that contained "</script" would end the page early: escape it.
const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Marquee chart</title>
<style>body{margin:0;font-family:'DejaVu Sans',sans-serif}#note{color:#555;padding:8px}</style></head>
<body><div id="chart"></div><div id="note">Waiting for the answer…</div>
<script type="module">${script.replaceAll('</script', '<\\/script')}</script></body></html>
`;
const target = join(root, 'dist', 'chart-view.html');
await mkdir(dirname(target), { recursive: true });
await writeFile(target, page);
console.log(`dist/chart-view.html (${Math.round(page.length / 1024)} KiB)`);
