import { quote, unknownNameMessage } from './did-you-mean.js';
import type { Origins, Problem, SourceFile } from './load-semantic-layer.js';
import type {
  AccessDef,
  DimensionDef,
  MetricDef,
  ModelDef,
  PolicyDef,
  PromptDef,
  ResourceDef,
  RollupDef,
  ToolDef,
  ToolKind,
} from './schema.js';
import { isDay } from './schema.js';
import {
  type Dimension,
  type EntityResource,
  type Metric,
  type Model,
  ROLLUP_AGGREGATIONS,
  type Rollup,
  SemanticLayer,
  type Tool,
  unlocated,
} from './semantic-layer.js';

interface Definitions {
  models: Record<string, ModelDef>;
  dimensions: Record<string, DimensionDef>;
  metrics: Record<string, MetricDef>;
  tools: Record<string, ToolDef>;
  resources: Record<string, ResourceDef>;
  prompts: Record<string, PromptDef>;
  rollups: Record<string, RollupDef>;
}

/** `{name}` placeholders of a saved prompt's text or step argument. */
export const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9_]*)\}/g;

/** Every `{name}` placeholder in a step's arguments (strings at any depth). */
export function placeholdersIn(value: unknown): string[] {
  if (typeof value === 'string') return [...value.matchAll(PLACEHOLDER)].map((match) => match[1] ?? '');
  if (Array.isArray(value)) return value.flatMap(placeholdersIn);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(placeholdersIn);
  return [];
}

/** Aggregations that count people: a model's `people` metric must be one of them. */
const PEOPLE_AGGREGATIONS = new Set(['count', 'count_distinct', 'approx_count_distinct', 'sum']);

/** What each kind of tool binding needs and what only it may have. */
const KIND_FIELDS: Record<ToolKind, { needs: (keyof ToolDef)[]; only: (keyof ToolDef)[] }> = {
  analytic: { needs: ['default_metrics'], only: ['mover_dimensions'] },
  experiment: { needs: ['experiment'], only: ['experiment'] },
  forecast: { needs: ['forecast'], only: ['forecast'] },
  lookup: { needs: ['search', 'columns'], only: ['search', 'columns'] },
};

/** Whether `zone` is an IANA time zone this runtime (and so the engine's tz database) knows. */
function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return zone !== '' && !zone.includes("'");
  } catch {
    return false;
  }
}

/** Whether a binding field is set (lists and maps must be non-empty). */
function present(value: unknown): boolean {
  if (value === undefined) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object' && value !== null) return Object.keys(value).length > 0;
  return true;
}

/**
 * Cross-reference rules, one per concern; returns the layer and every problem found. `catalogue` names the
 * tools this server can serve, with the kind of binding each takes: a binding to any other name is a problem.
 */
export function checkSemanticLayer(
  defs: Definitions,
  origins: Origins,
  catalogue: ReadonlyMap<string, ToolKind>,
  access?: { definition: AccessDef; source: SourceFile },
  timeZone?: { zone: string; source: SourceFile },
): { layer: SemanticLayer; problems: Problem[] } {
  const problems: Problem[] = [];
  if (timeZone !== undefined && !isTimeZone(timeZone.zone))
    problems.push(
      timeZone.source.problem(
        ['time_zone'],
        `Unknown time zone ${quote(timeZone.zone)}: use an IANA name such as "UTC", "Europe/Berlin" or "America/Sao_Paulo"`,
      ),
    );
  const report = (section: keyof Definitions, name: string, path: PropertyKey[], message: string): void => {
    const source = origins.get(section)?.get(name);
    if (source !== undefined) problems.push(source.problem([section, name, ...path], message));
  };
  const modelNames = Object.keys(defs.models);
  const metricNames = Object.keys(defs.metrics);
  const dimensionNames = Object.keys(defs.dimensions);
  const reachable = (model: string): Set<string> =>
    new Set([model, ...(defs.models[model]?.joins ?? []).map((join) => join.to)]);

  /** Checks that a dimension named at `path` exists and is reachable from `model`. */
  const dimensionCheck =
    (section: 'tools' | 'resources', name: string, model: string) =>
    (dimension: string, path: PropertyKey[]): void => {
      const def = defs.dimensions[dimension];
      if (def === undefined)
        report(section, name, path, unknownNameMessage('dimension', dimension, dimensionNames));
      else if (!reachable(model).has(def.model))
        report(
          section,
          name,
          path,
          `Dimension ${quote(dimension)} is on model ${quote(def.model)}, which model ${quote(model)} does not join`,
        );
    };

  /** Checks that a metric named at `path` exists and aggregates rows of `model`. */
  const metricCheck =
    (section: 'tools' | 'resources', name: string, model: string) =>
    (metric: string, path: PropertyKey[]): void => {
      if (!(metric in defs.metrics))
        report(section, name, path, unknownNameMessage('metric', metric, metricNames));
      else if (baseModelOf(metric) !== undefined && baseModelOf(metric) !== model)
        report(section, name, path, `Metric ${quote(metric)} is not on model ${quote(model)}`);
    };

  for (const [name, model] of Object.entries(defs.models)) {
    if (model.tenant_column === undefined && model.shared !== true)
      report(
        'models',
        name,
        [],
        "Say whose rows these are: tenant_column: <the column holding each row's tenant>, or shared: true for a reference table every tenant shares",
      );
    if (model.tenant_column !== undefined && model.shared === true)
      report('models', name, ['shared'], 'A shared table has no tenant column: remove one of the two');
    if (model.shared === true && typeof model.people === 'string')
      report(
        'models',
        name,
        ['shared'],
        `A table every tenant shares cannot hold people's rows (people: ${quote(model.people)}); give it a tenant_column`,
      );
    if (model.database !== undefined && model.table.includes('.'))
      report('models', name, ['database'], `The table ${quote(model.table)} already names its database`);
    model.joins.forEach((join, index) => {
      if (!(join.to in defs.models))
        report('models', name, ['joins', index, 'to'], unknownNameMessage('model', join.to, modelNames));
      else if (join.to === name) report('models', name, ['joins', index, 'to'], `A model cannot join itself`);
      // A shared table is read whole and its rows are no one's: joined to tenant rows, it would count them
      // without the tenant's people, so the privacy rules would not see whom its figures describe.
      else if (model.shared === true && defs.models[join.to]?.shared !== true)
        report(
          'models',
          name,
          ['joins', index, 'to'],
          `A shared model joins only other shared models; join it from ${quote(join.to)} instead (tenant rows join the catalogue, not the other way round)`,
        );
    });
  }

  for (const [name, dimension] of Object.entries(defs.dimensions)) {
    if (!(dimension.model in defs.models)) {
      report('dimensions', name, ['model'], unknownNameMessage('model', dimension.model, modelNames));
    }
    if (name in defs.metrics)
      report('dimensions', name, [], `${quote(name)} is both a dimension and a metric`);
    if (dimension.named_by !== undefined) {
      const naming = defs.dimensions[dimension.named_by];
      if (naming === undefined)
        report(
          'dimensions',
          name,
          ['named_by'],
          unknownNameMessage('dimension', dimension.named_by, dimensionNames),
        );
      else if (naming.type !== 'string')
        report('dimensions', name, ['named_by'], `${quote(dimension.named_by)} must be a string dimension`);
      else if (!reachable(dimension.model).has(naming.model))
        report(
          'dimensions',
          name,
          ['named_by'],
          `${quote(dimension.named_by)} is on model ${quote(naming.model)}, which model ${quote(dimension.model)} does not join`,
        );
    }
  }

  const baseModels = new Map<string, string>();
  const resolving = new Set<string>();
  const baseModelOf = (name: string): string | undefined => {
    const known = baseModels.get(name);
    if (known !== undefined) return known;
    const metric = defs.metrics[name];
    if (metric === undefined || resolving.has(name)) return undefined;
    resolving.add(name);
    let base: string | undefined;
    if (metric.aggregation === 'ratio') {
      const numerator = metric.numerator === undefined ? undefined : baseModelOf(metric.numerator);
      const denominator = metric.denominator === undefined ? undefined : baseModelOf(metric.denominator);
      base = numerator !== undefined && numerator === denominator ? numerator : undefined;
    } else if (metric.model !== undefined && metric.model in defs.models) {
      base = metric.model;
    }
    resolving.delete(name);
    if (base !== undefined) baseModels.set(name, base);
    return base;
  };

  for (const [name, metric] of Object.entries(defs.metrics)) {
    if (metric.aggregation === 'ratio') {
      for (const part of ['numerator', 'denominator'] as const) {
        const ref = metric[part];
        if (ref === undefined) report('metrics', name, [], `A ratio metric needs a ${part} metric`);
        else if (!(ref in defs.metrics))
          report('metrics', name, [part], unknownNameMessage('metric', ref, metricNames));
        else if (ref === name) report('metrics', name, [part], 'A metric cannot refer to itself');
      }
      for (const field of ['model', 'column', 'where'] as const) {
        if (metric[field] !== undefined)
          report(
            'metrics',
            name,
            [field],
            `A ratio metric takes no ${field}: it is computed from its numerator and denominator`,
          );
      }
      if (
        metric.numerator !== undefined &&
        metric.denominator !== undefined &&
        metric.numerator in defs.metrics &&
        metric.denominator in defs.metrics &&
        baseModelOf(name) === undefined
      ) {
        report(
          'metrics',
          name,
          [],
          'The numerator and denominator must come from the same model, without a cycle',
        );
      }
      continue;
    }
    if (metric.model === undefined) report('metrics', name, [], 'A metric needs a model');
    else if (!(metric.model in defs.models))
      report('metrics', name, ['model'], unknownNameMessage('model', metric.model, modelNames));
    if (metric.column === undefined && metric.aggregation !== 'count') {
      report('metrics', name, [], `Aggregation ${quote(metric.aggregation)} needs a column`);
    }
    for (const field of ['numerator', 'denominator'] as const) {
      if (metric[field] !== undefined)
        report('metrics', name, [field], `Only a ratio metric takes a ${field}`);
    }
  }

  const toolNames = [...catalogue.keys()];
  for (const [name, tool] of Object.entries(defs.tools)) {
    const kind = catalogue.get(name);
    if (kind === undefined) {
      report('tools', name, [], unknownNameMessage('tool', name, toolNames));
      continue;
    }
    if (tool.kind !== kind) {
      report(
        'tools',
        name,
        ['kind'],
        `${quote(name)} is a tool of kind ${quote(kind)}, not ${quote(tool.kind)}`,
      );
    } else {
      const { needs } = KIND_FIELDS[kind];
      for (const field of needs) {
        if (!present(tool[field]))
          report('tools', name, [], `A ${kind} tool needs ${field}: the binding is incomplete`);
      }
      for (const [other, { only }] of Object.entries(KIND_FIELDS)) {
        if (other === kind) continue;
        for (const field of only) {
          if (present(tool[field]) && !KIND_FIELDS[kind].only.includes(field) && !needs.includes(field))
            report('tools', name, [field], `${field} is only for ${other} tools, not ${kind} ones`);
        }
      }
    }
    if (tool.kind === 'lookup' && Object.keys(tool.filters).length > 0)
      report('tools', name, ['filters'], 'A lookup tool takes no filters');
    if (!(tool.model in defs.models)) {
      report('tools', name, ['model'], unknownNameMessage('model', tool.model, modelNames));
      continue;
    }
    const checkDimension = dimensionCheck('tools', name, tool.model);
    if (tool.time_dimension === undefined && tool.kind !== 'lookup')
      report('tools', name, [], `A ${tool.kind} tool needs time_dimension: the day its periods filter on`);
    if (tool.time_dimension !== undefined) checkDimension(tool.time_dimension, ['time_dimension']);
    const time = defs.dimensions[tool.time_dimension ?? ''];
    if (time !== undefined && !isDay(time.type))
      report(
        'tools',
        name,
        ['time_dimension'],
        `The time dimension must have type "date" or "timestamp", not ${quote(time.type)}`,
      );
    if (time !== undefined && time.model !== tool.model)
      report(
        'tools',
        name,
        ['time_dimension'],
        `The time dimension must be on the tool's model ${quote(tool.model)}`,
      );
    const checkMetric = (metric: string, path: PropertyKey[], model = tool.model): void =>
      metricCheck('tools', name, model)(metric, path);
    tool.default_metrics.forEach((metric, index) => {
      checkMetric(metric, ['default_metrics', index]);
    });
    const forecast = tool.forecast;
    if (forecast !== undefined) {
      for (const field of ['stock', 'inflow', 'outflow'] as const)
        checkMetric(forecast[field], ['forecast', field]);
      // Each kind of event lives on the model of its first day dimension; its other fields on the same model.
      const checkEvents = (
        kind: 'prices' | 'campaigns',
        fields: { readonly days: Record<string, string>; readonly others: Record<string, string> },
        metrics: Record<string, string>,
        filters: Record<string, string>,
      ): void => {
        const at = (...path: PropertyKey[]) => ['forecast', kind, ...path];
        const [first, anchor] = Object.entries(fields.days)[0] ?? ['', ''];
        const model = defs.dimensions[anchor]?.model;
        if (model === undefined) {
          report('tools', name, at(first), unknownNameMessage('dimension', anchor, dimensionNames));
          return;
        }
        const checkOn = dimensionCheck('tools', name, model);
        for (const [field, dimension] of Object.entries(fields.days)) {
          checkOn(dimension, at(field));
          const type = defs.dimensions[dimension]?.type;
          if (type !== undefined && !isDay(type))
            report('tools', name, at(field), `${quote(dimension)} must be a date or timestamp dimension`);
        }
        for (const [field, dimension] of Object.entries(fields.others)) checkOn(dimension, at(field));
        for (const [field, metric] of Object.entries(metrics))
          metricCheck('tools', name, model)(metric, at(field));
        for (const [filter, dimension] of Object.entries(filters)) {
          if (!(filter in tool.filters))
            report(
              'tools',
              name,
              at('filters', filter),
              unknownNameMessage('filter', filter, Object.keys(tool.filters)),
            );
          checkOn(dimension, at('filters', filter));
        }
      };
      const prices = forecast.prices;
      if (prices !== undefined)
        checkEvents(
          'prices',
          { days: { date: prices.date }, others: {} },
          { old_price: prices.old_price, new_price: prices.new_price },
          prices.filters,
        );
      const campaigns = forecast.campaigns;
      if (campaigns !== undefined)
        checkEvents(
          'campaigns',
          {
            days: { start: campaigns.start, end: campaigns.end },
            others: { id: campaigns.id, ...(campaigns.kind === undefined ? {} : { kind: campaigns.kind }) },
          },
          {},
          campaigns.filters,
        );
    }
    const experiment = tool.experiment;
    if (experiment !== undefined) {
      const at = (...path: PropertyKey[]) => ['experiment', ...path];
      for (const field of ['subject', 'subject_name', 'launch', 'arm'] as const)
        checkDimension(experiment[field], at(field));
      if (experiment.end !== undefined) checkDimension(experiment.end, at('end'));
      for (const field of ['launch', 'end'] as const) {
        const dimension = defs.dimensions[experiment[field] ?? ''];
        if (dimension !== undefined && !isDay(dimension.type))
          report(
            'tools',
            name,
            at(field),
            `${quote(experiment[field])} must be a date or timestamp dimension`,
          );
      }
      checkMetric(experiment.units, at('units'));
      checkMetric(experiment.conversions, at('conversions'));
      experiment.funnel.forEach((metric, index) => {
        checkMetric(metric, at('funnel', index));
      });
      if (experiment.retention !== undefined) {
        checkMetric(experiment.retention.cohort, at('retention', 'cohort'));
        checkMetric(experiment.retention.retained, at('retention', 'retained'));
      }
      const subjectModel = defs.dimensions[experiment.subject]?.model;
      if (experiment.cost !== undefined && subjectModel !== undefined)
        checkMetric(experiment.cost, at('cost'), subjectModel);
      const engagement = experiment.engagement;
      if (engagement !== undefined) {
        const metric = defs.metrics[engagement.metric];
        const model = baseModelOf(engagement.metric);
        if (metric === undefined)
          report(
            'tools',
            name,
            at('engagement', 'metric'),
            unknownNameMessage('metric', engagement.metric, metricNames),
          );
        else if (
          metric.aggregation === 'ratio' ||
          model === undefined ||
          defs.models[model]?.time_column === undefined
        )
          report(
            'tools',
            name,
            at('engagement', 'metric'),
            `${quote(engagement.metric)} must be a plain (not ratio) metric of a model with a time_column`,
          );
      }
    }
    if (tool.search !== undefined) {
      checkDimension(tool.search, ['search']);
      const searched = defs.dimensions[tool.search];
      if (searched !== undefined && searched.type !== 'string') {
        report(
          'tools',
          name,
          ['search'],
          `The search dimension must have type "string", not ${quote(searched.type)}`,
        );
      }
    }
    for (const [column, dimension] of Object.entries(tool.columns))
      checkDimension(dimension, ['columns', column]);
    if (tool.end_dimension !== undefined) {
      checkDimension(tool.end_dimension, ['end_dimension']);
      const end = defs.dimensions[tool.end_dimension];
      if (tool.kind !== 'lookup' || tool.time_dimension === undefined)
        report('tools', name, ['end_dimension'], 'end_dimension is for lookup tools with a time_dimension');
      else if (end !== undefined && (end.model !== tool.model || !isDay(end.type)))
        report(
          'tools',
          name,
          ['end_dimension'],
          `${quote(tool.end_dimension)} must be a day dimension of ${quote(tool.model)}`,
        );
    }
    tool.mover_dimensions.forEach((dimension, index) => {
      checkDimension(dimension, ['mover_dimensions', index]);
    });
    for (const [argument, filter] of Object.entries(tool.filters)) {
      filter.dimensions.forEach((dimension, index) => {
        checkDimension(dimension, ['filters', argument, 'dimensions', index]);
      });
    }
  }

  for (const [name, resource] of Object.entries(defs.resources)) {
    if (!(resource.model in defs.models)) {
      report('resources', name, ['model'], unknownNameMessage('model', resource.model, modelNames));
      continue;
    }
    const people = defs.models[resource.model]?.people;
    if (people !== undefined && people !== false)
      report(
        'resources',
        name,
        ['model'],
        `Entities describe catalogue rows; the rows of ${quote(resource.model)} are about people (people: ${quote(people)})`,
      );
    const checkDimension = dimensionCheck('resources', name, resource.model);
    checkDimension(resource.key, ['key']);
    if (resource.search !== undefined) checkDimension(resource.search, ['search']);
    for (const [column, dimension] of Object.entries(resource.columns))
      checkDimension(dimension, ['columns', column]);
    const checkMetric = metricCheck('resources', name, resource.model);
    resource.metrics.forEach((metric, index) => {
      checkMetric(metric, ['metrics', index]);
    });
  }

  const resourceNames = Object.keys(defs.resources);
  const boundTools = Object.keys(defs.tools);
  for (const [name, prompt] of Object.entries(defs.prompts)) {
    const argumentNames = Object.keys(prompt.arguments);
    for (const [argument, def] of Object.entries(prompt.arguments)) {
      const complete = def.complete;
      const at = ['arguments', argument, 'complete'];
      if (typeof complete === 'object' && 'entity' in complete && !(complete.entity in defs.resources))
        report(
          'prompts',
          name,
          [...at, 'entity'],
          unknownNameMessage('resource', complete.entity, resourceNames),
        );
      if (typeof complete === 'object' && 'filter' in complete) {
        const tool = defs.tools[complete.tool];
        if (tool === undefined)
          report('prompts', name, [...at, 'tool'], unknownNameMessage('tool', complete.tool, boundTools));
        else if (!(complete.filter in tool.filters))
          report(
            'prompts',
            name,
            [...at, 'filter'],
            unknownNameMessage(`filter of ${complete.tool}`, complete.filter, Object.keys(tool.filters)),
          );
      }
      if (def.required && def.default !== undefined)
        report('prompts', name, ['arguments', argument, 'default'], 'A required argument has no default');
    }
    prompt.steps.forEach((step, index) => {
      if (!(step.tool in defs.tools))
        report('prompts', name, ['steps', index, 'tool'], unknownNameMessage('tool', step.tool, boundTools));
      for (const placeholder of placeholdersIn(step.arguments))
        if (!(placeholder in prompt.arguments))
          report(
            'prompts',
            name,
            ['steps', index, 'arguments'],
            unknownNameMessage('prompt argument', placeholder, argumentNames),
          );
    });
  }

  if (access !== undefined) {
    const at = (path: PropertyKey[], message: string) =>
      problems.push(access.source.problem(['access', ...path], message));
    const checkPolicy = (path: PropertyKey[], policy: PolicyDef): void => {
      for (const dimension of Object.keys(policy.row_filters)) {
        if (!(dimension in defs.dimensions))
          at([...path, 'row_filters', dimension], unknownNameMessage('dimension', dimension, dimensionNames));
      }
      policy.hidden_metrics.forEach((metric, index) => {
        if (!(metric in defs.metrics))
          at([...path, 'hidden_metrics', index], unknownNameMessage('metric', metric, metricNames));
      });
      policy.hidden_dimensions.forEach((dimension, index) => {
        if (!(dimension in defs.dimensions))
          at(
            [...path, 'hidden_dimensions', index],
            unknownNameMessage('dimension', dimension, dimensionNames),
          );
        if (dimension in policy.row_filters)
          at([...path, 'hidden_dimensions', index], `${quote(dimension)} is both filtered and hidden`);
      });
      for (const dimension of Object.keys(policy.min_distinct)) {
        if (!(dimension in defs.dimensions))
          at(
            [...path, 'min_distinct', dimension],
            unknownNameMessage('dimension', dimension, dimensionNames),
          );
      }
    };
    if (access.definition.default !== undefined) checkPolicy(['default'], access.definition.default);
    for (const [role, policy] of Object.entries(access.definition.policies)) {
      if (role === 'default')
        at(['policies', role], 'The policy of callers no role names is access.default, not a role "default"');
      checkPolicy(['policies', role], policy);
    }
    const minimums =
      access.definition.min_group_size !== undefined ||
      access.definition.default?.min_group_size !== undefined ||
      Object.values(access.definition.policies).some((policy) => policy.min_group_size !== undefined);
    // A minimum group size must know whom to count in every model's rows: saying so is not optional.
    if (minimums) {
      for (const [name, model] of Object.entries(defs.models)) {
        if (model.people === undefined)
          report(
            'models',
            name,
            [],
            'Say whose rows these are for the minimum group size: people: <a metric counting distinct people>, or people: false for rows that are not about people',
          );
      }
    }
  }

  for (const [name, model] of Object.entries(defs.models)) {
    const people = model.people;
    if (people === undefined || people === false) continue;
    const metric = defs.metrics[people];
    if (metric === undefined)
      report('models', name, ['people'], unknownNameMessage('metric', people, metricNames));
    else if (baseModelOf(people) !== name || !PEOPLE_AGGREGATIONS.has(metric.aggregation))
      report(
        'models',
        name,
        ['people'],
        `${quote(people)} must count people in the rows of ${quote(name)} (a count, distinct count or sum of it)`,
      );
  }
  for (const [name, metric] of Object.entries(defs.metrics)) {
    if (metric.people === undefined) continue;
    const people = defs.metrics[metric.people];
    if (people === undefined)
      report('metrics', name, ['people'], unknownNameMessage('metric', metric.people, metricNames));
    else if (baseModelOf(metric.people) !== baseModelOf(name) || !PEOPLE_AGGREGATIONS.has(people.aggregation))
      report(
        'metrics',
        name,
        ['people'],
        `${quote(metric.people)} must count people in the rows ${quote(name)} is computed from`,
      );
  }

  for (const [name, rollup] of Object.entries(defs.rollups)) {
    const model = defs.models[rollup.model];
    if (model === undefined) {
      report('rollups', name, ['model'], unknownNameMessage('model', rollup.model, modelNames));
      continue;
    }
    const time = Object.entries(defs.dimensions).find(
      ([, dimension]) => dimension.model === rollup.model && dimension.column === model.time_column,
    );
    if (model.time_column === undefined || time === undefined || time[1].type !== 'date')
      report(
        'rollups',
        name,
        ['model'],
        `A rollup sums ${quote(rollup.model)} per day: the model needs a time_column that a dimension of type date declares`,
      );
    const own = dimensionNames.filter((dimension) => defs.dimensions[dimension]?.model === rollup.model);
    rollup.dimensions.forEach((dimension, index) => {
      const def = defs.dimensions[dimension];
      if (def === undefined || def.model !== rollup.model)
        report(
          'rollups',
          name,
          ['dimensions', index],
          def === undefined
            ? unknownNameMessage('dimension', dimension, own)
            : `${quote(dimension)} is a dimension of ${quote(def.model)}: a rollup keeps columns of ${quote(rollup.model)}'s own table (joined dimensions are reached through them)`,
        );
      else if (def.type === 'timestamp')
        report(
          'rollups',
          name,
          ['dimensions', index],
          `${quote(dimension)} is a timestamp: a rollup keeps days`,
        );
    });
    const servable = metricNames.filter(
      (metric) =>
        baseModelOf(metric) === rollup.model &&
        ROLLUP_AGGREGATIONS.has(defs.metrics[metric]?.aggregation ?? 'ratio'),
    );
    rollup.metrics.forEach((metric, index) => {
      const def = defs.metrics[metric];
      if (def === undefined)
        report('rollups', name, ['metrics', index], unknownNameMessage('metric', metric, servable));
      else if (baseModelOf(metric) !== rollup.model || (def.model ?? rollup.model) !== rollup.model)
        report(
          'rollups',
          name,
          ['metrics', index],
          `${quote(metric)} is not computed from ${quote(rollup.model)}'s rows`,
        );
      else if (!ROLLUP_AGGREGATIONS.has(def.aggregation))
        report(
          'rollups',
          name,
          ['metrics', index],
          def.aggregation === 'ratio'
            ? `${quote(metric)} is a ratio: list its parts (${def.numerator}, ${def.denominator}) and the rollup answers it`
            : `A rollup cannot keep ${def.aggregation} (${quote(metric)}): it keeps count, sum, min, max and approx_count_distinct`,
        );
    });
    if (
      Object.values(defs.models).some(
        (other) => other.table === rollup.table && other.database === rollup.database,
      )
    )
      report('rollups', name, ['table'], `${quote(rollup.table)} is a model's table: a rollup needs its own`);
  }

  const layer = new SemanticLayer({
    access: access?.definition ?? { policies: {} },
    ...(timeZone === undefined ? {} : { timeZone: timeZone.zone }),
    locate: (section, name, path, message) =>
      origins
        .get(section)
        ?.get(name)
        ?.problem([section, name, ...path], message) ?? unlocated(section, name, path, message),
    models: new Map(
      Object.entries(defs.models).map(([name, def]): [string, Model] => [name, { ...def, name }]),
    ),
    dimensions: new Map(
      Object.entries(defs.dimensions).map(([name, def]): [string, Dimension] => [name, { ...def, name }]),
    ),
    metrics: new Map(
      Object.entries(defs.metrics).map(([name, def]): [string, Metric] => [
        name,
        { ...def, name, baseModel: baseModelOf(name) ?? '' },
      ]),
    ),
    tools: new Map(Object.entries(defs.tools).map(([name, def]): [string, Tool] => [name, { ...def, name }])),
    resources: new Map(
      Object.entries(defs.resources).map(([name, def]): [string, EntityResource] => [name, { ...def, name }]),
    ),
    prompts: new Map(Object.entries(defs.prompts).map(([name, def]) => [name, { ...def, name }])),
    rollups: new Map(
      Object.entries(defs.rollups).map(([name, def]): [string, Rollup] => [name, { ...def, name }]),
    ),
  });
  return { layer, problems };
}
