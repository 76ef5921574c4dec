// Error types with stable codes; everything thrown by an API client is normalised once into these.

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'MAPPING_INVALID'
  | 'HTTP_ERROR'
  | 'NETWORK_ERROR'
  | 'AUTH_FAILED'
  /**
   * A person must sign in again (a revoked or expired refresh token); retrying without that cannot
   * help.
   */
  | 'SIGN_IN_REQUIRED'
  | 'RATE_LIMITED'
  | 'CONFLICT'
  | 'NOT_FOUND'
  | 'ILLEGAL_TRANSITION'
  | 'VALIDATION_FAILED'
  | 'TRANSFORM_FAILED'
  | 'LEDGER_ERROR'
  | 'ABORTED'
  | 'LISTEN_FAILED'
  | 'INTERNAL';

export interface LeadbridgeErrorOptions {
  /** HTTP status when the error came from an API. */
  status?: number;
  /** The provider's own error payload (already parsed), kept for the ledger and traces. */
  provider?: unknown;
  /** The provider's error code (`0x80048408`, `INVALID_FIELD`, ...). */
  providerCode?: string;
  /** Whether repeating the same call later may succeed. */
  retryable?: boolean;
  /** Seconds the server asked us to wait (Retry-After). */
  retryAfterSeconds?: number;
  /** Which API the error came from (partner-center, dynamics365, salesforce, graph). */
  api?: string;
  cause?: unknown;
}

export class LeadbridgeError extends Error {
  readonly code: ErrorCode;
  readonly status?: number;
  readonly provider?: unknown;
  readonly providerCode?: string;
  readonly retryable: boolean;
  readonly retryAfterSeconds?: number;
  readonly api?: string;

  constructor(code: ErrorCode, message: string, options: LeadbridgeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LeadbridgeError';
    this.code = code;
    this.status = options.status;
    this.provider = options.provider;
    this.providerCode = options.providerCode;
    this.retryable = options.retryable ?? false;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.api = options.api;
  }

  /** A compact, secret-free summary for logs and the ledger. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      status: this.status,
      providerCode: this.providerCode,
      api: this.api,
      retryable: this.retryable,
    };
  }
}

/** A write lost an optimistic-concurrency race (HTTP 412 on If-Match). */
export class ConflictError extends LeadbridgeError {
  constructor(message: string, options: LeadbridgeErrorOptions = {}) {
    super('CONFLICT', message, { ...options, status: options.status ?? 412, retryable: false });
    this.name = 'ConflictError';
  }
}

/** One problem found while validating config or a mapping, with the path where it was found. */
export interface Issue {
  path: string;
  message: string;
  file?: string;
  line?: number;
}

/** Raised with every problem at once, so that an admin can fix a file in one pass. */
export class ValidationError extends LeadbridgeError {
  readonly issues: Issue[];
  constructor(
    code: 'CONFIG_INVALID' | 'MAPPING_INVALID' | 'VALIDATION_FAILED',
    title: string,
    issues: Issue[],
  ) {
    super(code, `${title}:\n${issues.map((i) => `  - ${formatIssue(i)}`).join('\n')}`);
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

export function formatIssue(issue: Issue): string {
  const where = issue.file ? `${issue.file}${issue.line ? `:${issue.line}` : ''}: ` : '';
  return `${where}${issue.path ? `${issue.path}: ` : ''}${issue.message}`;
}

export function isLeadbridgeError(error: unknown): error is LeadbridgeError {
  return error instanceof LeadbridgeError;
}

/** Turns anything thrown into a LeadbridgeError (once; already-normalised errors pass through). */
export function normaliseError(error: unknown, api?: string): LeadbridgeError {
  if (error instanceof LeadbridgeError) return error;
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (error.name === 'AbortError')
      return new LeadbridgeError('ABORTED', 'operation aborted', { cause: error, api });
    if (code && NETWORK_ERROR_CODES.has(code)) {
      return new LeadbridgeError(
        'NETWORK_ERROR',
        `${api ?? 'network'}: ${code} ${error.message}`.trim(),
        {
          cause: error,
          retryable: true,
          api,
        },
      );
    }
    return new LeadbridgeError('INTERNAL', error.message, { cause: error, api });
  }
  return new LeadbridgeError('INTERNAL', String(error), { api });
}

/** Socket-level failures that are worth retrying. */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);
