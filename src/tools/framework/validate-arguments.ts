import type { z } from 'zod';
import { ArgumentError } from '../../errors.js';
import { closest, quote } from '../../semantic/did-you-mean.js';

interface SchemaNode {
  readonly shape?: Record<string, unknown>;
  readonly unwrap?: () => unknown;
  readonly options?: readonly unknown[];
}

/** The object schema inside `node`: through optionals, and the object member of a union. */
function objectOf(node: unknown): SchemaNode | undefined {
  let inner = node as SchemaNode | undefined;
  while (inner !== undefined && inner.shape === undefined && typeof inner.unwrap === 'function')
    inner = inner.unwrap() as SchemaNode;
  if (inner?.shape === undefined && inner?.options !== undefined)
    inner = inner.options.find((option) => (option as SchemaNode).shape !== undefined) as
      | SchemaNode
      | undefined;
  return inner?.shape === undefined ? undefined : inner;
}

/** The keys an object schema allows at `path` (for did-you-mean), or undefined when it is not an object. */
function keysAt(schema: z.ZodObject, path: readonly PropertyKey[]): string[] | undefined {
  let node = objectOf(schema);
  for (const step of path) node = objectOf(node?.shape?.[String(step)]);
  return node?.shape === undefined ? undefined : Object.keys(node.shape);
}

/** One schema problem in Marquee's language: the argument, what is wrong, and what is allowed. */
function describe(schema: z.ZodObject, issue: z.core.$ZodIssue): { field: string; message: string } {
  const where = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const allowed = keysAt(schema, issue.path) ?? [];
    const parts = issue.keys.map((key) => {
      const suggestion = closest(key, allowed);
      return `Unknown argument ${quote(where === '' ? key : `${where}.${key}`)}${suggestion === undefined ? '' : `: did you mean ${quote(suggestion)}?`}`;
    });
    const list = `alid arguments${where === '' ? '' : ` of ${where}`}: ${allowed.join(', ')}`;
    const joined = parts.join('; ');
    return {
      field: issue.keys[0] ?? where,
      message: joined.endsWith('?') ? `${joined} V${list}` : `${joined}; v${list}`,
    };
  }
  if (issue.code === 'invalid_union') {
    // "Invalid input" says nothing: the alternative of the value's own shape (a list, when a list came) does.
    const matching = issue.errors.find(
      (branch) =>
        branch.length > 0 &&
        branch.every((inner) => !(inner.code === 'invalid_type' && inner.path.length === 0)),
    );
    const first = matching?.[0];
    if (first !== undefined) return describe(schema, { ...first, path: [...issue.path, ...first.path] });
  }
  return {
    field: where === '' ? 'arguments' : where,
    message: `${where === '' ? 'arguments' : where}: ${issue.message}`,
  };
}

/**
 * A call's arguments checked against its tool's schema; every problem is an ArgumentError naming the argument,
 * with did-you-mean and the valid keys for an unknown one (so `metrics` on a tool taking `metric` is fixable).
 */
export function validateArguments(schema: z.ZodObject, args: unknown): Record<string, unknown> {
  const parsed = schema.safeParse(args ?? {});
  if (parsed.success) return parsed.data as Record<string, unknown>;
  const problems = parsed.error.issues.map((issue) => describe(schema, issue));
  throw new ArgumentError(
    problems[0]?.field ?? 'arguments',
    problems.map((problem) => problem.message).join('; '),
  );
}
