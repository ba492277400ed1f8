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

/**
 * Runs one tool call inside the envelope: rate limits first, then the tool, then redaction of every string of
 * the answer (text and structured alike, so no tool can forget it); every outcome, refused or failed included,
 * becomes one audit record. Errors become tool errors a model can read.
 */
export async function auditedCall(
  envelope: Envelope,
  identity: Identity,
  tool: string,
  args: unknown,
  run: () => Promise<{ result: CallToolResult; facts: CallFacts }>,
): Promise<CallToolResult> {
  const started = performance.now();
  let result: CallToolResult;
  let facts: CallFacts = { rows: 0, suppressedGroups: 0 };
  let outcome: Outcome = 'ok';
  let errorClass = '';
  try {
    await envelope.limits.consume(identity.tenant, tool);
    ({ result, facts } = await run());
  } catch (error) {
    result = toolError(error, tool);
    errorClass = error instanceof MarqueeError ? error.code : 'internal';
    outcome =
      errorClass === 'rate_limited'
        ? 'rate_limited'
        : error instanceof MarqueeError
          ? 'tool_error'
          : 'internal_error';
  }
  // Personal data never leaves, wherever it hid in the warehouse. Counted once, on the structured answer
  // when there is one (the text repeats it).
  const content = redactDeep(result.content);
  const structured =
    result.structuredContent === undefined ? undefined : redactDeep(result.structuredContent);
  result = {
    ...result,
    content: content.value,
    ...(structured === undefined ? {} : { structuredContent: structured.value }),
  };
  const redactions = structured?.count ?? content.count;
  envelope.audit.record({
    tenant: identity.tenant,
    subject: identity.subject,
    tool,
    argumentHash: hashOf(args),
    resultHash: hashOf(result.structuredContent ?? result.content),
    rows: facts.rows,
    latencyMs: Math.round((performance.now() - started) * 100) / 100,
    cacheHit: facts.cacheHit ?? false,
    redactions,
    suppressedGroups: facts.suppressedGroups,
    outcome,
    errorClass,
  });
  return result;
}
