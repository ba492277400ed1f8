import { lookupTool } from '../lookup/lookup-tool.js';

/** Campaigns by part of their name and by start period: where campaign ids come from. */
export const listCampaigns = lookupTool({
  name: 'list_campaigns',
  scope: 'analytics:campaigns',
  title: 'List campaigns',
  purpose: 'campaigns by part of their name and start period, with their ids',
  noun: 'campaign',
  queryRequired: false,
  withPeriod: true,
});
