import { MarqueeError } from '../errors.js';
import { ROLLUP_MERGES } from './aggregate-functions.js';
import { quote } from './did-you-mean.js';
import { digest } from './digest.js';
import type { Problem } from './load-semantic-layer.js';
import type {
  AccessDef,
  DimensionDef,
  JoinDef,
  MetricDef,
  ModelDef,
  PolicyDef,
  PromptDef,
  ResourceDef,
  RollupDef,
  Section,
  ToolDef,
} from './schema.js';
import { SECTIONS } from './schema.js';

/** A named definition from the semantic layer, with its name folded in. */
export type Named<T> = T & { readonly name: string };
export type Model = Named<ModelDef>;
export type Dimension = Named<DimensionDef>;
export type Metric = Named<MetricDef> & { readonly baseModel: string };
export type Tool = Named<ToolDef>;
export type EntityResource = Named<ResourceDef>;
export type Rollup = Named<RollupDef>;

/** Aggregations a rollup can keep as a state per day and group (a ratio is answered from its parts). */
export const ROLLUP_AGGREGATIONS: ReadonlySet<string> = new Set(Object.keys(ROLLUP_MERGES));

/** What one caller may see: row filters compiled into every query, hidden names, the smallest group shown. */
export interface AccessPolicy {
  /** The policies combined, e.g. `bi_service+latam_analyst` or `default`: callers with equal names see alike. */
  readonly name: string;
  readonly rowFilters: readonly {
    readonly dimension: string;
    readonly values: readonly (string | number)[];
  }[];
  readonly hiddenMetrics: ReadonlySet<string>;
  readonly hiddenDimensions: ReadonlySet<string>;
  /** The fewest people any figure may describe (undefined: no minimum). */
  readonly minGroupSize: number | undefined;
  /** Dimension → the fewest distinct values of it every group shown must span. */
  readonly minDistinct: ReadonlyMap<string, number>;
}

/** Where a definition of the layer is written, for problems found after loading (e.g. against the warehouse). */
export type Locate = (
  section: Section,
  name: string,
  path: readonly PropertyKey[],
  message: string,
) => Problem;

/** The zone of a layer that names none. */
const DEFAULT_TIME_ZONE = 'UTC';

/** The table a model reads, as SQL names it: `table`, or `database.table` when the layer names the database. */
export function qualifiedTable(model: Pick<Model, 'table' | 'database'>): string {
  return model.database === undefined ? model.table : `${model.database}.${model.table}`;
}

/** The columns naming one row of a join's target: its tenant column (when it has one) and the joined columns. */
export function joinKeyColumns(target: Pick<Model, 'tenant_column'>, join: Pick<JoinDef, 'on'>): string[] {
  return [...(target.tenant_column === undefined ? [] : [target.tenant_column]), ...Object.values(join.on)];
}

/** The name of the policy for callers none of whose roles a policy names. */
export const DEFAULT_POLICY = 'default';

/** A problem at a layer path whose place in a file is unknown (a layer built in code, not read from files). */
export const unlocated: Locate = (section, name, path, message) => ({
  file: '(semantic layer)',
  line: 1,
  column: 1,
  path: [section, name, ...path].map(String).join('.'),
  message,
});

/** A saved prompt of the layer, with its name. */
export type SavedPrompt = PromptDef & { readonly name: string };

/** The validated semantic layer: models, dimensions, metrics and tool bindings, looked up by name. */
export class SemanticLayer {
  readonly models: ReadonlyMap<string, Model>;
  readonly dimensions: ReadonlyMap<string, Dimension>;
  readonly metrics: ReadonlyMap<string, Metric>;
  readonly tools: ReadonlyMap<string, Tool>;
  readonly resources: ReadonlyMap<string, EntityResource>;
  /** Saved prompts: arguments a person fills in, and the tool calls a model makes in order. */
  readonly prompts: ReadonlyMap<string, SavedPrompt>;
  /** Tables of a model's rows summed per day and group, read instead of the model's table when they cover a query. */
  readonly rollups: ReadonlyMap<string, Rollup>;
  readonly access: AccessDef;
  /** The IANA zone whose calendar days periods, grains and dates of timestamps are in. */
  readonly timeZone: string;
  /** Where each definition is written (file, line, column). */
  readonly locate: Locate;
  private readonly policies = new Map<string, AccessPolicy>();
  private digest: string | undefined;

  constructor(parts: {
    access: AccessDef;
    models: Map<string, Model>;
    dimensions: Map<string, Dimension>;
    metrics: Map<string, Metric>;
    tools: Map<string, Tool>;
    resources?: Map<string, EntityResource>;
    prompts?: Map<string, SavedPrompt>;
    rollups?: Map<string, Rollup>;
    timeZone?: string;
    locate?: Locate;
  }) {
    this.models = parts.models;
    this.dimensions = parts.dimensions;
    this.metrics = parts.metrics;
    this.tools = parts.tools;
    this.resources = parts.resources ?? new Map();
    this.prompts = parts.prompts ?? new Map();
    this.rollups = parts.rollups ?? new Map();
    this.access = parts.access;
    this.timeZone = parts.timeZone ?? DEFAULT_TIME_ZONE;
    this.locate = parts.locate ?? unlocated;
  }

  /** A hash of every definition: answers computed under another layer are never taken for this one's. */
  get version(): string {
    this.digest ??= digest({
      access: this.access,
      timeZone: this.timeZone,
      ...Object.fromEntries(SECTIONS.map((section) => [section, Object.fromEntries(this[section])])),
    });
    return this.digest;
  }

  /** The day dimension of a tool that filters by periods (every kind but lookup has one, checked at load). */
  timeDimensionOf(tool: Pick<Tool, 'name' | 'time_dimension'>): string {
    if (tool.time_dimension === undefined) throw new Error(`Tool ${tool.name} has no time dimension`);
    return tool.time_dimension;
  }

  /**
   * The policy of a caller with `roles`: the most restrictive combination of its roles' policies (every row
   * filter, every hidden name, the largest minimums). A role no policy names gets the `default` policy; without
   * one the caller is refused, never given the whole tenant.
   */
  policyFor(roles: readonly string[]): AccessPolicy {
    const policies = this.access.policies;
    const named = [...new Set(roles)].filter((role) => Object.hasOwn(policies, role)).sort();
    const unnamed = roles.filter((role) => !Object.hasOwn(policies, role));
    const parts = unnamed.length > 0 || roles.length === 0 ? [...named, DEFAULT_POLICY] : named;
    const name = parts.join('+');
    // Built once per combination: every compiled query asks for it.
    const known = this.policies.get(name);
    if (known !== undefined) return known;
    if (parts.includes(DEFAULT_POLICY) && this.access.default === undefined) {
      const who = unnamed.length === 0 ? 'A caller with no role' : `Role ${unnamed.map(quote).join(', ')}`;
      throw new MarqueeError(
        'access_denied',
        `${who} has no access policy in the semantic layer, which defines no default policy: an operator must add access.default (for every such caller) or a policy for the role under access.policies`,
      );
    }
    const defs = parts.map((part): PolicyDef => {
      const def = part === DEFAULT_POLICY ? this.access.default : policies[part];
      if (def === undefined) throw new Error(`Unknown policy ${part}`);
      return def;
    });
    const minimums = defs
      .map((def) => def.min_group_size ?? this.access.min_group_size)
      .filter((k): k is number => k !== undefined);
    const minDistinct = new Map<string, number>();
    for (const def of defs) {
      for (const [dimension, count] of Object.entries(def.min_distinct))
        minDistinct.set(dimension, Math.max(count, minDistinct.get(dimension) ?? 0));
    }
    const built: AccessPolicy = {
      name,
      rowFilters: defs.flatMap((def) =>
        Object.entries(def.row_filters).map(([dimension, values]) => ({ dimension, values })),
      ),
      hiddenMetrics: new Set(defs.flatMap((def) => def.hidden_metrics)),
      hiddenDimensions: new Set(defs.flatMap((def) => def.hidden_dimensions)),
      minGroupSize: minimums.length === 0 ? undefined : Math.max(...minimums),
      minDistinct,
    };
    this.policies.set(name, built);
    return built;
  }

  /**
   * The catalogue listing a dimension's values: the model its column joins to and that model's dimension of the
   * joined column (the title id of a view is the id of a catalogue row). Undefined when none is declared.
   */
  catalogueOf(dimension: string): { readonly model: string; readonly key: string } | undefined {
    const found = this.dimensions.get(dimension);
    if (found === undefined) return undefined;
    for (const join of this.models.get(found.model)?.joins ?? []) {
      const remote = join.on[found.column];
      if (remote === undefined) continue;
      const key = [...this.dimensions.values()].find(
        (candidate) => candidate.model === join.to && candidate.column === remote,
      );
      if (key !== undefined) return { model: join.to, key: key.name };
    }
    return undefined;
  }

  /** Models a query on `baseModel` can reach: itself and the models it joins directly. */
  reachableModels(baseModel: string): string[] {
    const model = this.models.get(baseModel);
    return model === undefined ? [] : [baseModel, ...model.joins.map((join) => join.to)];
  }

  /**
   * Whether `known` dimensions determine `dimension` in a query on `baseModel`: every dimension of a joined
   * model is determined by the base dimensions holding the join's columns, or by a dimension naming one row
   * of that model (its joined key, or one declared `unique`). Groups by `known` then never split by it.
   */
  determines(baseModel: string, known: readonly string[], dimension: string): boolean {
    if (known.includes(dimension)) return true;
    const target = this.dimensions.get(dimension);
    if (target === undefined) return false;
    const identifies = (name: string, columns: readonly string[]): boolean => {
      const candidate = this.dimensions.get(name);
      return (
        candidate?.model === target.model &&
        (candidate.unique || (columns.length === 1 && candidate.column === columns[0]))
      );
    };
    if (target.model === baseModel) return known.some((name) => identifies(name, []));
    const join = this.models.get(baseModel)?.joins.find((candidate) => candidate.to === target.model);
    if (join === undefined) return false;
    if (known.some((name) => identifies(name, Object.values(join.on)))) return true;
    return Object.keys(join.on).every((column) =>
      known.some((name) => {
        const candidate = this.dimensions.get(name);
        return candidate?.model === baseModel && candidate.column === column;
      }),
    );
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
