import { ArgumentError } from '../errors.js';
import { quote } from './did-you-mean.js';

/** An inclusive range of calendar days, as ISO dates (`YYYY-MM-DD`). */
export interface DateRange {
  readonly from: string;
  readonly to: string;
}

/** A resolved period: its dates and how to say it back to the reader. */
export interface Period extends DateRange {
  readonly label: string;
}

export const RELATIVE_PERIODS = [
  'last_7_days',
  'last_28_days',
  'last_90_days',
  'last_quarter',
  'year_to_date',
] as const;
export const COMPARISONS = ['previous_period', 'year_ago'] as const;
export type Comparison = (typeof COMPARISONS)[number];

const DAY_MS = 86_400_000;
/** The days a warehouse can hold (ClickHouse Date32 and DateTime64): periods outside would be clamped. */
const EARLIEST = '1900-01-01';
// The last day whose next midnight a DateTime64 can still hold (half-open ranges end there).
const LATEST = '2299-12-30';

/** A period within the days a warehouse can hold, or an argument error naming `field`. */
function held<P extends DateRange>(period: P, field: string): P {
  if (period.from < EARLIEST || period.to > LATEST)
    throw new ArgumentError(
      field,
      `${field} ${period.from} to ${period.to} is outside the days a warehouse can hold (${EARLIEST} to ${LATEST})`,
    );
  return period;
}
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Parses an ISO date strictly (rejects 2026-02-30); undefined when it is not a real day. */
export function parseDate(text: string): Date | undefined {
  const match = ISO_DATE.exec(text);
  if (match === null) return undefined;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return formatDate(date) === text ? date : undefined;
}

export function formatDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The calendar day `instant` falls on in the IANA zone `zone`, as an ISO date. */
export function dayIn(zone: string, instant: Date): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: zone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(instant);
  const part = (type: string) => parts.find((candidate) => candidate.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

export function addDays(day: string, days: number): string {
  return formatDate(new Date(mustParse(day).getTime() + days * DAY_MS));
}

/** Whole days from `from` to `to` inclusive. */
export function dayCount(range: DateRange): number {
  return Math.round((mustParse(range.to).getTime() - mustParse(range.from).getTime()) / DAY_MS) + 1;
}

/** The last day of the time bucket of `grain` starting on `start` (a day, a Monday, a month's first, ...). */
export function bucketEnd(start: string, grain: 'day' | 'week' | 'month' | 'quarter' | 'year'): string {
  const date = mustParse(start);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  switch (grain) {
    case 'day':
      return start;
    case 'week':
      return addDays(start, 6);
    case 'month':
      return utc(year, month + 1, 0);
    case 'quarter':
      return utc(year, month + 3, 0);
    case 'year':
      return utc(year, 12, 0);
  }
}

function mustParse(day: string): Date {
  const date = parseDate(day);
  if (date === undefined) throw new Error(`Not an ISO date: ${day}`);
  return date;
}

function utc(year: number, monthIndex: number, day: number): string {
  return formatDate(new Date(Date.UTC(year, monthIndex, day)));
}

/** Monday of ISO week `week` of ISO year `year`. */
function isoWeekStart(year: number, week: number): string {
  const jan4 = new Date(Date.UTC(year, 0, 4));
  const mondayOfWeek1 = jan4.getTime() - ((jan4.getUTCDay() + 6) % 7) * DAY_MS;
  return formatDate(new Date(mondayOfWeek1 + (week - 1) * 7 * DAY_MS));
}

function isoWeeksInYear(year: number): number {
  return isoWeekStart(year + 1, 1) === addDays(isoWeekStart(year, 1), 52 * 7) ? 52 : 53;
}

const NAMED_HELP =
  'a named period (2026-Q3, 2026-08, 2026-W33, 2026, last_7_days, last_28_days, last_90_days, last_quarter, year_to_date) or {from, to} ISO dates';

/**
 * Resolves a named period (`2026-Q3`, `2026-08`, `2026-W33`, `2026`, `last_28_days`, ...) to dates.
 * Relative periods are anchored at `anchor`, the last complete day of data, not the wall clock.
 */
export function resolveNamedPeriod(name: string, anchor: string): Period {
  return held(namedPeriod(name, anchor), 'time_range');
}

function namedPeriod(name: string, anchor: string): Period {
  const text = name.trim();
  let match = /^(\d{4})-Q([1-4])$/i.exec(text);
  if (match !== null) {
    const year = Number(match[1]);
    const quarter = Number(match[2]);
    return {
      from: utc(year, (quarter - 1) * 3, 1),
      to: utc(year, quarter * 3, 0),
      label: `${year}-Q${quarter}`,
    };
  }
  match = /^(\d{4})-(\d{2})$/.exec(text);
  if (match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 12) {
    const year = Number(match[1]);
    const month = Number(match[2]);
    return { from: utc(year, month - 1, 1), to: utc(year, month, 0), label: text };
  }
  match = /^(\d{4})-W(\d{2})$/i.exec(text);
  if (match !== null) {
    const year = Number(match[1]);
    const week = Number(match[2]);
    if (week >= 1 && week <= isoWeeksInYear(year)) {
      const from = isoWeekStart(year, week);
      return { from, to: addDays(from, 6), label: `${year}-W${match[2]}` };
    }
  }
  match = /^(\d{4})$/.exec(text);
  if (match !== null) {
    const year = Number(match[1]);
    return { from: utc(year, 0, 1), to: utc(year, 11, 31), label: text };
  }
  const end = mustParse(anchor);
  switch (text) {
    case 'last_7_days':
    case 'last_28_days':
    case 'last_90_days': {
      const days = Number(text.split('_')[1]);
      return { from: addDays(anchor, 1 - days), to: anchor, label: `the ${days} days to ${anchor}` };
    }
    case 'last_quarter': {
      // The last calendar quarter that is complete on the anchor day.
      const nextDay = mustParse(addDays(anchor, 1));
      const quarterIndex = Math.floor(nextDay.getUTCMonth() / 3);
      const year = nextDay.getUTCFullYear();
      const previous = quarterIndex === 0 ? { year: year - 1, quarter: 4 } : { year, quarter: quarterIndex };
      return namedPeriod(`${previous.year}-Q${previous.quarter}`, anchor);
    }
    case 'year_to_date':
      return {
        from: utc(end.getUTCFullYear(), 0, 1),
        to: anchor,
        label: `${end.getUTCFullYear()} to date (${anchor})`,
      };
  }
  throw new ArgumentError('time_range', `Unknown time_range ${quote(name)}: expected ${NAMED_HELP}`);
}

/** Validates explicit inclusive ISO dates. */
export function explicitRange(from: string, to: string, argument = 'time_range'): Period {
  for (const [field, value] of [
    [`${argument}.from`, from],
    [`${argument}.to`, to],
  ] as const) {
    if (parseDate(value) === undefined) {
      throw new ArgumentError(
        field,
        `Invalid ${field} ${quote(value)}: expected a real calendar day as YYYY-MM-DD`,
      );
    }
  }
  if (from > to) {
    throw new ArgumentError(
      argument,
      `Invalid ${argument}: from ${quote(from)} is after to ${quote(to)}; swap them to ask for ${to} to ${from}`,
    );
  }
  return held({ from, to, label: from === to ? from : `${from} to ${to}` }, argument);
}

/** The period to compare against: the same number of days just before, or the same dates a year earlier. */
export function comparisonPeriod(period: Period, comparison: Comparison): Period {
  return held(comparisonOf(period, comparison), 'compare_to');
}

function comparisonOf(period: Period, comparison: Comparison): Period {
  if (comparison === 'previous_period') {
    const days = dayCount(period);
    const to = addDays(period.from, -1);
    const from = addDays(to, 1 - days);
    // A whole calendar month or quarter compares with the previous month or quarter, not with N days.
    const calendar = calendarPrevious(period);
    const range = calendar ?? { from, to };
    return { ...range, label: `previous period (${range.from} to ${range.to})` };
  }
  const from = shiftYears(period.from, -1);
  const to = shiftYears(period.to, -1);
  return { from, to, label: `a year earlier (${from} to ${to})` };
}

function calendarPrevious(period: Period): DateRange | undefined {
  const from = mustParse(period.from);
  if (from.getUTCDate() !== 1) return undefined;
  for (const months of [1, 3, 12]) {
    const end = utc(from.getUTCFullYear(), from.getUTCMonth() + months, 0);
    if (end === period.to && (months === 1 || from.getUTCMonth() % months === 0)) {
      return {
        from: utc(from.getUTCFullYear(), from.getUTCMonth() - months, 1),
        to: utc(from.getUTCFullYear(), from.getUTCMonth(), 0),
      };
    }
  }
  return undefined;
}

/** Same month and day `years` later; 29 February becomes 28 February in a common year. */
function shiftYears(day: string, years: number): string {
  const date = mustParse(day);
  const year = date.getUTCFullYear() + years;
  const lastDay = new Date(Date.UTC(year, date.getUTCMonth() + 1, 0)).getUTCDate();
  return utc(year, date.getUTCMonth(), Math.min(date.getUTCDate(), lastDay));
}
