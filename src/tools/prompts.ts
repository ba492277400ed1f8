import { ArgumentError } from '../errors.js';
import { PLACEHOLDER, placeholdersIn } from '../semantic/check-semantic-layer.js';
import { unknownNameMessage } from '../semantic/did-you-mean.js';
import type { SavedPrompt } from '../semantic/semantic-layer.js';
import { RELATIVE_PERIODS } from '../semantic/time-range.js';

/** One tool call of a prompt's flow, with the prompt's argument values in place. */
export interface PromptStep {
  readonly tool: string;
  readonly arguments: Record<string, unknown>;
  readonly show: string;
}

export type PromptValues = Readonly<Record<string, string | number>>;

/** The most characters a prompt argument's value may have. */
const MAX_VALUE = 200;

/**
 * The values of a prompt's arguments: those given, else their defaults; a required one missing, an unknown one,
 * a number that is none, or an overlong value is an ArgumentError naming it.
 */
export function promptValues(prompt: SavedPrompt, given: Readonly<Record<string, string>>): PromptValues {
  const names = Object.keys(prompt.arguments);
  for (const name of Object.keys(given))
    if (!(name in prompt.arguments))
      throw new ArgumentError(name, unknownNameMessage(`argument of prompt ${prompt.name}`, name, names));
  const values: Record<string, string | number> = {};
  for (const [name, def] of Object.entries(prompt.arguments)) {
    const text = given[name]?.trim() || def.default;
    if (text === undefined) {
      if (def.required) throw new ArgumentError(name, `${name} is required: ${def.description}`);
      continue;
    }
    if (text.length > MAX_VALUE)
      throw new ArgumentError(name, `${name} is longer than ${MAX_VALUE} characters`);
    if (def.type === 'number') {
      const number = Number(text);
      if (!Number.isFinite(number))
        throw new ArgumentError(name, `${name} must be a number, not ${JSON.stringify(text)}`);
      values[name] = number;
    } else values[name] = text;
  }
  return values;
}

/** A step argument with the values in place: a value that is one placeholder of an argument without a value is dropped. */
function fill(value: unknown, values: PromptValues): unknown {
  if (typeof value === 'string') {
    // A value naming an argument given nothing is dropped, never sent half-filled.
    const named = placeholdersIn(value);
    if (named.some((name) => values[name] === undefined)) return undefined;
    // A value that is one placeholder and nothing else takes the argument's own value (a number stays one).
    if (named.length === 1 && value === `{${named[0]}}`) return values[named[0] ?? ''];
    return value.replace(PLACEHOLDER, (_, name: string) => String(values[name]));
  }
  if (Array.isArray(value))
    return value.map((item) => fill(item, values)).filter((item) => item !== undefined);
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .map(([key, inner]) => [key, fill(inner, values)] as const)
      .filter(([, inner]) => inner !== undefined);
    return entries.length === 0 ? undefined : Object.fromEntries(entries);
  }
  return value;
}

/** The prompt's tool calls with its values in place. */
export function promptSteps(prompt: SavedPrompt, values: PromptValues): PromptStep[] {
  return prompt.steps.map((step) => ({
    tool: step.tool,
    arguments: (fill(step.arguments, values) as Record<string, unknown> | undefined) ?? {},
    show: step.show,
  }));
}

/** The prompt as a model reads it: what it is for, the values chosen, each call in order with what to show. */
export function promptText(prompt: SavedPrompt, values: PromptValues, steps: readonly PromptStep[]): string {
  const chosen = Object.entries(values).map(([name, value]) => `${name} = ${value}`);
  return [
    `${prompt.title}: ${prompt.description}`,
    ...(chosen.length > 0 ? [`Arguments: ${chosen.join('; ')}.`] : []),
    'Call these tools in this order, with exactly these arguments, and show what each step says:',
    ...steps.map(
      (step, index) =>
        `${index + 1}. Call \`${step.tool}\` with ${JSON.stringify(step.arguments)}. Show: ${step.show}`,
    ),
    `Then: ${prompt.finish}`,
    'If a call answers with an error, correct the argument it names and call again; do not guess figures.',
  ].join('\n');
}

/** Periods a person may pick: the relative ones, then the data's recent quarters and months, and years, most recent first. */
export function periodChoices(anchor: string): string[] {
  const [year, month] = [Number(anchor.slice(0, 4)), Number(anchor.slice(5, 7))];
  const months = Array.from({ length: 6 }, (_, back) => {
    const index = year * 12 + month - 1 - back;
    return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
  });
  const quarter = Math.floor((month - 1) / 3);
  const quarters = Array.from({ length: 4 }, (_, back) => {
    const index = year * 4 + quarter - back;
    return `${Math.floor(index / 4)}-Q${(index % 4) + 1}`;
  });
  const relative = RELATIVE_PERIODS.filter((period) => !period.includes('_N_'));
  return [...relative, ...quarters, ...months, String(year), String(year - 1)];
}
