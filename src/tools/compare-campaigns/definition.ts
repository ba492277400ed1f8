import { MIN_CONVERSIONS } from '../../analysis/verdict.js';
import type { ToolDefinition } from '../framework/definition.js';
import { analyseCompareCampaigns } from './analyse.js';
import { compareCampaignsInput } from './input.js';
import { type CompareCampaignsResult, compareCampaignsOutput } from './output.js';
import { type ComparePlan, planCompareCampaigns } from './plan.js';
import { summariseCompareCampaigns } from './summary.js';

/** Did campaign A beat campaign B: funnel, lift over holdout, retention, engagement, and a verdict. */
export const compareCampaigns: ToolDefinition<ComparePlan, CompareCampaignsResult> = {
  name: 'compare_campaigns',
  kind: 'experiment',
  scope: 'analytics:campaigns',
  title: 'Compare two campaigns',
  purpose: 'whether one campaign beat another (it takes campaign ids: find them with list_campaigns)',
  description: (binding) =>
    `${binding.description ?? 'Compares two campaigns.'} Takes campaign ids (from list_campaigns), not names. Never declares a winner from noise: the verdict needs a significant difference at the confidence level and at least ${MIN_CONVERSIONS} conversions per campaign.`,
  input: compareCampaignsInput,
  output: compareCampaignsOutput,
  required: ['campaign_a', 'campaign_b'],
  paginated: true,
  plan: planCompareCampaigns,
  analyse: analyseCompareCampaigns,
  summarise: summariseCompareCampaigns,
};
