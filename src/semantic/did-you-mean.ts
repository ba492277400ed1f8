/** Levenshtein distance, case-insensitive: small and exact, for suggestion lists of at most a few thousand names. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let previous = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const current = [i];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[t.length] ?? 0;
}

/** The closest candidate to `input`, or undefined when none is close enough to be a plausible typo. */
export function closest(input: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(input, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const tolerance = Math.max(2, Math.floor(input.length / 3));
  return bestDistance <= tolerance ? best : undefined;
}

/** Quotes a value for an error message: JSON string syntax, so quotes and control characters stay visible. */
export function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  const shown = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return JSON.stringify(shown);
}

/** `Unknown metric "x": did you mean "y"? Allowed: a, b`, the shape of every unknown-name error. */
export function unknownNameMessage(kind: string, input: string, allowed: readonly string[]): string {
  const suggestion = closest(input, allowed);
  const list = allowed.length > 40 ? `${allowed.slice(0, 40).join(', ')}, …` : allowed.join(', ');
  return suggestion === undefined
    ? `Unknown ${kind} ${quote(input)}; allowed: ${list}`
    : `Unknown ${kind} ${quote(input)}: did you mean ${quote(suggestion)}? Allowed: ${list}`;
}
