// Retry policy as data: which failures are retried, how long to wait, and when a write may be
// repeated.
import { LeadbridgeError, normaliseError } from './errors.js';

export interface RetryPolicy {
  /** Total attempts including the first one. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A server's Retry-After is honoured up to this bound. */
  maxRetryAfterMs: number;
  /** HTTP statuses that are worth another attempt. */
  retryableStatuses: readonly number[];
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 200,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 60_000,
  retryableStatuses: [408, 429, 500, 502, 503, 504],
};

export interface RetryOptions {
  /**
   * An idempotent call (GET, upsert by key, If-Match write) may be repeated after any retryable
   * failure.
   */
  idempotent: boolean;
  signal?: AbortSignal;
  onRetry?: (info: { attempt: number; delayMs: number; error: LeadbridgeError }) => void;
  /** Injected for tests; defaults to an abortable timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injected for tests; defaults to Math.random. */
  random?: () => number;
  api?: string;
}

/** Whether a failure may be retried under this policy, given whether the call is idempotent. */
export function isRetryable(
  error: LeadbridgeError,
  policy: RetryPolicy,
  idempotent: boolean,
): boolean {
  if (error.code === 'ABORTED') return false;
  // A 429 or a refused connection means the request was never processed: safe even for
  // non-idempotent calls.
  const neverProcessed =
    error.status === 429 || (error.code === 'NETWORK_ERROR' && /ECONNREFUSED/.test(error.message));
  if (!idempotent && !neverProcessed) return false;
  if (error.status !== undefined) return policy.retryableStatuses.includes(error.status);
  return error.retryable;
}

/** The capped exponential ceiling of the wait before attempt `attempt + 1`. */
function backoffCeiling(
  attempt: number,
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>,
): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * Capped exponential backoff with full jitter; a Retry-After from the server (in seconds) wins
 * (capped).
 */
export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  retryAfterSeconds?: number,
  random: () => number = Math.random,
): number {
  if (retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds)) {
    return Math.min(Math.max(0, retryAfterSeconds * 1000), policy.maxRetryAfterMs);
  }
  const ceiling = backoffCeiling(attempt, policy);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * The backoff of work retried in a later cycle (a failed CRM write, a failed outbox send): no
 * jitter, the poll spreads them; capped at an hour so a long outage is still retried every hour.
 * The worker wakes when such work falls due, so a passing fault costs seconds, not an interval.
 */
const LATER_CYCLE_RETRY_POLICY: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'> = {
  baseDelayMs: 10_000,
  maxDelayMs: 3_600_000,
};

/** When work that failed `attempts` times is tried again (LATER_CYCLE_RETRY_POLICY). */
export function nextRetryAt(
  now: Date,
  attempts: number,
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'> = LATER_CYCLE_RETRY_POLICY,
): string {
  return new Date(now.getTime() + backoffCeiling(attempts, policy)).toISOString();
}

/**
 * A write refused with 412 (or 409: the record changed since it was read) is read again, re-planned
 * and sent once more; this many attempts in all, then the row fails for a later cycle instead of
 * looping.
 */
export const CONFLICT_REREAD_POLICY = { maxAttempts: 2 } as const;

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new LeadbridgeError('ABORTED', 'operation aborted'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new LeadbridgeError('ABORTED', 'operation aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs `operation` until it succeeds, fails for good, or the policy's attempts are spent. */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  options: RetryOptions,
): Promise<T> {
  const wait = options.sleep ?? sleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (thrown) {
      const error = normaliseError(thrown, options.api);
      if (attempt >= policy.maxAttempts || !isRetryable(error, policy, options.idempotent))
        throw error;
      const delayMs = backoffDelay(attempt, policy, error.retryAfterSeconds, options.random);
      options.onRetry?.({ attempt, delayMs, error });
      await wait(delayMs, options.signal);
    }
  }
}
