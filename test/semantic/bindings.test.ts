import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSemanticLayer, SemanticLayerError } from '../../src/semantic/load-semantic-layer.js';
import { TOOL_KINDS } from '../../src/tools/catalog.js';
import { SEMANTIC_LAYER } from '../helpers.js';

async function shipped(): Promise<{ name: string; text: string }[]> {
  const names = [
    'access.yaml',
    'campaigns.yaml',
    'catalog.yaml',
    'engagement.yaml',
    'models.yaml',
    'subscriptions.yaml',
    'prompts/analyst-prompts.yaml',
  ];
  return Promise.all(
    names.map(async (name) => ({ name, text: await readFile(join(SEMANTIC_LAYER, name), 'utf8') })),
  );
}

/** Every problem of the shipped layer with one file's text changed, as `file:line path: message`. */
async function problemsWith(file: string, change: (text: string) => string): Promise<string[]> {
  const files = (await shipped()).map((entry) =>
    entry.name === file ? { ...entry, text: change(entry.text) } : entry,
  );
  try {
    parseSemanticLayer(files, TOOL_KINDS);
  } catch (error) {
    if (error instanceof SemanticLayerError)
      return error.problems.map(
        (problem) => `${problem.file}:${problem.line} ${problem.path}: ${problem.message}`,
      );
    throw error;
  }
  return [];
}

/** The line of the first occurrence of `text` in a shipped file. */
async function lineOf(file: string, text: string): Promise<number> {
  const content = (await shipped()).find((entry) => entry.name === file)?.text ?? '';
  return content.split('\n').findIndex((line) => line.includes(text)) + 1;
}

describe('tool bindings', () => {
  it('the shipped layer binds every catalogued tool with its kind', async () => {
    const layer = parseSemanticLayer(await shipped(), TOOL_KINDS);
    expect([...layer.tools.keys()].sort()).toEqual([...TOOL_KINDS.keys()].sort());
    for (const tool of layer.tools.values()) expect(tool.kind).toBe(TOOL_KINDS.get(tool.name));
  });

  it('a binding to a tool Marquee does not serve is a problem at its line, with did-you-mean', async () => {
    const problems = await problemsWith('engagement.yaml', (text) =>
      text.replace('  explain_change:\n', '  explain_chnage:\n'),
    );
    const line = await lineOf('engagement.yaml', '  explain_change:');
    expect(problems).toEqual([
      expect.stringMatching(
        new RegExp(
          `^engagement\\.yaml:${line} tools\\.explain_chnage: Unknown tool "explain_chnage": did you mean "explain_change"\\?`,
        ),
      ),
      // The saved prompts that call it name it too.
      expect.stringMatching(
        /prompts\.weekly_engagement_review\.steps\.2\.tool: Unknown tool "explain_change"/,
      ),
      expect.stringMatching(
        /prompts\.engagement_drop_investigation\.steps\.1\.tool: Unknown tool "explain_change"/,
      ),
    ]);
  });

  it('a binding of the wrong kind, or missing what its kind needs, is a problem', async () => {
    expect(
      await problemsWith('subscriptions.yaml', (text) =>
        text.replace('    kind: forecast\n', '    kind: analytic\n'),
      ),
    ).toEqual([
      expect.stringMatching(
        /tools\.forecast_subs\.kind: "forecast_subs" is a tool of kind "forecast", not "analytic"/,
      ),
    ]);
    const incomplete = await problemsWith('subscriptions.yaml', (text) =>
      text.replace(/ {4}forecast:\n( {6}.*\n)+/, ''),
    );
    expect(incomplete).toEqual([
      expect.stringMatching(
        /tools\.forecast_subs: A forecast tool needs forecast: the binding is incomplete/,
      ),
    ]);
    const stray = await problemsWith('catalog.yaml', (text) =>
      text.replace(
        '    search: title\n    columns: { content_id',
        '    search: title\n    mover_dimensions: [genre]\n    columns: { content_id',
      ),
    );
    expect(stray).toEqual([
      expect.stringMatching(
        /tools\.find_content\.mover_dimensions: mover_dimensions is only for analytic tools/,
      ),
    ]);
  });
});

describe('known events of a forecast', () => {
  it('names an unknown filter, a dimension of another model and a day that is not a day, each at its line', async () => {
    const problems = await problemsWith('subscriptions.yaml', (text) =>
      text
        .replace(
          'filters: { plan: price_change_plan }',
          'filters: { plna: price_change_plan, country: subscriber_country }',
        )
        .replace('        start: campaign_start\n', '        start: campaign_name\n')
        .replace('        kind: target_region\n', '        kind: target_regoin\n'),
    );
    expect(problems).toEqual([
      expect.stringMatching(
        /tools\.forecast_subs\.forecast\.prices\.filters\.plna: Unknown filter "plna": did you mean "plan"\?/,
      ),
      expect.stringMatching(
        /tools\.forecast_subs\.forecast\.prices\.filters\.country: Dimension "subscriber_country" is on model "subscriptions", which model "price_changes" does not join/,
      ),
      expect.stringMatching(
        /tools\.forecast_subs\.forecast\.campaigns\.start: "campaign_name" must be a date or timestamp dimension/,
      ),
      expect.stringMatching(
        /tools\.forecast_subs\.forecast\.campaigns\.kind: Unknown dimension "target_regoin": did you mean "target_region"\?/,
      ),
    ]);
  });
});

describe('whose rows and who sees them', () => {
  it('with a minimum group size, every model says whom it counts', async () => {
    const problems = await problemsWith('models.yaml', (text) =>
      text.replace('    people: unique_viewers\n', ''),
    );
    expect(problems).toEqual([
      expect.stringMatching(
        /^models\.yaml:\d+ models\.viewing: Say whose rows these are for the minimum group size/,
      ),
    ]);
  });

  it('a people metric must count people of that model', async () => {
    const problems = await problemsWith('models.yaml', (text) =>
      text.replace('    people: unique_viewers\n', '    people: completion_rate\n'),
    );
    expect(problems).toEqual([
      expect.stringMatching(
        /models\.viewing\.people: "completion_rate" must count people in the rows of "viewing"/,
      ),
    ]);
  });

  it('entities are catalogue rows, never rows about people', async () => {
    const problems = await problemsWith('catalog.yaml', (text) =>
      text.replace('  country:\n    model: markets\n', '  country:\n    model: viewing\n'),
    );
    expect(
      problems.some((problem) => /resources\.country\.model: Entities describe catalogue rows/.test(problem)),
    ).toBe(true);
  });

  it('policies name real dimensions, and no role may be called default', async () => {
    const problems = await problemsWith('access.yaml', (text) =>
      text
        .replace('min_distinct: { content_id: 5 }', 'min_distinct: { content_ids: 5 }')
        .replace('  policies:\n', '  policies:\n    default:\n      description: A role named default.\n'),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /access\.policies\.bi_service\.min_distinct\.content_ids: Unknown dimension "content_ids": did you mean "content_id"\?/,
        ),
        expect.stringMatching(
          /access\.policies\.default: The policy of callers no role names is access\.default/,
        ),
      ]),
    );
  });
});

describe('functional dependencies', () => {
  it('follow from joins and unique dimensions', async () => {
    const layer = parseSemanticLayer(await shipped(), TOOL_KINDS);
    expect(layer.determines('viewing', ['country'], 'region')).toBe(true);
    expect(layer.determines('viewing', ['content_id'], 'genre')).toBe(true);
    expect(layer.determines('viewing', ['title'], 'genre')).toBe(true);
    expect(layer.determines('viewing', ['title'], 'release_date')).toBe(true);
    expect(layer.determines('viewing', ['genre'], 'title')).toBe(false);
    expect(layer.determines('viewing', ['device'], 'region')).toBe(false);
    expect(layer.determines('viewing', ['country'], 'device')).toBe(false);
  });
});

describe('access policies', () => {
  it('combine several roles into the most restrictive policy', async () => {
    const layer = parseSemanticLayer(await shipped(), TOOL_KINDS);
    const policy = layer.policyFor(['latam_analyst', 'bi_service']);
    expect(policy.name).toBe('bi_service+latam_analyst');
    expect(policy.rowFilters).toEqual([{ dimension: 'region', values: ['LATAM'] }]);
    expect([...policy.hiddenDimensions].sort()).toEqual(['catalog_id', 'content_id', 'title']);
    expect(policy.minGroupSize).toBe(5);
    expect(policy.minDistinct).toEqual(new Map([['content_id', 5]]));
    // Order does not matter, and the same combination is the same policy.
    expect(layer.policyFor(['bi_service', 'latam_analyst'])).toBe(policy);
  });

  it('give a role no policy names the default policy, combined with the others', async () => {
    const layer = parseSemanticLayer(await shipped(), TOOL_KINDS);
    expect(layer.policyFor([]).name).toBe('default');
    expect(layer.policyFor(['intern', 'latam_analyst']).name).toBe('latam_analyst+default');
  });

  it('refuse a role no policy names when there is no default policy', async () => {
    const files = (await shipped()).map((entry) =>
      entry.name === 'access.yaml'
        ? { ...entry, text: entry.text.replace(/\n {2}default:\n {4}description: [^\n]*\n/, '\n') }
        : entry,
    );
    const layer = parseSemanticLayer(files, TOOL_KINDS);
    expect(() => layer.policyFor(['intern'])).toThrow(/Role "intern" has no access policy/);
    expect(() => layer.policyFor([])).toThrow(/A caller with no role has no access policy/);
    expect(layer.policyFor(['vp']).name).toBe('vp');
  });
});

describe('saved prompts', () => {
  it('name an unknown tool, placeholder, resource and filter, each at its line', async () => {
    const problems = await problemsWith('prompts/analyst-prompts.yaml', (text) =>
      text
        .replace('      - tool: compare_campaigns\n', '      - tool: compare_campaign\n')
        .replace('campaign_b: "{compared_with}"', 'campaign_b: "{compared}"')
        .replace('complete: { entity: campaign }', 'complete: { entity: campaing }')
        .replace(
          'complete: { tool: forecast_subs, filter: country }',
          'complete: { tool: forecast_subs, filter: contry }',
        ),
    );
    const line = (needle: string) => lineOf('prompts/analyst-prompts.yaml', needle);
    expect(problems).toEqual([
      `prompts/analyst-prompts.yaml:${(await line("description: The campaign's id")) + 2} prompts.campaign_post_mortem.arguments.campaign.complete.entity: Unknown resource "campaing": did you mean "campaign"? Allowed: campaign, title, country`,
      expect.stringMatching(
        /prompts\.campaign_post_mortem\.steps\.0\.tool: Unknown tool "compare_campaign": did you mean "compare_campaigns"\?/,
      ),
      expect.stringMatching(
        /prompts\.campaign_post_mortem\.steps\.0\.arguments: Unknown prompt argument "compared"; allowed: campaign, compared_with$/,
      ),
      expect.stringMatching(
        /prompts\.subscriber_forecast_brief\.arguments\.country\.complete\.filter: Unknown filter of forecast_subs "contry": did you mean "country"\?/,
      ),
    ]);
  });
});
