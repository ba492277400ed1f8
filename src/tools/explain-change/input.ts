import { z } from 'zod';
import { COMPARISONS } from '../../semantic/time-range.js';
import {
  filterArguments,
  namesList,
  TIME_RANGE_HELP,
  text,
  timeRange,
  visibleNames,
} from '../framework/common-args.js';
import type { SchemaContext } from '../framework/definition.js';

export const DEFAULT_TOP = 5;

/** explain_change's arguments, from the semantic layer and the caller's policy. */
export function explainChangeInput({ layer, binding, policy }: SchemaContext) {
  const { metrics, dimensions } = visibleNames(layer, binding, policy);
  const defaults = binding.mover_dimensions.filter((name) => !policy.hiddenDimensions.has(name));
  return z.strictObject({
    metric: text
      .optional()
      .describe(
        `The metric whose change to explain (default ${binding.default_metrics[0]}). Available: ${metrics.map((m) => `${m.name} (${m.description})`).join('; ')}`,
      ),
    time_range: timeRange.optional().describe(TIME_RANGE_HELP),
    compare_to: z
      .enum(COMPARISONS)
      .optional()
      .describe(
        'The baseline: the previous period of the same length (default) or the same dates a year earlier.',
      ),
    baseline: z
      .strictObject({
        from: text.describe('First day, YYYY-MM-DD'),
        to: text.describe('Last day, YYYY-MM-DD'),
      })
      .optional()
      .describe('Explicit baseline dates, instead of compare_to.'),
    ...filterArguments(binding, policy),
    dimensions: namesList(6)
      .optional()
      .describe(
        `Dimensions to split the change across (default ${defaults.join(', ')}). Available: ${dimensions.map((d) => d.name).join(', ')}`,
      ),
    top: z
      .number()
      .int()
      .min(1)
      .max(20)
      .optional()
      .describe(`Contributors listed per dimension (default ${DEFAULT_TOP}).`),
  });
}
