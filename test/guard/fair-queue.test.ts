import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { MarqueeError } from '../../src/errors.js';
import { FairQueue } from '../../src/guard/fair-queue.js';

/** A job that runs until released, noting when it started. */
function job(log: string[], name: string) {
  let release: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    work: () => {
      log.push(name);
      return done.then(() => name);
    },
    release: () => release(),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('the fair queue', () => {
  it("starts a waiting query in its own caller's async context, not in the one that freed its slot", async () => {
    const queue = new FairQueue({ slots: 1, perTenant: 1, maxWaitMs: 60_000 });
    const context = new AsyncLocalStorage<string>();
    const seen: (string | undefined)[] = [];
    const first = job([], 'first');
    const running = context.run('caller a', () =>
      queue.run('a', () => {
        seen.push(context.getStore());
        return first.work();
      }),
    );
    const waiting = context.run('caller b', () =>
      queue.run('b', async () => {
        seen.push(context.getStore());
        return 'second';
      }),
    );
    await tick();
    // Freed from caller a's context: the waiter still runs as caller b.
    context.run('caller a', () => first.release());
    await Promise.all([running, waiting]);
    expect(seen).toEqual(['caller a', 'caller b']);
  });

  it('keeps a tenant to its share, and lets another tenant in at once', async () => {
    const queue = new FairQueue({ slots: 2, perTenant: 1, maxWaitMs: 60_000 });
    const log: string[] = [];
    const a = Array.from({ length: 5 }, (_, i) => job(log, `a${i}`));
    const runs = a.map((j) => queue.run('a', j.work));
    const b = job(log, 'b0');
    const bRun = queue.run('b', b.work);
    await tick();
    // One of a's five runs; b takes the other slot without waiting for any of them.
    expect(log).toEqual(['a0', 'b0']);
    expect(queue.load()).toEqual({ running: 2, waiting: 4 });
    b.release();
    expect(await bRun).toBe('b0');
    for (const [i, j] of a.entries()) {
      j.release();
      expect(await runs[i]).toBe(`a${i}`);
      await tick();
    }
    expect(log).toEqual(['a0', 'b0', 'a1', 'a2', 'a3', 'a4']);
    expect(queue.load()).toEqual({ running: 0, waiting: 0 });
  });

  it('serves waiting tenants in turn, one query each', async () => {
    const queue = new FairQueue({ slots: 1, perTenant: 1, maxWaitMs: 60_000 });
    const log: string[] = [];
    const names = ['a0', 'a1', 'a2', 'b0', 'b1', 'c0'];
    const jobs = new Map(names.map((name) => [name, job(log, name)]));
    const runs = new Map(
      names.map((name) => [
        name,
        queue.run(name.slice(0, 1), (jobs.get(name) as ReturnType<typeof job>).work),
      ]),
    );
    for (let n = 0; n < names.length; n++) {
      await tick();
      // Only the query that started last runs: let it finish, and see who is next.
      const started = log.at(-1) ?? '';
      jobs.get(started)?.release();
      expect(await runs.get(started)).toBe(started);
    }
    expect(log).toEqual(['a0', 'b0', 'c0', 'a1', 'b1', 'a2']);
  });

  it('answers busy, retry in N s, past the longest wait, and counts it', async () => {
    const queue = new FairQueue({ slots: 1, perTenant: 1, maxWaitMs: 50 });
    const log: string[] = [];
    const first = job(log, 'a0');
    const running = queue.run('a', first.work);
    const waited = queue.run('a', job(log, 'a1').work);
    const error = await waited.catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(MarqueeError);
    expect((error as MarqueeError).code).toBe('warehouse_busy');
    expect((error as Error).message).toMatch(/busy .*; retry in 1 s$/);
    expect(queue.refused).toBe(1);
    expect(queue.load()).toEqual({ running: 1, waiting: 0 });
    first.release();
    expect(await running).toBe('a0');
    expect(log).toEqual(['a0']);
  });

  it('frees the slot of a query that fails, at once or later', async () => {
    const queue = new FairQueue({ slots: 1, perTenant: 1, maxWaitMs: 60_000 });
    await expect(queue.run('a', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const thrower = () => {
      throw new Error('thrown at once');
    };
    await expect(queue.run('a', thrower)).rejects.toThrow('thrown at once');
    // Queued behind a running query, a thrower started by dispatch fails alone; the query after it runs.
    const log: string[] = [];
    const first = job(log, 'a0');
    const running = queue.run('a', first.work);
    const thrown = queue.run('a', thrower);
    const after = queue.run('a', async () => 'after');
    first.release();
    expect(await running).toBe('a0');
    await expect(thrown).rejects.toThrow('thrown at once');
    expect(await after).toBe('after');
    expect(await queue.run('a', async () => 'next')).toBe('next');
    expect(queue.load()).toEqual({ running: 0, waiting: 0 });
  });
});
