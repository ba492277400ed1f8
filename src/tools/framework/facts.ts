import {
  type AnalyticsRequest,
  type AppliedFilter,
  dimensionsNeedingValues,
  dimensionsToCheck,
  lookalikeKey,
  type PlanningFacts,
  planFilters,
  unmatchedValues,
} from '../../semantic/plan-query.js';
import type { Tool } from '../../semantic/semantic-layer.js';
import type { Row } from '../../warehouse/warehouse.js';
import type { AnalyticsService, Caller } from './analytics-service.js';
import { filterValues } from './common-args.js';

/** What planning may look up about the caller's data (cached briefly): never figures an answer shows. */
export interface Facts {
  /** The last complete day of the tool's data: relative periods end there. */
  anchor(binding: Tool): Promise<string>;
  /**
   * The first and last day of the tool's data the caller may see (not narrowed by any call's filters), and the
   * last complete one (a timestamp column's last day may be cut off).
   */
  dataDays(binding: Tool): Promise<{ first: string | null; last: string | null; complete: string | null }>;
  /** Distinct combinations of dimensions the caller may see (names, ids: for resolving and did-you-mean). */
  distinct(binding: Pick<Tool, 'name' | 'model'>, dimensions: readonly string[]): Promise<readonly Row[]>;
  /** The anchor and the known values of the dimensions a request filters on. */
  planning(binding: Tool, request: AnalyticsRequest): Promise<PlanningFacts>;
  /** A call's filter arguments checked against the warehouse's values (did-you-mean on a typo) and the policy. */
  filters(binding: Tool, args: Readonly<Record<string, unknown>>): Promise<AppliedFilter[]>;
}

/** The facts of one caller. */
export function factsFor(service: AnalyticsService, caller: Caller): Facts {
  const planning = async (binding: Tool, request: AnalyticsRequest): Promise<PlanningFacts> => {
    const dimensions = dimensionsNeedingValues(service.layer, binding, request);
    const checked = dimensionsToCheck(service.layer, binding, request);
    const [anchor, lists, existing] = await Promise.all([
      service.anchor(caller, binding),
      Promise.all(dimensions.map((dimension) => service.values(caller, binding, dimension))),
      Promise.all(checked.map((check) => service.existing(caller, binding, check.dimension, check.values))),
    ]);
    const facts: PlanningFacts = {
      anchor,
      values: new Map(dimensions.map((dimension, index) => [dimension, lists[index] ?? []])),
      known: new Map(checked.map((check, index) => [check.dimension, existing[index] ?? new Set<string>()])),
    };
    // Only for values that match nothing (the call is refused): what their names suggest instead.
    const unmatched = unmatchedValues(service.layer, binding, request.filters, facts, caller.policy);
    if (unmatched.length === 0) return facts;
    const lookalikes = new Map<string, { value: string; name: string }[]>();
    for (const { argument, value, dimensions: tried } of unmatched) {
      for (const dimension of tried) {
        const found = await service.lookalikes(caller, binding, dimension, value);
        if (found.length === 0) continue;
        lookalikes.set(lookalikeKey(argument, value), found);
        break;
      }
    }
    return { ...facts, lookalikes };
  };
  return {
    anchor: (binding) => service.anchor(caller, binding),
    dataDays: (binding) => service.dataDays(caller, binding),
    distinct: (binding, dimensions) => service.distinct(caller, binding, dimensions),
    planning,
    async filters(binding, args) {
      const requested = filterValues(binding, args);
      const facts = await planning(binding, { filters: requested, limit: 0, offset: 0 });
      return planFilters(service.layer, binding, requested, facts, caller.policy);
    },
  };
}
