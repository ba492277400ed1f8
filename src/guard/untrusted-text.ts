/**
 * Text from the warehouse (titles, names) is data, not instructions. Before it reaches a model it loses
 * control and direction-override characters and line breaks, is shortened, and phrases that address a
 * model ("ignore previous instructions", role markers, chat-template tokens) are replaced by a marker.
 */
const CONTROL =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;
const BREAKS = /[\r\n\t\u2028\u2029]+/g;
const INSTRUCTIONS = [
  /\b(?:ignore|disregard|forget|override)\b[^.!?]{0,40}\b(?:instructions?|prompts?|rules|guidelines|context)\b[^.!?]*/gi,
  /\b(?:you are now|act as|pretend to be|new instructions?)\b[^.!?]*/gi,
  /\b(?:system|assistant|developer)\s*:/gi,
  /<\|[^|]{0,40}\|>|<\/?(?:system|assistant|user|script|instructions?)[^>]*>/gi,
];
export const NEUTRALISED = '[instruction-like text removed]';
const MAX_LENGTH = 160;

/** The string safe to hand to a model as data. */
export function neutralise(text: string): string {
  let result = text.replace(CONTROL, '').replace(BREAKS, ' ');
  for (const pattern of INSTRUCTIONS) result = result.replace(pattern, NEUTRALISED);
  result = result.replace(/\s{2,}/g, ' ').trim();
  return result.length > MAX_LENGTH ? `${result.slice(0, MAX_LENGTH - 1)}…` : result;
}

/**
 * Text with nothing to neutralise: printable ASCII (tabs and line breaks allowed) without a letter or a `<`,
 * which every instruction pattern needs (days, figures, signs).
 */
const INERT = /^[\t\n\r\x20-\x3b\x3d-\x40\x5b-\x60\x7b-\x7e]*$/;

/**
 * Prose Marquee wrote around warehouse values (summaries, warnings): keeps its line breaks and length, loses
 * control characters and any instruction-like phrase that slipped in with a value.
 */
export function neutraliseProse(text: string): string {
  return INERT.test(text) ? text : neutraliseEveryPattern(text);
}

/** `neutraliseProse` without the inert-text check: every pattern run over the text. */
export function neutraliseEveryPattern(text: string): string {
  let result = text.replace(CONTROL, '');
  for (const pattern of INSTRUCTIONS) result = result.replace(pattern, NEUTRALISED);
  return result;
}

/** Every string inside a JSON-like value, through `neutraliseProse`. */
export function neutraliseDeep<T>(value: T): T {
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return neutraliseProse(node);
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object')
      return Object.fromEntries(Object.entries(node).map(([key, inner]) => [key, walk(inner)]));
    return node;
  };
  return walk(value) as T;
}

/** A warehouse value quoted for a summary sentence, so a reader sees where data starts and ends. */
export function quoteData(text: string): string {
  return JSON.stringify(neutralise(text));
}
