import type { ToolKind } from '../semantic/schema.js';
import type { SemanticLayer } from '../semantic/semantic-layer.js';
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

/** Every scope a catalogued tool needs: what a local identity gets by default. */
export const ALL_SCOPES: readonly string[] = [...new Set(CATALOG.map((definition) => definition.scope))];

/** The scopes of the tools a semantic layer binds: what protected resource metadata advertises. */
export function scopesOf(layer: SemanticLayer): string[] {
  return [
    ...new Set(
      CATALOG.filter((definition) => layer.tools.has(definition.name)).map((definition) => definition.scope),
    ),
  ];
}
