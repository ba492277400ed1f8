import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const FILE = join(resolve(import.meta.dirname, '..'), 'BENCHMARKS.md');
const HEADER = '# Benchmarks\n\nMeasured, not asserted: the commands below produce every figure.\n';

/** Replaces one benchmark's section of BENCHMARKS.md (or appends it), leaving the other sections alone. */
export function writeSection(name: string, text: string): void {
  const current = existsSync(FILE) ? readFileSync(FILE, 'utf8') : HEADER;
  const block = `<!-- ${name}:start -->\n${text}\n<!-- ${name}:end -->`;
  const pattern = new RegExp(`<!-- ${name}:start -->[\\s\\S]*<!-- ${name}:end -->`);
  writeFileSync(
    FILE,
    pattern.test(current) ? current.replace(pattern, block) : `${current.trimEnd()}\n\n${block}\n`,
  );
}
