import { LRUCache } from 'lru-cache';
import { digest } from '../../semantic/digest.js';

/** A cache key: the digest of everything an answer depends on. */
export const cacheKey = (parts: unknown): string => digest(parts);

/** What the cache has done since it started, for the benchmark and (later) metrics. */
export interface CacheStats {
  hits: number;
  misses: number;
  /** Asks that found the same load already running and waited for it instead of starting another. */
  coalesced: number;
  /** Entries dropped to stay under the byte bound. */
  evicted: number;
}

/** A value with whether it came from the cache (an earlier or a concurrent load) or from this load. */
export interface Cached<V> {
  readonly value: V;
  readonly cached: boolean;
}

/**
 * Loaded values by key, bounded in bytes (least recently used out first), each kept for its own time to live.
 * Concurrent asks for a key being loaded wait for that one load; a failed load is not kept. `size` measures a
 * value (its serialised length is a fair proxy); a value larger than the bound is answered, never kept.
 */
export class ResultCache<V extends NonNullable<unknown>> {
  private readonly entries: LRUCache<string, V> | undefined;
  private readonly loading = new Map<string, Promise<V>>();
  readonly stats: CacheStats = { hits: 0, misses: 0, coalesced: 0, evicted: 0 };

  constructor(
    readonly maxBytes: number,
    private readonly size: (value: V) => number,
    /** The clock times to live are measured on, in milliseconds (tests move it). */
    now?: () => number,
  ) {
    this.entries =
      maxBytes <= 0
        ? undefined
        : new LRUCache<string, V>({
            maxSize: maxBytes,
            // A given clock is read on every look-up (the default caches it for a millisecond).
            ...(now === undefined ? {} : { perf: { now }, ttlResolution: 0 }),
            dispose: (_value, _key, reason) => {
              if (reason === 'evict') this.stats.evicted++;
            },
          });
  }

  /**
   * The value of `key`: kept (unless `refresh`), being loaded by someone else, or loaded now and kept for
   * `ttlMs`. With no room configured (a bound of 0) every ask loads, and concurrent asks still share one load.
   */
  async get(key: string, ttlMs: number, load: () => Promise<V>, refresh = false): Promise<Cached<V>> {
    if (!refresh) {
      const kept = this.entries?.get(key);
      if (kept !== undefined) {
        this.stats.hits++;
        return { value: kept, cached: true };
      }
      const running = this.loading.get(key);
      if (running !== undefined) {
        this.stats.coalesced++;
        return { value: await running, cached: true };
      }
    }
    this.stats.misses++;
    const loaded = load();
    this.loading.set(key, loaded);
    try {
      const value = await loaded;
      if (ttlMs > 0 && this.entries !== undefined) {
        // Measured once; never less than a byte, so the bound holds whatever the estimate says.
        const bytes = Math.max(1, this.size(value));
        if (bytes <= this.maxBytes) this.entries.set(key, value, { ttl: ttlMs, size: bytes });
      }
      return { value, cached: false };
    } finally {
      if (this.loading.get(key) === loaded) this.loading.delete(key);
    }
  }

  /** Forgets a kept value (a load in flight is left to finish). */
  delete(key: string): void {
    this.entries?.delete(key);
  }

  /** Bytes kept now (by the size estimate). */
  get bytes(): number {
    return this.entries?.calculatedSize ?? 0;
  }
}
