import type { AccessPolicy, Dimension, Metric, SemanticLayer, Tool } from '../semantic/semantic-layer.js';
import { RESOURCE_SCHEME } from './entities.js';

/**
 * The semantic layer as MCP resources: the metrics and dimensions a caller may use, with their descriptions and
 * the tools that take them, as its policy shows them. Pure: the door reads values and audits.
 */
const ROOT = `${RESOURCE_SCHEME}://semantic`;
export const CATALOGUE_LISTS = {
  metrics: {
    uri: `${ROOT}/metrics`,
    description: 'Every metric you may ask for, with its description, format and tools.',
  },
  dimensions: {
    uri: `${ROOT}/dimensions`,
    description: 'Every dimension you may filter or group by, with its description, type and tools.',
  },
} as const;
export const CATALOGUE_TEMPLATES = {
  metric: {
    uriTemplate: `${ROOT}/metric/{metric}`,
    variable: 'metric',
    description: 'One metric: its description, format and unit, and the tools that take it.',
  },
  dimension: {
    uriTemplate: `${ROOT}/dimension/{dimension}`,
    variable: 'dimension',
    description:
      'One dimension: its description and type, the tools that take it, and its values when it has a short list.',
  },
} as const;

/** What a caller may see of the layer: each metric and dimension with the tools (offered to it) that take it. */
export interface Catalogue {
  readonly metrics: ReadonlyMap<string, { readonly metric: Metric; readonly tools: readonly string[] }>;
  readonly dimensions: ReadonlyMap<
    string,
    { readonly dimension: Dimension; readonly tools: readonly string[] }
  >;
}

/** The metrics and dimensions of the models the caller's tools query, less those its policy hides. */
export function catalogueFor(layer: SemanticLayer, tools: readonly Tool[], policy: AccessPolicy): Catalogue {
  const metrics = new Map<string, { metric: Metric; tools: string[] }>();
  const dimensions = new Map<string, { dimension: Dimension; tools: string[] }>();
  for (const tool of tools) {
    for (const metric of layer.metricsFor(tool.model)) {
      if (policy.hiddenMetrics.has(metric.name)) continue;
      const entry = metrics.get(metric.name) ?? { metric, tools: [] };
      entry.tools.push(tool.name);
      metrics.set(metric.name, entry);
    }
    for (const dimension of layer.dimensionsFor(tool.model)) {
      if (policy.hiddenDimensions.has(dimension.name)) continue;
      const entry = dimensions.get(dimension.name) ?? { dimension, tools: [] };
      entry.tools.push(tool.name);
      dimensions.set(dimension.name, entry);
    }
  }
  return { metrics, dimensions };
}

/** What a `marquee://semantic/...` URI names: a list, or one metric or dimension; undefined for any other URI. */
export function catalogueTarget(
  uri: string,
): { kind: 'metrics' | 'dimensions' } | { kind: 'metric' | 'dimension'; name: string } | undefined {
  if (uri === CATALOGUE_LISTS.metrics.uri) return { kind: 'metrics' };
  if (uri === CATALOGUE_LISTS.dimensions.uri) return { kind: 'dimensions' };
  const match = new RegExp(`^${ROOT}/(metric|dimension)/([^/?#]+)$`).exec(uri);
  if (match === null) return undefined;
  try {
    return { kind: match[1] as 'metric' | 'dimension', name: decodeURIComponent(match[2] ?? '') };
  } catch {
    return undefined;
  }
}

/** A metric as the catalogue describes it. */
export function describeMetric(metric: Metric, tools: readonly string[]) {
  return {
    name: metric.name,
    description: metric.description,
    format: metric.format,
    decimals: metric.decimals,
    ...(metric.unit === undefined ? {} : { unit: metric.unit }),
    tools,
  };
}

/** A dimension as the catalogue describes it (its values are the door's to add). */
export function describeDimension(dimension: Dimension, tools: readonly string[]) {
  return {
    name: dimension.name,
    description: dimension.description,
    type: dimension.type,
    enumerable: dimension.enumerable,
    ...(dimension.named_by === undefined ? {} : { named_by: dimension.named_by }),
    tools,
  };
}
