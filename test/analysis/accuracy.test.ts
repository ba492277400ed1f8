import { describe, expect, it } from 'vitest';
import { mase, naiveScale, smape } from '../../src/analysis/accuracy.js';

describe('M4 accuracy measures', () => {
  it('sMAPE and MASE by hand', () => {
    // sMAPE: (200·1/3 + 0) / 2; MASE: mean |error| 0.5 over the naive scale 1 (history 1, 2, 3).
    expect(smape([2, 4], [1, 4])).toBeCloseTo(100 / 3, 12);
    expect(naiveScale([1, 2, 3], 1)).toBe(1);
    expect(mase([1, 2, 3], [2, 4], [1, 4], 1)).toBeCloseTo(0.5, 12);
    // Seasonal scale: lag 2 on 1, 5, 2, 6 is mean(|2 − 1|, |6 − 5|) = 1.
    expect(naiveScale([1, 5, 2, 6], 2)).toBe(1);
  });
});
