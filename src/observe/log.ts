import pino, { type Logger } from 'pino';

/** A logger writing JSON lines on stderr (stdout belongs to the stdio transport and to command output). */
export function createLogger(level = process.env.MARQUEE_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service: 'marquee' } }, pino.destination({ dest: 2, sync: true }));
}

let shared: Logger | undefined;

/**
 * The process's one log stream: every line Marquee writes for its operator (startup, warnings, errors with
 * their references, audit records) is a JSON object on stderr, `{level, time, service, msg, ...}`.
 */
export function processLog(): Logger {
  shared ??= createLogger();
  return shared;
}
