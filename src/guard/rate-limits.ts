import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
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
}

/** Per-tenant and per-(tenant, tool) budgets; in memory, or shared by every replica through Redis. */
export class RateLimits {
  private constructor(
    private readonly tenant: RateLimiterAbstract,
    private readonly tool: RateLimiterAbstract,
    private readonly closeStore: () => Promise<void>,
  ) {}

  static async create(options: RateLimitOptions): Promise<RateLimits> {
    const duration = options.windowSeconds ?? 60;
    if (options.redisUrl === undefined) {
      return new RateLimits(
        new RateLimiterMemory({ keyPrefix: 'tenant', points: options.perTenant, duration }),
        new RateLimiterMemory({ keyPrefix: 'tool', points: options.perTool, duration }),
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
        if (rejection instanceof RateLimiterRes) {
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
