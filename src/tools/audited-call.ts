import type { CallToolResult } from '@modelcontextprotocol/server';
import type { Identity } from '../auth/identity.js';
import { MarqueeError } from '../errors.js';
import type { RateLimits } from '../guard/rate-limits.js';
import { redactDeep } from '../guard/redact.js';
import { type AuditLog, hashOf, type Outcome } from '../observe/audit-log.js';
import { toolError } from './tool-error.js';

/** What a tool reports about its answer, for the audit record. */
export interface CallFacts {
  readonly rows: number;
  readonly suppressedGroups: number;
  readonly cacheHit?: boolean;
}

/** The envelope every tool call passes through. */
export interface Envelope {
  readonly audit: AuditLog;
  readonly limits: RateLimits;
}

/** How one kind of answer passes the envelope: how it is redacted and hashed, and what a failure becomes. */
interface AnswerKind<T> {
  /** The answer with personal data redacted, and how many redactions were made. */
  readonly redact: (answer: T) => { value: T; count: number };
  readonly hash: (answer: T) => unknown;
  /** The answer a failure becomes; throwing instead makes it a protocol error (after it is audited). */
  readonly failure: (error: unknown) => T;
}

/**
 * Runs one request inside the envelope: rate limits first, then the work, then redaction of every string of
 * the answer (so no tool or resource can forget it); every outcome, refused or failed included, becomes one
 * audit record.
 */
async function enveloped<T>(
  envelope: Envelope,
  identity: Identity,
  name: string,
  args: unknown,
  run: () => Promise<{ result: T; facts: CallFacts }>,
  kind: AnswerKind<T>,
): Promise<T> {
  const started = performance.now();
  let result: T | undefined;
  let failure: unknown;
  let facts: CallFacts = { rows: 0, suppressedGroups: 0 };
  let outcome: Outcome = 'ok';
  let errorClass = '';
  try {
    await envelope.limits.consume(identity.tenant, name);
    ({ result, facts } = await run());
  } catch (error) {
    errorClass = error instanceof MarqueeError ? error.code : 'internal';
    outcome =
      errorClass === 'rate_limited'
        ? 'rate_limited'
        : error instanceof MarqueeError
          ? 'tool_error'
          : 'internal_error';
    try {
      result = kind.failure(error);
    } catch (thrown) {
      failure = thrown;
    }
  }
  const redacted = result === undefined ? undefined : kind.redact(result);
  envelope.audit.record({
    tenant: identity.tenant,
    subject: identity.subject,
    tool: name,
    argumentHash: hashOf(args),
    resultHash: redacted === undefined ? '' : hashOf(kind.hash(redacted.value)),
    rows: facts.rows,
    latencyMs: Math.round((performance.now() - started) * 100) / 100,
    cacheHit: facts.cacheHit ?? false,
    redactions: redacted?.count ?? 0,
    suppressedGroups: facts.suppressedGroups,
    outcome,
    errorClass,
  });
  if (redacted === undefined) throw failure;
  return redacted.value;
}

const TOOL_RESULT: (tool: string) => AnswerKind<CallToolResult> = (tool) => ({
  // Counted once, on the structured answer when there is one (the text repeats it).
  redact: (result) => {
    const content = redactDeep(result.content);
    const structured =
      result.structuredContent === undefined ? undefined : redactDeep(result.structuredContent);
    return {
      value: {
        ...result,
        content: content.value,
        ...(structured === undefined ? {} : { structuredContent: structured.value }),
      },
      count: structured?.count ?? content.count,
    };
  },
  hash: (result) => result.structuredContent ?? result.content,
  failure: (error) => toolError(error, tool),
});

/** Runs one tool call inside the envelope; errors become tool errors a model can read. */
export function auditedCall(
  envelope: Envelope,
  identity: Identity,
  tool: string,
  args: unknown,
  run: () => Promise<{ result: CallToolResult; facts: CallFacts }>,
): Promise<CallToolResult> {
  return enveloped(envelope, identity, tool, args, run, TOOL_RESULT(tool));
}

/** Runs one resource read (or completion) inside the envelope; errors stay errors, for the protocol to report. */
export function auditedRead<T>(
  envelope: Envelope,
  identity: Identity,
  name: string,
  args: unknown,
  run: () => Promise<{ result: T; facts: CallFacts }>,
): Promise<T> {
  return enveloped(envelope, identity, name, args, run, {
    redact: (result) => redactDeep(result),
    hash: (result) => result,
    failure: (error) => {
      throw error;
    },
  });
}
