import { createHmac, timingSafeEqual } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import { ArgumentError } from '../../errors.js';

/** What a cursor carries: enough to recompute the next page on any replica. */
export interface CursorState {
  /** The tool the cursor belongs to. */
  readonly tool: string;
  /** The call's arguments, cursor excluded, in canonical form. */
  readonly args: Record<string, unknown>;
  /** The anchor day relative periods were resolved against, so pages do not shift when data arrives. */
  readonly anchor: string;
  readonly offset: number;
}

const MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** Canonical JSON (sorted keys), so equal arguments always compare and sign the same. */
export function canonical(value: unknown): string {
  return stringify(value) ?? 'null';
}

/** Signs and checks opaque page cursors with an HMAC key shared by every replica. */
export class CursorCodec {
  constructor(private readonly key: string | Buffer) {}

  encode(state: CursorState, now = Date.now()): string {
    const body = Buffer.from(canonical({ v: 1, iat: now, ...state })).toString('base64url');
    return `${body}.${this.sign(body)}`;
  }

  /** The tool a cursor says it belongs to, unverified (decode verifies): to know which tool to decode it for. */
  toolOf(cursor: string): string | undefined {
    try {
      const payload = JSON.parse(Buffer.from(cursor.split('.')[0] ?? '', 'base64url').toString('utf8'));
      return typeof payload?.tool === 'string' ? payload.tool : undefined;
    } catch {
      return undefined;
    }
  }

  /** Decodes a cursor for `tool`; any tampering, truncation or expiry is an ArgumentError on `cursor`. */
  decode(cursor: string, tool: string, now = Date.now()): CursorState {
    const invalid = (why: string): ArgumentError =>
      new ArgumentError(
        'cursor',
        `Invalid cursor: ${why}; call again without cursor to start from the first page`,
      );
    const [body, signature, ...rest] = cursor.split('.');
    if (body === undefined || signature === undefined || rest.length > 0 || body === '')
      throw invalid('it is malformed');
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      throw invalid('its signature does not match (it was altered or issued by another deployment)');
    }
    let payload: unknown;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw invalid('it is malformed');
    }
    const state = payload as Partial<CursorState> & { v?: number; iat?: number };
    if (
      state.v !== 1 ||
      typeof state.iat !== 'number' ||
      typeof state.offset !== 'number' ||
      typeof state.anchor !== 'string'
    ) {
      throw invalid('it is malformed');
    }
    if (now - state.iat > MAX_AGE_MS) throw invalid('it has expired (cursors last 24 hours)');
    if (state.tool !== tool) throw invalid(`it belongs to tool ${JSON.stringify(state.tool)}`);
    return { tool, args: state.args ?? {}, anchor: state.anchor, offset: state.offset };
  }

  /**
   * The arguments, offset and anchor a call continues from: its own when it has no cursor, the cursor's
   * otherwise. A cursor may come alone or with the same arguments, never with different ones.
   */
  resume(
    tool: string,
    args: Record<string, unknown>,
  ): { args: Record<string, unknown>; offset: number; anchor: string | undefined } {
    const { cursor, ...rest } = args;
    if (typeof cursor !== 'string') return { args, offset: 0, anchor: undefined };
    const state = this.decode(cursor, tool);
    if (Object.keys(rest).length > 0 && canonical(rest) !== canonical(state.args)) {
      throw new ArgumentError(
        'cursor',
        'The cursor belongs to a query with other arguments: pass the cursor alone, or the same arguments as the call that returned it',
      );
    }
    return { args: state.args, offset: state.offset, anchor: state.anchor === '' ? undefined : state.anchor };
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
