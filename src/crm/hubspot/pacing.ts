// Paces the adapter's requests to the portal's rolling limit: at most `limit` starts in any window.
// HubSpot counts every request of an app in a rolling 10-second window (100 for private apps on
// Free and Starter). Source: developers.hubspot.com/docs/guides/apps/api-usage/usage-details.
import { sleep } from '../../core/retry.js';

export interface PacingClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

const SYSTEM_CLOCK: PacingClock = { now: () => Date.now(), sleep };

/** A sliding window of request starts; callers await `take()` before each request. */
export class RequestWindow {
  /** Start times of the requests in the current window, oldest first. */
  private readonly starts: number[] = [];
  /** No request starts before this time (a 429 told us to wait). */
  private blockedUntil = 0;
  /** Waiting callers take their turn in order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: PacingClock = SYSTEM_CLOCK,
  ) {}

  /** How long a request starting at `now` must wait (0: it may start now). */
  delayAt(now: number): number {
    while (this.starts.length > 0 && (this.starts[0] as number) <= now - this.windowMs)
      this.starts.shift();
    const byWindow =
      this.starts.length < this.limit
        ? 0
        : (this.starts[this.starts.length - this.limit] as number) + this.windowMs - now;
    return Math.max(0, byWindow, this.blockedUntil - now);
  }

  /** Waits for a free place in the window, then counts a request started. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(async () => {
      for (let wait = this.delayAt(this.clock.now()); wait > 0;) {
        await this.clock.sleep(wait, signal);
        wait = this.delayAt(this.clock.now());
      }
      this.starts.push(this.clock.now());
    });
    // A caller aborted while waiting must not stop the ones behind it.
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Holds every request back until `ms` from now (the portal refused one with a 429). */
  holdFor(ms: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, this.clock.now() + ms);
  }
}
