import type { CallToolResult, McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { roundTo, toNumber } from '../analysis/period-results.js';
import {
  normalQuantile,
  sampleRatioMismatch,
  type TwoProportionTest,
  twoProportionTest,
  type WelchTest,
  welchTest,
} from '../analysis/statistics.js';
import { ArgumentError, MarqueeError } from '../errors.js';
import { neutralise, quoteData } from '../guard/untrusted-text.js';
import { closest, quote } from '../semantic/did-you-mean.js';
import type { AppliedFilter } from '../semantic/plan-query.js';
import { MEAN_COLUMN, type QueryPlan, UNITS_COLUMN, VARIANCE_COLUMN } from '../semantic/query-plan.js';
import type { ExperimentDef } from '../semantic/schema.js';
import type { AccessPolicy, SemanticLayer, Tool } from '../semantic/semantic-layer.js';
import { dayCount } from '../semantic/time-range.js';
import type { Row } from '../warehouse/warehouse.js';
import { auditedCall, type CallFacts } from './audited-call.js';
import { filterArguments, pageArguments, pageSchema, required, schemaCache, text } from './common-args.js';
import { describeFilters, formatCount, formatPoints, formatTable, signOf } from './format.js';
import type { ToolContext } from './query-engagement.js';

export const COMPARE_CAMPAIGNS = 'compare_campaigns';
/** The OAuth scope a caller needs to see and call compare_campaigns. */
export const COMPARE_CAMPAIGNS_SCOPE = 'analytics:campaigns';
const DEFAULT_CONFIDENCE = 0.95;
/** Fewer conversions than this in either campaign and no verdict is given (rates too unstable, z-test unsound). */
export const MIN_CONVERSIONS = 30;
/** A holdout split this unlikely under the planned share is a sample ratio mismatch. */
export const SRM_ALPHA = 0.001;
/** The power at which the minimum detectable difference is stated. */
const POWER = 0.8;
const DEFAULT_LIMIT = 60;
const MAX_LIMIT = 400;

export const VERDICTS = ['A better', 'B better', 'no significant difference', 'not enough data'] as const;
type Verdict = (typeof VERDICTS)[number];

function inputSchema(layer: SemanticLayer, tool: Tool, policy: AccessPolicy) {
  const subject = layer.dimensions.get(tool.experiment?.subject ?? '');
  // Optional in the schema only so that a cursor can come alone; a call without a cursor must name both.
  const id = (label: string) =>
    text
      .optional()
      .describe(
        `Required: ${label} campaign's id (${subject?.description ?? 'its identifier'}). An id, not a name: find ids with list_campaigns.`,
      );
  return z.strictObject({
    campaign_a: id('The first'),
    campaign_b: id('The second'),
    ...filterArguments(tool, policy),
    confidence: z
      .number()
      .min(0.8)
      .max(0.999)
      .optional()
      .describe(`Confidence level of the tests, intervals and verdict (default ${DEFAULT_CONFIDENCE}).`),
    ...pageArguments('Rows of the by-days-since-launch table', DEFAULT_LIMIT, MAX_LIMIT),
  });
}

const schemaFor = schemaCache(inputSchema);

/** [low, high]; an array, not a tuple, so every JSON Schema draft clients use reads it. */
const interval = z.array(z.number()).length(2);
const proportionTestSchema = z.object({
  difference: z.number(),
  interval,
  z: z.number(),
  p_value: z.number(),
  significant: z.boolean(),
});
const welchSchema = z.object({
  difference: z.number(),
  interval,
  t: z.number(),
  df: z.number(),
  p_value: z.number(),
  significant: z.boolean(),
});
const campaignSchema = z.object({
  label: z.enum(['A', 'B']),
  campaign_id: z.string(),
  name: z.string().nullable(),
  launch: z.string().nullable(),
  end: z.string().nullable(),
  first_exposure: z.string().nullable(),
  last_exposure: z.string().nullable(),
  /** The treatment arm's funnel, metric by metric (null when too few people to show). */
  funnel: z.record(z.string(), z.number().nullable()),
  conversion_rate: z.number().nullable(),
  spend: z.number().nullable(),
  cost_per_acquisition: z.number().nullable(),
  holdout: z.object({ units: z.number(), conversions: z.number(), conversion_rate: z.number() }).nullable(),
  lift: z
    .object({
      absolute: z.number(),
      relative: z.number().nullable(),
      interval,
      p_value: z.number(),
      significant: z.boolean(),
      incremental_conversions: z.number(),
      cost_per_incremental_acquisition: z.number().nullable(),
    })
    .nullable(),
  split: z
    .object({
      control_share: z.number(),
      planned_share: z.number(),
      chi_square: z.number(),
      p_value: z.number(),
      mismatch: z.boolean(),
    })
    .nullable(),
  retention: z
    .object({ days: z.number(), cohort: z.number(), retained: z.number(), rate: z.number() })
    .nullable(),
  engagement: z.object({ units: z.number(), mean: z.number(), sd: z.number() }).nullable(),
});
type CampaignResult = z.infer<typeof campaignSchema>;

export const compareCampaignsOutput = z.object({
  summary: z.string(),
  verdict: z.enum(VERDICTS),
  confidence: z.number(),
  /** What the verdict is about: the treatment conversion rates of the two campaigns. */
  primary_metric: z.string(),
  /** Campaign A, then campaign B. */
  campaigns: z.array(campaignSchema).length(2),
  tests: z.object({
    conversion_rate: proportionTestSchema.nullable(),
    retention: proportionTestSchema.nullable(),
    engagement: welchSchema.nullable(),
  }),
  /** The smallest conversion-rate difference these sample sizes detect with 80% power. */
  minimum_detectable_difference: z.number().nullable(),
  warnings: z.array(z.string()),
  filters: z.array(
    z.object({
      argument: z.string(),
      dimension: z.string(),
      values: z.array(z.union([z.string(), z.number()])),
    }),
  ),
  /** Cumulative treatment reach, conversions, rate and lift over holdout of each campaign, by days since launch. */
  aligned: z.array(z.record(z.string(), z.number().nullable())),
  page: pageSchema,
});
export type CompareCampaignsOutput = z.infer<typeof compareCampaignsOutput>;

/** Registers compare_campaigns when the semantic layer binds it. */
export function registerCompareCampaigns(server: McpServer, context: ToolContext): void {
  const layer = context.service.layer;
  const tool = layer.tools.get(COMPARE_CAMPAIGNS);
  if (tool?.experiment === undefined) return;
  server.registerTool(
    COMPARE_CAMPAIGNS,
    {
      title: 'Compare two campaigns',
      description: `${tool.description ?? 'Compares two campaigns.'} Takes campaign ids (from list_campaigns), not names. Never declares a winner from noise: the verdict needs a significant difference at the confidence level and at least ${MIN_CONVERSIONS} conversions per campaign.`,
      inputSchema: schemaFor(layer, tool, context.service.policy(context.identity())),
      outputSchema: compareCampaignsOutput,
      annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true },
    },
    (args) =>
      auditedCall(context, context.identity(), COMPARE_CAMPAIGNS, args, () =>
        compareCampaigns(context, tool, tool.experiment as ExperimentDef, args as Record<string, unknown>),
      ),
  );
}

/** One arm of one campaign, summed over its days. */
interface ArmTotals {
  values: Record<string, number>;
  first: string | null;
  last: string | null;
}

/** What the warehouse said about one campaign. */
interface CampaignFacts {
  id: string;
  name: string | null;
  launch: string | null;
  end: string | null;
  spend: number | null;
  treatment: ArmTotals;
  control: ArmTotals;
  /** Day → [treatment, control] values of that day's exposures. */
  days: Map<string, [Record<string, number>, Record<string, number>]>;
  engagement: { n: number; mean: number; variance: number } | null;
}

async function compareCampaigns(
  context: ToolContext,
  tool: Tool,
  experiment: ExperimentDef,
  callArgs: Record<string, unknown>,
): Promise<{ result: CallToolResult; facts: CallFacts }> {
  const { service } = context;
  const layer = service.layer;
  const identity = context.identity();
  const policy = service.policy(identity);
  const { args, offset } = context.cursors.resume(COMPARE_CAMPAIGNS, callArgs);
  const limit = (args.limit as number | undefined) ?? DEFAULT_LIMIT;
  const confidence = (args.confidence as number | undefined) ?? DEFAULT_CONFIDENCE;

  const directory = await service.distinct(identity, tool, [experiment.subject, experiment.subject_name]);
  const idA = resolveCampaign('campaign_a', required(args, 'campaign_a'), directory, experiment);
  const idB = resolveCampaign('campaign_b', required(args, 'campaign_b'), directory, experiment);
  if (idA === idB)
    throw new ArgumentError(
      'campaign_b',
      `campaign_b is the same campaign as campaign_a (${quote(idA)}): pass two different campaign ids`,
    );

  const { filters } = await service.checkedFilters(identity, tool, args);
  const ids = [idA, idB];
  const onCampaigns = { dimension: experiment.subject, values: ids };

  const metrics = [
    ...new Set([
      ...experiment.funnel,
      experiment.units,
      experiment.conversions,
      ...(experiment.retention === undefined
        ? []
        : [experiment.retention.cohort, experiment.retention.retained]),
    ]),
  ].filter((name) => !policy.hiddenMetrics.has(name));
  const daily: QueryPlan = {
    model: tool.model,
    metrics,
    dimensions: [experiment.subject, experiment.arm],
    timeDimension: tool.time_dimension,
    grain: 'day',
    periods: [],
    filters: [onCampaigns, ...filters],
    order: [],
  };
  const subjectModel = layer.dimensions.get(experiment.subject)?.model ?? tool.model;
  const attributes = [experiment.subject, experiment.subject_name, experiment.launch, experiment.end].filter(
    (name): name is string => name !== undefined,
  );
  const info: QueryPlan = {
    model: subjectModel,
    metrics:
      experiment.cost === undefined || policy.hiddenMetrics.has(experiment.cost) ? [] : [experiment.cost],
    dimensions: attributes,
    timeDimension: '',
    periods: [],
    filters: [onCampaigns],
    order: [],
  };
  const warnings: string[] = [];
  const engagement = experiment.engagement;
  const [dailyRows, infoRows, engagementRows] = await Promise.all([
    service.run(daily, identity),
    // Campaign attributes carry no rows a row policy can narrow: a policy that cannot apply withholds spend.
    service.run(info, identity).catch((error: unknown) => {
      if (!(error instanceof MarqueeError && error.code === 'access_denied')) throw error;
      warnings.push(
        'Spend and cost per acquisition are withheld: your access policy does not cover campaign-level data.',
      );
      return [] as Row[];
    }),
    engagement === undefined || policy.hiddenMetrics.has(engagement.metric)
      ? Promise.resolve([] as Row[])
      : service.runUnitOutcome(
          {
            model: tool.model,
            groupBy: experiment.subject,
            filters: [onCampaigns, { dimension: experiment.arm, values: [experiment.treatment] }, ...filters],
            metric: engagement.metric,
            join: engagement.join,
            since: engagement.since,
            days: engagement.days,
          },
          identity,
        ),
  ]);

  const facts = ids.map((id) =>
    campaignFacts(
      id,
      experiment,
      tool.time_dimension,
      metrics,
      dailyRows,
      infoRows,
      engagementRows,
      directory,
    ),
  ) as [CampaignFacts, CampaignFacts];
  const output = analyse(experiment, facts, {
    confidence,
    k: policy.minGroupSize?.k,
    filters,
    warnings,
    offset,
    limit,
  });
  if (output.aligned.length > limit) {
    output.aligned = output.aligned.slice(0, limit);
    output.page.next_cursor = context.cursors.encode({
      tool: COMPARE_CAMPAIGNS,
      args,
      anchor: '',
      offset: offset + limit,
    });
  }
  output.page.returned = output.aligned.length;
  output.summary = summarize(layer, experiment, output);
  const columns = output.aligned.length === 0 ? [] : Object.keys(output.aligned[0] ?? {});
  return {
    result: {
      content: [
        { type: 'text', text: output.summary },
        ...(columns.length === 0
          ? []
          : [{ type: 'text' as const, text: formatTable(columns, output.aligned) }]),
      ],
      structuredContent: output,
    },
    facts: { rows: output.aligned.length, suppressedGroups: 0 },
  };
}

/** The campaign id an argument names: an id (any case), or an error saying which id was meant. */
function resolveCampaign(
  argument: string,
  raw: string,
  directory: readonly Row[],
  experiment: ExperimentDef,
): string {
  const value = raw.trim();
  const id = (row: Row) => String(row[experiment.subject] ?? '');
  const name = (row: Row) => String(row[experiment.subject_name] ?? '');
  const exact =
    directory.find((row) => id(row) === value) ??
    directory.find((row) => id(row).toLowerCase() === value.toLowerCase());
  if (exact !== undefined) return id(exact);
  const byName = directory.filter((row) => name(row).toLowerCase() === value.toLowerCase());
  if (byName.length > 0) {
    throw new ArgumentError(
      argument,
      `${argument}: ${quote(value)} is a campaign name, not an id; pass ${argument}: ${quote(id(byName[0] as Row))}${
        byName.length > 1
          ? ` (or ${byName
              .slice(1)
              .map((row) => quote(id(row)))
              .join(', ')}: several campaigns have this name)`
          : ''
      }`,
    );
  }
  const lower = value.toLowerCase();
  const nearId = closest(value, directory.map(id));
  // A partial or misspelled name: names containing it first, then the closest name.
  const nearName = closest(
    lower,
    directory.map((row) => name(row).toLowerCase()),
  );
  const named = [
    ...new Set([
      ...directory.filter((row) => lower.length >= 3 && name(row).toLowerCase().includes(lower)),
      ...directory.filter((row) => name(row).toLowerCase() === nearName),
    ]),
  ].slice(0, 3);
  const suggestion =
    nearId !== undefined
      ? `did you mean ${quote(nearId)}? `
      : named.length > 0
        ? `did you mean ${named.map((row) => `${quote(id(row))} (${quoteData(name(row))})`).join(' or ')}? `
        : '';
  throw new ArgumentError(
    argument,
    `Unknown campaign ${quote(value)} for ${argument}: ${suggestion}Pass a campaign id; list_campaigns finds ids by name.`,
  );
}

function emptyArm(): ArmTotals {
  return { values: {}, first: null, last: null };
}

function add(into: Record<string, number>, row: Row, metrics: readonly string[]): Record<string, number> {
  for (const metric of metrics) into[metric] = (into[metric] ?? 0) + (toNumber(row[metric]) ?? 0);
  return into;
}

function campaignFacts(
  id: string,
  experiment: ExperimentDef,
  /** The column of each daily row's day. */
  timeKey: string,
  metrics: readonly string[],
  dailyRows: readonly Row[],
  infoRows: readonly Row[],
  engagementRows: readonly Row[],
  directory: readonly Row[],
): CampaignFacts {
  const info = infoRows.find((row) => row[experiment.subject] === id);
  const listed = directory.find((row) => row[experiment.subject] === id);
  const day = (value: unknown) => (typeof value === 'string' && value > '1970-01-01' ? value : null);
  const facts: CampaignFacts = {
    id,
    name: String(info?.[experiment.subject_name] ?? listed?.[experiment.subject_name] ?? '') || null,
    launch: day(info?.[experiment.launch]),
    end: experiment.end === undefined ? null : day(info?.[experiment.end]),
    spend: experiment.cost === undefined || info === undefined ? null : toNumber(info[experiment.cost]),
    treatment: emptyArm(),
    control: emptyArm(),
    days: new Map(),
    engagement: null,
  };
  // Grouped by the time dimension at day grain: rows carry the day under the time dimension's name.
  for (const row of dailyRows) {
    if (row[experiment.subject] !== id) continue;
    const arm =
      row[experiment.arm] === experiment.treatment ? 0 : row[experiment.arm] === experiment.control ? 1 : -1;
    if (arm < 0) continue;
    const date = day(row[timeKey]);
    const totals = arm === 0 ? facts.treatment : facts.control;
    add(totals.values, row, metrics);
    if (date !== null) {
      if (totals.first === null || date < totals.first) totals.first = date;
      if (totals.last === null || date > totals.last) totals.last = date;
      const entry: [Record<string, number>, Record<string, number>] = facts.days.get(date) ?? [{}, {}];
      add(entry[arm === 0 ? 0 : 1], row, metrics);
      facts.days.set(date, entry);
    }
  }
  const outcome = engagementRows.find((row) => row[experiment.subject] === id);
  if (outcome !== undefined) {
    facts.engagement = {
      n: toNumber(outcome[UNITS_COLUMN]) ?? 0,
      mean: toNumber(outcome[MEAN_COLUMN]) ?? 0,
      variance: toNumber(outcome[VARIANCE_COLUMN]) ?? 0,
    };
  }
  return facts;
}

interface AnalysisOptions {
  readonly confidence: number;
  /** The smallest group the caller's policy lets an answer show. */
  readonly k: number | undefined;
  readonly filters: readonly AppliedFilter[];
  readonly warnings: string[];
  readonly offset: number;
  readonly limit: number;
}

const roundInterval = (bounds: readonly [number, number], digits: number): [number, number] => [
  roundTo(bounds[0], digits),
  roundTo(bounds[1], digits),
];

function proportionResult(test: TwoProportionTest, alpha: number): z.infer<typeof proportionTestSchema> {
  return {
    difference: roundTo(test.difference, 6),
    interval: roundInterval(test.interval, 6),
    z: roundTo(test.z, 4),
    p_value: test.pValue,
    significant: test.pValue < alpha,
  };
}

function welchResult(test: WelchTest, alpha: number): z.infer<typeof welchSchema> {
  return {
    difference: roundTo(test.difference, 4),
    interval: roundInterval(test.interval, 4),
    t: roundTo(test.t, 4),
    df: roundTo(test.df, 2),
    p_value: test.pValue,
    significant: test.pValue < alpha,
  };
}

/** The analysis of two campaigns: per-campaign results, the tests between them, the verdict and the aligned table. */
function analyse(
  experiment: ExperimentDef,
  facts: readonly [CampaignFacts, CampaignFacts],
  options: AnalysisOptions,
): CompareCampaignsOutput {
  const alpha = 1 - options.confidence;
  const warnings = options.warnings;
  const [a, b] = [
    campaignResult('A', facts[0], experiment, options, warnings),
    campaignResult('B', facts[1], experiment, options, warnings),
  ];
  const units = (c: CampaignResult) => c.funnel[experiment.units] ?? 0;
  const conversions = (c: CampaignResult) => c.funnel[experiment.conversions] ?? 0;

  const reasons: string[] = [];
  for (const c of [a, b]) {
    if (c.conversion_rate === null)
      reasons.push(
        `${c.label} (${quote(c.campaign_id)}) reached too few people to measure${options.filters.length > 0 ? ' with these filters' : ''}`,
      );
    else if (conversions(c) < MIN_CONVERSIONS || units(c) - conversions(c) < MIN_CONVERSIONS)
      reasons.push(
        `${c.label} (${quote(c.campaign_id)}) has only ${conversions(c).toLocaleString('en-US')} conversions of ${units(c).toLocaleString('en-US')} people; at least ${MIN_CONVERSIONS} per campaign are needed`,
      );
  }
  const measurable = a.conversion_rate !== null && b.conversion_rate !== null;
  const conversionTest = measurable
    ? twoProportionTest(conversions(a), units(a), conversions(b), units(b), options.confidence)
    : undefined;
  let verdict: Verdict;
  if (reasons.length > 0 || conversionTest === undefined) verdict = 'not enough data';
  else if (conversionTest.pValue >= alpha) verdict = 'no significant difference';
  else verdict = conversionTest.difference > 0 ? 'A better' : 'B better';

  let minimumDetectable: number | null = null;
  if (measurable && units(a) > 0 && units(b) > 0) {
    const pooled = (conversions(a) + conversions(b)) / (units(a) + units(b));
    const spread = Math.sqrt(pooled * (1 - pooled) * (1 / units(a) + 1 / units(b)));
    minimumDetectable = roundTo((normalQuantile(1 - alpha / 2) + normalQuantile(POWER)) * spread, 6);
  }
  const retentionTest =
    a.retention !== null && b.retention !== null
      ? twoProportionTest(
          a.retention.retained,
          a.retention.cohort,
          b.retention.retained,
          b.retention.cohort,
          options.confidence,
        )
      : undefined;
  const ea = facts[0].engagement;
  const eb = facts[1].engagement;
  const engagementTest =
    a.engagement !== null && b.engagement !== null && ea !== null && eb !== null
      ? welchTest(
          { n: ea.n, mean: ea.mean, variance: ea.variance },
          { n: eb.n, mean: eb.mean, variance: eb.variance },
          options.confidence,
        )
      : undefined;
  if (reasons.length > 0) warnings.unshift(`No verdict: ${reasons.join('; ')}.`);
  const aligned = alignedRows(experiment, facts, options.k);
  return {
    summary: '',
    verdict,
    confidence: options.confidence,
    primary_metric: `conversion rate of the treatment arms (${experiment.conversions} / ${experiment.units})`,
    campaigns: [a, b],
    tests: {
      conversion_rate: conversionTest === undefined ? null : proportionResult(conversionTest, alpha),
      retention: retentionTest === undefined ? null : proportionResult(retentionTest, alpha),
      engagement: engagementTest === undefined ? null : welchResult(engagementTest, alpha),
    },
    minimum_detectable_difference: minimumDetectable,
    warnings,
    filters: options.filters.map((filter) => ({
      argument: filter.argument,
      dimension: filter.dimension,
      values: [...filter.values],
    })),
    aligned: aligned.slice(options.offset, options.offset + options.limit + 1),
    page: { offset: options.offset, limit: options.limit, returned: 0, next_cursor: null },
  };
}

function campaignResult(
  label: 'A' | 'B',
  facts: CampaignFacts,
  experiment: ExperimentDef,
  options: AnalysisOptions,
  warnings: string[],
): CampaignResult {
  const alpha = 1 - options.confidence;
  const minimum = Math.max(1, options.k ?? 1);
  const treatment = facts.treatment.values;
  const control = facts.control.values;
  const units = treatment[experiment.units] ?? 0;
  const conversions = treatment[experiment.conversions] ?? 0;
  const shown = units >= minimum;
  const who = `${label} (${quote(facts.id)})`;
  const funnel: Record<string, number | null> = {};
  for (const metric of experiment.funnel) funnel[metric] = shown ? (treatment[metric] ?? 0) : null;
  funnel[experiment.units] = shown ? units : null;
  funnel[experiment.conversions] = shown ? conversions : null;
  const controlUnits = control[experiment.units] ?? 0;
  const controlConversions = control[experiment.conversions] ?? 0;
  const holdoutShown = shown && controlUnits >= minimum;
  if (shown && controlUnits > 0 && !holdoutShown)
    warnings.push(`${who}: its holdout is too small to show, so there is no lift figure.`);
  if (shown && controlUnits === 0)
    warnings.push(`${who}: no holdout group was found, so there is no lift figure.`);
  let lift: CampaignResult['lift'] = null;
  if (holdoutShown && units > 0) {
    const test = twoProportionTest(conversions, units, controlConversions, controlUnits, options.confidence);
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
  }
  let split: CampaignResult['split'] = null;
  if (shown && units + controlUnits > 0) {
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
        `Sample ratio mismatch in ${who}: the holdout is ${(share * 100).toFixed(1)}% of ${(units + controlUnits).toLocaleString('en-US')} people, planned ${(experiment.control_share * 100).toFixed(0)}% (chi-square ${check.chiSquare.toFixed(1)}, p ${formatP(check.pValue)}). The split is broken, so this campaign's lift over holdout is unreliable.`,
      );
  }
  let retention: CampaignResult['retention'] = null;
  if (experiment.retention !== undefined && shown) {
    const cohort = treatment[experiment.retention.cohort] ?? 0;
    const retained = treatment[experiment.retention.retained] ?? 0;
    if (cohort >= minimum && cohort > 0)
      retention = { days: experiment.retention.days, cohort, retained, rate: roundTo(retained / cohort, 4) };
    if (conversions > 0 && cohort < conversions / 2)
      warnings.push(
        `${who}: only ${cohort.toLocaleString('en-US')} of its ${conversions.toLocaleString('en-US')} converted subscribers are ${experiment.retention.days} days past converting; retention is early.`,
      );
  }
  const outcome = facts.engagement;
  const engagement =
    shown && outcome !== null && outcome.n >= Math.max(2, minimum)
      ? { units: outcome.n, mean: roundTo(outcome.mean, 2), sd: roundTo(Math.sqrt(outcome.variance), 2) }
      : null;
  return {
    label,
    campaign_id: facts.id,
    name: facts.name === null ? null : neutralise(facts.name),
    launch: facts.launch,
    end: facts.end,
    first_exposure: facts.treatment.first,
    last_exposure: facts.treatment.last,
    funnel,
    conversion_rate: shown && units > 0 ? roundTo(conversions / units, 6) : null,
    spend: facts.spend,
    cost_per_acquisition:
      shown && facts.spend !== null && conversions > 0 ? roundTo(facts.spend / conversions, 2) : null,
    holdout: holdoutShown
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

/**
 * Both campaigns day by day since their own launch: cumulative reach, conversions, conversion rate and lift
 * over holdout. With a minimum group size, days are merged until every arm's new people since the previous
 * row are none or at least k, so no row (or difference of rows) describes fewer than k people.
 */
function alignedRows(
  experiment: ExperimentDef,
  facts: readonly [CampaignFacts, CampaignFacts],
  k: number | undefined,
): Record<string, number | null>[] {
  const byDay = new Map<number, [Record<string, number>, Record<string, number>][]>();
  facts.forEach((campaign, index) => {
    const launch = campaign.launch ?? campaign.treatment.first ?? campaign.control.first;
    if (launch === null) return;
    for (const [date, arms] of campaign.days) {
      const day = dayCount({ from: launch, to: date }) - 1;
      const entry = byDay.get(day) ?? [
        [{}, {}],
        [{}, {}],
      ];
      entry[index] = arms;
      byDay.set(day, entry);
    }
  });
  const keys = [experiment.units, experiment.conversions];
  const totals = [
    [{}, {}],
    [{}, {}],
  ] as [Record<string, number>, Record<string, number>][];
  const cumulative: { day: number; totals: number[][][] }[] = [];
  for (const day of [...byDay.keys()].sort((x, y) => x - y)) {
    const entry = byDay.get(day) ?? [];
    entry.forEach((arms, c) => {
      arms.forEach((values, arm) => {
        const into = (totals[c] as Record<string, number>[])[arm] as Record<string, number>;
        for (const key of keys) into[key] = (into[key] ?? 0) + (values[key] ?? 0);
      });
    });
    cumulative.push({
      day,
      totals: totals.map((arms) => arms.map((values) => keys.map((key) => values[key] ?? 0))),
    });
  }
  const kept = k === undefined ? cumulative : mergeSmallSteps(cumulative, k);
  const prefixes = ['a', 'b'];
  return kept.map(({ day, totals: [campaignA, campaignB] }) => {
    const row: Record<string, number | null> = { days_since_launch: day };
    [campaignA, campaignB].forEach((arms, c) => {
      const prefix = prefixes[c];
      const [treatmentUnits = 0, treatmentConversions = 0] = arms?.[0] ?? [];
      const [controlUnits = 0, controlConversions = 0] = arms?.[1] ?? [];
      const rate = treatmentUnits > 0 ? treatmentConversions / treatmentUnits : null;
      const controlRate = controlUnits > 0 ? controlConversions / controlUnits : null;
      row[`${prefix}_${experiment.units}`] = treatmentUnits;
      row[`${prefix}_${experiment.conversions}`] = treatmentConversions;
      row[`${prefix}_conversion_rate`] = rate === null ? null : roundTo(rate, 6);
      row[`${prefix}_lift`] = rate === null || controlRate === null ? null : roundTo(rate - controlRate, 6);
    });
    return row;
  });
}

/** Keeps the rows whose step from the previous kept row is 0 or at least k people in every arm. */
function mergeSmallSteps<T extends { totals: number[][][] }>(rows: readonly T[], k: number): T[] {
  const units = (row: T | undefined) =>
    row === undefined ? [0, 0, 0, 0] : row.totals.flatMap((arms) => arms.map((arm) => arm[0] ?? 0));
  const fine = (from: T | undefined, to: T) => {
    const before = units(from);
    return units(to).every((value, index) => {
      const step = value - (before[index] ?? 0);
      return step === 0 || step >= k;
    });
  };
  const kept: T[] = [];
  rows.forEach((row, index) => {
    if (index < rows.length - 1) {
      if (fine(kept.at(-1), row)) kept.push(row);
      return;
    }
    // The last row is the campaigns' totals: earlier rows give way until its step is fine too.
    while (kept.length > 0 && !fine(kept.at(-1), row)) kept.pop();
    kept.push(row);
  });
  return kept;
}

function formatP(p: number): string {
  return p < 0.001 ? '< 0.001' : `= ${p.toFixed(3)}`;
}

function percent(value: number, digits = 2): string {
  return `${(value * 100).toFixed(digits)}%`;
}

function money(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

function signed(value: number, digits: number): string {
  return `${signOf(value)}${Math.abs(value).toFixed(digits)}`;
}

function describeCampaign(c: CampaignResult): string {
  return `${c.label} ${c.name === null ? quote(c.campaign_id) : `${quoteData(c.name)} (${c.campaign_id})`}`;
}

/** An interval as "low to high". */
function range(bounds: readonly number[], format: (value: number) => string): string {
  return `${format(bounds[0] ?? Number.NaN)} to ${format(bounds[1] ?? Number.NaN)}`;
}

function summarize(layer: SemanticLayer, experiment: ExperimentDef, output: CompareCampaignsOutput): string {
  const [a, b] = output.campaigns as [CampaignResult, CampaignResult];
  const level = `${(output.confidence * 100).toFixed(output.confidence * 100 >= 99.5 ? 1 : 0)}%`;
  const lines: string[] = [];
  const test = output.tests.conversion_rate;
  const rateLine = (c: CampaignResult) =>
    `${percent(c.conversion_rate ?? 0)} of ${formatCount(c.funnel[experiment.units] ?? 0)} people reached`;
  if (output.verdict === 'not enough data' || test === null) {
    lines.push(`Verdict: not enough data to compare ${describeCampaign(a)} and ${describeCampaign(b)}.`);
  } else {
    const comparison = `${describeCampaign(a)} converted ${rateLine(a)} vs ${rateLine(b)} for ${describeCampaign(b)}: ${formatPoints(test.difference)} (${level} CI ${range(test.interval, formatPoints)}, z = ${signed(test.z, 2)}, p ${formatP(test.p_value)})`;
    if (output.verdict === 'no significant difference') {
      const detectable =
        output.minimum_detectable_difference === null
          ? ''
          : ` These samples detect differences of about ${formatPoints(output.minimum_detectable_difference).replace('+', '')} or more 80% of the time.`;
      lines.push(`Verdict: no significant difference at ${level} confidence. ${comparison}.${detectable}`);
    } else {
      lines.push(`Verdict: ${output.verdict} (${level} confidence). ${comparison}.`);
    }
  }
  const cost = experiment.cost === undefined ? undefined : layer.metrics.get(experiment.cost);
  for (const c of [a, b]) {
    if (c.conversion_rate === null) {
      lines.push(`${describeCampaign(c)}: too few people to show.`);
      continue;
    }
    const parts: string[] = [];
    const dates = c.launch === null ? '' : `, ${c.launch} to ${c.end ?? c.last_exposure ?? '?'}`;
    parts.push(
      `${experiment.funnel.map((metric) => `${metric} ${formatCount(c.funnel[metric] ?? 0)}`).join(', ')} (conversion ${percent(c.conversion_rate)})`,
    );
    if (c.spend !== null)
      parts.push(
        `${cost?.name ?? 'spend'} ${money(c.spend)}${c.cost_per_acquisition === null ? '' : `, ${money(c.cost_per_acquisition)} per conversion`}`,
      );
    if (c.lift !== null && c.holdout !== null) {
      parts.push(
        `lift over holdout ${formatPoints(c.lift.absolute)} (holdout ${percent(c.holdout.conversion_rate)} of ${formatCount(c.holdout.units)}; ${level} CI ${range(c.lift.interval, formatPoints)}, p ${formatP(c.lift.p_value)}${c.lift.significant ? '' : ', not significant'}; about ${formatCount(c.lift.incremental_conversions)} incremental conversions${c.lift.cost_per_incremental_acquisition === null ? '' : `, ${money(c.lift.cost_per_incremental_acquisition)} each`})`,
      );
    }
    if (c.retention !== null)
      parts.push(
        `${c.retention.days}-day retention ${percent(c.retention.rate, 1)} of ${formatCount(c.retention.cohort)} converted`,
      );
    if (c.engagement !== null && experiment.engagement !== undefined)
      parts.push(
        `${c.engagement.mean.toFixed(1)} ${experiment.engagement.metric} per converted subscriber in ${experiment.engagement.days} days`,
      );
    lines.push(`${describeCampaign(c)}${dates}: ${parts.join('; ')}.`);
  }
  const retention = output.tests.retention;
  if (retention !== null && a.retention !== null && b.retention !== null) {
    lines.push(
      `Retention A vs B: ${percent(a.retention.rate, 1)} vs ${percent(b.retention.rate, 1)}, ${formatPoints(retention.difference)} (${level} CI ${range(retention.interval, formatPoints)}, p ${formatP(retention.p_value)}${retention.significant ? '' : ', not significant'}).`,
    );
  }
  const engagement = output.tests.engagement;
  if (
    engagement !== null &&
    a.engagement !== null &&
    b.engagement !== null &&
    experiment.engagement !== undefined
  ) {
    lines.push(
      `${experiment.engagement.description} A vs B: ${a.engagement.mean.toFixed(1)} vs ${b.engagement.mean.toFixed(1)}, ${signed(engagement.difference, 1)} (${level} CI ${range(engagement.interval, (value) => signed(value, 1))}, Welch t = ${signed(engagement.t, 2)}, p ${formatP(engagement.p_value)}${engagement.significant ? '' : ', not significant'}).`,
    );
  }
  if (output.filters.length > 0) lines.push(`Filters: ${describeFilters(output.filters)}.`);
  for (const warning of output.warnings) lines.push(`Warning: ${warning}`);
  if (output.aligned.length > 0) {
    const more =
      output.page.next_cursor === null ? '' : `; more: call again with cursor "${output.page.next_cursor}"`;
    lines.push(
      `By days since launch (cumulative, rows ${output.page.offset + 1}-${output.page.offset + output.aligned.length})${more}.`,
    );
  }
  return lines.join('\n');
}
