import { z } from 'zod';
import { filtersSchema, pageSchema, periodSchema } from '../framework/common-args.js';

const value = z.union([z.string(), z.number(), z.null()]);
const changeSchema = z.object({ absolute: z.number().nullable(), percent: z.number().nullable() });

/** What query_engagement answers (the door adds `summary` and `privacy`). */
export const queryEngagementOutput = z.object({
  period: periodSchema.extend({
    first_day_with_data: z.string().nullable(),
    last_day_with_data: z.string().nullable(),
  }),
  comparison: periodSchema.nullable(),
  /** What makes the comparison not like for like (a period the data covers in part, unequal lengths). */
  warnings: z.array(z.string()),
  filters: filtersSchema,
  metrics: z.array(z.object({ name: z.string(), description: z.string(), format: z.string() })),
  totals: z.record(z.string(), z.number().nullable()),
  comparison_totals: z.record(z.string(), z.number().nullable()).nullable(),
  changes: z.record(z.string(), changeSchema).nullable(),
  top_movers: z.array(
    z.object({
      dimension: z.string(),
      value: z.string(),
      metric: z.string(),
      current: z.number().nullable(),
      previous: z.number().nullable(),
      change: z.number().nullable(),
      percent: z.number().nullable(),
    }),
  ),
  columns: z.array(z.string()),
  rows: z.array(z.record(z.string(), value)),
  /** Time buckets of the rows the period (or the data so far) covers only in part: their totals are not comparable. */
  partial_buckets: z.array(z.object({ start: z.string(), days: z.number(), of: z.number() })),
  page: pageSchema.extend({ total_rows: z.number() }),
});
export type QueryEngagementResult = z.infer<typeof queryEngagementOutput>;
