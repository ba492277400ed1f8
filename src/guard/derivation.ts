/** One published relation between groups: the figures of `whole` are the sums of those of its `parts`. */
export interface Relation {
  readonly whole: number;
  readonly parts: readonly number[];
}

/** Coefficients of one equation, by group. */
export type Equation = Map<number, number>;

const EPSILON = 1e-9;

/** `row` less `factor` times `pivot`, dropping coefficients that cancel. */
export function subtract(row: Equation, pivot: Equation, factor: number): void {
  for (const [group, coefficient] of pivot) {
    const value = (row.get(group) ?? 0) - factor * coefficient;
    if (Math.abs(value) < EPSILON) row.delete(group);
    else row.set(group, value);
  }
}

/**
 * What an answer's shown figures determine about its withheld ones. With the shown groups known, each relation
 * is a linear equation in the withheld groups; Gauss–Jordan elimination over those equations tells which
 * withheld groups, or sums of them, anyone can work out exactly (a margin less its other cells, then a second
 * margin less that cell...). The relations come from the group structure alone, so this holds for every
 * additive figure of the groups at once.
 */
export class Derivation {
  /** Reduced equations, by their pivot group: no pivot appears in another's equation. */
  private readonly pivots = new Map<number, Equation>();

  constructor(relations: readonly Relation[], withheld: ReadonlySet<number>) {
    for (const relation of relations) {
      const equation: Equation = new Map();
      const add = (group: number, coefficient: number) => {
        if (withheld.has(group)) equation.set(group, (equation.get(group) ?? 0) + coefficient);
      };
      add(relation.whole, 1);
      for (const part of relation.parts) add(part, -1);
      this.insert(equation);
    }
  }

  /** Whether the figures of these withheld groups taken together (their sum) follow from what is shown. */
  determines(groups: readonly number[]): boolean {
    const vector: Equation = new Map();
    for (const group of groups) vector.set(group, (vector.get(group) ?? 0) + 1);
    this.reduce(vector);
    return vector.size === 0;
  }

  /** The withheld groups whose figures follow on their own from what is shown. */
  singles(): Set<number> {
    const found = new Set<number>();
    for (const [group, row] of this.pivots) if (row.size === 1) found.add(group);
    return found;
  }

  /**
   * Groups taken together (a sum of their figures) follow from what is shown exactly when their projections
   * add up to zero: a group's coefficients on the groups the equations leave free (its own, for a free group).
   * Sums of many groups are found by adding projections, without eliminating again.
   */
  projection(group: number): Equation {
    const row = this.pivots.get(group);
    if (row === undefined) return new Map([[group, 1]]);
    const free: Equation = new Map();
    for (const [other, coefficient] of row) if (other !== group) free.set(other, -coefficient);
    return free;
  }

  private reduce(equation: Equation): void {
    for (const group of [...equation.keys()]) {
      const pivot = this.pivots.get(group);
      const factor = equation.get(group);
      if (pivot !== undefined && factor !== undefined) subtract(equation, pivot, factor);
    }
  }

  private insert(equation: Equation): void {
    this.reduce(equation);
    if (equation.size === 0) return;
    const group = Math.min(...equation.keys());
    const scale = equation.get(group) ?? 1;
    for (const [other, coefficient] of equation) equation.set(other, coefficient / scale);
    for (const row of this.pivots.values()) {
      const factor = row.get(group);
      if (factor !== undefined) subtract(row, equation, factor);
    }
    this.pivots.set(group, equation);
  }
}
