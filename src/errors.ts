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
  ) {
    super(
      'query_limit',
      `The query exceeded the ${limit} limit: narrow the time range, add filters or group by fewer dimensions`,
      options,
    );
  }
}
