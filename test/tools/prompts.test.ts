import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { AURORA_ROLES, callers, callTool } from '../helpers.js';

/** Saved prompts through a real client: listed, filled in, completed, refused when wrong, and run end to end. */
let warehouse: Warehouse;
let close: () => Promise<void>;
let vp: Client;
let latam: Client;

beforeAll(async () => {
  let clients: Record<'vp' | 'latam', Client>;
  ({ warehouse, clients, close } = await callers({ vp: AURORA_ROLES.vp, latam: AURORA_ROLES.latam }));
  ({ vp, latam } = clients);
});

afterAll(async () => {
  await close?.();
});

afterAll(async () => {
  await close?.();
});

const sql = async (text: string) =>
  (await warehouse.admin().query(text)).map((row) => String(Object.values(row)[0]));

/** The prompt's text for these arguments. */
async function text(client: Client, name: string, args: Record<string, string> = {}): Promise<string> {
  const prompt = await client.getPrompt({ name, arguments: args });
  const [message] = prompt.messages;
  expect(message?.role).toBe('user');
  return (message?.content as { text?: string } | undefined)?.text ?? '';
}

/** The tool calls a prompt's text prescribes, in order. */
function calls(prompt: string): { tool: string; args: Record<string, unknown> }[] {
  return [...prompt.matchAll(/^\d+\. Call `(\w+)` with (\{.*\})\. Show: /gm)].map((match) => ({
    tool: match[1] ?? '',
    args: JSON.parse(match[2] ?? '{}') as Record<string, unknown>,
  }));
}

async function promptError(client: Client, name: string, args: Record<string, string>): Promise<string> {
  try {
    await client.getPrompt({ name, arguments: args });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`expected prompts/get ${name} to be refused`);
}

describe('saved prompts', () => {
  it('are listed with their arguments', async () => {
    const { prompts } = await vp.listPrompts();
    expect(prompts.map((prompt) => prompt.name).sort()).toEqual([
      'campaign_post_mortem',
      'engagement_drop_investigation',
      'subscriber_forecast_brief',
      'weekly_engagement_review',
    ]);
    const drop = prompts.find((prompt) => prompt.name === 'engagement_drop_investigation');
    expect(drop?.title).toBe('Engagement drop investigation');
    expect(drop?.arguments).toEqual([
      { name: 'period', description: expect.stringMatching(/^The period the drop is in/), required: true },
      { name: 'geo', description: expect.stringMatching(/country code or region/), required: false },
    ]);
    const brief = prompts.find((prompt) => prompt.name === 'subscriber_forecast_brief');
    expect(brief?.arguments?.find((argument) => argument.name === 'months')?.description).toMatch(
      / \(default 6\)\.$/,
    );
  });

  it('fill in the values, leave out what was not given, and tell the model what to call and show', async () => {
    const drop = await text(vp, 'engagement_drop_investigation', { period: '2026-Q3', geo: 'LATAM' });
    expect(drop).toMatch(/^Engagement drop investigation: /);
    expect(drop).toContain('Arguments: period = 2026-Q3; geo = LATAM.');
    expect(calls(drop)).toEqual([
      {
        tool: 'query_engagement',
        args: {
          metrics: ['watch_minutes', 'views', 'completion_rate'],
          time_range: '2026-Q3',
          compare_to: 'previous_period',
          geo: 'LATAM',
        },
      },
      {
        tool: 'explain_change',
        args: {
          metric: 'watch_minutes',
          time_range: '2026-Q3',
          compare_to: 'previous_period',
          dimensions: ['country', 'device', 'plan', 'genre'],
          geo: 'LATAM',
        },
      },
      {
        tool: 'query_engagement',
        args: {
          metrics: ['watch_minutes'],
          time_range: '2026-Q3',
          grain: 'week',
          compare_to: 'year_ago',
          geo: 'LATAM',
        },
      },
    ]);
    // No geo given: the argument is left out, not sent empty; defaults fill in; numbers arrive as numbers.
    const weekly = calls(await text(vp, 'weekly_engagement_review'));
    expect(weekly[0]?.args).toEqual({
      metrics: ['watch_minutes', 'views', 'unique_viewers', 'completion_rate'],
      time_range: 'last_week',
      compare_to: 'previous_period',
    });
    const brief = calls(await text(vp, 'subscriber_forecast_brief', { months: '3' }));
    expect(brief[0]?.args).toEqual({ horizon: 3, unit: 'months', scenario: { churn_rate_change_points: 1 } });
  });

  it('run end to end: every call each prompt prescribes answers on the fixture', async () => {
    const [spring, winter] = ['aur-c-spring-26', 'aur-c-winter-25'];
    const flows: [string, Record<string, string>][] = [
      ['weekly_engagement_review', {}],
      ['weekly_engagement_review', { week: '2026-W40', geo: 'BR' }],
      ['weekly_engagement_review', { week: '2026-W40', title: 'aur-0300' }],
      ['engagement_drop_investigation', { period: '2026-Q3', geo: 'LATAM' }],
      ['campaign_post_mortem', { campaign: spring, compared_with: winter }],
      ['subscriber_forecast_brief', { country: 'BR', churn_points: '0.5' }],
    ];
    for (const [name, args] of flows) {
      const prescribed = calls(await text(vp, name, args));
      expect(prescribed.length).toBeGreaterThan(0);
      for (const call of prescribed) {
        const result = await callTool(vp, call.args, call.tool);
        expect(result.isError, `${name} → ${call.tool}: ${result.content[0]?.text}`).not.toBe(true);
      }
    }
    // The drop investigation finds the planted drop: BR leads the explained change of LATAM's Q3.
    const [, explain] = calls(
      await text(vp, 'engagement_drop_investigation', { period: '2026-Q3', geo: 'LATAM' }),
    );
    const answer = (await callTool(vp, explain?.args ?? {}, explain?.tool)).structuredContent as {
      breakdowns: { dimension: string; contributors: { segment: string }[] }[];
    };
    const byCountry = answer.breakdowns.find((breakdown) => breakdown.dimension === 'country');
    expect(byCountry?.contributors[0]?.segment).toBe('BR');
  });

  it('refuse a value that names nothing, with the values that do', async () => {
    expect(
      await promptError(vp, 'campaign_post_mortem', {
        campaign: 'aur-c-sprng-26',
        compared_with: 'aur-c-winter-25',
      }),
    ).toMatch(/^campaign: no campaign "aur-c-sprng-26"; did you mean "aur-c-spring-26"\?$/);
    expect(await promptError(vp, 'engagement_drop_investigation', { period: 'Q5 2026' })).toMatch(
      /^.*period: /,
    );
    expect(
      await promptError(vp, 'engagement_drop_investigation', { period: '2026-Q3', geo: 'LATM' }),
    ).toMatch(/geo: Unknown value "LATM": did you mean "LATAM"\?/);
    expect(await promptError(vp, 'engagement_drop_investigation', {})).toMatch(/period is required/);
    expect(
      await promptError(vp, 'engagement_drop_investigation', { period: '2026-Q3', region: 'LATAM' }),
    ).toMatch(/^Unknown argument of prompt engagement_drop_investigation "region"; allowed: period, geo$/);
    expect(await promptError(vp, 'subscriber_forecast_brief', { months: 'six' })).toMatch(
      /months must be a number/,
    );
    // The tool's own schema holds: a horizon below one is refused at the step that would send it.
    expect(await promptError(vp, 'subscriber_forecast_brief', { months: '0' })).toMatch(
      /step 1 \(forecast_subs\): horizon/,
    );
    expect(await promptError(vp, 'no_such_prompt', {})).toMatch(/Unknown prompt "no_such_prompt"/);
  });

  it('complete periods, campaigns (from the id or the name) and places, as the reader may see them', async () => {
    const complete = async (client: Client, name: string, argument: string, value: string) =>
      (await client.complete({ ref: { type: 'ref/prompt', name }, argument: { name: argument, value } }))
        .completion.values;
    expect(await complete(vp, 'weekly_engagement_review', 'week', 'last_')).toEqual(
      expect.arrayContaining(['last_week', 'last_month', 'last_quarter']),
    );
    // The fixture's data ends on 2026-10-31: its recent quarters.
    expect(await complete(vp, 'engagement_drop_investigation', 'period', '2026-Q')).toEqual([
      '2026-Q4',
      '2026-Q3',
      '2026-Q2',
      '2026-Q1',
    ]);
    expect(await complete(vp, 'campaign_post_mortem', 'campaign', 'Spring Bin')).toContain('aur-c-spring-26');
    // A title completes from its name to its id, as the catalogue has it.
    const [makers] = await sql(
      `SELECT content_id FROM content WHERE tenant_id = 'aurora' AND title = 'Meet the Makers (write to makers@aurora-studios.example)'`,
    );
    expect(await complete(vp, 'weekly_engagement_review', 'title', 'Meet the Mak')).toContain(makers);
    const latamPlaces = await sql(
      `SELECT DISTINCT country_code FROM markets WHERE tenant_id = 'aurora' AND region = 'LATAM'`,
    );
    expect((await complete(latam, 'weekly_engagement_review', 'geo', '')).sort()).toEqual(
      [...latamPlaces, 'LATAM'].sort(),
    );
    expect(await complete(vp, 'weekly_engagement_review', 'geo', 'la')).toEqual(['LATAM']);
  });

  it("hold the reader's policy: a LATAM analyst's prompt cannot aim at another region", async () => {
    expect(await promptError(latam, 'weekly_engagement_review', { geo: 'US' })).toMatch(
      /geo: Unknown value "US"/,
    );
  });
});

describe('a step argument naming an argument given nothing', () => {
  it('is dropped whole, never sent half-filled', async () => {
    const { promptSteps } = await import('../../src/tools/prompts.js');
    const prompt = {
      name: 'p',
      title: 'P',
      description: 'd',
      finish: 'f',
      arguments: {
        a: { description: 'a', required: false, type: 'string' as const },
        b: { description: 'b', required: false, type: 'string' as const },
      },
      steps: [
        {
          tool: 't',
          show: 's',
          arguments: { both: '{a} vs {b}', one: '{a}', fixed: 'x', list: ['{b}', 'y'] },
        },
      ],
    };
    expect(promptSteps(prompt, { a: 'A' })[0]?.arguments).toEqual({ one: 'A', fixed: 'x', list: ['y'] });
    expect(promptSteps(prompt, { a: 'A', b: 'B' })[0]?.arguments).toEqual({
      both: 'A vs B',
      one: 'A',
      fixed: 'x',
      list: ['B', 'y'],
    });
  });
});
