import type { QueryPlan } from '../semantic/query-plan.js';
import type { AccessPolicy, EntityResource, SemanticLayer } from '../semantic/semantic-layer.js';
import type { Row } from '../warehouse/warehouse.js';
import { shapeRow } from './framework/format.js';

/** MCP answers at most 100 completion values. */
export const MAX_COMPLETIONS = 100;
/** Trigram similarity a name needs to be offered without containing the typed text. */
const SEARCH_SCORE = 0.5;
export const RESOURCE_SCHEME = 'marquee';

/** An entity a caller may read and complete by key: `marquee://campaign/{campaign_id}`. */
export interface EntityTemplate {
  readonly resource: EntityResource;
  readonly uriTemplate: string;
  /** Output name → dimension, the columns the caller's policy lets it see. */
  readonly columns: readonly (readonly [string, string])[];
  /** The entity's metrics the caller's policy lets it see. */
  readonly metrics: readonly string[];
}

/**
 * The semantic layer's entities a caller is offered: those whose model one of its tools reaches (`models`)
 * and whose key its policy does not hide.
 */
export function offeredEntities(
  layer: SemanticLayer,
  policy: AccessPolicy,
  models: ReadonlySet<string>,
): EntityTemplate[] {
  const offered: EntityTemplate[] = [];
  for (const resource of layer.resources.values()) {
    if (!models.has(resource.model) || policy.hiddenDimensions.has(resource.key)) continue;
    const columns = Object.entries(resource.columns).filter(
      ([, dimension]) => !policy.hiddenDimensions.has(dimension),
    );
    if (columns.length === 0) continue;
    offered.push({
      resource,
      uriTemplate: `${RESOURCE_SCHEME}://${resource.name}/{${resource.key}}`,
      columns,
      metrics: resource.metrics.filter((metric) => !policy.hiddenMetrics.has(metric)),
    });
  }
  return offered;
}

/** The entity a URI names among `templates`, with its key; undefined when it names none. */
export function entityOf(
  uri: string,
  templates: readonly EntityTemplate[],
): { template: EntityTemplate; key: string } | undefined {
  const match = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]+)\/([^/?#]+)$/i.exec(uri);
  if (match === null || match[1] !== RESOURCE_SCHEME) return undefined;
  const template = templates.find((candidate) => candidate.resource.name === match[2]);
  if (template === undefined) return undefined;
  let key: string;
  try {
    key = decodeURIComponent(match[3] ?? '');
  } catch {
    return undefined;
  }
  return key === '' ? undefined : { template, key };
}

/** The query reading one entity by key. */
export function entityPlan(template: EntityTemplate, key: string): QueryPlan {
  const { resource, metrics } = template;
  return {
    model: resource.model,
    metrics,
    dimensions: [...new Set(template.columns.map(([, dimension]) => dimension))],
    timeDimension: '',
    periods: [],
    distinct: metrics.length === 0,
    filters: [{ dimension: resource.key, values: [key] }],
    order: [],
  };
}

/** An entity's row as JSON fields. */
export function entityFields(
  layer: SemanticLayer,
  template: EntityTemplate,
  row: Row,
): Record<string, string | number | null> {
  return shapeRow(layer, row, template.columns, template.metrics);
}

/** The query finding keys of entities whose searched name resembles what was typed. */
export function entitySearchPlan(resource: EntityResource, typed: string): QueryPlan | undefined {
  if (resource.search === undefined) return undefined;
  return {
    model: resource.model,
    metrics: [],
    dimensions: [resource.key],
    timeDimension: '',
    periods: [],
    distinct: true,
    search: { dimension: resource.search, text: typed, minScore: SEARCH_SCORE },
    filters: [],
    order: [],
    limit: MAX_COMPLETIONS,
  };
}
