import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Builds dist/ once before any test runs: the process-level tests (stdio, the CLI, shutdown) start the built
 * `marquee`, and must never run a build older than the source under test.
 */
export default function setup(): () => void {
  // The processes tests start keep Marquee's own state (the cursor key) in a directory of this run, not the repo.
  const state = mkdtempSync(join(tmpdir(), 'marquee-state-'));
  process.env.MARQUEE_STATE_DIR = state;
  const root = resolve(import.meta.dirname, '..');
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
    cwd: root,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`building dist/ failed:\n${result.stdout}${result.stderr}`);
  return () => rmSync(state, { recursive: true, force: true });
}
