import { createHash } from 'node:crypto';
import { stringify } from 'safe-stable-stringify';

/** The SHA-256 (base64url) of the canonical JSON of `parts`: the same for equal values, whatever their keys' order. */
export function digest(parts: unknown): string {
  return createHash('sha256')
    .update(stringify(parts) ?? '')
    .digest('base64url');
}
