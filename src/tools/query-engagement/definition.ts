import type { ToolDefinition } from '../framework/definition.js';
import { analyseQueryEngagement } from './analyse.js';
import { queryEngagementInput } from './input.js';
import { type QueryEngagementResult, queryEngagementOutput } from './output.js';
import { type EngagementPlan, planQueryEngagement } from './plan.js';
import { summariseQueryEngagement } from './summary.js';

/** Engagement numbers: totals, breakdowns, trends and the change against a comparison period. */
export const queryEngagement: ToolDefinition<EngagementPlan, QueryEngagementResult> = {
  name: 'query_engagement',
  kind: 'analytic',
  scope: 'analytics:engagement',
  title: 'Query engagement',
  purpose:
    'numbers: totals, breakdowns and trends for a period (named periods like 2026-Q3; compare_to for changes and the segments that drove them)',
  description: (binding) =>
    `${binding.description ?? 'Engagement metrics.'} Returns totals for a period, optional breakdowns and trends, the change against a comparison period with the segments that drove it, and a page of rows. Tenant scope comes from your identity.`,
  input: queryEngagementInput,
  output: queryEngagementOutput,
  paginated: true,
  plan: planQueryEngagement,
  analyse: analyseQueryEngagement,
  summarise: summariseQueryEngagement,
};
