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

const modelSchema = z.strictObject({
  table: identifier,
  description,
  tenant_column: identifier,
  time_column: identifier.optional(),
  joins: z.array(joinSchema).default([]),
});

export const DIMENSION_TYPES = ['string', 'date', 'integer', 'number'] as const;

const dimensionSchema = z.strictObject({
  model: identifier,
  column: identifier,
  type: z.enum(DIMENSION_TYPES).default('string'),
  description,
  enumerable: z.boolean().default(false),
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
  description,
});

const toolFilterSchema = z.strictObject({
  dimensions: z.array(identifier).min(1),
  description: description.optional(),
});

const toolSchema = z.strictObject({
  model: identifier,
  time_dimension: identifier,
  default_metrics: z.array(identifier).default([]),
  /** For lookup tools: the string dimension searched by the query argument. */
  search: identifier.optional(),
  /** For lookup tools: each result's columns, as output name → dimension. */
  columns: z.record(name, identifier).default({}),
  mover_dimensions: z.array(identifier).default([]),
  filters: z.record(name, toolFilterSchema).default({}),
  description: description.optional(),
});

const minGroupSizeSchema = z.strictObject({
  metric: name,
  k: z.number().int().min(2).max(1_000_000),
});

const policySchema = z.strictObject({
  description: description.optional(),
  row_filters: z.record(name, z.array(z.union([z.string(), z.number()])).min(1)).default({}),
  hidden_metrics: z.array(name).default([]),
  hidden_dimensions: z.array(name).default([]),
  min_group_size: minGroupSizeSchema.optional(),
});

/**
 * Who sees what: policies keyed by role (a caller gets the first policy, in file order, whose role it has;
 * with none, no row filter), and the smallest group any answer may show.
 */
const accessSchema = z.strictObject({
  min_group_size: minGroupSizeSchema.optional(),
  policies: z.record(name, policySchema).default({}),
});

/** One YAML file of the semantic layer: every section optional, sections merge across files. */
export const semanticFileSchema = z.strictObject({
  models: z.record(name, modelSchema).optional(),
  dimensions: z.record(name, dimensionSchema).optional(),
  metrics: z.record(name, metricSchema).optional(),
  tools: z.record(name, toolSchema).optional(),
  access: accessSchema.optional(),
});

export type SemanticFile = z.infer<typeof semanticFileSchema>;
export type ModelDef = z.infer<typeof modelSchema>;
export type JoinDef = z.infer<typeof joinSchema>;
export type DimensionDef = z.infer<typeof dimensionSchema>;
export type DimensionType = (typeof DIMENSION_TYPES)[number];
export type MetricDef = z.infer<typeof metricSchema>;
export type ToolDef = z.infer<typeof toolSchema>;
export type FilterValue = z.infer<typeof filterValue>;
export type PolicyDef = z.infer<typeof policySchema>;
export type MinGroupSize = z.infer<typeof minGroupSizeSchema>;
export type AccessDef = z.infer<typeof accessSchema>;
export const SECTIONS = ['models', 'dimensions', 'metrics', 'tools'] as const;
export type Section = (typeof SECTIONS)[number];
