import { MarqueeError, QueryLimitError, WarehouseUnavailableError } from '../errors.js';

const LIMITS: Record<string, string> = {
  TIMEOUT_EXCEEDED: 'execution time',
  TOO_SLOW: 'execution time',
  TOO_MANY_ROWS_OR_BYTES: 'result size',
  TOO_MANY_ROWS: 'rows read',
  TOO_MANY_BYTES: 'bytes read',
  MEMORY_LIMIT_EXCEEDED: 'memory',
};

/** Maps a client or engine error to a MarqueeError a caller can act on; never leaks SQL or a stack. */
export function translateError(error: unknown): MarqueeError {
  if (error instanceof MarqueeError) return error;
  if (isEngineError(error)) {
    const limit = LIMITS[error.type ?? ''];
    if (limit !== undefined) return new QueryLimitError(limit, { cause: error });
    return new MarqueeError(
      'query_failed',
      `The warehouse rejected the query (${error.type ?? `code ${error.code}`}); the semantic layer may not match the warehouse schema`,
      { cause: error },
    );
  }
  return new WarehouseUnavailableError({ cause: error });
}

/** Engine errors carry a numeric `code` and a symbolic `type`; chdb's copy of the class is not the client's. */
function isEngineError(error: unknown): error is Error & { code: string; type?: string } {
  return (
    error instanceof Error && 'code' in error && typeof error.code === 'string' && /^\d+$/.test(error.code)
  );
}
