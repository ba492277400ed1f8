import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COUNTRIES, TENANTS } from '../fixtures/profiles.js';
import { ROOT } from './helpers.js';

async function sourceFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory()
        ? sourceFiles(join(directory, entry.name))
        : Promise.resolve([join(directory, entry.name)]),
    ),
  );
  return nested.flat().filter((file) => file.endsWith('.ts'));
}

describe('src/ is warehouse-agnostic', () => {
  it('names no fixture table, column, tenant or region', async () => {
    const names = [
      'viewing_events',
      'campaign_exposures',
      'subscriptions_daily',
      'price_changes',
      'markets',
      'watch_seconds',
      'event_date',
      'country_code',
      'tenant_id',
      'user_id',
      'content_id',
      'runtime_minutes',
      ...TENANTS.map((tenant) => tenant.id),
      ...new Set(COUNTRIES.map((country) => country.region)),
    ];
    const files = await sourceFiles(join(ROOT, 'src'));
    expect(files.length).toBeGreaterThan(10);
    const hits: string[] = [];
    for (const file of files) {
      const text = (await readFile(file, 'utf8'))
        .split('\n')
        .filter((line) => !/^import .* from '\.\.\/\.\.\/fixtures\//.test(line))
        // DESIGN.md makes `tenant_id` the default name of the token's tenant claim: a product default, not a column.
        .filter((line) => !/^export const DEFAULT_TENANT_CLAIM = /.test(line))
        .join('\n');
      for (const name of names) if (new RegExp(`\\b${name}\\b`).test(text)) hits.push(`${file}: ${name}`);
    }
    expect(hits).toEqual([]);
  });
});
