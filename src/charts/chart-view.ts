import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The interactive chart for hosts that render MCP Apps: one self-contained page, linked from every tool. */
export const CHART_VIEW_URI = 'ui://marquee/chart.html';
export const CHART_VIEW_MIME = 'text/html;profile=mcp-app';

/** The package's root: the nearest folder above this module holding package.json (from src/ or dist/src/). */
function packageRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(directory, 'package.json')) && dirname(directory) !== directory)
    directory = dirname(directory);
  return directory;
}

let page: Promise<string | undefined> | undefined;

/** The built page (dist/chart-view.html, written by `npm run build`), or undefined when it was not built. */
export function chartViewPage(): Promise<string | undefined> {
  page ??= readFile(join(packageRoot(), 'dist', 'chart-view.html'), 'utf8').catch(() => undefined);
  return page;
}
