import { lookupTool } from '../lookup/lookup-tool.js';

/** Titles by part of their name, typos tolerated: turns a title into its id. */
export const findContent = lookupTool({
  name: 'find_content',
  scope: 'analytics:engagement',
  title: 'Find content',
  purpose: 'turns a title into its id',
  noun: 'title',
  queryRequired: true,
  withPeriod: false,
});
