import { AsyncResource } from 'node:async_hooks';
import { MarqueeError } from '../errors.js';

/** How warehouse work is shared between tenants. */
export interface FairnessOptions {
  /** Warehouse queries in flight at once, every tenant together. */
  readonly slots: number;
  /** Of those, at most this many for one tenant: the rest of its queries wait their turn. */
  readonly perTenant: number;
  /** Longest a query waits for its turn before the call is answered "busy, retry". */
  readonly maxWaitMs: number;
}

/**
 * Embedded chDB runs parameterised queries one at a time, process-wide, in the order they are sent: a
 * tenant that sends twenty heavy queries at once puts every other tenant's query behind all twenty. Two in
 * flight per tenant (of four) bound another tenant's wait to about two of them.
 */
export const DEFAULT_FAIRNESS: FairnessOptions = { slots: 4, perTenant: 2, maxWaitMs: 10_000 };

interface Waiter {
  readonly start: () => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * A fair queue in front of the warehouse: at most `slots` queries in flight, at most `perTenant` of them for
 * one tenant, and waiting tenants served in turn (one query each, round robin), so a cheap query of one tenant
 * waits for at most a few of another's, however many that one sends. A query that waits longer than
 * `maxWaitMs` is refused with `warehouse_busy` ("busy, retry in N s") instead of piling up.
 */
export class FairQueue {
  private running = 0;
  private readonly active = new Map<string, number>();
  private readonly waiting = new Map<string, Waiter[]>();
  /** Refusals so far (queries that waited past the bound). */
  refused = 0;

  constructor(private readonly options: FairnessOptions = DEFAULT_FAIRNESS) {
    if (options.slots < 1 || options.perTenant < 1 || options.maxWaitMs < 0)
      throw new Error('Fairness needs at least one slot, one per tenant, and a non-negative wait');
  }

  /** Runs `work` for `tenant` when its turn comes; refused with `warehouse_busy` after waiting too long. */
  run<T>(tenant: string, work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // A waiter is started by whichever query frees its slot: it runs in its own caller's async context, not
      // in that query's (a trace, a call's accounting), whoever started it.
      const start = AsyncResource.bind(() => {
        this.running++;
        this.active.set(tenant, (this.active.get(tenant) ?? 0) + 1);
        // The slot is free before the caller hears back, so whatever it does next finds it free; a `work` that
        // throws at once is a failed query like any other (never a slot kept, never an error in dispatch).
        Promise.resolve()
          .then(work)
          .then(
            (value) => {
              this.finish(tenant);
              resolve(value);
            },
            (error: unknown) => {
              this.finish(tenant);
              reject(error);
            },
          );
      });
      if (this.free(tenant) && !this.waiting.has(tenant)) return start();
      const queue = this.waiting.get(tenant) ?? [];
      const waiter: Waiter = {
        start,
        timer: setTimeout(() => {
          const index = queue.indexOf(waiter);
          if (index >= 0) queue.splice(index, 1);
          if (queue.length === 0 && this.waiting.get(tenant) === queue) this.waiting.delete(tenant);
          this.refused++;
          const seconds = Math.max(1, Math.ceil(this.options.maxWaitMs / 1000));
          reject(
            new MarqueeError(
              'warehouse_busy',
              `The warehouse is busy (this tenant's other questions, or other tenants'); retry in ${seconds} s`,
            ),
          );
        }, this.options.maxWaitMs).unref(),
      };
      queue.push(waiter);
      this.waiting.set(tenant, queue);
    });
  }

  /** Queries in flight and waiting, for health and metrics. */
  load(): { running: number; waiting: number } {
    let waiting = 0;
    for (const queue of this.waiting.values()) waiting += queue.length;
    return { running: this.running, waiting };
  }

  /** A query of `tenant` ended: its slot is free, the tenant goes to the back of the line, the next start. */
  private finish(tenant: string): void {
    this.running--;
    const left = (this.active.get(tenant) ?? 1) - 1;
    if (left === 0) this.active.delete(tenant);
    else this.active.set(tenant, left);
    const queue = this.waiting.get(tenant);
    if (queue !== undefined) {
      this.waiting.delete(tenant);
      this.waiting.set(tenant, queue);
    }
    this.dispatch();
  }

  private free(tenant: string): boolean {
    return this.running < this.options.slots && (this.active.get(tenant) ?? 0) < this.options.perTenant;
  }

  /**
   * Starts waiting queries while slots are free: each tenant with room takes one, in the order tenants began
   * waiting; a tenant served goes to the back of the line (Map order: delete, then set again).
   */
  private dispatch(): void {
    let started = true;
    while (started && this.running < this.options.slots) {
      started = false;
      for (const tenant of [...this.waiting.keys()]) {
        if (this.running >= this.options.slots) break;
        const queue = this.waiting.get(tenant);
        if (queue === undefined || !this.free(tenant)) continue;
        const waiter = queue.shift();
        this.waiting.delete(tenant);
        if (queue.length > 0) this.waiting.set(tenant, queue);
        if (waiter === undefined) continue;
        clearTimeout(waiter.timer);
        waiter.start();
        started = true;
      }
    }
  }
}
