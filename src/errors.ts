/** Base class of every error Marquee raises on purpose; `code` is stable, `message` is for a reader. */
export class MarqueeError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A tool argument a model can correct: names the field, the bad value and what is allowed. */
export class ArgumentError extends MarqueeError {
  readonly field: string;
  constructor(field: string, message: string) {
    // The field is always named, so a model knows which argument to fix.
    super('invalid_argument', message.includes(field) ? message : `${field}: ${message}`);
    this.field = field;
  }
}

/** The warehouse could not be reached or refused to work; the caller should retry later (in so many seconds). */
export class WarehouseUnavailableError extends MarqueeError {
  constructor(options?: ErrorOptions, retryAfterSeconds?: number) {
    super(
      'warehouse_unavailable',
      `The warehouse is temporarily unavailable; ${retryAfterSeconds === undefined ? 'try again in a moment' : `retry in ${retryAfterSeconds} s`}`,
      options,
    );
  }
}

/** A query hit a resource limit (time, rows, memory): the caller should narrow it. */
export class QueryLimitError extends MarqueeError {
  constructor(
    /** Which limit: execution time, result size, rows read, bytes read or memory. */
    readonly limit: string,
    options?: ErrorOptions,
    /** Whose bound stopped it: the configured one for every statement, or what was left of its call's budget. */
    readonly bound: 'statement' | 'call' = 'statement',
  ) {
    super(
      'query_limit',
      `The query exceeded the ${limit} limit: narrow the time range, add filters or group by fewer dimensions`,
      options,
    );
  }
}

/** A call that read more rows than one call may (MARQUEE_CALL_MAX_ROWS_READ); `traceId` says which call. */
export class CallTooCostlyError extends MarqueeError {
  constructor(
    budget: number,
    readonly traceId: string,
  ) {
    super(
      'call_too_costly',
      `This question reads more than ${budget.toLocaleString('en-US')} rows of the warehouse (MARQUEE_CALL_MAX_ROWS_READ), the most one answer may read; ask for a shorter time_range, filter it (a market, device or plan), or break it down by fewer dimensions`,
    );
  }
}
