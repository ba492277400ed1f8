import { describe, expect, it } from 'vitest';
import {
  addMonths,
  comparisonPeriod,
  explicitRange,
  resolveNamedPeriod,
} from '../../src/semantic/time-range.js';

const ANCHOR = '2026-10-31';

describe('named periods', () => {
  it.each([
    ['2026-Q3', '2026-07-01', '2026-09-30'],
    ['2026-q1', '2026-01-01', '2026-03-31'],
    ['2026-08', '2026-08-01', '2026-08-31'],
    ['2024-02', '2024-02-01', '2024-02-29'],
    ['2026-W33', '2026-08-10', '2026-08-16'],
    ['2026-W01', '2025-12-29', '2026-01-04'],
    ['2020-W53', '2020-12-28', '2021-01-03'],
    ['2025', '2025-01-01', '2025-12-31'],
    ['last_7_days', '2026-10-25', '2026-10-31'],
    ['last_28_days', '2026-10-04', '2026-10-31'],
    ['last_quarter', '2026-07-01', '2026-09-30'],
    ['year_to_date', '2026-01-01', '2026-10-31'],
    // As people say them (2026-10-31 is a Saturday).
    ['Q3 2026', '2026-07-01', '2026-09-30'],
    ['q3-2026', '2026-07-01', '2026-09-30'],
    ['2026 Q3', '2026-07-01', '2026-09-30'],
    ['H1 2026', '2026-01-01', '2026-06-30'],
    ['2025-H2', '2025-07-01', '2025-12-31'],
    ['August 2026', '2026-08-01', '2026-08-31'],
    ['aug 2026', '2026-08-01', '2026-08-31'],
    ['2024 February', '2024-02-01', '2024-02-29'],
    ['W33 2026', '2026-08-10', '2026-08-16'],
    ['2026-08-14', '2026-08-14', '2026-08-14'],
    ['last 7 days', '2026-10-25', '2026-10-31'],
    ['last_30_days', '2026-10-02', '2026-10-31'],
    ['last_1_day', '2026-10-31', '2026-10-31'],
    ['last_month', '2026-10-01', '2026-10-31'],
    ['Last Month', '2026-10-01', '2026-10-31'],
    ['last_year', '2025-01-01', '2025-12-31'],
    ['last_week', '2026-10-19', '2026-10-25'],
    ['week_to_date', '2026-10-26', '2026-10-31'],
    ['month_to_date', '2026-10-01', '2026-10-31'],
    ['quarter_to_date', '2026-10-01', '2026-10-31'],
  ])('%s', (name, from, to) => {
    expect(resolveNamedPeriod(name, ANCHOR)).toMatchObject({ from, to });
  });

  // Relative periods on other anchor days: the last complete month, quarter, year or ISO week on that day.
  it.each([
    ['last_quarter', '2026-09-30', '2026-07-01', '2026-09-30', '2026-Q3'],
    ['last_quarter', '2026-01-15', '2025-10-01', '2025-12-31', '2025-Q4'],
    ['last_quarter', '2026-10-31', '2026-07-01', '2026-09-30', '2026-Q3'],
    ['last_month', '2026-10-30', '2026-09-01', '2026-09-30', '2026-09'],
    ['last_month', '2026-01-05', '2025-12-01', '2025-12-31', '2025-12'],
    ['last_year', '2026-12-31', '2026-01-01', '2026-12-31', '2026'],
    // 2026-11-01 is a Sunday: its ISO week (Monday 2026-10-26) is complete.
    ['last_week', '2026-11-01', '2026-10-26', '2026-11-01', 'last week'],
  ])('%s on %s', (name, anchor, from, to, label) => {
    expect(resolveNamedPeriod(name, anchor)).toEqual({ from, to, label });
  });

  it.each([
    ['last_0_days', /^Invalid time_range "last_0_days": last_N_days takes 1 to 3660 days, not 0/],
    ['last 10000 days', /last_N_days takes 1 to 3660 days, not 10000/],
    ['2026-02-29', /^Invalid time_range "2026-02-29": 2026-02-29 is not a real calendar day/],
    ['W53 2025', /^Invalid time_range "W53 2025": 2025 has 52 ISO weeks/],
  ])('says why %j is not a period', (name, message) => {
    expect(() => resolveNamedPeriod(name, ANCHOR)).toThrow(message);
  });

  it.each([
    '2026-Q5',
    '2026-13',
    '2026-W54',
    '2025-W53',
    'yesterday',
    '',
    'last_0_days',
    '2026-02-30',
    'Augustus 2026',
    'Q3',
  ])('rejects %j', (name) => {
    expect(() => resolveNamedPeriod(name, ANCHOR)).toThrow(/time_range/);
  });
});

describe('calendar months ahead', () => {
  it.each([
    ['2026-10-31', 6, '2027-04-30'],
    ['2026-01-31', 1, '2026-02-28'],
    ['2024-01-31', 1, '2024-02-29'],
    ['2026-08-15', 12, '2027-08-15'],
  ])('%s + %i months is %s', (day, months, expected) => {
    expect(addMonths(day, months)).toBe(expected);
  });
});

describe('explicit ranges', () => {
  it('accepts real days in order', () => {
    expect(explicitRange('2026-01-01', '2026-01-31')).toMatchObject({ from: '2026-01-01', to: '2026-01-31' });
  });
  it.each([
    ['2026-02-30', '2026-03-01', /time_range.from/],
    ['2026-01-01', '26-01-02', /time_range.to/],
    ['2026-03-01', '2026-02-01', /after/],
  ])('rejects %s..%s', (from, to, message) => {
    expect(() => explicitRange(from, to)).toThrow(message);
  });
});

describe('comparison periods', () => {
  it.each([
    [{ from: '2026-07-01', to: '2026-09-30' }, 'previous_period', '2026-04-01', '2026-06-30'],
    [{ from: '2026-03-01', to: '2026-03-31' }, 'previous_period', '2026-02-01', '2026-02-28'],
    [{ from: '2026-01-01', to: '2026-12-31' }, 'previous_period', '2025-01-01', '2025-12-31'],
    [{ from: '2026-10-25', to: '2026-10-31' }, 'previous_period', '2026-10-18', '2026-10-24'],
    [{ from: '2024-02-29', to: '2024-03-10' }, 'year_ago', '2023-02-28', '2023-03-10'],
    // ISO week 2026-W33 (Mon 2026-08-10) against ISO week 2025-W33 (Mon 2025-08-11), weekday for weekday.
    [{ from: '2026-08-10', to: '2026-08-16' }, 'year_ago', '2025-08-11', '2025-08-17'],
    // A calendar quarter that happens to start on a Monday and last 13 weeks still compares date for date.
    [{ from: '2024-04-01', to: '2024-06-30' }, 'year_ago', '2023-04-01', '2023-06-30'],
    [{ from: '2026-07-01', to: '2026-09-30' }, 'year_ago', '2025-07-01', '2025-09-30'],
  ] as const)('%j %s', (period, comparison, from, to) => {
    expect(comparisonPeriod({ ...period, label: '' }, comparison)).toMatchObject({ from, to });
  });
});
