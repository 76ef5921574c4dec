// The portal's request limits: a rolling 10-second window and a daily allocation for every call,
// and a
// per-second cap on search. Source: developers.hubspot.com/docs/guides/apps/api-usage/usage-details
// (private
// apps: 100 requests per 10 seconds and 250,000 a day on Free and Starter;
// X-HubSpot-RateLimit-Daily,
// -Daily-Remaining, -Interval-Milliseconds, -Max, -Remaining on responses; search requests are
// limited to five
// per second and their responses carry none of these headers).
import type { SimClock } from '../common/clock.js';
import { SimHttpError } from '../common/server.js';

export interface LimitSettings {
  perTenSeconds: number;
  daily: number;
  searchPerSecond: number;
}

const DEFAULT_LIMITS: LimitSettings = {
  perTenSeconds: 100,
  daily: 250_000,
  searchPerSecond: 5,
};

const WINDOW_MS = 10_000;

export class RateLimits {
  settings: LimitSettings;
  private recent: number[] = [];
  private searches: number[] = [];
  dailyUsed = 0;
  private day: string;

  constructor(
    private readonly clock: SimClock,
    settings: Partial<LimitSettings> = {},
  ) {
    this.settings = { ...DEFAULT_LIMITS, ...settings };
    this.day = this.today();
  }

  reset(): void {
    this.recent = [];
    this.searches = [];
    this.dailyUsed = 0;
  }

  /**
   * Counts one request, or refuses it with the policy it broke (the refused request is not
   * counted).
   */
  admit(isSearch: boolean): SimHttpError | null {
    const now = this.clock.nowMs();
    if (this.today() !== this.day) {
      this.day = this.today();
      this.dailyUsed = 0;
    }
    this.recent = this.recent.filter((t) => t > now - WINDOW_MS);
    if (this.dailyUsed >= this.settings.daily)
      return new SimHttpError(429, 'DAILY', 'daily limit reached');
    if (this.recent.length >= this.settings.perTenSeconds)
      return new SimHttpError(429, 'TEN_SECONDLY_ROLLING', 'ten secondly limit reached');
    if (isSearch) {
      this.searches = this.searches.filter((t) => t > now - 1_000);
      if (this.searches.length >= this.settings.searchPerSecond)
        return new SimHttpError(429, 'SECONDLY', 'search limit reached');
      this.searches.push(now);
    }
    this.recent.push(now);
    this.dailyUsed++;
    return null;
  }

  /** The rate-limit headers; the daily pair only for private apps (`daily`). */
  headers(options: { daily: boolean } = { daily: true }): Record<string, string> {
    const now = this.clock.nowMs();
    const inWindow = this.recent.filter((t) => t > now - WINDOW_MS).length;
    return {
      ...(options.daily
        ? {
            'X-HubSpot-RateLimit-Daily': String(this.settings.daily),
            'X-HubSpot-RateLimit-Daily-Remaining': String(
              Math.max(0, this.settings.daily - this.dailyUsed),
            ),
          }
        : {}),
      'X-HubSpot-RateLimit-Interval-Milliseconds': String(WINDOW_MS),
      'X-HubSpot-RateLimit-Max': String(this.settings.perTenSeconds),
      'X-HubSpot-RateLimit-Remaining': String(Math.max(0, this.settings.perTenSeconds - inWindow)),
    };
  }

  private today(): string {
    return this.clock.now().toISOString().slice(0, 10);
  }
}
