import { alignedTable } from '../../analysis/aligned-table.js';
import { roundTo, toNumber } from '../../analysis/period-results.js';
import {
  sampleRatioMismatch,
  type TwoProportionTest,
  twoProportionTest,
  type WelchTest,
  welchTest,
} from '../../analysis/statistics.js';
import {
  type Arm,
  enoughToCompare,
  MIN_CONVERSIONS,
  minimumDetectableDifference,
  SRM_ALPHA,
  verdictOf,
} from '../../analysis/verdict.js';
import { ORDER_COLUMN } from '../../guard/coarsen.js';
import { quote } from '../../semantic/did-you-mean.js';
import { MEAN_COLUMN, UNITS_COLUMN, VARIANCE_COLUMN } from '../../semantic/query-plan.js';
import type { ExperimentDef } from '../../semantic/schema.js';
import type { Row } from '../../warehouse/warehouse.js';
import { filtersOutput } from '../framework/common-args.js';
import type { Analysis, Call, Results, ToolPlan } from '../framework/definition.js';
import { formatCount } from '../framework/format.js';
import type { CampaignResult, CompareCampaignsResult, proportionTestSchema, welchSchema } from './output.js';
import { ARMS, CAMPAIGNS, type ComparePlan, DAYS, OUTCOMES } from './plan.js';

/** One arm of one campaign as the answer may show it: its figures. */
interface ArmFacts {
  readonly values: Readonly<Record<string, number | null>>;
}

/** What the warehouse showed of one campaign: arms are null when absent or withheld. */
interface CampaignFacts {
  readonly id: string;
  readonly name: string | null;
  readonly launch: string | null;
  readonly end: string | null;
  readonly spend: number | null;
  readonly treatment: ArmFacts | null;
  readonly control: ArmFacts | null;
  /** Whether the holdout exists but is withheld (too few people). */
  readonly controlWithheld: boolean;
  readonly engagement: { readonly n: number; readonly mean: number; readonly variance: number } | null;
}

const day = (value: unknown) => (typeof value === 'string' && value > '1970-01-01' ? value : null);

function campaignFacts(id: string, detail: ComparePlan, results: Results): CampaignFacts {
  const { experiment } = detail;
  const arm = (rows: readonly Row[], value: string) =>
    rows.find((row) => row[experiment.subject] === id && row[experiment.arm] === value);
  const facts = (row: Row | undefined): ArmFacts | null =>
    row === undefined
      ? null
      : { values: Object.fromEntries(Object.keys(row).map((column) => [column, toNumber(row[column])])) };
  const info = results.rows(CAMPAIGNS).find((row) => row[experiment.subject] === id);
  const outcome = results.rows(OUTCOMES).find((row) => row[experiment.subject] === id);
  const name = String(info?.[experiment.subject_name] ?? detail.names.get(id) ?? '');
  return {
    id,
    name: name === '' ? null : name,
    launch: day(info?.[experiment.launch]),
    end: experiment.end === undefined ? null : day(info?.[experiment.end]),
    spend: experiment.cost === undefined || info === undefined ? null : toNumber(info[experiment.cost]),
    treatment: facts(arm(results.rows(ARMS), experiment.treatment)),
    control: facts(arm(results.rows(ARMS), experiment.control)),
    controlWithheld: arm(results.withheld(ARMS), experiment.control) !== undefined,
    engagement:
      outcome === undefined
        ? null
        : {
            n: toNumber(outcome[UNITS_COLUMN]) ?? 0,
            mean: toNumber(outcome[MEAN_COLUMN]) ?? 0,
            variance: toNumber(outcome[VARIANCE_COLUMN]) ?? 0,
          },
  };
}

const roundInterval = (bounds: readonly [number, number], digits: number): [number, number] => [
  roundTo(bounds[0], digits),
  roundTo(bounds[1], digits),
];

function proportionResult(test: TwoProportionTest, alpha: number): typeof proportionTestSchema._output {
  return {
    difference: roundTo(test.difference, 6),
    interval: roundInterval(test.interval, 6),
    z: roundTo(test.z, 4),
    p_value: test.pValue,
    significant: test.pValue < alpha,
  };
}

function welchResult(test: WelchTest, alpha: number): typeof welchSchema._output {
  return {
    difference: roundTo(test.difference, 4),
    interval: roundInterval(test.interval, 4),
    t: roundTo(test.t, 4),
    df: roundTo(test.df, 2),
    p_value: test.pValue,
    significant: test.pValue < alpha,
  };
}

export function formatP(p: number): string {
  return p < 0.001 ? '< 0.001' : `= ${p.toFixed(3)}`;
}

function campaignResult(
  label: 'A' | 'B',
  facts: CampaignFacts,
  experiment: ExperimentDef,
  confidence: number,
  warnings: string[],
): CampaignResult {
  const alpha = 1 - confidence;
  const treatment = facts.treatment;
  const control = facts.control;
  const units = treatment?.values[experiment.units] ?? 0;
  const conversions = treatment?.values[experiment.conversions] ?? 0;
  const shown = treatment !== null;
  const who = `${label} (${quote(facts.id)})`;
  const funnel: Record<string, number | null> = {};
  for (const metric of experiment.funnel) funnel[metric] = shown ? (treatment.values[metric] ?? 0) : null;
  funnel[experiment.units] = shown ? units : null;
  funnel[experiment.conversions] = shown ? conversions : null;
  const controlUnits = control?.values[experiment.units] ?? 0;
  const controlConversions = control?.values[experiment.conversions] ?? 0;
  if (shown && facts.controlWithheld)
    warnings.push(`${who}: its holdout is too small to show, so there is no lift figure.`);
  else if (shown && control === null)
    warnings.push(`${who}: no holdout group was found, so there is no lift figure.`);
  let lift: CampaignResult['lift'] = null;
  let split: CampaignResult['split'] = null;
  if (shown && control !== null && units > 0 && controlUnits > 0) {
    const test = twoProportionTest(conversions, units, controlConversions, controlUnits, confidence);
    const incremental = test.difference * units;
    lift = {
      absolute: roundTo(test.difference, 6),
      relative: test.rateB > 0 ? roundTo(test.difference / test.rateB, 4) : null,
      interval: roundInterval(test.interval, 6),
      p_value: test.pValue,
      significant: test.pValue < alpha,
      incremental_conversions: Math.round(incremental),
      cost_per_incremental_acquisition:
        facts.spend !== null && incremental >= 1 ? roundTo(facts.spend / incremental, 2) : null,
    };
    const check = sampleRatioMismatch(
      [controlUnits, units],
      [experiment.control_share, 1 - experiment.control_share],
    );
    const share = controlUnits / (units + controlUnits);
    split = {
      control_share: roundTo(share, 4),
      planned_share: experiment.control_share,
      chi_square: roundTo(check.chiSquare, 3),
      p_value: check.pValue,
      mismatch: check.pValue < SRM_ALPHA,
    };
    if (split.mismatch)
      warnings.push(
        `Sample ratio mismatch in ${who}: the holdout is ${(share * 100).toFixed(1)}% of ${formatCount(units + controlUnits)} people, planned ${(experiment.control_share * 100).toFixed(0)}% (chi-square ${check.chiSquare.toFixed(1)}, p ${formatP(check.pValue)}). The split is broken, so this campaign's lift over holdout is unreliable.`,
      );
  }
  let retention: CampaignResult['retention'] = null;
  if (experiment.retention !== undefined && shown) {
    const cohort = treatment.values[experiment.retention.cohort];
    const retained = treatment.values[experiment.retention.retained];
    if (cohort === null || cohort === undefined || retained === null || retained === undefined) {
      if (conversions > 0)
        warnings.push(
          `${who}: its ${experiment.retention.days}-day retention is withheld: too few converted subscribers to show.`,
        );
    } else {
      if (cohort > 0)
        retention = {
          days: experiment.retention.days,
          cohort,
          retained,
          rate: roundTo(retained / cohort, 4),
        };
      if (conversions > 0 && cohort < conversions / 2)
        warnings.push(
          `${who}: only ${formatCount(cohort)} of its ${formatCount(conversions)} converted subscribers are ${experiment.retention.days} days past converting; retention is early.`,
        );
    }
  }
  const outcome = facts.engagement;
  const engagement =
    shown && outcome !== null && outcome.n >= 2
      ? { units: outcome.n, mean: roundTo(outcome.mean, 2), sd: roundTo(Math.sqrt(outcome.variance), 2) }
      : null;
  return {
    label,
    campaign_id: facts.id,
    name: facts.name,
    launch: facts.launch,
    end: facts.end,
    funnel,
    conversion_rate: shown && units > 0 ? roundTo(conversions / units, 6) : null,
    spend: facts.spend,
    cost_per_acquisition:
      shown && facts.spend !== null && conversions > 0 ? roundTo(facts.spend / conversions, 2) : null,
    holdout:
      shown && control !== null && controlUnits > 0
        ? {
            units: controlUnits,
            conversions: controlConversions,
            conversion_rate: roundTo(controlConversions / controlUnits, 6),
          }
        : null,
    lift,
    split,
    retention,
    engagement,
  };
}

/** Per-campaign results, the tests between them, the verdict and a page of the aligned table. */
export function analyseCompareCampaigns(
  { detail }: ToolPlan<ComparePlan>,
  results: Results,
  call: Call,
): Analysis<CompareCampaignsResult> {
  const { experiment, confidence } = detail;
  const alpha = 1 - confidence;
  const facts = detail.ids.map((id) => campaignFacts(id, detail, results)) as [CampaignFacts, CampaignFacts];
  const warnings = [...detail.warnings];
  const [a, b] = [
    campaignResult('A', facts[0], experiment, confidence, warnings),
    campaignResult('B', facts[1], experiment, confidence, warnings),
  ];
  const arm = (c: CampaignResult): Arm => ({
    units: c.funnel[experiment.units] ?? 0,
    conversions: c.funnel[experiment.conversions] ?? 0,
  });
  const reasons: string[] = [];
  for (const c of [a, b]) {
    if (c.conversion_rate === null)
      reasons.push(
        `${c.label} (${quote(c.campaign_id)}) reached too few people to measure${results.filters.length > 0 ? ' with these filters' : ''}`,
      );
    else if (!enoughToCompare(arm(c)))
      reasons.push(
        `${c.label} (${quote(c.campaign_id)}) has only ${formatCount(arm(c).conversions)} conversions of ${formatCount(arm(c).units)} people; at least ${MIN_CONVERSIONS} per campaign are needed`,
      );
  }
  const measurable = a.conversion_rate !== null && b.conversion_rate !== null;
  const conversionTest = measurable
    ? twoProportionTest(arm(a).conversions, arm(a).units, arm(b).conversions, arm(b).units, confidence)
    : undefined;
  const verdict = verdictOf(conversionTest, reasons.length === 0, confidence);
  const minimumDetectable =
    measurable && arm(a).units > 0 && arm(b).units > 0
      ? roundTo(minimumDetectableDifference(arm(a), arm(b), confidence), 6)
      : null;
  const retentionTest =
    a.retention !== null && b.retention !== null
      ? twoProportionTest(
          a.retention.retained,
          a.retention.cohort,
          b.retention.retained,
          b.retention.cohort,
          confidence,
        )
      : undefined;
  const [ea, eb] = [facts[0].engagement, facts[1].engagement];
  const engagementTest =
    a.engagement !== null && b.engagement !== null && ea !== null && eb !== null
      ? welchTest(ea, eb, confidence)
      : undefined;
  if (reasons.length > 0) warnings.unshift(`No verdict: ${reasons.join('; ')}.`);

  const runs = results.rows(DAYS).map((row) => ({
    campaign: detail.ids.indexOf(String(row[experiment.subject])),
    arm:
      row[experiment.arm] === experiment.treatment ? 0 : row[experiment.arm] === experiment.control ? 1 : -1,
    order: Number(row[ORDER_COLUMN]),
    units: toNumber(row[experiment.units]) ?? 0,
    conversions: toNumber(row[experiment.conversions]) ?? 0,
  }));
  const aligned = alignedTable(
    runs.filter((run) => run.campaign >= 0 && run.arm >= 0),
    { units: experiment.units, conversions: experiment.conversions },
    facts.map((campaign) => [campaign.treatment !== null, campaign.control !== null] as const),
  );
  const page = aligned.slice(detail.offset, detail.offset + detail.limit);
  const more = aligned.length > detail.offset + detail.limit;
  const output: CompareCampaignsResult = {
    verdict,
    confidence,
    primary_metric: `conversion rate of the treatment arms (${experiment.conversions} / ${experiment.units})`,
    campaigns: [a, b],
    tests: {
      conversion_rate: conversionTest === undefined ? null : proportionResult(conversionTest, alpha),
      retention: retentionTest === undefined ? null : proportionResult(retentionTest, alpha),
      engagement: engagementTest === undefined ? null : welchResult(engagementTest, alpha),
    },
    minimum_detectable_difference: minimumDetectable,
    warnings,
    filters: filtersOutput(results.filters),
    aligned: page,
    page: {
      offset: detail.offset,
      limit: detail.limit,
      returned: page.length,
      next_cursor: more ? call.nextCursor(detail.offset + detail.limit, '') : null,
    },
  };
  const columns = page.length === 0 ? [] : Object.keys(page[0] ?? {});
  return { output, rows: page.length, table: { columns, rows: page } };
}
