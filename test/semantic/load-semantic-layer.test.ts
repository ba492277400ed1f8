import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSemanticLayer, SemanticLayerError } from '../../src/semantic/load-semantic-layer.js';
import { TOOL_KINDS } from '../../src/tools/catalog.js';
import { SEMANTIC_LAYER } from '../helpers.js';

async function fixtureFiles() {
  return Promise.all(
    ['engagement.yaml', 'models.yaml'].map(async (name) => ({
      name,
      text: await readFile(join(SEMANTIC_LAYER, name), 'utf8'),
    })),
  );
}

function problemsOf(files: { name: string; text: string }[]) {
  try {
    parseSemanticLayer(files, TOOL_KINDS);
  } catch (error) {
    if (error instanceof SemanticLayerError) return error.problems;
    throw error;
  }
  throw new Error('expected the layer to be invalid');
}

describe('the shipped semantic layer', () => {
  it('loads with the required metrics and dimensions', async () => {
    const layer = parseSemanticLayer(await fixtureFiles(), TOOL_KINDS);
    const metrics = layer.metricsFor('viewing').map((metric) => metric.name);
    expect(metrics).toEqual(
      expect.arrayContaining([
        'watch_minutes',
        'views',
        'unique_viewers',
        'completion_rate',
        'avg_minutes_per_viewer',
      ]),
    );
    const dimensions = layer.dimensionsFor('viewing').map((dimension) => dimension.name);
    expect(dimensions).toEqual(
      expect.arrayContaining(['date', 'country', 'region', 'device', 'content_id', 'title', 'genre', 'plan']),
    );
    for (const model of layer.models.values()) expect(model.tenant_column).toBeTruthy();
    // Answers from the large viewing table are kept for an hour (new data ends them sooner); others 10 minutes.
    expect(layer.models.get('viewing')?.cache_ttl).toBe(3600);
    expect(layer.models.get('content')?.cache_ttl).toBe(600);
  });
});

describe('a model cache TTL', () => {
  const withTtl = (ttl: string) => [
    {
      name: 'm.yaml',
      text: `models:\n  m:\n    table: t\n    description: x\n    tenant_column: tenant_id\n    cache_ttl: ${ttl}\n`,
    },
  ];
  it('is seconds or a number with a unit, and says so when it is neither', () => {
    const [problem] = problemsOf(withTtl('10 minutes'));
    expect(problem).toMatchObject({ file: 'm.yaml', line: 6, path: 'models.m.cache_ttl' });
    expect(problem?.message).toMatch(/seconds, or a number with s, m, h or d \(90s, 10m, 1h, 1d\)/);
    expect(problemsOf(withTtl('-5')).map((found) => found.path)).toContain('models.m.cache_ttl');
  });
});

describe('problems', () => {
  it('are all reported at once, with file, line and did-you-mean', async () => {
    const files = await fixtureFiles();
    const broken = files.map((file) =>
      file.name === 'engagement.yaml'
        ? {
            ...file,
            text: file.text
              .replace('  views:\n    model: viewing\n', '  views:\n    model: viewnig\n')
              .replace('    column: watch_seconds\n', '    colum: watch_seconds\n')
              .replace('numerator: watch_minutes', 'numerator: watch_minute')
              .replace('mover_dimensions: [country, device]', 'mover_dimensions: [country, devise]'),
          }
        : file,
    );
    const problems = problemsOf(broken);
    const text = problems.map((p) => `${p.file}:${p.line} ${p.path}: ${p.message}`).join('\n');
    expect(text).toMatch(
      /engagement\.yaml:\d+ metrics\.watch_minutes\.colum: Unknown key "colum": did you mean "column"\?/,
    );
    // Schema problems stop a file before cross-references, so fix the key and look again.
    const second = problemsOf(
      broken.map((f) => ({ ...f, text: f.text.replace('colum: watch_seconds', 'column: watch_seconds') })),
    );
    const messages = second.map((p) => `${p.file}:${p.line} ${p.path}: ${p.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /engagement\.yaml:\d+ metrics\.views\.model: Unknown model "viewnig": did you mean "viewing"\?/,
        ),
        expect.stringMatching(
          /metrics\.avg_minutes_per_viewer\.numerator: Unknown metric "watch_minute": did you mean "watch_minutes"\?/,
        ),
        expect.stringMatching(
          /tools\.query_engagement\.mover_dimensions\.1: Unknown dimension "devise": did you mean "device"\?/,
        ),
      ]),
    );
    const views = second.find((p) => p.path === 'metrics.views.model');
    const lineOfViewnig =
      (broken[0]?.text ?? '').split('\n').findIndex((line) => line.includes('viewnig')) + 1;
    expect(views?.line).toBe(lineOfViewnig);
  });

  it('catch YAML syntax, bad identifiers, duplicates and reserved names', () => {
    const problems = problemsOf([
      {
        name: 'a.yaml',
        text: 'models:\n  m:\n    table: "t; DROP"\n    description: x\n    tenant_column: tenant_id\n',
      },
      { name: 'b.yaml', text: 'metrics: [unclosed\n' },
      { name: 'c.yaml', text: 'dimensions:\n  _secret:\n    model: m\n    column: c\n    description: x\n' },
    ]);
    const files = problems.map((p) => p.file);
    expect(files).toEqual(expect.arrayContaining(['a.yaml', 'b.yaml', 'c.yaml']));
    expect(problems.find((p) => p.file === 'a.yaml')?.message).toMatch(/plain name/);
  });

  it('refuse a ratio metric across models and a tool time dimension that is not a date', () => {
    const problems = problemsOf([
      {
        name: 'x.yaml',
        text: `models:
  a: { table: ta, description: A, tenant_column: t, joins: [{ to: b, on: { k: k } }] }
  b: { table: tb, description: B, tenant_column: t }
dimensions:
  day: { model: a, column: d, description: D }
metrics:
  n: { model: a, aggregation: count, description: N }
  m: { model: b, aggregation: count, description: M }
  r: { aggregation: ratio, numerator: n, denominator: m, description: R }
  s: { model: a, aggregation: sum, description: S }
tools:
  query_engagement: { kind: analytic, model: a, time_dimension: day, default_metrics: [n] }
`,
      },
    ]);
    const messages = problems.map((p) => `${p.path}: ${p.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/metrics\.r: .*same model/),
        expect.stringMatching(/metrics\.s: .*needs a column/),
        expect.stringMatching(/tools\.query_engagement\.time_dimension: .*type "date"/),
      ]),
    );
  });

  it('check an experiment binding: its dimensions, metrics and engagement metric', () => {
    const problems = problemsOf([
      {
        name: 'x.yaml',
        text: `models:
  e: { table: te, description: E, tenant_column: t, time_column: d, joins: [{ to: c, on: { k: k } }] }
  c: { table: tc, description: C, tenant_column: t }
  v: { table: tv, description: V, tenant_column: t }
dimensions:
  day: { model: e, column: d, type: date, description: D }
  arm: { model: e, column: g, description: G }
  cid: { model: c, column: k, description: K }
  cname: { model: c, column: n, description: N }
metrics:
  units: { model: e, aggregation: count, description: U }
  conv: { model: e, aggregation: sum, column: x, description: X }
  cost: { model: e, aggregation: sum, column: s, description: S }
  minutes: { model: v, aggregation: sum, column: m, description: M }
tools:
  compare_campaigns:
    kind: experiment
    model: e
    time_dimension: day
    experiment:
      subject: cid
      subject_name: cname
      launch: cname
      cost: cost
      arm: arm
      treatment: a
      control: b
      control_share: 0.1
      units: units
      conversions: convs
      funnel: [units, conv]
      engagement: { metric: minutes, join: { u: u }, since: d, days: 28, description: W }
`,
      },
    ]);
    const messages = problems.map((p) => `${p.path}: ${p.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /tools\.compare_campaigns\.experiment\.launch: .*must be a date or timestamp dimension/,
        ),
        expect.stringMatching(
          /tools\.compare_campaigns\.experiment\.conversions: Unknown metric "convs": did you mean "conv"/,
        ),
        expect.stringMatching(
          /tools\.compare_campaigns\.experiment\.cost: Metric "cost" is not on model "c"/,
        ),
        expect.stringMatching(
          /tools\.compare_campaigns\.experiment\.engagement\.metric: .*model with a time_column/,
        ),
      ]),
    );
  });
});
