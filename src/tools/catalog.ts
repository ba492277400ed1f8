import type { McpServer } from '@modelcontextprotocol/server';
import { COMPARE_CAMPAIGNS, COMPARE_CAMPAIGNS_SCOPE, registerCompareCampaigns } from './compare-campaigns.js';
import { EXPLAIN_CHANGE, EXPLAIN_CHANGE_SCOPE, registerExplainChange } from './explain-change.js';
import { FORECAST_SUBS, FORECAST_SUBS_SCOPE, registerForecastSubs } from './forecast-subs.js';
import { FIND_CONTENT, LIST_CAMPAIGNS, lookupRegistrar } from './lookup-tools.js';
import {
  QUERY_ENGAGEMENT,
  QUERY_ENGAGEMENT_SCOPE,
  registerQueryEngagement,
  type ToolContext,
} from './query-engagement.js';

/** A tool Marquee can serve, with the OAuth scope a caller needs to see and call it. */
export interface CatalogEntry {
  readonly name: string;
  readonly scope: string;
  readonly register: (server: McpServer, context: ToolContext) => void;
}

export const CATALOG: readonly CatalogEntry[] = [
  { name: QUERY_ENGAGEMENT, scope: QUERY_ENGAGEMENT_SCOPE, register: registerQueryEngagement },
  { name: EXPLAIN_CHANGE, scope: EXPLAIN_CHANGE_SCOPE, register: registerExplainChange },
  { name: FIND_CONTENT.name, scope: FIND_CONTENT.scope, register: lookupRegistrar(FIND_CONTENT) },
  { name: LIST_CAMPAIGNS.name, scope: LIST_CAMPAIGNS.scope, register: lookupRegistrar(LIST_CAMPAIGNS) },
  { name: COMPARE_CAMPAIGNS, scope: COMPARE_CAMPAIGNS_SCOPE, register: registerCompareCampaigns },
  { name: FORECAST_SUBS, scope: FORECAST_SUBS_SCOPE, register: registerForecastSubs },
];

/** Every scope some tool needs: what a local identity gets, and what protected resource metadata lists. */
export const ALL_SCOPES: readonly string[] = [...new Set(CATALOG.map((entry) => entry.scope))];

/** The scope `tool` needs, or undefined for a name Marquee does not serve. */
export function scopeOf(tool: string): string | undefined {
  return CATALOG.find((entry) => entry.name === tool)?.scope;
}
