import type { CallToolResult } from '@modelcontextprotocol/server';
import type { Identity } from '../auth/identity.js';
import { MarqueeError } from '../errors.js';
import type { RateLimits } from '../guard/rate-limits.js';
import { type AuditLog, hashOf, type Outcome } from '../observe/audit-log.js';
import { toolError } from './tool-error.js';

/** What a tool reports about its answer, for the audit record. */
export interface CallFacts {
  readonly rows: number;
  readonly redactions: number;
  readonly suppressedGroups: number;
  readonly cacheHit?: boolean;
}

/** The envelope every tool call passes through. */
export interface Envelope {
  readonly audit: AuditLog;
  readonly limits: RateLimits;
}

/**
 * Runs one tool call inside the envelope: rate limits first, then the tool; every outcome, refused or failed
 * included, becomes one audit record. Errors become tool errors a model can read.
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
  let facts: CallFacts = { rows: 0, redactions: 0, suppressedGroups: 0 };
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
  envelope.audit.record({
    tenant: identity.tenant,
    subject: identity.subject,
    tool,
    argumentHash: hashOf(args),
    resultHash: hashOf(result.structuredContent ?? result.content),
    rows: facts.rows,
    latencyMs: Math.round((performance.now() - started) * 100) / 100,
    cacheHit: facts.cacheHit ?? false,
    redactions: facts.redactions,
    suppressedGroups: facts.suppressedGroups,
    outcome,
    errorClass,
  });
  return result;
}
