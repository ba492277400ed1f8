import type { CallToolResult, McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { roundTo, toNumber } from '../analysis/period-results.js';
import {
  type Accuracy,
  backtest,
  churnRates,
  DAYS_PER_MONTH,
  forecastFlows,
  largestSpike,
  projectStock,
  type Scenario,
  type StockPath,
} from '../analysis/stock-flow.js';
import { ArgumentError } from '../errors.js';
import type { QueryPlan } from '../semantic/query-plan.js';
import type { ForecastDef } from '../semantic/schema.js';
import type { AccessPolicy, SemanticLayer, Tool } from '../semantic/semantic-layer.js';
import { addDays, dayCount, explicitRange } from '../semantic/time-range.js';
import { auditedCall, type CallFacts } from './audited-call.js';
import { filterArguments, schemaCache, text } from './common-args.js';
import { describeFilters, formatCount, formatTable } from './format.js';
import type { ToolContext } from './query-engagement.js';

export const FORECAST_SUBS = 'forecast_subs';
/** The OAuth scope a caller needs to see and call forecast_subs. */
export const FORECAST_SUBS_SCOPE = 'analytics:forecast';
/** Days of history the flows are fitted on. */
const HISTORY_DAYS = 365;
const MAX_HORIZON_DAYS = 366;
/** Fewer days of history than this and the forecast says so. */
const SHORT_HISTORY_DAYS = 56;
/** A 7-day churn rate this many times the median is a break. */
const BREAK_RATIO = 1.5;
const BACKTEST_ORIGINS = 3;
const BACKTEST_MAX_HORIZON = 28;
const MAX_ROWS = 60;
const DEFAULT_ELASTICITY = -0.5;
const UNITS = { days: 1, weeks: 7, months: DAYS_PER_MONTH } as const;

const isoDate = text.describe('YYYY-MM-DD');

function inputSchema(_layer: SemanticLayer, tool: Tool, policy: AccessPolicy) {
  return z.strictObject({
    horizon: z
      .number()
      .int()
      .min(1)
      .max(366)
      .optional()
      .describe('How far ahead, in `unit`s (default 6 months; at most 366 days).'),
    unit: z.enum(['days', 'weeks', 'months']).optional().describe('Unit of the horizon (default months).'),
    scenario: z
      .strictObject({
        churn_rate_change_pct: z
          .number()
          .min(-90)
          .max(500)
          .optional()
          .describe('Relative change of the churn rate in percent: 10 means 10% more cancellations.'),
        churn_rate_change_points: z
          .number()
          .min(-20)
          .max(20)
          .optional()
          .describe(
            'Change of the monthly churn rate in percentage points: 1 means a 4% monthly churn becomes 5% ("churn rises a point").',
          ),
        acquisition_change_pct: z
          .number()
          .min(-100)
          .max(500)
          .optional()
          .describe('Relative change of sign-ups in percent.'),
        price_change_pct: z.number().min(-90).max(300).optional().describe('A price change in percent.'),
        price_change_date: isoDate
          .optional()
          .describe('First day of the new price (default: the first forecast day).'),
        price_elasticity: z
          .number()
          .min(-5)
          .max(0)
          .optional()
          .describe(
            `Elasticity of sign-ups to price (default ${DEFAULT_ELASTICITY}); churn moves by the opposite amount: with -0.5, +10% price means -5% sign-ups and +5% churn.`,
          ),
        campaign_uplift_pct: z
          .number()
          .min(0)
          .max(500)
          .optional()
          .describe('Extra sign-ups from a campaign, in percent.'),
        campaign_start: isoDate
          .optional()
          .describe('First day of the campaign (default: the first forecast day).'),
        campaign_end: isoDate
          .optional()
          .describe('Last day of the campaign (default: the end of the horizon).'),
      })
      .optional()
      .describe('What-if adjustments to the flows; without it only the baseline is forecast.'),
    ...filterArguments(tool, policy),
  });
}

const schemaFor = schemaCache(inputSchema);

const band = z.object({
  mean: z.number(),
  lower80: z.number(),
  upper80: z.number(),
  lower95: z.number(),
  upper95: z.number(),
});
const period = z.object({ from: z.string(), to: z.string(), days: z.number() });

export const forecastSubsOutput = z.object({
  summary: z.string(),
  metric: z.string(),
  current: z.object({ date: z.string(), value: z.number() }),
  history: period,
  horizon: period,
  baseline: band,
  scenario: band.nullable(),
  /** Scenario minus baseline at the horizon. */
  difference: z.number().nullable(),
  scenario_applied: z.record(z.string(), z.union([z.number(), z.string()])).nullable(),
  models: z.object({ inflow: z.string(), churn_rate: z.string() }),
  accuracy: z
    .object({
      origins: z.number(),
      horizon_days: z.number(),
      mase: z.number(),
      smape: z.number(),
      seasonal_naive_mase: z.number(),
      seasonal_naive_smape: z.number(),
      /** Share of backtest days whose actual value fell inside the 95% interval. */
      coverage95: z.number(),
    })
    .nullable(),
  warnings: z.array(z.string()),
  filters: z.array(
    z.object({
      argument: z.string(),
      dimension: z.string(),
      values: z.array(z.union([z.string(), z.number()])),
    }),
  ),
  /** The path, daily up to 60 days, then at most 60 evenly spaced days ending at the horizon. */
  rows: z.array(z.record(z.string(), z.union([z.string(), z.number(), z.null()]))),
});
export type ForecastSubsOutput = z.infer<typeof forecastSubsOutput>;

/** Registers forecast_subs when the semantic layer binds it. */
export function registerForecastSubs(server: McpServer, context: ToolContext): void {
  const layer = context.service.layer;
  const tool = layer.tools.get(FORECAST_SUBS);
  if (tool?.forecast === undefined) return;
  const forecast = tool.forecast;
  server.registerTool(
    FORECAST_SUBS,
    {
      title: 'Forecast subscribers',
      description: `${tool.description ?? 'Forecasts subscribers.'} Example: "where will subscribers be in six months if churn rises a point?" is horizon 6, unit months, scenario {churn_rate_change_points: 1}.`,
      inputSchema: schemaFor(layer, tool, context.service.policy(context.identity())),
      outputSchema: forecastSubsOutput,
      annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true },
    },
    (args) =>
      auditedCall(context, context.identity(), FORECAST_SUBS, args, () =>
        forecastSubs(context, tool, forecast, args as Record<string, unknown>),
      ),
  );
}

interface ScenarioArgs {
  churn_rate_change_pct?: number;
  churn_rate_change_points?: number;
  acquisition_change_pct?: number;
  price_change_pct?: number;
  price_change_date?: string;
  price_elasticity?: number;
  campaign_uplift_pct?: number;
  campaign_start?: string;
  campaign_end?: string;
}

/** The scenario in steps from the first forecast day; dates are checked against the horizon. */
function scenarioOf(args: ScenarioArgs, first: string, last: string): Scenario {
  const step = (field: string, day: string | undefined, fallback: number): number => {
    if (day === undefined) return fallback;
    const range = explicitRange(day, day, `scenario.${field}`);
    if (range.from < first || range.from > last) {
      throw new ArgumentError(
        `scenario.${field}`,
        `scenario.${field} ${JSON.stringify(day)} is outside the forecast, ${first} to ${last}`,
      );
    }
    return dayCount({ from: first, to: range.from }) - 1;
  };
  const horizon = dayCount({ from: first, to: last });
  let campaign: Scenario['campaign'];
  if (args.campaign_uplift_pct !== undefined) {
    const from = step('campaign_start', args.campaign_start, 0);
    const to = step('campaign_end', args.campaign_end, horizon - 1);
    if (to < from) {
      throw new ArgumentError(
        'scenario.campaign_start',
        `scenario.campaign_start ${JSON.stringify(args.campaign_start)} is after campaign_end ${JSON.stringify(args.campaign_end)}; swap them`,
      );
    }
    campaign = { upliftPct: args.campaign_uplift_pct, from, to };
  }
  return {
    churnRateChangePct: args.churn_rate_change_pct,
    churnRateChangePoints: args.churn_rate_change_points,
    acquisitionChangePct: args.acquisition_change_pct,
    priceChange:
      args.price_change_pct === undefined
        ? undefined
        : {
            pct: args.price_change_pct,
            from: step('price_change_date', args.price_change_date, 0),
            elasticity: args.price_elasticity ?? DEFAULT_ELASTICITY,
          },
    campaign,
  };
}

async function forecastSubs(
  context: ToolContext,
  tool: Tool,
  binding: ForecastDef,
  args: Record<string, unknown>,
): Promise<{ result: CallToolResult; facts: CallFacts }> {
  const { service } = context;
  const identity = context.identity();
  const unit = (args.unit as keyof typeof UNITS | undefined) ?? 'months';
  const horizonDays = Math.ceil(((args.horizon as number | undefined) ?? 6) * UNITS[unit]);
  if (horizonDays > MAX_HORIZON_DAYS) {
    throw new ArgumentError(
      'horizon',
      `horizon is ${horizonDays} days; at most ${MAX_HORIZON_DAYS} days (12 months, 52 weeks)`,
    );
  }
  const { filters, anchor } = await service.checkedFilters(identity, tool, args);
  const historyFrom = addDays(anchor, -(HISTORY_DAYS - 1));
  const plan: QueryPlan = {
    model: tool.model,
    metrics: [binding.stock, binding.inflow, binding.outflow],
    dimensions: [],
    timeDimension: tool.time_dimension,
    grain: 'day',
    periods: [{ from: historyFrom, to: anchor, label: 'history' }],
    filters,
    order: [],
  };
  const rows = await service.run(plan, identity);
  const days: string[] = [];
  const stock: number[] = [];
  const inflow: number[] = [];
  const outflow: number[] = [];
  for (const row of rows) {
    const day = String(row[tool.time_dimension] ?? '');
    days.push(day);
    stock.push(toNumber(row[binding.stock]) ?? 0);
    inflow.push(toNumber(row[binding.inflow]) ?? 0);
    outflow.push(toNumber(row[binding.outflow]) ?? 0);
  }
  if (days.length < 14) {
    throw new ArgumentError(
      filters.length > 0 ? (filters[0]?.argument ?? 'filters') : 'horizon',
      `Only ${days.length} days of subscriber history${filters.length > 0 ? ` for ${describeFilters(filters)}` : ''}; at least 14 are needed to forecast`,
    );
  }
  const lastDay = days[days.length - 1] ?? anchor;
  const first = addDays(lastDay, 1);
  const last = addDays(lastDay, horizonDays);
  const scenarioArgs = args.scenario as ScenarioArgs | undefined;
  const scenario = scenarioArgs === undefined ? undefined : scenarioOf(scenarioArgs, first, last);

  const flows = forecastFlows(inflow, stock, outflow, horizonDays, binding.seasonal_periods);
  const start = stock[stock.length - 1] ?? 0;
  const baseline = projectStock(start, flows, horizonDays);
  const alternative = scenario === undefined ? undefined : projectStock(start, flows, horizonDays, scenario);
  const accuracy = backtest(stock, inflow, outflow, {
    horizon: Math.min(horizonDays, BACKTEST_MAX_HORIZON),
    origins: BACKTEST_ORIGINS,
    period: binding.seasonal_periods[0] ?? 7,
    periods: binding.seasonal_periods,
    models: flows,
  });

  const warnings: string[] = [];
  if (days.length < SHORT_HISTORY_DAYS)
    warnings.push(`Only ${days.length} days of history: the forecast and its accuracy are rough.`);
  const spike = largestSpike(churnRates(stock, outflow));
  if (spike !== undefined && spike.ratio >= BREAK_RATIO) {
    const from = days[spike.index + 1] ?? '';
    const ago = dayCount({ from, to: lastDay }) - 1;
    warnings.push(
      `The series broke on ${from}: churn in the 7 days from then ran ${spike.ratio.toFixed(1)}x its usual rate (${ago} days before the last day of data). The model fits through it and does not expect it to repeat; check for a price change or an outage then.`,
    );
  }
  if (accuracy !== undefined && accuracy.mase > accuracy.naiveMase)
    warnings.push(
      'On this series the model backtests worse than a seasonal naive forecast: read it with care.',
    );
  const at = (path: StockPath) => {
    const i = horizonDays - 1;
    return {
      mean: Math.round(path.mean[i] ?? 0),
      lower80: Math.round(path.lower80[i] ?? 0),
      upper80: Math.round(path.upper80[i] ?? 0),
      lower95: Math.round(path.lower95[i] ?? 0),
      upper95: Math.round(path.upper95[i] ?? 0),
    };
  };
  const baselineAt = at(baseline);
  const scenarioAt = alternative === undefined ? null : at(alternative);
  const output: ForecastSubsOutput = {
    summary: '',
    metric: binding.stock,
    current: { date: lastDay, value: Math.round(start) },
    history: { from: days[0] ?? historyFrom, to: lastDay, days: days.length },
    horizon: { from: first, to: last, days: horizonDays },
    baseline: baselineAt,
    scenario: scenarioAt,
    difference: scenarioAt === null ? null : scenarioAt.mean - baselineAt.mean,
    scenario_applied:
      scenarioArgs === undefined
        ? null
        : Object.fromEntries(Object.entries(scenarioArgs).filter(([, value]) => value !== undefined)),
    models: { inflow: flows.inflow.model, churn_rate: flows.churnRate.model },
    accuracy:
      accuracy === undefined
        ? null
        : {
            origins: accuracy.origins,
            horizon_days: accuracy.horizon,
            mase: roundTo(accuracy.mase, 3),
            smape: roundTo(accuracy.smape, 3),
            seasonal_naive_mase: roundTo(accuracy.naiveMase, 3),
            seasonal_naive_smape: roundTo(accuracy.naiveSmape, 3),
            coverage95: roundTo(accuracy.coverage95, 3),
          },
    warnings,
    filters: filters.map((filter) => ({
      argument: filter.argument,
      dimension: filter.dimension,
      values: [...filter.values],
    })),
    rows: pathRows(first, baseline, alternative),
  };
  output.summary = summarize(output, accuracy);
  return {
    result: {
      content: [
        { type: 'text', text: output.summary },
        { type: 'text', text: formatTable(Object.keys(output.rows[0] ?? {}), output.rows) },
      ],
      structuredContent: output,
    },
    facts: { rows: output.rows.length, suppressedGroups: 0 },
  };
}

/** Up to 60 days of the path: every day for short horizons, else evenly spaced, always ending at the horizon. */
function pathRows(first: string, baseline: StockPath, scenario: StockPath | undefined) {
  const n = baseline.mean.length;
  const step = n <= MAX_ROWS ? 1 : Math.ceil(n / MAX_ROWS);
  const indices: number[] = [];
  for (let i = n - 1; i >= 0; i -= step) indices.unshift(i);
  return indices.map((i) => ({
    date: addDays(first, i),
    baseline: Math.round(baseline.mean[i] ?? 0),
    baseline_lower95: Math.round(baseline.lower95[i] ?? 0),
    baseline_upper95: Math.round(baseline.upper95[i] ?? 0),
    ...(scenario === undefined
      ? {}
      : {
          scenario: Math.round(scenario.mean[i] ?? 0),
          scenario_lower95: Math.round(scenario.lower95[i] ?? 0),
          scenario_upper95: Math.round(scenario.upper95[i] ?? 0),
        }),
  }));
}

function summarize(output: ForecastSubsOutput, accuracy: Accuracy | undefined): string {
  const lines: string[] = [];
  const b = output.baseline;
  const where = output.filters.length > 0 ? ` (${describeFilters(output.filters)})` : '';
  lines.push(
    `Active subscribers${where}: ${formatCount(output.current.value)} on ${output.current.date}. Baseline for ${output.horizon.to} (${output.horizon.days} days ahead): ${formatCount(b.mean)} (80% ${formatCount(b.lower80)} to ${formatCount(b.upper80)}; 95% ${formatCount(b.lower95)} to ${formatCount(b.upper95)}).`,
  );
  if (output.scenario !== null && output.difference !== null) {
    const s = output.scenario;
    const applied = Object.entries(output.scenario_applied ?? {})
      .map(([key, value]) => `${key} ${value}`)
      .join(', ');
    lines.push(
      `Scenario (${applied}): ${formatCount(s.mean)} (95% ${formatCount(s.lower95)} to ${formatCount(s.upper95)}), ${output.difference >= 0 ? '+' : '−'}${formatCount(Math.abs(output.difference))} vs baseline (${((100 * output.difference) / Math.max(1, b.mean)).toFixed(1)}%).`,
    );
  }
  lines.push(
    `Model: sign-ups ${output.models.inflow}; churn rate ${output.models.churn_rate}; stock = previous + sign-ups − churn rate × previous. History ${output.history.from} to ${output.history.to}.`,
  );
  if (accuracy !== undefined) {
    lines.push(
      `Backtest on this series (${accuracy.origins} origins, ${accuracy.horizon} days ahead): MASE ${accuracy.mase.toFixed(2)}, sMAPE ${accuracy.smape.toFixed(2)}% (seasonal naive: MASE ${accuracy.naiveMase.toFixed(2)}, sMAPE ${accuracy.naiveSmape.toFixed(2)}%); ${(accuracy.coverage95 * 100).toFixed(0)}% of the actual days fell inside the 95% interval.`,
    );
  } else {
    lines.push('Backtest: not enough history to measure accuracy.');
  }
  for (const warning of output.warnings) lines.push(`Warning: ${warning}`);
  return lines.join('\n');
}
