import type { EntityTemplate } from '../entities.js';
import { CATALOGUE_LISTS } from '../semantic-catalogue.js';
import type { OfferedTool } from './door.js';

/** The server instructions for one caller: generated from the tools and entities it is offered. */
export function instructionsFor(tools: readonly OfferedTool[], entities: readonly EntityTemplate[]): string {
  if (tools.length === 0)
    return 'Marquee answers questions from an analytics warehouse, but offers this caller no tool: its token lacks the scopes, or its roles have no access policy.';
  const uses = tools.map((tool) => `${tool.definition.name}: ${tool.definition.purpose}`);
  const lines = [
    `Marquee answers questions from an analytics warehouse, for your tenant only. Tools: ${uses.join('; ')}.`,
    'Every answer says which dates it covered; figures about too few people are withheld, and the answer says so.',
  ];
  lines.push(
    `What each metric and dimension means, and a dimension's values, are in ${CATALOGUE_LISTS.metrics.uri} and ${CATALOGUE_LISTS.dimensions.uri}.`,
  );
  if (entities.length > 0)
    lines.push(
      `Entity resources (${entities.map((entity) => entity.uriTemplate).join(', ')}) are readable, and their ids complete as you type.`,
    );
  return lines.join(' ');
}
