import type { Metric, SemanticLayer } from './semantic-layer.js';

/** How a metric behaves when its groups are combined, split or tested: the one place that decides it. */
export interface MetricTraits {
  /** A group's value is the sum of its parts' values (counts and sums): parts can be merged in memory. */
  readonly additive: boolean;
  /** The value over no rows: 0 for counts, sums and distinct counts, null (unknown) for averages and ratios. */
  readonly empty: 0 | null;
  /** How a change between periods splits across segments: exactly, into mix and rate effects, or roughly. */
  readonly split: 'additive' | 'mix_rate' | 'approximate';
  /**
   * The noise model of a period's value: Poisson (a count), compound Poisson (a sum: variance = sum of
   * squares), binomial (a proportion of two counts), or none.
   */
  readonly noise: 'poisson' | 'compound_poisson' | 'binomial' | undefined;
  /** A ratio's numerator and denominator. */
  readonly parts: { readonly numerator: Metric; readonly denominator: Metric } | undefined;
}

const COUNTS = new Set(['count', 'sum', 'count_distinct', 'approx_count_distinct']);

/** The value of `metric` over no rows: 0 for counts, sums and distinct counts, null for averages and ratios. */
export function emptyOf(metric: Metric): 0 | null {
  return COUNTS.has(metric.aggregation) && metric.multiply_by === undefined ? 0 : null;
}

/** Whether a group's value of `metric` is the sum of its parts' (a count or a sum). */
export function isAdditive(metric: Pick<Metric, 'aggregation'>): boolean {
  return metric.aggregation === 'count' || metric.aggregation === 'sum';
}

/** The traits of `metric` in `layer`. */
export function traitsOf(layer: SemanticLayer, metric: Metric): MetricTraits {
  const additive = isAdditive(metric);
  const numerator = layer.metrics.get(metric.numerator ?? '');
  const denominator = layer.metrics.get(metric.denominator ?? '');
  const parts =
    metric.aggregation === 'ratio' && numerator !== undefined && denominator !== undefined
      ? { numerator, denominator }
      : undefined;
  const additiveDenominator = denominator !== undefined && isAdditive(denominator);
  const proportion = numerator?.aggregation === 'count' && denominator?.aggregation === 'count';
  return {
    additive,
    empty: emptyOf(metric),
    split: additive ? 'additive' : parts !== undefined && additiveDenominator ? 'mix_rate' : 'approximate',
    noise:
      metric.aggregation === 'count'
        ? 'poisson'
        : metric.aggregation === 'sum'
          ? 'compound_poisson'
          : parts !== undefined && proportion
            ? 'binomial'
            : undefined,
    parts,
  };
}

/** A model's `people` metric when it counts distinct people (the values it counts can be shared by rows). */
export function distinctPeopleMetric(layer: SemanticLayer, model: string): Metric | undefined {
  const people = layer.models.get(model)?.people;
  const metric = typeof people === 'string' ? layer.metrics.get(people) : undefined;
  return metric?.aggregation === 'count_distinct' || metric?.aggregation === 'approx_count_distinct'
    ? metric
    : undefined;
}
