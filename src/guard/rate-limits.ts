import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { MarqueeError } from '../errors.js';

/** A call refused by a rate limit: the message says when to retry. */
export class RateLimitedError extends MarqueeError {
  readonly retryAfterSeconds: number;
  constructor(scope: string, retryAfterSeconds: number) {
    super('rate_limited', `Rate limit reached for ${scope}; retry after ${retryAfterSeconds} s`);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface RateLimitOptions {
  /** Calls per minute for one tenant, all tools together. */
  readonly perTenant: number;
  /** Calls per minute for one tenant on one tool. */
  readonly perTool: number;
  readonly redisUrl?: string | undefined;
  /** The window the budgets refill over (default 60 s). */
  readonly windowSeconds?: number;
  /** The clock of the in-memory store (milliseconds); tests move it instead of sleeping. */
  readonly now?: () => number;
}

/** Spends one point of `key`, or rejects with how long until its budget refills. */
interface Budget {
  consume(key: string): Promise<unknown>;
}

/** A budget spent until `msBeforeNext` from now. */
class Spent {
  constructor(readonly msBeforeNext: number) {}
}

/**
 * In-memory fixed windows: each key has `points` per window of `duration` seconds, starting at its first call.
 */
class MemoryBudget implements Budget {
  private readonly windows = new Map<string, { start: number; used: number }>();

  constructor(
    private readonly points: number,
    private readonly duration: number,
    private readonly now: () => number,
  ) {}

  async consume(key: string): Promise<void> {
    const now = this.now();
    const windowMs = this.duration * 1000;
    let window = this.windows.get(key);
    if (window === undefined || now - window.start >= windowMs) {
      // Expired windows are dropped as new ones open, so keys of the past do not accumulate.
      if (this.windows.size > 100_000)
        for (const [other, open] of this.windows)
          if (now - open.start >= windowMs) this.windows.delete(other);
      window = { start: now, used: 0 };
      this.windows.set(key, window);
    }
    if (window.used >= this.points) throw new Spent(window.start + windowMs - now);
    window.used++;
  }
}

/** Per-tenant and per-(tenant, tool) budgets; in memory, or shared by every replica through Redis. */
export class RateLimits {
  private constructor(
    private readonly tenant: Budget,
    private readonly tool: Budget,
    private readonly closeStore: () => Promise<void>,
  ) {}

  static async create(options: RateLimitOptions): Promise<RateLimits> {
    const duration = options.windowSeconds ?? 60;
    if (options.redisUrl === undefined) {
      const now = options.now ?? Date.now;
      return new RateLimits(
        new MemoryBudget(options.perTenant, duration, now),
        new MemoryBudget(options.perTool, duration, now),
        async () => {},
      );
    }
    const { Redis } = await import('ioredis');
    const client = new Redis(options.redisUrl, {
      enableOfflineQueue: false,
      lazyConnect: false,
      maxRetriesPerRequest: 1,
    });
    return new RateLimits(
      new RateLimiterRedis({
        storeClient: client,
        keyPrefix: 'marquee:tenant',
        points: options.perTenant,
        duration,
      }),
      new RateLimiterRedis({
        storeClient: client,
        keyPrefix: 'marquee:tool',
        points: options.perTool,
        duration,
      }),
      async () => {
        client.disconnect();
      },
    );
  }

  /** Spends one call of `tenant` on `tool`, or throws RateLimitedError naming the exhausted budget. */
  async consume(tenant: string, tool: string): Promise<void> {
    for (const [limiter, key, scope] of [
      [this.tenant, tenant, `tenant ${tenant}`],
      [this.tool, `${tenant}:${tool}`, `${tool}`],
    ] as const) {
      try {
        await limiter.consume(key);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes || rejection instanceof Spent) {
          throw new RateLimitedError(scope, Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
        }
        throw new MarqueeError(
          'rate_limit_unavailable',
          'The rate limiter is temporarily unavailable; try again in a moment',
          {
            cause: rejection,
          },
        );
      }
    }
  }

  close(): Promise<void> {
    return this.closeStore();
  }
}
