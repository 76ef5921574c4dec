// Dataverse service protection per caller (bearer token): requests in a sliding window and requests
// in flight, 429 past either.
import type { SimClock } from '../common/clock.js';
import { SimHttpError } from '../common/server.js';
import { CODES } from './errors.js';

export interface ServiceProtectionLimits {
  requestsPerWindow: number;
  windowMs: number;
  concurrent: number;
  /**
   * Combined execution time a caller may use in the window (Dataverse: 20 minutes in 300 seconds).
   */
  executionMsPerWindow: number;
}

export const DEFAULT_LIMITS: ServiceProtectionLimits = {
  requestsPerWindow: 6000,
  windowMs: 300_000,
  concurrent: 52,
  executionMsPerWindow: 1_200_000,
};

/** Arrival times of one caller's admitted requests, oldest first (a queue with a moving head). */
interface CallerWindow {
  arrivals: number[];
  head: number;
  inFlight: number;
  /** When each finished request ended and how long it ran (for the execution-time header). */
  executions: Array<{ at: number; ms: number }>;
}

export interface Admission {
  /** The 429 to answer with, or null when the request may proceed. */
  refusal: SimHttpError | null;
  /** Call once the response is sent. */
  release: () => void;
}

export class ServiceProtection {
  private readonly callers = new Map<string, CallerWindow>();

  constructor(
    readonly limits: ServiceProtectionLimits,
    private readonly clock: SimClock,
  ) {}

  /** Decides when a request arrives; a refused request is not counted against the caller. */
  admit(token: string): Admission {
    const caller = this.caller(token);
    const now = this.clock.nowMs();
    this.forgetBefore(caller, now - this.limits.windowMs);
    const inWindow = caller.arrivals.length - caller.head;
    if (inWindow >= this.limits.requestsPerWindow) {
      const oldest = caller.arrivals[caller.head] ?? now;
      return {
        refusal: this.windowRefusal(oldest + this.limits.windowMs - now),
        release: () => {},
      };
    }
    if (caller.inFlight >= this.limits.concurrent)
      return { refusal: this.concurrencyRefusal(), release: () => {} };
    caller.arrivals.push(now);
    caller.inFlight++;
    let released = false;
    return {
      refusal: null,
      release: () => {
        if (released) return;
        released = true;
        caller.inFlight--;
        const end = this.clock.nowMs();
        caller.executions.push({ at: end, ms: Math.max(0, end - now) });
      },
    };
  }

  /** Requests the caller may still make in the current window. */
  remaining(token: string): number {
    const caller = this.callers.get(token);
    if (!caller) return this.limits.requestsPerWindow;
    this.forgetBefore(caller, this.clock.nowMs() - this.limits.windowMs);
    return Math.max(0, this.limits.requestsPerWindow - (caller.arrivals.length - caller.head));
  }

  /** Seconds of combined execution time the caller has left in the current window. */
  timeRemainingSeconds(token: string): number {
    const caller = this.callers.get(token);
    const cutoff = this.clock.nowMs() - this.limits.windowMs;
    if (caller) caller.executions = caller.executions.filter((execution) => execution.at > cutoff);
    const used = (caller?.executions ?? []).reduce((sum, execution) => sum + execution.ms, 0);
    return Math.max(0, (this.limits.executionMsPerWindow - used) / 1000);
  }

  clear(): void {
    this.callers.clear();
  }

  private caller(token: string): CallerWindow {
    let caller = this.callers.get(token);
    if (!caller) {
      caller = { arrivals: [], head: 0, inFlight: 0, executions: [] };
      this.callers.set(token, caller);
    }
    return caller;
  }

  private forgetBefore(caller: CallerWindow, cutoff: number): void {
    while (
      caller.head < caller.arrivals.length &&
      (caller.arrivals[caller.head] as number) <= cutoff
    )
      caller.head++;
    if (caller.head > 1024 && caller.head * 2 > caller.arrivals.length) {
      caller.arrivals = caller.arrivals.slice(caller.head);
      caller.head = 0;
    }
  }

  private windowRefusal(msUntilFree: number): SimHttpError {
    const seconds = Math.max(1, Math.ceil(msUntilFree / 1000));
    const windowSeconds = Math.round(this.limits.windowMs / 1000);
    return new SimHttpError(
      429,
      CODES.tooManyRequests,
      `Number of requests exceeded the limit of ${this.limits.requestsPerWindow} over time ` +
        `window of ${windowSeconds} seconds.`,
      { 'Retry-After': String(seconds) },
    );
  }

  private concurrencyRefusal(): SimHttpError {
    return new SimHttpError(
      429,
      CODES.tooManyConcurrent,
      `Number of concurrent requests exceeded the limit of ${this.limits.concurrent}.`,
      {
        'Retry-After': '1',
      },
    );
  }
}
