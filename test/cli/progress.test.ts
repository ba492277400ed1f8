import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progress, withProgress } from '../../src/cli/progress.js';
import { CLI, logMessages, tempDir } from '../helpers.js';

/** What the bar writes before it draws its line again. */
const CLEAR_LINE = '\r\x1b[2K';

/** A terminal of `columns` that keeps what is written to it. */
function terminal(columns = 100) {
  const written: string[] = [];
  return { isTTY: true, columns, write: (text: string) => written.push(text), written };
}

/** The line a terminal shows after carriage returns and line clears: the last text drawn on each line. */
function screen(written: readonly string[]): string[] {
  const lines = [''];
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a terminal's control sequences are the point.
  for (const text of written.join('').split(/(\r|\x1b\[2K|\n)/)) {
    if (text === '\r' || text === '\x1b[2K') lines[lines.length - 1] = '';
    else if (text === '\n') lines.push('');
    else lines[lines.length - 1] += text;
  }
  return lines;
}

describe('progress on a terminal', () => {
  it('draws one line in place: task, bar, percent, step, elapsed; and ends it', async () => {
    const tty = terminal();
    let clock = 0;
    const bar = progress('seed', tty, () => clock);
    clock = 1_500;
    bar.step('created tables (0.1 s)', { done: 1, total: 4 });
    expect(screen(tty.written)).toEqual([
      `seed     [${'█'.repeat(6)}${'░'.repeat(18)}]  25%  created tables (0.1 s)  1.5 s`,
    ]);
    clock = 4_000;
    bar.step('viewing events', { done: 3, total: 4 });
    bar.step('done', { done: 4, total: 4 });
    bar.end();
    expect(screen(tty.written)).toEqual([`seed     [${'█'.repeat(24)}] 100%  done  4.0 s`, '']);
  });

  it('fits the terminal, shows a step without a count without a bar, and ends a failed task too', async () => {
    const tty = terminal(40);
    await expect(
      withProgress(
        'rollups',
        async (step) => {
          step('viewing_by_market: 3/24 months of a very long name indeed', { done: 0.5, total: 12 });
          step('checking');
          throw new Error('stopped');
        },
        tty,
      ),
    ).rejects.toThrow('stopped');
    const lines = screen(tty.written);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^rollups +checking {2}\d+\.\d s$/);
    // A pseudo-terminal that says it has no columns gets a hundred, not a stump.
    const pty = terminal(0);
    progress('seed', pty).step('x'.repeat(150));
    expect(screen(pty.written)[0]).toHaveLength(99);
    expect(tty.written.every((text) => text.replace(CLEAR_LINE, '').length <= 39)).toBe(true);
  });
});

describe('progress elsewhere', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    dir = await tempDir('progress');
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it('is the JSON log, a line per step with how far it is (a seed through a pipe)', () => {
    const result = spawnSync(process.execPath, [CLI, 'seed', '--scale', '0.01'], {
      env: { ...process.env, MARQUEE_DATA_DIR: join(dir.path, 'warehouse'), MARQUEE_STATE_DIR: dir.path },
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    // Every line is JSON (logMessages refuses any other), and no bar was drawn.
    expect(logMessages(result.stderr)).toContain('seed: created tables');
    expect(result.stderr).not.toContain('\r');
    const steps = result.stderr
      .split('\n')
      .filter((line) => line.includes('"progress"'))
      .map(
        (line) => (JSON.parse(line) as { progress: { task: string; done: number; total: number } }).progress,
      );
    const seed = steps.filter((step) => step.task === 'seed');
    const rollups = steps.filter((step) => step.task === 'rollups');
    expect(seed.length).toBeGreaterThan(5);
    expect(seed.map((step) => step.done)).toEqual([...seed.map((step) => step.done)].sort((a, b) => a - b));
    expect(seed.at(-1)).toMatchObject({ done: seed[0]?.total, total: seed[0]?.total });
    expect(rollups.at(-1)).toMatchObject({ done: rollups[0]?.total });
  });
});
