import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOG } from '../src/tools/catalog.js';
import { ROOT } from './helpers.js';

async function sources(directory: string): Promise<{ path: string; text: string }[]> {
  const entries = await readdir(join(ROOT, directory), { recursive: true, withFileTypes: true });
  return Promise.all(
    entries
      .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
      .map(async (entry) => {
        const path = join(entry.parentPath, entry.name);
        return { path: relative(ROOT, path), text: await readFile(path, 'utf8') };
      }),
  );
}

const imports = (text: string) => [...text.matchAll(/from '([^']+)'/g)].map((match) => match[1] ?? '');

describe('the layout', () => {
  it('keeps the MCP SDK in the adapter: tools (the use cases) and the core never import it', async () => {
    for (const directory of ['src/tools', 'src/analysis', 'src/semantic', 'src/guard']) {
      for (const file of await sources(directory)) {
        expect(
          imports(file.text).filter((name) => name.startsWith('@modelcontextprotocol')),
          file.path,
        ).toEqual([]);
      }
    }
  });

  it('keeps the core pure: no warehouse client, no tools, no server', async () => {
    for (const directory of ['src/analysis', 'src/semantic', 'src/guard']) {
      for (const file of await sources(directory)) {
        const bad = imports(file.text).filter(
          (name) => /^(@clickhouse|chdb)/.test(name) || /\/(tools|server|warehouse|cli)\//.test(name),
        );
        expect(bad, file.path).toEqual([]);
      }
    }
  });

  it('gives every catalogued tool its own folder with its definition', async () => {
    for (const definition of CATALOG) {
      const folder = definition.name.replaceAll('_', '-');
      const text = await readFile(join(ROOT, 'src/tools', folder, 'definition.ts'), 'utf8');
      expect(text, folder).toMatch(
        new RegExp(`name: '${definition.name}'|name: "${definition.name}"|'${definition.name}'`),
      );
    }
  });
});
