/** A run of days of one series (a campaign's arm) ending `order` days after its campaign's launch. */
export interface AlignedRun {
  /** 0 or 1: which campaign. */
  readonly campaign: number;
  /** 0 treatment, 1 holdout. */
  readonly arm: number;
  readonly order: number;
  readonly units: number;
  readonly conversions: number;
}

/** One row of the table: cumulative units, conversions, rate and lift per campaign, by days since launch. */
export type AlignedRow = Record<string, number | null>;

/**
 * Both campaigns aligned by days since their own launch: cumulative treatment units, conversions, conversion
 * rate and lift over holdout, one row per position where a run ends. A campaign's columns are null when its
 * treatment arm is not shown; its lift is null when its holdout is not.
 */
export function alignedTable(
  runs: readonly AlignedRun[],
  names: { readonly units: string; readonly conversions: string },
  shown: readonly (readonly [boolean, boolean])[],
): AlignedRow[] {
  const positions = [...new Set(runs.map((run) => run.order))].sort((a, b) => a - b);
  const totals = [0, 1].map(() => [0, 1].map(() => ({ units: 0, conversions: 0 })));
  const prefixes = ['a', 'b'];
  return positions.map((order) => {
    for (const run of runs) {
      if (run.order !== order) continue;
      const into = totals[run.campaign]?.[run.arm];
      if (into === undefined) continue;
      into.units += run.units;
      into.conversions += run.conversions;
    }
    const row: AlignedRow = { days_since_launch: order };
    [0, 1].forEach((campaign) => {
      const prefix = prefixes[campaign];
      const [treated, held] = shown[campaign] ?? [false, false];
      const treatment = totals[campaign]?.[0] ?? { units: 0, conversions: 0 };
      const control = totals[campaign]?.[1] ?? { units: 0, conversions: 0 };
      const rate = treated && treatment.units > 0 ? treatment.conversions / treatment.units : null;
      const controlRate = held && control.units > 0 ? control.conversions / control.units : null;
      row[`${prefix}_${names.units}`] = treated ? treatment.units : null;
      row[`${prefix}_${names.conversions}`] = treated ? treatment.conversions : null;
      row[`${prefix}_conversion_rate`] = rate === null ? null : Math.round(rate * 1e6) / 1e6;
      row[`${prefix}_lift`] =
        rate === null || controlRate === null ? null : Math.round((rate - controlRate) * 1e6) / 1e6;
    });
    return row;
  });
}
