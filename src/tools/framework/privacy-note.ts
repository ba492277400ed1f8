import { z } from 'zod';
import { quoteData } from '../../guard/untrusted-text.js';

/** What the privacy rules did to an answer: part of every tool's structured output. */
export const privacySchema = z.object({
  /** The fewest people a figure may describe, and the metric counting them (null: the rows are not about people). */
  min_group_size: z.object({ k: z.number(), people: z.string() }).nullable(),
  /** Groups withheld: too small, or needed so that the small ones cannot be worked out from the totals. */
  suppressed_groups: z.number(),
  /** Whether a total was withheld (its selection is too small). */
  totals_suppressed: z.boolean(),
  /** List-filter values left out because their own contribution was too small to show. */
  left_out: z.array(z.object({ argument: z.string(), value: z.union([z.string(), z.number()]) })),
});
export type Privacy = z.infer<typeof privacySchema>;

/** The sentences an answer's summary ends with when the privacy rules withheld anything. */
export function describePrivacy(privacy: Privacy, distinctMembers: boolean): string[] {
  const lines: string[] = [];
  const minimum = privacy.min_group_size;
  const floor =
    minimum === null
      ? 'too few members'
      : `fewer than ${minimum.k} ${minimum.people}${distinctMembers ? ' (or too few members of what your policy hides)' : ''}`;
  if (privacy.left_out.length > 0) {
    const values = privacy.left_out.map((entry) => `${entry.argument} ${quoteData(String(entry.value))}`);
    lines.push(
      `Left out of the filters for privacy, as each adds ${floor} to this selection: ${values.join(', ')}.`,
    );
  }
  if (privacy.totals_suppressed) lines.push(`Totals are withheld where they describe ${floor}.`);
  if (privacy.suppressed_groups > 0) {
    lines.push(
      `${privacy.suppressed_groups} group(s) are withheld for privacy: those with ${floor}, and as few others as it takes so that they cannot be worked out from the totals.`,
    );
  }
  return lines;
}

/** A tool's structured output as clients receive it: with the door's summary and privacy account. */
export type Answered<O> = { summary: string } & O & { privacy: Privacy };
