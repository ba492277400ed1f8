import type { ToolKind } from '../semantic/schema.js';
import { compareCampaigns } from './compare-campaigns/definition.js';
import { explainChange } from './explain-change/definition.js';
import { findContent } from './find-content/definition.js';
import { forecastSubs } from './forecast-subs/definition.js';
import type { AnyToolDefinition } from './framework/definition.js';
import { listCampaigns } from './list-campaigns/definition.js';
import { queryEngagement } from './query-engagement/definition.js';

/** Every tool Marquee can serve; the semantic layer binds the ones a warehouse has data for. */
export const CATALOG: readonly AnyToolDefinition[] = [
  queryEngagement,
  explainChange,
  findContent,
  listCampaigns,
  compareCampaigns,
  forecastSubs,
];

/** Tool name → the kind of binding it takes, for checking a semantic layer. */
export const TOOL_KINDS: ReadonlyMap<string, ToolKind> = new Map(
  CATALOG.map((definition) => [definition.name, definition.kind]),
);

/** The scope `tool` needs, or undefined for a name Marquee does not serve. */
export function scopeOf(tool: string): string | undefined {
  return CATALOG.find((definition) => definition.name === tool)?.scope;
}

/** Every scope a tool needs: what a local identity gets, and what protected resource metadata lists. */
export const ALL_SCOPES: readonly string[] = [...new Set(CATALOG.map((definition) => definition.scope))];
