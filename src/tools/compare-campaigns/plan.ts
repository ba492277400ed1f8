import { ArgumentError } from '../../errors.js';
import { quote } from '../../semantic/did-you-mean.js';
import type { ExperimentDef } from '../../semantic/schema.js';
import { rowFiltersApply } from '../framework/analytics-service.js';
import type { Call, PlannedQuery, ToolPlan } from '../framework/definition.js';
import { DEFAULT_CONFIDENCE, DEFAULT_LIMIT } from './input.js';
import { resolveCampaign } from './resolve-campaign.js';

/** Names of the queries: arm totals, arms day by day (merged into runs), campaign attributes, per-unit outcomes. */
export const ARMS = 'arms';
export const DAYS = 'days';
export const CAMPAIGNS = 'campaigns';
export const OUTCOMES = 'engagement';

/** compare_campaigns' planning results. */
export interface ComparePlan {
  readonly experiment: ExperimentDef;
  readonly ids: readonly [string, string];
  /** Names of the campaigns, from the directory the ids were resolved against. */
  readonly names: ReadonlyMap<string, string>;
  readonly confidence: number;
  readonly limit: number;
  readonly offset: number;
  /** The day column of the arms' rows. */
  readonly timeDimension: string;
  readonly warnings: readonly string[];
}

/** Both campaigns' arms (totals and day by day), their attributes and spend, and per-person engagement. */
export async function planCompareCampaigns(call: Call): Promise<ToolPlan<ComparePlan>> {
  const { binding, policy, layer, args } = call;
  const experiment = binding.experiment as ExperimentDef;
  const directory = await call.facts.distinct(binding, [
    experiment.subject,
    experiment.subject_name,
    experiment.launch,
  ]);
  const idA = resolveCampaign('campaign_a', String(args.campaign_a), directory, experiment);
  const idB = resolveCampaign('campaign_b', String(args.campaign_b), directory, experiment);
  if (idA === idB)
    throw new ArgumentError(
      'campaign_b',
      `campaign_b is the same campaign as campaign_a (${quote(idA)}): pass two different campaign ids`,
    );
  const filters = await call.facts.filters(binding, args);
  const onCampaigns = { dimension: experiment.subject, values: [idA, idB] };
  const visible = (name: string) => !policy.hiddenMetrics.has(name);
  const metrics = [
    ...new Set([
      ...experiment.funnel,
      experiment.units,
      experiment.conversions,
      ...(experiment.retention === undefined
        ? []
        : [experiment.retention.cohort, experiment.retention.retained]),
    ]),
  ].filter(visible);
  const base = {
    model: binding.model,
    timeDimension: call.layer.timeDimensionOf(binding),
    periods: [],
    filters: [onCampaigns, ...filters],
    order: [],
  };
  const launches: Record<string, string> = {};
  for (const row of directory) {
    const launch = row[experiment.launch];
    if (typeof launch === 'string' && launch > '1970-01-01')
      launches[String(row[experiment.subject])] = launch;
  }
  const queries: Record<string, PlannedQuery> = {
    [ARMS]: { query: { ...base, metrics, dimensions: [experiment.subject, experiment.arm] } },
    [DAYS]: {
      query: {
        ...base,
        metrics: [experiment.units, experiment.conversions].filter(visible),
        dimensions: [experiment.subject, experiment.arm],
        grain: 'day',
      },
      coarsen: {
        along: call.layer.timeDimensionOf(binding),
        series: [experiment.subject, experiment.arm],
        origin: { column: experiment.subject, days: launches },
      },
    },
  };
  const warnings: string[] = [];
  // Campaign attributes carry no rows a row policy can narrow: a policy that cannot apply withholds spend.
  const subjectModel = layer.dimensions.get(experiment.subject)?.model ?? binding.model;
  if (rowFiltersApply(layer, policy, subjectModel)) {
    queries[CAMPAIGNS] = {
      query: {
        model: subjectModel,
        metrics: experiment.cost === undefined || !visible(experiment.cost) ? [] : [experiment.cost],
        dimensions: [experiment.subject, experiment.subject_name, experiment.launch, experiment.end].filter(
          (name): name is string => name !== undefined,
        ),
        timeDimension: '',
        periods: [],
        filters: [onCampaigns],
        order: [],
      },
    };
  } else {
    warnings.push(
      'Spend and cost per acquisition are withheld: your access policy does not cover campaign-level data.',
    );
  }
  const engagement = experiment.engagement;
  if (engagement !== undefined && visible(engagement.metric)) {
    queries[OUTCOMES] = {
      outcome: {
        model: binding.model,
        groupBy: [experiment.subject],
        filters: [onCampaigns, { dimension: experiment.arm, values: [experiment.treatment] }, ...filters],
        metric: engagement.metric,
        join: engagement.join,
        since: engagement.since,
        days: engagement.days,
      },
    };
  }
  return {
    queries,
    filters,
    anchor: '',
    detail: {
      experiment,
      ids: [idA, idB],
      names: new Map(
        directory.map((row) => [String(row[experiment.subject]), String(row[experiment.subject_name] ?? '')]),
      ),
      confidence: (args.confidence as number | undefined) ?? DEFAULT_CONFIDENCE,
      limit: (args.limit as number | undefined) ?? DEFAULT_LIMIT,
      offset: call.offset,
      timeDimension: call.layer.timeDimensionOf(binding),
      warnings,
    },
  };
}
