// The one scoped logger: a narrow API over winston, JSON when not on a TTY, secrets redacted.
import winston from 'winston';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /**
   * A logger whose every line carries these scope fields (runId, referralId, target, crmRecordId).
   */
  child(scope: LogFields): Logger;
}

const SECRET_KEY =
  /(token|secret|password|authorization|apikey|api_key|clientsecret|privatekey|private_key)/i;

/** Replaces the values of secret-looking keys, at any depth. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    out[key] = SECRET_KEY.test(key) ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}

export interface LoggerOptions {
  level?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** json: one JSON object per line; pretty: human-readable (the default on a TTY). */
  format?: 'json' | 'pretty';
  stream?: NodeJS.WritableStream;
}

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (SECRET_KEY.test(key)) info[key] = '[redacted]';
    else if (typeof info[key] === 'object') info[key] = redact(info[key]);
  }
  return info;
});

/**
 * The `    at file:line` frames of a stack trace printed into a string (pg-protocol, knex and Node
 * errors do this).
 */
const STACK_FRAMES = /(?:\r?\n[ \t]+at [^\n]*)+/g;

/**
 * Drops stack frames from a value: an operator reads the message; `--log-level debug` keeps
 * everything.
 */
function withoutStack(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(STACK_FRAMES, '');
  if (value instanceof Error) return value.message;
  return value;
}

const stackFormat = (keepStacks: boolean) =>
  winston.format((info) => {
    for (const key of Object.keys(info)) {
      if (key === 'stack') {
        if (!keepStacks) delete info[key];
      } else if (info[key] instanceof Error) {
        const error = info[key] as Error;
        info[key] = keepStacks ? (error.stack ?? error.message) : error.message;
      } else if (!keepStacks) {
        info[key] = withoutStack(info[key]);
      }
    }
    return info;
  })();

const prettyFormat = winston.format.printf((info) => {
  const { level, message, timestamp, ...rest } = info;
  const fields = Object.entries(rest)
    .filter(([k]) => typeof k === 'string')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${String(timestamp)} ${level.padEnd(5)} ${String(message)}${fields ? ` ${fields}` : ''}`;
});

export function createLogger(options: LoggerOptions = {}): Logger {
  const stream = options.stream ?? process.stderr;
  const format = options.format ?? ((stream as NodeJS.WriteStream).isTTY ? 'pretty' : 'json');
  const base = winston.createLogger({
    level: options.level === 'silent' ? 'error' : (options.level ?? 'info'),
    silent: options.level === 'silent',
    format: winston.format.combine(
      stackFormat(options.level === 'debug'),
      redactFormat(),
      winston.format.timestamp(),
      format === 'json' ? winston.format.json() : prettyFormat,
    ),
    transports: [new winston.transports.Stream({ stream })],
  });
  return wrap(base);
}

function wrap(w: winston.Logger): Logger {
  return {
    debug: (m, f) => void w.debug(m, f ?? {}),
    info: (m, f) => void w.info(m, f ?? {}),
    warn: (m, f) => void w.warn(m, f ?? {}),
    error: (m, f) => void w.error(m, f ?? {}),
    child: (scope) => wrap(w.child(scope)),
  };
}

/** A logger that drops everything (library default, tests). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
