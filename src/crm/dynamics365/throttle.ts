// Dataverse service protection as the client sees it: a 429's Retry-After holds every request of
// the user, not just the one.
// Source: MicrosoftDocs/powerapps-docs powerapps-docs/developer/data-platform/api-limits.md —
// limits are per user;
// "This error protects the service until the Retry-After duration ends"; the
// x-ms-ratelimit-burst-remaining-xrm-requests
// and x-ms-ratelimit-time-remaining-xrm-requests headers report what is left, but the same page
// says not to depend on
// them to decide how many requests to send (they are for debugging, and reset per web server). So
// they only ever slow
// us down (one request at a time while they are low), never speed us up; Retry-After is what
// releases requests.
import { parseRetryAfter } from '../../core/http.js';
import type { Logger } from '../../core/log.js';

/** Below these, requests go one at a time until the headers recover. */
const LOW_BURST_REMAINING = 50;
const LOW_TIME_REMAINING_SECONDS = 60;

/** What the gate needs of the shared request queue (a p-queue fits). */
export interface PausableQueue {
  concurrency: number;
  pause(): void;
  start(): unknown;
}

export interface ResponseSeen {
  status: number;
  headers: Record<string, unknown>;
}

export class ServiceProtectionGate {
  private resumeTimer: NodeJS.Timeout | undefined;
  private resumeAt = 0;
  private readonly normalConcurrency: number;
  private slowed = false;

  constructor(
    private readonly queue: PausableQueue,
    private readonly logger: Logger,
    private readonly maxPauseMs = 300_000,
  ) {
    this.normalConcurrency = queue.concurrency;
  }

  /** Called with every response of the Web API (retries included). */
  observe(response: ResponseSeen): void {
    if (response.status === 429) this.holdFor(parseRetryAfter(response.headers['retry-after']));
    this.paceBy(
      numberHeader(response.headers['x-ms-ratelimit-burst-remaining-xrm-requests']),
      numberHeader(response.headers['x-ms-ratelimit-time-remaining-xrm-requests']),
    );
  }

  /**
   * No request of this user starts until Retry-After has passed (the request that got the 429
   * retries after it too).
   */
  private holdFor(seconds: number | undefined): void {
    const ms = Math.min(Math.max(0, (seconds ?? 1) * 1000), this.maxPauseMs);
    const until = Date.now() + ms;
    if (until <= this.resumeAt) return;
    this.resumeAt = until;
    this.queue.pause();
    clearTimeout(this.resumeTimer);
    this.resumeTimer = setTimeout(() => this.queue.start(), ms);
    this.resumeTimer.unref?.();
    this.logger.warn('Dataverse service protection: holding requests for Retry-After', {
      retryAfterMs: ms,
    });
  }

  private paceBy(
    burstRemaining: number | undefined,
    timeRemainingSeconds: number | undefined,
  ): void {
    const low =
      (burstRemaining !== undefined && burstRemaining < LOW_BURST_REMAINING) ||
      (timeRemainingSeconds !== undefined && timeRemainingSeconds < LOW_TIME_REMAINING_SECONDS);
    if (low === this.slowed || (burstRemaining === undefined && timeRemainingSeconds === undefined))
      return;
    this.slowed = low;
    this.queue.concurrency = low ? 1 : this.normalConcurrency;
    this.logger.info(
      low
        ? 'Dataverse service protection budget low: one request at a time'
        : 'Dataverse service protection budget recovered',
      {
        burstRemaining,
        timeRemainingSeconds,
      },
    );
  }

  get slowedDown(): boolean {
    return this.slowed;
  }

  close(): void {
    clearTimeout(this.resumeTimer);
    if (this.resumeAt > Date.now()) this.queue.start();
  }
}

/** A header's number; thousands separators (as in "1,199.5") are tolerated. */
function numberHeader(value: unknown): number | undefined {
  const number =
    typeof value === 'string' && value.trim() !== '' ? Number(value.replace(/,/g, '')) : Number.NaN;
  return Number.isFinite(number) ? number : undefined;
}

/** A limiter that can be paused (a p-queue): the gate holds it while Dataverse says to wait. */
export function isPausable(
  limiter: unknown,
): limiter is PausableQueue & { add<T>(task: () => Promise<T>): Promise<T> } {
  return (
    typeof limiter === 'object' &&
    limiter !== null &&
    'pause' in limiter &&
    'start' in limiter &&
    'concurrency' in limiter
  );
}
