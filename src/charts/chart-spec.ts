/**
 * A Vega-Lite chart for every tool answer, built from the answer alone (its rows, periods and formats), so any
 * process that can recompute the answer can recompute its chart. Data inline as `values`, never a URL. Pure.
 */
export type ChartSpec = Record<string, unknown>;

/** The media type of a chart's Vega-Lite spec (here, with no imports, so the MCP Apps view can share it). */
export const VEGA_LITE_MIME = 'application/vnd.vegalite.v6+json';

type Row = Record<string, unknown>;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const WIDTH = 640;
const HEIGHT = 320;
/** Most bars a ranked chart shows. */
const MAX_BARS = 25;

/** Axis formats (d3-format) by the layer's metric formats. */
const AXIS_FORMAT: Record<string, string> = {
  percent: '.0%',
  minutes: ',.3~s',
  count: ',.3~s',
  number: ',.3~s',
};

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function base(title: string, subtitle: string | undefined, values: readonly Row[]): ChartSpec {
  return {
    $schema: SCHEMA,
    title: subtitle === undefined ? { text: title } : { text: title, subtitle },
    width: WIDTH,
    height: HEIGHT,
    background: 'white',
    config: { font: 'DejaVu Sans' },
    data: { values },
  };
}

/** A period as a title says it: its label, with its dates unless the label already has them. */
const period = (value: unknown) => {
  const p = value as { label?: string; from?: string; to?: string } | null | undefined;
  if (p?.from === undefined) return undefined;
  const label = p.label ?? '';
  return label.includes(p.from) ? label : `${label} (${p.from} to ${p.to})`.trim();
};

/** The first column whose values are all days, if any. */
function dayColumn(columns: readonly string[], rows: readonly Row[]): string | undefined {
  return columns.find(
    (column) => rows.length > 0 && rows.every((row) => row[column] === null || DAY.test(String(row[column]))),
  );
}

function queryEngagementChart(output: Row): ChartSpec {
  const metrics = (output.metrics as { name: string; format: string }[] | undefined) ?? [];
  const metric = metrics[0]?.name ?? '';
  const format = AXIS_FORMAT[metrics[0]?.format ?? 'number'] ?? AXIS_FORMAT.number;
  const rows = (output.rows as Row[] | undefined) ?? [];
  const columns = (output.columns as string[] | undefined) ?? Object.keys(rows[0] ?? {});
  // Dimensions are the text columns; numbers are figures (a bucket's `days` among them).
  const dimensions = columns.filter((column) => rows.some((row) => typeof row[column] === 'string'));
  const day = dayColumn(dimensions, rows);
  const group = dimensions.find((column) => column !== day);
  const comparison = period(output.comparison);
  const title = `${metric} — ${period(output.period) ?? ''}`;
  // Buckets the period covers only in part are left out of a time series: their totals would read as drops.
  const partial = new Set(
    ((output.partial_buckets as { start: string }[] | undefined) ?? []).map((bucket) => bucket.start),
  );
  const complete = day === undefined ? rows : rows.filter((row) => !partial.has(String(row[day])));
  const change = (output.changes as Record<string, { percent: number | null }> | null | undefined)?.[metric]
    ?.percent;
  const notes = [
    ...(comparison === undefined
      ? []
      : [
          `compared with ${comparison}${change === null || change === undefined ? '' : `: ${change >= 0 ? '+' : '−'}${Math.abs(change).toFixed(1)}% in total`}`,
        ]),
    ...(complete.length < rows.length
      ? [`${partial.size === 1 ? 'a partial bucket' : `${partial.size} partial buckets`} left out`]
      : []),
  ];
  const subtitle = notes.length === 0 ? undefined : notes.join('; ');
  const y = { field: metric, type: 'quantitative', title: metric, axis: { format } };
  if (day !== undefined) {
    const previous = `${metric}_previous`;
    if (group === undefined && columns.includes(previous))
      return {
        ...base(title, subtitle, complete),
        transform: [
          { fold: [metric, previous], as: ['column', 'value'] },
          // Each bucket's comparison is drawn at the bucket's own date: the two lines share one time axis.
          {
            calculate: `datum.column === ${JSON.stringify(previous)} ? 'comparison' : 'this period'`,
            as: 'series',
          },
        ],
        mark: { type: 'line', point: rows.length <= 60 },
        encoding: {
          x: { field: day, type: 'temporal', title: day },
          y: { field: 'value', type: 'quantitative', title: metric, axis: { format } },
          color: {
            field: 'series',
            type: 'nominal',
            title: null,
            scale: { domain: ['this period', 'comparison'], range: ['#4c78a8', '#9e9e9e'] },
          },
          strokeDash: {
            field: 'series',
            type: 'nominal',
            title: null,
            scale: {
              domain: ['this period', 'comparison'],
              range: [
                [1, 0],
                [5, 3],
              ],
            },
          },
        },
      };
    return {
      ...base(title, subtitle, complete),
      mark: { type: 'line', point: rows.length <= 60 },
      encoding: {
        x: { field: day, type: 'temporal', title: day },
        y,
        ...(group === undefined ? {} : { color: { field: group, type: 'nominal' } }),
      },
    };
  }
  if (group !== undefined)
    return {
      ...base(title, subtitle, rows.slice(0, MAX_BARS)),
      mark: 'bar',
      encoding: {
        y: { field: group, type: 'nominal', sort: '-x', title: group },
        x: { ...y, axis: { format } },
      },
    };
  const totals = (output.totals as Record<string, number | null> | undefined) ?? {};
  const previous = (output.comparison_totals as Record<string, number | null> | null | undefined) ?? {};
  const values = [
    { series: 'this period', value: totals[metric] ?? null },
    ...(comparison === undefined ? [] : [{ series: 'comparison', value: previous[metric] ?? null }]),
  ];
  return {
    ...base(title, subtitle, values),
    mark: 'bar',
    encoding: {
      x: { field: 'series', type: 'nominal', title: null, sort: null },
      y: { field: 'value', type: 'quantitative', title: metric, axis: { format } },
    },
  };
}

function explainChangeChart(output: Row): ChartSpec {
  const breakdowns = (output.breakdowns as { dimension: string; contributors: Row[] }[] | undefined) ?? [];
  const [first] = breakdowns;
  const values = (first?.contributors ?? []).slice(0, MAX_BARS).map((row) => ({
    segment: row.segment,
    change: row.change,
    beyond_noise: row.beyond_noise === true ? 'beyond noise' : 'within noise',
  }));
  return {
    ...base(
      `What moved ${String(output.metric)}, by ${first?.dimension ?? 'segment'}`,
      `${period(output.period) ?? ''} against ${period(output.baseline) ?? ''}`,
      values,
    ),
    mark: 'bar',
    encoding: {
      y: {
        field: 'segment',
        type: 'nominal',
        sort: { field: 'change', op: 'min', order: 'ascending' },
        title: first?.dimension ?? null,
      },
      x: {
        field: 'change',
        type: 'quantitative',
        title: `change of ${String(output.metric)}`,
        axis: { format: ',.3~s' },
      },
      color: {
        field: 'beyond_noise',
        type: 'nominal',
        title: null,
        scale: { domain: ['beyond noise', 'within noise'] },
      },
    },
  };
}

function compareCampaignsChart(output: Row): ChartSpec {
  const campaigns = (output.campaigns as Row[] | undefined) ?? [];
  const values = campaigns.map((campaign) => ({
    campaign: `${String(campaign.label)}: ${String(campaign.name ?? campaign.campaign_id)}`,
    conversion_rate: campaign.conversion_rate,
    holdout: (campaign.holdout as { conversion_rate?: number } | null)?.conversion_rate ?? null,
  }));
  return {
    ...base('Paid conversion rate, each campaign against its holdout', undefined, values),
    transform: [{ fold: ['conversion_rate', 'holdout'], as: ['group', 'rate'] }],
    mark: 'bar',
    encoding: {
      x: { field: 'campaign', type: 'nominal', title: null, axis: { labelAngle: 0 } },
      xOffset: { field: 'group', type: 'nominal' },
      y: { field: 'rate', type: 'quantitative', title: 'conversion rate', axis: { format: '.1%' } },
      color: { field: 'group', type: 'nominal', title: null },
    },
  };
}

function forecastChart(output: Row): ChartSpec {
  const rows = (output.rows as Row[] | undefined) ?? [];
  const horizon = output.horizon as { to?: string } | undefined;
  const current = output.current as { date?: string; value?: number } | undefined;
  const scenario = rows.some((row) => row.scenario !== undefined);
  const band = (prefix: string, color: string) => [
    {
      mark: { type: 'area', opacity: 0.2, color },
      encoding: {
        x: { field: 'date', type: 'temporal', title: null },
        y: {
          field: `${prefix}_lower95`,
          type: 'quantitative',
          title: 'active subscribers',
          axis: { format: ',.0f' },
          scale: { zero: false },
        },
        y2: { field: `${prefix}_upper95` },
      },
    },
    {
      mark: { type: 'line', color },
      encoding: { x: { field: 'date', type: 'temporal' }, y: { field: prefix, type: 'quantitative' } },
    },
  ];
  const history = ((output.history as { weekly?: Row[] } | undefined)?.weekly ?? []).map((point) => ({
    date: point.date,
    history: point.value,
  }));
  return {
    ...base(
      `Active subscribers to ${horizon?.to ?? ''}: baseline${scenario ? ' and scenario' : ''} with 95% intervals`,
      current?.date === undefined
        ? undefined
        : `${current.value?.toLocaleString('en-US') ?? ''} on ${current.date}`,
      rows,
    ),
    layer: [
      {
        data: { values: history },
        mark: { type: 'line', color: '#888888' },
        encoding: { x: { field: 'date', type: 'temporal' }, y: { field: 'history', type: 'quantitative' } },
      },
      ...band('baseline', '#4c78a8'),
      ...(scenario ? band('scenario', '#e45756') : []),
    ],
  };
}

function lookupChart(output: Row, tool: string): ChartSpec {
  const rows = (output.rows as Row[] | undefined) ?? [];
  const columns = Object.keys(rows[0] ?? {});
  const label = ['name', 'title'].find((column) => columns.includes(column)) ?? columns[0] ?? 'name';
  const measure = columns.find(
    (column) => column !== label && rows.some((row) => typeof row[column] === 'number'),
  );
  const values = rows.slice(0, MAX_BARS);
  return {
    ...base(
      `${tool}: ${measure ?? 'results'}${output.query ? ` for "${String(output.query)}"` : ''}`,
      undefined,
      values,
    ),
    mark: 'bar',
    encoding: {
      y: { field: label, type: 'nominal', sort: measure === undefined ? null : '-x', title: null },
      x:
        measure === undefined
          ? { aggregate: 'count', type: 'quantitative', title: 'results' }
          : { field: measure, type: 'quantitative', title: measure, axis: { format: ',.3~s' } },
    },
  };
}

/** The chart of a tool's answer: the mark fits the answer's shape. */
export function chartFor(tool: string, output: Row): ChartSpec {
  if (tool === 'query_engagement') return queryEngagementChart(output);
  if (tool === 'explain_change') return explainChangeChart(output);
  if (tool === 'compare_campaigns') return compareCampaignsChart(output);
  if (tool === 'forecast_subs') return forecastChart(output);
  return lookupChart(output, tool);
}
