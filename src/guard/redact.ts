/** A personal-data pattern and what replaces a match. */
interface Pattern {
  readonly kind: string;
  readonly regex: RegExp;
  readonly accept?: (match: string) => boolean;
  /** A character every match holds: text without it is not searched (the email pattern backtracks a lot). */
  readonly needs?: string;
}

/** Luhn checksum, so only plausible card numbers are redacted (not every long number). */
function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

const PATTERNS: readonly Pattern[] = [
  { kind: 'email', regex: /[A-Z0-9._%+-]+@[A-Z0-9-]+(?:\.[A-Z0-9-]+)*\.[A-Z]{2,}/gi, needs: '@' },
  {
    kind: 'card',
    regex: /\b\d(?:[ -]?\d){12,18}\b/g,
    accept: (match) => luhn(match.replace(/\D/g, '')),
  },
  // International numbers with a + (at least 8 digits, so signed figures like "+17.92" stay), and North
  // American (xxx) xxx-xxxx forms; ISO dates never match.
  {
    kind: 'phone',
    regex: /\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}\d/g,
    accept: (match) => match.replace(/\D/g, '').length >= 8,
    needs: '+',
  },
  { kind: 'phone', regex: /\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b/g },
  { kind: 'ip', regex: /\b(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}\b/g },
  { kind: 'ip', regex: /\b(?:[0-9a-f]{1,4}:){3,7}[0-9a-f]{1,4}\b/gi, needs: ':' },
];

const AT = 64;
const PLUS = 43;
const DOT = 46;
const COLON = 58;

/**
 * Whether some pattern could match `text`, counted in one pass: an email needs an @, an IPv6 address three
 * colons, a card 13 digits, a North American number 10, an international one a + and 8, an IPv4 address 4
 * digits and 3 dots. Most strings of an answer (days, codes, labels) need none of the six regular expressions.
 */
export function mayHoldPersonalData(text: string): boolean {
  let digits = 0;
  let dots = 0;
  let colons = 0;
  let plus = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 48 && code <= 57) digits++;
    else if (code === DOT) dots++;
    else if (code === COLON) colons++;
    else if (code === PLUS) plus = true;
    else if (code === AT) return true;
  }
  return colons >= 3 || digits >= 10 || (plus && digits >= 8) || (digits >= 4 && dots >= 3);
}

/** Redacts emails, card numbers, phone numbers and IP addresses from one string; counts what it removed. */
export function redactText(text: string): { text: string; count: number } {
  return mayHoldPersonalData(text) ? redactEveryPattern(text) : { text, count: 0 };
}

/** `redactText` without the one-pass check: every pattern run over the text. */
export function redactEveryPattern(text: string): { text: string; count: number } {
  let count = 0;
  let result = text;
  for (const pattern of PATTERNS) {
    if (pattern.needs !== undefined && !result.includes(pattern.needs)) continue;
    result = result.replace(pattern.regex, (match) => {
      if (pattern.accept !== undefined && !pattern.accept(match)) return match;
      count++;
      return `[redacted ${pattern.kind}]`;
    });
  }
  return { text: result, count };
}

/** Redacts every string inside a JSON-like value, returning a copy and the number of redactions. */
export function redactDeep<T>(value: T): { value: T; count: number } {
  let count = 0;
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') {
      const redacted = redactText(node);
      count += redacted.count;
      return redacted.text;
    }
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([key, inner]) => [key, walk(inner)]));
    }
    return node;
  };
  return { value: walk(value) as T, count };
}
