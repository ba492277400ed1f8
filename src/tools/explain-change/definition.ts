import type { ToolDefinition } from '../framework/definition.js';
import { analyseExplainChange, followUpExplainChange } from './analyse.js';
import { explainChangeInput } from './input.js';
import { type ExplainChangeResult, explainChangeOutput } from './output.js';
import { type ExplainPlan, planExplainChange } from './plan.js';
import { summariseExplainChange } from './summary.js';

/** Why a metric moved: its change split across dimensions, with noise bands and a drill-down. */
export const explainChange: ToolDefinition<ExplainPlan, ExplainChangeResult> = {
  name: 'explain_change',
  kind: 'analytic',
  scope: 'analytics:engagement',
  title: 'Explain a change',
  purpose: 'why a metric moved between two periods, and which segments drove it beyond noise',
  description: (binding) =>
    `${binding.description ?? 'Why a metric moved.'} Splits the change of one metric between a period and a baseline (default: the previous period of the same length) across dimensions, ranks the contributors by their share of the change, separates mix from rate effects for ratio metrics, drills into a dominant contributor, and says how much of the change is beyond statistical noise.`,
  input: explainChangeInput,
  output: explainChangeOutput,
  plan: planExplainChange,
  followUp: followUpExplainChange,
  analyse: analyseExplainChange,
  summarise: summariseExplainChange,
};
