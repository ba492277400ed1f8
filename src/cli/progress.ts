import { processLog } from '../observe/log.js';

/** How far a long task is: `done` of `total` units. */
export interface Step {
  readonly done: number;
  readonly total: number;
}

/** Where a bar is drawn: a terminal stream (stderr), or anything that takes text and says whether it is one. */
export interface BarStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

/** Told of each step of a long task, and of its end. */
export interface Progress {
  /** A step: what the task is doing now and, when it knows, how far it is. */
  step(message: string, step?: Step): void;
  /** The task is over (or failed): the bar's line, as last drawn, is ended. */
  end(): void;
}

const WIDTH = 24;

/**
 * The progress of a long task (seeding, rollup builds, benchmarks). On a terminal, one line redrawn in place:
 *
 *   seed     [███████████░░░░░░░░░░░░░]  46%  viewing events 2025-05-01 to 2025-07-31  12.4 s
 *
 * Anywhere else (a container, CI, a pipe) each step is a line of the JSON log, as every line Marquee writes
 * there is, with its `done` and `total`.
 */
export function progress(
  task: string,
  stream: BarStream = process.stderr,
  now: () => number = Date.now,
): Progress {
  const started = now();
  let drawn = false;
  const seconds = () => `${((now() - started) / 1000).toFixed(1)} s`;
  if (stream.isTTY !== true)
    return {
      step: (message, step) =>
        processLog().info(step === undefined ? {} : { progress: { task, ...step } }, `${task}: ${message}`),
      end: () => {},
    };
  return {
    step(message, step) {
      const fraction =
        step === undefined || step.total <= 0 ? undefined : Math.min(1, step.done / step.total);
      const bar =
        fraction === undefined
          ? ''
          : `[${'█'.repeat(Math.round(fraction * WIDTH)).padEnd(WIDTH, '░')}] ${String(Math.floor(fraction * 100)).padStart(3)}%  `;
      const line = `${task.padEnd(8)} ${bar}${message}  ${seconds()}`;
      // A pseudo-terminal may say it has no columns: then a hundred.
      const room = Math.max(20, (stream.columns || 100) - 1);
      stream.write(`\r\x1b[2K${line.length > room ? `${line.slice(0, room - 1)}…` : line}`);
      drawn = true;
    },
    end() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}

/** Runs a long task with its progress shown (a bar on a terminal, log lines elsewhere), ending the bar however it ends. */
export async function withProgress<T>(
  task: string,
  work: (step: (message: string, step?: Step) => void) => Promise<T>,
  stream: BarStream = process.stderr,
): Promise<T> {
  const shown = progress(task, stream);
  try {
    return await work((message, step) => shown.step(message, step));
  } finally {
    shown.end();
  }
}
