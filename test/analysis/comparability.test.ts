import { describe, expect, it } from 'vitest';
import { comparabilityWarnings } from '../../src/analysis/comparability.js';

// Data from 2024-11-01 to 2026-10-31 (the fixture's span); day counts worked out by hand.
const DATA = { first: '2024-11-01', complete: '2026-10-31' };

describe('whether a period and its comparison are like for like', () => {
  it('says nothing of two whole periods of one length', () => {
    expect(
      comparabilityWarnings(
        { from: '2026-07-01', to: '2026-09-30' },
        { from: '2025-07-01', to: '2025-09-30' },
        DATA,
      ),
    ).toEqual([]);
    expect(comparabilityWarnings({ from: '2026-07-01', to: '2026-09-30' }, undefined, DATA)).toEqual([]);
  });

  it('names a period the data cuts short, a comparison before the data, and unequal lengths', () => {
    // 2026 has data for Jan 1 to Oct 31: 304 of 365 days.
    expect(
      comparabilityWarnings(
        { from: '2026-01-01', to: '2026-12-31' },
        { from: '2025-01-01', to: '2025-12-31' },
        DATA,
      )[0],
    ).toMatch(
      /^Not like for like: the period has data for 304 of its 365 days \(2026-01-01 to 2026-10-31\)\. /,
    );
    // 2024-Q4 has data from Nov 1: 61 of 92 days.
    expect(
      comparabilityWarnings(
        { from: '2025-01-01', to: '2025-03-31' },
        { from: '2024-10-01', to: '2024-12-31' },
        DATA,
      )[0],
    ).toMatch(
      /the comparison has data for 61 of its 92 days \(2024-11-01 to 2024-12-31\); the period has 90 days and the comparison 92/,
    );
  });
});
