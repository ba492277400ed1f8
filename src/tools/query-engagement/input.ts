import { z } from 'zod';
import { MAX_GROUP_BY } from '../../semantic/plan-query.js';
import { GRAINS } from '../../semantic/query-plan.js';
import { COMPARISONS } from '../../semantic/time-range.js';
import {
  filterArguments,
  namesList,
  pageArguments,
  TIME_RANGE_HELP,
  timeRange,
  visibleNames,
} from '../framework/common-args.js';
import type { SchemaContext } from '../framework/definition.js';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

/** The tool's arguments: built from the semantic layer, so metric, dimension and filter lists are its own. */
export function queryEngagementInput({ layer, binding, policy }: SchemaContext) {
  const { metrics, dimensions } = visibleNames(layer, binding, policy);
  return z.strictObject({
    metrics: namesList(10)
      .optional()
      .describe(
        `Metrics to compute (default ${binding.default_metrics.filter((name) => !policy.hiddenMetrics.has(name)).join(', ')}). Available: ${metrics.map((m) => `${m.name} (${m.description})`).join('; ')}`,
      ),
    time_range: timeRange.optional().describe(TIME_RANGE_HELP),
    ...filterArguments(binding, policy),
    group_by: namesList(MAX_GROUP_BY, 0)
      .optional()
      .describe(
        `Up to ${MAX_GROUP_BY} dimensions to break results down by: ${dimensions.map((d) => `${d.name} (${d.description})`).join('; ')}`,
      ),
    grain: z
      .enum(GRAINS)
      .optional()
      .describe(`Time bucket for a trend: rows per ${GRAINS.join(', ')}.`),
    compare_to: z
      .enum(COMPARISONS)
      .optional()
      .describe(
        'Compare with the previous period of the same length (or previous calendar month/quarter/year) or the same dates a year earlier; adds changes and the top movers behind them.',
      ),
    ...pageArguments('Rows', DEFAULT_LIMIT, MAX_LIMIT),
  });
}
