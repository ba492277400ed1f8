import type {
  AccessDef,
  DimensionDef,
  MetricDef,
  MinGroupSize,
  ModelDef,
  ResourceDef,
  ToolDef,
} from './schema.js';

/** A named definition from the semantic layer, with its name folded in. */
export type Named<T> = T & { readonly name: string };
export type Model = Named<ModelDef>;
export type Dimension = Named<DimensionDef>;
export type Metric = Named<MetricDef> & { readonly baseModel: string };
export type Tool = Named<ToolDef>;
export type EntityResource = Named<ResourceDef>;

/** What one caller may see: row filters compiled into every query, hidden names, the smallest group shown. */
export interface AccessPolicy {
  /** The policy's role, or `""` for callers no policy names. */
  readonly name: string;
  readonly rowFilters: readonly {
    readonly dimension: string;
    readonly values: readonly (string | number)[];
  }[];
  readonly hiddenMetrics: ReadonlySet<string>;
  readonly hiddenDimensions: ReadonlySet<string>;
  readonly minGroupSize: MinGroupSize | undefined;
}

/** The validated semantic layer: models, dimensions, metrics and tool bindings, looked up by name. */
export class SemanticLayer {
  readonly models: ReadonlyMap<string, Model>;
  readonly dimensions: ReadonlyMap<string, Dimension>;
  readonly metrics: ReadonlyMap<string, Metric>;
  readonly tools: ReadonlyMap<string, Tool>;
  readonly resources: ReadonlyMap<string, EntityResource>;
  readonly access: AccessDef;
  private readonly policies = new Map<string, AccessPolicy>();

  constructor(parts: {
    access: AccessDef;
    models: Map<string, Model>;
    dimensions: Map<string, Dimension>;
    metrics: Map<string, Metric>;
    tools: Map<string, Tool>;
    resources?: Map<string, EntityResource>;
  }) {
    this.models = parts.models;
    this.dimensions = parts.dimensions;
    this.metrics = parts.metrics;
    this.tools = parts.tools;
    this.resources = parts.resources ?? new Map();
    this.access = parts.access;
  }

  /** The policy for a caller with `roles`: the first policy in file order whose role it has. */
  policyFor(roles: readonly string[]): AccessPolicy {
    const entry = Object.entries(this.access.policies).find(([role]) => roles.includes(role));
    const name = entry?.[0] ?? '';
    // Built once per policy: every compiled query asks for it.
    const known = this.policies.get(name);
    if (known !== undefined) return known;
    const policy = entry?.[1];
    const built: AccessPolicy = {
      name,
      rowFilters: Object.entries(policy?.row_filters ?? {}).map(([dimension, values]) => ({
        dimension,
        values,
      })),
      hiddenMetrics: new Set(policy?.hidden_metrics ?? []),
      hiddenDimensions: new Set(policy?.hidden_dimensions ?? []),
      minGroupSize: policy?.min_group_size ?? this.access.min_group_size,
    };
    this.policies.set(name, built);
    return built;
  }

  /** Models a query on `baseModel` can reach: itself and the models it joins directly. */
  reachableModels(baseModel: string): string[] {
    const model = this.models.get(baseModel);
    return model === undefined ? [] : [baseModel, ...model.joins.map((join) => join.to)];
  }

  /** Dimensions usable in a query on `baseModel`, in definition order. */
  dimensionsFor(baseModel: string): Dimension[] {
    const reachable = new Set(this.reachableModels(baseModel));
    return [...this.dimensions.values()].filter((dimension) => reachable.has(dimension.model));
  }

  /** Metrics whose rows come from `baseModel`, in definition order. */
  metricsFor(baseModel: string): Metric[] {
    return [...this.metrics.values()].filter((metric) => metric.baseModel === baseModel);
  }
}
