import { z } from 'zod';

/** A plain name usable as a ClickHouse identifier without any escaping. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Names Marquee itself shows (metrics, dimensions, models, tools) start with a letter; `_` names are reserved. */
export const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

const identifier = z
  .string()
  .regex(IDENTIFIER, 'must be a plain name: a letter or _, then letters, digits or _');
const name = z.string().regex(NAME, 'must be a plain name: a letter, then letters, digits or _');
const description = z.string().min(1);

const joinSchema = z.strictObject({
  to: identifier,
  on: z
    .record(identifier, identifier)
    .refine((on) => Object.keys(on).length > 0, 'needs at least one column pair'),
  description: description.optional(),
});

/** A table name, alone or qualified by its database (`analytics.plays`). */
export const TABLE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

const DURATION_UNITS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** A duration in seconds: a whole number of seconds, or `90s`, `10m`, `1h`, `1d`. */
const duration = z.union([z.number(), z.string()]).transform((value, context) => {
  const text = String(value);
  const match = /^(\d+)([smhd]?)$/.exec(text);
  if (match === null) {
    context.addIssue({
      code: 'custom',
      message: `${JSON.stringify(value)}: must be seconds, or a number with s, m, h or d (90s, 10m, 1h, 1d)`,
    });
    return z.NEVER;
  }
  return Number(match[1]) * DURATION_UNITS[(match[2] || 's') as keyof typeof DURATION_UNITS];
});

const modelSchema = z.strictObject({
  table: z.string().regex(TABLE, 'must be a plain name, or database.name'),
  /** The table's database, when the table name does not say it (default: the connection's database). */
  database: identifier.optional(),
  description,
  /** The column holding each row's tenant: every query keeps only the caller's rows. */
  tenant_column: identifier.optional(),
  /**
   * `true` for a reference table every tenant shares (a product catalogue): it has no tenant column and is
   * read only as the catalogue it is, joined to tenant rows or looked up; never inferred from a missing column.
   */
  shared: z.literal(true).optional(),
  time_column: identifier.optional(),
  joins: z.array(joinSchema).default([]),
  /**
   * Whose rows these are: the metric counting the distinct people behind any group of rows (the minimum group
   * size counts them), or `false` for rows that are not about people (a catalogue).
   */
  people: z.union([identifier, z.literal(false)]).optional(),
  /**
   * How long answers read from this table may be kept (`90s`, `10m`, `1h`, `1d`, or seconds; 0: never): new
   * data ends them sooner, when the engine keeps parts to tell (MergeTree tables). Default 10 minutes.
   */
  cache_ttl: duration.default(600),
});

/**
 * `date`: a Date or Date32 column. `timestamp`: a DateTime or DateTime64 column, read as its calendar day in
 * the layer's time zone (grouped, filtered and shown as that day).
 */
export const DIMENSION_TYPES = ['string', 'date', 'timestamp', 'integer', 'number'] as const;

const dimensionSchema = z.strictObject({
  model: identifier,
  column: identifier,
  type: z.enum(DIMENSION_TYPES).default('string'),
  description,
  enumerable: z.boolean().default(false),
  /**
   * Each value names one row of the dimension's model (a title of the catalogue): the privacy rules then know
   * that it determines the model's other dimensions (a title's genre), as a join key does.
   */
  unique: z.boolean().default(false),
  /**
   * The string dimension naming each value (a title for a content id, a country name for a code): a value
   * nobody has is answered with the values whose names look like it, instead of an empty answer.
   */
  named_by: identifier.optional(),
});

export const AGGREGATIONS = [
  'count',
  'sum',
  'avg',
  'min',
  'max',
  'count_distinct',
  'approx_count_distinct',
  'ratio',
] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

const filterValue = z.union([z.string(), z.number(), z.boolean()]);

const metricSchema = z.strictObject({
  model: identifier.optional(),
  aggregation: z.enum(AGGREGATIONS),
  column: identifier.optional(),
  where: z.record(identifier, filterValue).optional(),
  numerator: identifier.optional(),
  denominator: identifier.optional(),
  multiply_by: z.number().finite().optional(),
  divide_by: z
    .number()
    .finite()
    .refine((n) => n !== 0, 'must not be 0')
    .optional(),
  format: z.enum(['number', 'percent', 'minutes', 'count']).default('number'),
  decimals: z.number().int().min(0).max(6).default(1),
  /** The metric counting the people this figure is about, when fewer than the model's (e.g. a cohort). */
  people: identifier.optional(),
  /** What the figure is counted in, said after every value (a currency: USD). */
  unit: z.string().min(1).max(12).optional(),
  description,
});

const toolFilterSchema = z.strictObject({
  dimensions: z.array(identifier).min(1),
  description: description.optional(),
});

/**
 * For experiment tools (compare_campaigns): how the tool's model records who was exposed to what. Each row of
 * the model is one unit (a person) in one arm of one subject (a campaign).
 */
const experimentSchema = z.strictObject({
  /** Dimension identifying what is compared (a campaign id), and its display name. */
  subject: identifier,
  subject_name: identifier,
  /** Date dimensions of the subject's first and last day; results align on days since the first. */
  launch: identifier,
  end: identifier.optional(),
  /** Metric of the subject's cost (spend), on the subject's own model. */
  cost: identifier.optional(),
  /** Dimension naming each unit's arm, its values for the exposed and the held-out arm, and the planned split. */
  arm: identifier,
  treatment: z.string().min(1),
  control: z.string().min(1),
  control_share: z.number().gt(0).lt(1),
  /** Metrics of the model: units in an arm, and units that converted (each counted once). */
  units: identifier,
  conversions: identifier,
  /** The funnel from exposure to conversion, in order (metrics of the model). */
  funnel: z.array(identifier).min(1),
  /** Retention of converted units: the units old enough to tell, and those still retained after `days`. */
  retention: z
    .strictObject({ cohort: identifier, retained: identifier, days: z.number().int().min(1).max(366) })
    .optional(),
  /**
   * Per-unit engagement for Welch's t-test: `metric` (from another model) summed per unit over `days` from the
   * unit's `since` column; `join` maps this model's unit columns to the metric model's. Units without a
   * `since` value are left out.
   */
  engagement: z
    .strictObject({
      metric: identifier,
      join: z
        .record(identifier, identifier)
        .refine((on) => Object.keys(on).length > 0, 'needs a column pair'),
      since: identifier,
      days: z.number().int().min(1).max(366),
      description,
    })
    .optional(),
});

/**
 * Which of the tool's filters narrow an event table too, as filter name → dimension of the events' model (a
 * price change of one plan, for a forecast of that plan). Filters not named here leave the events as they are
 * (a price change applies in every country).
 */
const eventFiltersSchema = z.record(name, identifier).default({});

/** Price changes: the day each takes effect, and the old and new price, summed over a day's rows. */
const priceChangesSchema = z.strictObject({
  date: identifier,
  old_price: identifier,
  new_price: identifier,
  filters: eventFiltersSchema,
});

/**
 * Campaigns that drive sign-ups: each one's id and its first and last day, and optionally its kind (a dimension
 * such as the region it targets): a scheduled campaign is expected to lift sign-ups as past ones of its kind did.
 */
const campaignRunsSchema = z.strictObject({
  id: identifier,
  start: identifier,
  end: identifier,
  kind: identifier.optional(),
  filters: eventFiltersSchema,
});

/**
 * For forecast tools: the stock metric, its inflow and outflow, the seasonal periods of the daily series, and
 * the known events the flows answer to (price changes, campaigns), modelled as interventions.
 */
const forecastSchema = z.strictObject({
  stock: identifier,
  inflow: identifier,
  outflow: identifier,
  seasonal_periods: z.array(z.number().int().min(2).max(400)).default([7]),
  prices: priceChangesSchema.optional(),
  campaigns: campaignRunsSchema.optional(),
});

/**
 * What shape of binding a tool takes: `analytic` (metrics over time with filters and breakdowns), `experiment`
 * (an `experiment` block), `forecast` (a `forecast` block) or `lookup` (a searched catalogue with `columns`).
 */
export const TOOL_KINDS = ['analytic', 'experiment', 'forecast', 'lookup'] as const;
export type ToolKind = (typeof TOOL_KINDS)[number];

const toolSchema = z.strictObject({
  kind: z.enum(TOOL_KINDS),
  model: identifier,
  /** The day dimension periods filter on: every kind but lookup needs one. */
  time_dimension: identifier.optional(),
  default_metrics: z.array(identifier).default([]),
  /** For lookup tools: the string dimension searched by the query argument. */
  search: identifier.optional(),
  /**
   * For lookup tools whose rows last a while (a campaign): the day dimension of their last day. A period then
   * selects the rows active in it (started by its end, not ended before its start), or with `time_match:
   * started` the rows that started in it.
   */
  end_dimension: identifier.optional(),
  /** For lookup tools: each result's columns, as output name → dimension. */
  columns: z.record(name, identifier).default({}),
  mover_dimensions: z.array(identifier).default([]),
  filters: z.record(name, toolFilterSchema).default({}),
  experiment: experimentSchema.optional(),
  forecast: forecastSchema.optional(),
  description: description.optional(),
});

/**
 * An entity clients can read and complete by key (a campaign, a title, a country): an MCP resource template
 * `marquee://<name>/{<key>}` whose key argument completes from the warehouse.
 */
const resourceSchema = z.strictObject({
  model: identifier,
  /** The dimension identifying one entity: the URI variable. */
  key: identifier,
  /** The entity's fields, as output name → dimension. */
  columns: z.record(name, identifier).default({}),
  metrics: z.array(identifier).default([]),
  /** A string dimension completions also search (e.g. a title, so typing a name offers its ids). */
  search: identifier.optional(),
  description,
});

/**
 * Where a saved prompt's argument gets its completions (and what its value is checked against): `period` (the
 * period vocabulary and the data's recent periods), `entity` (the key of one of the layer's resources, e.g. a
 * campaign id, completed from its id or its name), or a tool's `filter` (its values, e.g. countries and regions).
 */
const promptArgumentSchema = z.strictObject({
  description,
  required: z.boolean().default(false),
  /** A number argument's value reaches the tools as a number (a prompt's arguments arrive as text). */
  type: z.enum(['string', 'number']).default('string'),
  /** The value when the person gives none (only for an argument that is not required). */
  default: z.string().min(1).max(200).optional(),
  complete: z
    .union([
      z.literal('period'),
      z.strictObject({ entity: name }),
      z.strictObject({ tool: name, filter: name }),
    ])
    .optional(),
});

/**
 * One tool call of a saved prompt's flow: its arguments, where `{name}` is replaced by the prompt argument's value
 * (an argument given nothing and defaulting to nothing drops a value that is exactly its placeholder), and what
 * to show of the answer.
 */
const promptStepSchema = z.strictObject({
  tool: name,
  arguments: z.record(name, z.unknown()).default({}),
  show: z.string().min(1).max(1000),
});

/** A saved prompt (MCP prompts): arguments a person fills in, and the tools a model calls, in order, and shows. */
const promptSchema = z.strictObject({
  title: z.string().min(1).max(100),
  description,
  arguments: z.record(name, promptArgumentSchema).default({}),
  steps: z.array(promptStepSchema).min(1).max(10),
  /** What to finish with once every step is answered. */
  finish: z.string().min(1).max(1000),
});

/** The fewest people (counted by each model's `people` metric) any figure of an answer may describe. */
const minGroupSizeSchema = z.number().int().min(2).max(1_000_000);

const policySchema = z.strictObject({
  description: description.optional(),
  row_filters: z.record(name, z.array(z.union([z.string(), z.number()])).min(1)).default({}),
  hidden_metrics: z.array(name).default([]),
  hidden_dimensions: z.array(name).default([]),
  min_group_size: minGroupSizeSchema.optional(),
  /**
   * The fewest distinct values of a dimension every group an answer shows must span (e.g. 5 titles), so that
   * no attribute (a release date, a rare genre) singles out a member of an entity the policy hides.
   */
  min_distinct: z.record(name, z.number().int().min(2).max(1_000_000)).default({}),
});

/**
 * Who sees what: policies keyed by role. A caller with several roles gets the most restrictive combination of
 * their policies; a role no policy names gets `default`, and without a `default` it is refused.
 */
const accessSchema = z.strictObject({
  min_group_size: minGroupSizeSchema.optional(),
  default: policySchema.optional(),
  policies: z.record(name, policySchema).default({}),
});

/**
 * A rollup: a table Marquee builds (`marquee rollups build`) and keeps current with a materialised view, holding
 * a model's rows summed per day and per combination of `dimensions` (columns of the model's own table), with a
 * state per metric. A query the rollup covers (its dimensions, joins through them, filters, metrics and the
 * privacy rules' measures) reads it instead of the model's table.
 */
const rollupSchema = z.strictObject({
  model: identifier,
  table: z.string().regex(TABLE, 'must be a plain name, or database.name'),
  database: identifier.optional(),
  description: description.optional(),
  /** Dimensions of the model's own table it keeps (the day of the model's time column always). */
  dimensions: z.array(identifier).min(1),
  /** Metrics of the model it can answer: counts, sums, minimums, maximums and approximate distinct counts. */
  metrics: z.array(identifier).min(1),
  /**
   * Keep a monthly tier too (`<table>_by_month`): questions about whole months (by month or longer, or not
   * bucketed) read their whole months there and only the days around them from the daily table.
   */
  monthly: z.boolean().default(false),
});

/** One YAML file of the semantic layer: every section optional, sections merge across files. */
export const semanticFileSchema = z.strictObject({
  /** The IANA time zone whose calendar days the layer speaks in (default UTC); one file says it. */
  time_zone: z.string().min(1).optional(),
  models: z.record(name, modelSchema).optional(),
  dimensions: z.record(name, dimensionSchema).optional(),
  metrics: z.record(name, metricSchema).optional(),
  tools: z.record(name, toolSchema).optional(),
  resources: z.record(name, resourceSchema).optional(),
  prompts: z.record(name, promptSchema).optional(),
  rollups: z.record(name, rollupSchema).optional(),
  access: accessSchema.optional(),
});

/** The keys each part of a file may have, for did-you-mean on unknown keys. */
export const SHAPES: Record<string, readonly string[]> = {
  '': Object.keys(semanticFileSchema.shape),
  access: Object.keys(accessSchema.shape),
  'access.policies': Object.keys(policySchema.shape),
  'access.default': Object.keys(policySchema.shape),
  models: Object.keys(modelSchema.shape),
  'models.joins': Object.keys(joinSchema.shape),
  dimensions: Object.keys(dimensionSchema.shape),
  metrics: Object.keys(metricSchema.shape),
  tools: Object.keys(toolSchema.shape),
  'tools.filters': Object.keys(toolFilterSchema.shape),
  'tools.experiment': Object.keys(experimentSchema.shape),
  'tools.forecast': Object.keys(forecastSchema.shape),
  'tools.forecast.prices': Object.keys(priceChangesSchema.shape),
  'tools.forecast.campaigns': Object.keys(campaignRunsSchema.shape),
  resources: Object.keys(resourceSchema.shape),
  prompts: Object.keys(promptSchema.shape),
  rollups: Object.keys(rollupSchema.shape),
};

export type SemanticFile = z.infer<typeof semanticFileSchema>;
export type ModelDef = z.infer<typeof modelSchema>;
export type JoinDef = z.infer<typeof joinSchema>;
export type DimensionDef = z.infer<typeof dimensionSchema>;
export type DimensionType = (typeof DIMENSION_TYPES)[number];

/** Whether dimensions of `type` are calendar days (a date, or a timestamp read as its day). */
export function isDay(type: DimensionType): boolean {
  return type === 'date' || type === 'timestamp';
}
export type MetricDef = z.infer<typeof metricSchema>;
export type ToolDef = z.infer<typeof toolSchema>;
export type ExperimentDef = z.infer<typeof experimentSchema>;
export type ResourceDef = z.infer<typeof resourceSchema>;
export type PromptDef = z.infer<typeof promptSchema>;
export type RollupDef = z.infer<typeof rollupSchema>;
export type PromptArgumentDef = z.infer<typeof promptArgumentSchema>;
export type ForecastDef = z.infer<typeof forecastSchema>;
export type FilterValue = z.infer<typeof filterValue>;
export type PolicyDef = z.infer<typeof policySchema>;
export type AccessDef = z.infer<typeof accessSchema>;
export const SECTIONS = [
  'models',
  'dimensions',
  'metrics',
  'tools',
  'resources',
  'prompts',
  'rollups',
] as const;
export type Section = (typeof SECTIONS)[number];
