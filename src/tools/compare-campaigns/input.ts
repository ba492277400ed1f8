import { z } from 'zod';
import { filterArguments, pageArguments, text } from '../framework/common-args.js';
import type { SchemaContext } from '../framework/definition.js';

export const DEFAULT_CONFIDENCE = 0.95;
export const DEFAULT_LIMIT = 60;
const MAX_LIMIT = 400;

/** compare_campaigns' arguments: two campaign ids, the layer's filters, a confidence level, a page. */
export function compareCampaignsInput({ layer, binding, policy }: SchemaContext) {
  const subject = layer.dimensions.get(binding.experiment?.subject ?? '');
  // Optional in the schema only so that a cursor can come alone; a call without a cursor must name both.
  const id = (label: string) =>
    text
      .optional()
      .describe(
        `Required: ${label} campaign's id (${subject?.description ?? 'its identifier'}). An id, not a name: find ids with list_campaigns.`,
      );
  return z.strictObject({
    campaign_a: id('The first'),
    campaign_b: id('The second'),
    ...filterArguments(binding, policy),
    confidence: z
      .number()
      .min(0.8)
      .max(0.999)
      .optional()
      .describe(`Confidence level of the tests, intervals and verdict (default ${DEFAULT_CONFIDENCE}).`),
    ...pageArguments('Rows of the by-days-since-launch table', DEFAULT_LIMIT, MAX_LIMIT),
  });
}
