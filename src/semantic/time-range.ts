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

/** Periods relative to the last complete day of data, as the schema lists them (`last_N_days` takes any N). */
export const RELATIVE_PERIODS = [
  'last_7_days',
  'last_28_days',
  'last_90_days',
  'last_N_days',
  'last_week',
  'last_month',
  'last_quarter',
  'last_year',
  'week_to_date',
  'month_to_date',
  'quarter_to_date',
  'year_to_date',
] as const;

/** Calendar periods by name, as the schema lists them. */
export const CALENDAR_PERIODS = [
  '2026',
  '2026-H2 (H2 2026)',
  '2026-Q3 (Q3 2026)',
  '2026-08 (August 2026, Aug 2026)',
  '2026-W33 (W33 2026)',
  '2026-08-14 (one day)',
] as const;
export const COMPARISONS = ['previous_period', 'year_ago'] as const;
/** The most days `last_N_days` spans: ten years. */
const MAX_LAST_DAYS = 3660;
export type Comparison = (typeof COMPARISONS)[number];

const DAY_MS = 86_400_000;
/** The days a warehouse can hold (ClickHouse Date32 and DateTime64): periods outside would be clamped. */
export const EARLIEST_DAY = '1900-01-01';
// The last day whose next midnight a DateTime64 can still hold (half-open ranges end there).
export const LATEST_DAY = '2299-12-30';

/** A period within the days a warehouse can hold, or an argument error naming `field`. */
function held<P extends DateRange>(period: P, field: string): P {
  if (period.from < EARLIEST_DAY || period.to > LATEST_DAY)
    throw new ArgumentError(
      field,
      `${field} ${period.from} to ${period.to} is outside the days a warehouse can hold (${EARLIEST_DAY} to ${LATEST_DAY})`,
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

/** Day formatters by zone: building one costs far more than using it. */
const DAY_FORMATS = new Map<string, Intl.DateTimeFormat>();

/** The calendar day `instant` falls on in the IANA zone `zone`, as an ISO date. */
export function dayIn(zone: string, instant: Date): string {
  let format = DAY_FORMATS.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    DAY_FORMATS.set(zone, format);
  }
  const parts = format.formatToParts(instant);
  const part = (type: string) => parts.find((candidate) => candidate.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

export function addDays(day: string, days: number): string {
  return formatDate(new Date(mustParse(day).getTime() + days * DAY_MS));
}

/** The part of `range` inside `window` (ISO days order as text) and its days; 0 when they do not meet. */
export function overlap(range: DateRange, window: DateRange): DateRange & { readonly days: number } {
  const [, from = range.from] = [range.from, window.from].sort();
  const [to = range.to] = [range.to, window.to].sort();
  return { from, to, days: to < from ? 0 : dayCount({ from, to }) };
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

const NAMED_HELP = `a calendar period (${CALENDAR_PERIODS.join(', ')}), a relative one (${RELATIVE_PERIODS.join(', ')}) or {from, to} ISO dates`;

const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

/** The month (1-12) a name or its first three letters (`Aug`, `sept`) says, if any. */
function monthNamed(word: string): number | undefined {
  const index = MONTHS.findIndex((month) => word.length >= 3 && month.startsWith(word));
  return index < 0 ? undefined : index + 1;
}

/**
 * Resolves a named period to dates: calendar periods as people write them (`2026-Q3`, `Q3 2026`, `H2 2026`,
 * `2026-08`, `August 2026`, `2026-W33`, `2026`, a day) and periods relative to `anchor`, the last complete
 * day of data, not the wall clock (`last_28_days`, `last_month`, `year_to_date`, ...).
 */
export function resolveNamedPeriod(name: string, anchor: string): Period {
  return held(namedPeriod(name, anchor), 'time_range');
}

function namedPeriod(name: string, anchor: string): Period {
  // "Q3 2026", "q3-2026", "last 7 days" and "Last-Month" all read alike.
  const text = name
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, ' ');
  const words = text.replace(/-/g, ' ').split(' ');
  const [a, b] = words;
  if (parseDate(text) !== undefined) return { from: text, to: text, label: text };
  const calendar = words.length <= 2 ? calendarPeriod(a ?? '', b) : undefined;
  if (calendar !== undefined) return calendar;
  return relativePeriod(words.join('_'), anchor) ?? unknownPeriod(name, text);
}

/** Why a period name resolves to nothing: the near misses said plainly, else everything that is accepted. */
function unknownPeriod(name: string, text: string): never {
  const days = /^last (\d+) days?$/.exec(text);
  const week = /^(?:(\d{4}) w(\d{1,2})|w(\d{1,2}) (\d{4}))$/.exec(text.replace(/-/g, ' '));
  const why =
    days !== null
      ? `last_N_days takes 1 to ${MAX_LAST_DAYS} days, not ${days[1]}`
      : ISO_DATE.test(text)
        ? `${text} is not a real calendar day`
        : week !== null
          ? `${week[1] ?? week[4]} has ${isoWeeksInYear(Number(week[1] ?? week[4]))} ISO weeks`
          : undefined;
  throw new ArgumentError(
    'time_range',
    why === undefined
      ? `Unknown time_range ${quote(name)}: expected ${NAMED_HELP}`
      : `Invalid time_range ${quote(name)}: ${why}`,
  );
}

/**
 * The `count` calendar months from month `first` (0-based) of `year`, labelled as the period is named: a year
 * (`2026`), a half (`2026-H2`), a quarter (`2026-Q3`) or a month (`2026-08`).
 */
function monthsOf(year: number, first: number, count: 1 | 3 | 6 | 12): Period {
  const label =
    count === 12
      ? String(year)
      : count === 6
        ? `${year}-H${first / 6 + 1}`
        : count === 3
          ? `${year}-Q${first / 3 + 1}`
          : `${year}-${String(first + 1).padStart(2, '0')}`;
  return { from: utc(year, first, 1), to: utc(year, first + count, 0), label };
}

/** A calendar period from one or two words (`2026-q3` is `2026 q3`); undefined when it names none. */
function calendarPeriod(a: string, b: string | undefined): Period | undefined {
  const yearFirst = /^\d{4}$/.test(a);
  const year = Number(yearFirst ? a : b);
  const part = yearFirst ? b : a;
  if (!/^\d{4}$/.test(yearFirst ? a : (b ?? ''))) return undefined;
  if (part === undefined) return monthsOf(year, 0, 12);
  let match = /^q([1-4])$/.exec(part);
  if (match !== null) return monthsOf(year, (Number(match[1]) - 1) * 3, 3);
  match = /^h([12])$/.exec(part);
  if (match !== null) return monthsOf(year, (Number(match[1]) - 1) * 6, 6);
  match = /^w(\d{1,2})$/.exec(part);
  if (match !== null) {
    const week = Number(match[1]);
    if (week < 1 || week > isoWeeksInYear(year)) return undefined;
    const from = isoWeekStart(year, week);
    return { from, to: addDays(from, 6), label: `${year}-W${String(week).padStart(2, '0')}` };
  }
  const month = /^\d{2}$/.test(part) && yearFirst ? Number(part) : monthNamed(part);
  if (month === undefined || month < 1 || month > 12) return undefined;
  return monthsOf(year, month - 1, 1);
}

/** A period ending at (or just before) `anchor`, the last complete day of data; undefined when it names none. */
function relativePeriod(text: string, anchor: string): Period | undefined {
  const end = mustParse(anchor);
  const year = end.getUTCFullYear();
  const month = end.getUTCMonth();
  const days = /^last_(\d{1,4})_days?$/.exec(text);
  if (days !== null) {
    const count = Number(days[1]);
    if (count < 1 || count > MAX_LAST_DAYS) return undefined;
    return {
      from: addDays(anchor, 1 - count),
      to: anchor,
      label: count === 1 ? `the day ${anchor}` : `the ${count} days to ${anchor}`,
    };
  }
  // "Last month" is the last calendar month complete on the anchor day (the anchor's own, on its last day).
  const next = mustParse(addDays(anchor, 1));
  const complete = (months: 1 | 3 | 12): Period => {
    const index = Math.floor((next.getUTCFullYear() * 12 + next.getUTCMonth()) / months) * months - months;
    return monthsOf(Math.floor(index / 12), index % 12, months);
  };
  const monday = addDays(anchor, -((end.getUTCDay() + 6) % 7));
  switch (text) {
    case 'last_week': {
      // The last ISO week complete on the anchor day.
      const to = end.getUTCDay() === 0 ? anchor : addDays(monday, -1);
      const from = addDays(to, -6);
      return { from, to, label: 'last week' };
    }
    case 'last_month':
      return complete(1);
    case 'last_quarter':
      return complete(3);
    case 'last_year':
      return complete(12);
    case 'week_to_date':
      return { from: monday, to: anchor, label: `the week to ${anchor}` };
    case 'month_to_date':
      return { from: utc(year, month, 1), to: anchor, label: `the month to ${anchor}` };
    case 'quarter_to_date':
      return { from: utc(year, month - (month % 3), 1), to: anchor, label: `the quarter to ${anchor}` };
    case 'year_to_date':
      return { from: utc(year, 0, 1), to: anchor, label: `${year} to date (${anchor})` };
  }
  return undefined;
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
  // Whole ISO weeks compare with the same weeks a year earlier (52 weeks back, Monday to Sunday again), so
  // both sides have the same weekdays; anything else with the same dates.
  const weeks =
    dayCount(period) % 7 === 0 &&
    mustParse(period.from).getUTCDay() === 1 &&
    calendarPrevious(period) === undefined;
  if (weeks) {
    const from = addDays(period.from, -364);
    const to = addDays(period.to, -364);
    return { from, to, label: `same weeks a year earlier (${from} to ${to})` };
  }
  const from = shiftYears(period.from, -1);
  const to = shiftYears(period.to, -1);
  return { from, to, label: `same dates a year earlier (${from} to ${to})` };
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

/** The same day `months` calendar months later, or that month's last day when it has no such day (Oct 31 + 6 = Apr 30). */
export function addMonths(day: string, months: number): string {
  const date = mustParse(day);
  const target = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + months, 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  return utc(target.getUTCFullYear(), target.getUTCMonth(), Math.min(date.getUTCDate(), lastDay));
}

/** Same month and day `years` later; 29 February becomes 28 February in a common year. */
function shiftYears(day: string, years: number): string {
  return addMonths(day, 12 * years);
}
