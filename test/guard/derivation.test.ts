import { describe, expect, it } from 'vitest';
import { Derivation } from '../../src/guard/derivation.js';

/**
 * Oracle: each case is a small linear system solved by hand (closed form); groups are numbers, a relation says
 * the whole's figures are the sum of its parts'.
 */
describe('what shown figures determine', () => {
  it('a total with one withheld part gives that part away', () => {
    const derivation = new Derivation([{ whole: 0, parts: [1, 2, 3] }], new Set([2]));
    expect(derivation.determines([2])).toBe(true);
  });

  it('two withheld parts of a shown total: only their sum', () => {
    const derivation = new Derivation([{ whole: 0, parts: [1, 2, 3] }], new Set([2, 3]));
    expect(derivation.determines([2])).toBe(false);
    expect(derivation.determines([3])).toBe(false);
    expect(derivation.determines([2, 3])).toBe(true);
  });

  // A 2x2 table: cells 1 (a,x), 2 (a,y), 3 (b,x), 4 (b,y); margins 5 (a), 6 (b), 7 (x), 8 (y) and total 0.
  const twoByTwo = [
    { whole: 5, parts: [1, 2] },
    { whole: 6, parts: [3, 4] },
    { whole: 7, parts: [1, 3] },
    { whole: 8, parts: [2, 4] },
    { whole: 0, parts: [5, 6] },
    { whole: 0, parts: [7, 8] },
  ];

  it('a withheld rectangle with its margins shown determines no cell (rank 3 of 4), only line sums', () => {
    const derivation = new Derivation(twoByTwo, new Set([1, 2, 3, 4]));
    for (const cell of [1, 2, 3, 4]) expect(derivation.determines([cell])).toBe(false);
    expect(derivation.determines([1, 2])).toBe(true);
    expect(derivation.determines([1, 4])).toBe(false);
  });

  it('a chain through a withheld margin: a = 0 - b, then (a,x) = a - (a,y)', () => {
    // Shown: total, margin b, cell (a,y). Withheld: margin a, cells (a,x), (b,x), (b,y), margins x, y.
    const derivation = new Derivation(twoByTwo, new Set([5, 1, 3, 4, 7, 8]));
    expect(derivation.determines([5])).toBe(true);
    expect(derivation.determines([1])).toBe(true);
    expect(derivation.determines([3])).toBe(false);
  });

  it('three withheld cells of a rectangle: each follows from the shown fourth', () => {
    const derivation = new Derivation(twoByTwo, new Set([1, 2, 3]));
    for (const cell of [1, 2, 3]) expect(derivation.determines([cell])).toBe(true);
  });

  it('a shown group is never reported as determined (it is not withheld)', () => {
    const derivation = new Derivation([{ whole: 0, parts: [1, 2] }], new Set([2]));
    expect(derivation.determines([1])).toBe(false);
  });
});
