/**
 * Whether a period and its comparison can be compared as totals: both whole in the data, and of one length.
 * Pure: dates as ISO days.
 */
import { type DateRange, dayCount, overlap } from '../semantic/time-range.js';

/** The days of the data: the first, and the last complete one (a later day may still be filling). */
export interface DataDays {
  readonly first: string | null;
  readonly complete: string | null;
}

/** The days of `range` inside `data`, of how many it has. */
function covered(range: DateRange, data: DataDays): { days: number; of: number; from: string; to: string } {
  const of = dayCount(range);
  if (data.first === null || data.complete === null) return { days: 0, of, from: range.from, to: range.to };
  return { ...overlap(range, { from: data.first, to: data.complete }), of };
}

/**
 * What makes a comparison of totals misleading, in words a reader acts on: a period the data covers only in
 * part (cut short at the end, or starting before the data), or two periods of different lengths. Empty when
 * the two are like for like.
 */
export function comparabilityWarnings(
  period: DateRange,
  comparison: DateRange | undefined,
  data: DataDays,
): string[] {
  if (comparison === undefined) return [];
  const warnings: string[] = [];
  const now = covered(period, data);
  const then = covered(comparison, data);
  const cut = (label: string, part: typeof now) =>
    part.days === 0
      ? `the ${label} has no data at all`
      : `the ${label} has data for ${part.days} of its ${part.of} days (${part.from} to ${part.to})`;
  if (now.days < now.of) warnings.push(cut('period', now));
  if (then.days < then.of) warnings.push(cut('comparison', then));
  if (now.of !== then.of) warnings.push(`the period has ${now.of} days and the comparison ${then.of}`);
  if (warnings.length === 0) return [];
  return [
    `Not like for like: ${warnings.join('; ')}. Totals of unequal spans of data differ for that reason alone: compare the same dates on both sides (for example year_to_date, or explicit from/to of equal length inside the data).`,
  ];
}
