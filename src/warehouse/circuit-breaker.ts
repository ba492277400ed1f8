import { WarehouseUnavailableError } from '../errors.js';
import type { CompiledQuery } from '../semantic/compiled-query.js';
import type { QueryOptions, Warehouse } from './warehouse.js';

/** When a warehouse that stopped answering is left alone, and for how long. */
export interface BreakerOptions {
  /** Consecutive "unavailable" failures that open the breaker. */
  readonly failures: number;
  /** How long an open breaker answers at once, before one query tries the warehouse again. */
  readonly cooldownMs: number;
  readonly now?: () => number;
}

export const DEFAULT_BREAKER: BreakerOptions = { failures: 3, cooldownMs: 10_000 };

/**
 * A warehouse behind a circuit breaker. After `failures` consecutive failures to reach it (connection refused
 * or reset, no answer in time: `warehouse_unavailable`, never a query the warehouse rejected), every query and
 * ping fails at once with "temporarily unavailable; retry in N s" for `cooldownMs`, rather than each waiting for
 * its own timeout and piling up. Then one query tries it again (the others still fail at once): success closes
 * the breaker, failure opens it for another cooldown. It recovers by itself.
 */
export function withBreaker(
  warehouse: Warehouse,
  options: BreakerOptions = DEFAULT_BREAKER,
): Warehouse & { breaker: () => 'closed' | 'open' | 'trying' } {
  const now = options.now ?? Date.now;
  let failures = 0;
  let openUntil = 0;
  let trying = false;

  const refuse = (): never => {
    const seconds = Math.max(1, Math.ceil((openUntil - now()) / 1000));
    throw new WarehouseUnavailableError(undefined, seconds);
  };

  async function guarded<T>(work: () => Promise<T>): Promise<T> {
    const open = failures >= options.failures;
    if (open && (now() < openUntil || trying)) refuse();
    if (open) trying = true;
    try {
      const result = await work();
      failures = 0;
      return result;
    } catch (error) {
      if (error instanceof WarehouseUnavailableError) {
        failures++;
        if (failures >= options.failures) openUntil = now() + options.cooldownMs;
      } else failures = 0; // It answered (a query it rejected): it is there.
      throw error;
    } finally {
      if (open) trying = false;
    }
  }

  return {
    kind: warehouse.kind,
    query: (query: CompiledQuery, options?: QueryOptions) => guarded(() => warehouse.query(query, options)),
    ping: () => guarded(() => warehouse.ping()),
    admin: () => warehouse.admin(),
    close: () => warehouse.close(),
    breaker: () => (failures < options.failures ? 'closed' : trying ? 'trying' : 'open'),
  };
}
