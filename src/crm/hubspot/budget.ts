// HubSpot's daily request allocation as last seen, read from the headers of ordinary responses.
// Sources: developers.hubspot.com/docs/guides/apps/api-usage/usage-details (private apps' responses
// carry X-HubSpot-RateLimit-Daily and X-HubSpot-RateLimit-Daily-Remaining; search responses carry
// no rate-limit headers), developers.hubspot.com/changelog/rate-limit-headers-will-now-appear-for-
// oauth-authenticated-calls (OAuth calls have no daily limit and no daily headers), and
// developers.hubspot.com/docs/api-reference/legacy/account/account-information/get-usage-details
// (GET /account-info/v3/api-usage/daily/private-apps: results[{currentUsage, usageLimit,
// resetsAt}]).
import { isLeadbridgeError } from '../../core/errors.js';
import type { ApiBudget } from '../adapter.js';

const USAGE_PATH = '/account-info/v3/api-usage/daily/private-apps';

const DAILY = 'x-hubspot-ratelimit-daily';
const DAILY_REMAINING = 'x-hubspot-ratelimit-daily-remaining';

/** The allocation last seen, and when HubSpot said it resets (known after a usage read). */
interface Seen {
  used: number;
  max: number;
}

/** The `_options` argument the client's methods take last (PromiseConfigurationOptions). */
export interface ClientCallOptions {
  middleware: Array<{ pre<T>(context: T): Promise<T>; post<T>(context: T): Promise<T> }>;
  middlewareMergeStrategy: 'append';
}

export class DailyBudget {
  private seen: Seen | null = null;
  private resetsAt: number | null = null;

  constructor(
    private readonly limitShare: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Per-call options for the official client: a middleware that reads every response's daily
   * headers, at no extra call. Per call because @hubspot/api-client 13.4.0 never runs the
   * middleware given to `new Client` (HubSpot/hubspot-api-nodejs#671 and #683, fixed in 14.0.1,
   * which needs Node 22): its ObservableAPI only runs middleware passed with a call.
   */
  callOptions(): ClientCallOptions {
    return {
      middleware: [
        {
          pre: <T>(context: T) => Promise.resolve(context),
          post: <T>(context: T) => {
            this.observe((context as { headers?: Record<string, string> }).headers ?? {});
            return Promise.resolve(context);
          },
        },
      ],
      middlewareMergeStrategy: 'append',
    };
  }

  /** Takes the daily headers of one response, when it has both (names are case-insensitive). */
  observe(headers: Readonly<Record<string, string>>): void {
    let max: number | undefined;
    let remaining: number | undefined;
    for (const [name, value] of Object.entries(headers)) {
      if (name.toLowerCase() === DAILY) max = Number(value);
      if (name.toLowerCase() === DAILY_REMAINING) remaining = Number(value);
    }
    if (max === undefined || remaining === undefined) return;
    if (!Number.isFinite(max) || !(max > 0) || !Number.isFinite(remaining)) return;
    this.seen = { used: Math.max(0, max - remaining), max };
  }

  /** Takes the usage endpoint's answer; false when it holds no usable private-app entry. */
  observeUsage(body: unknown): boolean {
    const results = (body as { results?: unknown } | null)?.results;
    const entry = Array.isArray(results)
      ? (results as Array<Record<string, unknown>>).find(
          (r) => typeof r.usageLimit === 'number' && typeof r.currentUsage === 'number',
        )
      : undefined;
    if (!entry || !((entry.usageLimit as number) > 0)) return false;
    this.seen = { used: entry.currentUsage as number, max: entry.usageLimit as number };
    const resets = typeof entry.resetsAt === 'string' ? Date.parse(entry.resetsAt) : Number.NaN;
    this.resetsAt = Number.isNaN(resets) ? null : resets;
    return true;
  }

  budget(): ApiBudget | null {
    if (!this.seen) return null;
    const { used, max } = this.seen;
    return { used, max, limitShare: this.limitShare, holdingBack: used >= max * this.limitShare };
  }

  /**
   * Whether holding back should be checked again with the usage endpoint: past the share, unless
   * HubSpot already said the allocation resets later (then waiting costs no call).
   */
  needsUsageRead(): boolean {
    if (!this.budget()?.holdingBack) return false;
    return this.resetsAt === null || this.now() >= this.resetsAt;
  }
}

/** Reads the usage endpoint through `run` (the adapter's call: limiter, retries, counting). */
export async function readUsage(
  client: { apiRequest(options: { method: string; path: string }): Promise<FetchLike> },
  run: <T>(what: string, request: () => Promise<T>) => Promise<T>,
): Promise<unknown> {
  return run('read of the daily API usage', async () => {
    const response = await client.apiRequest({ method: 'GET', path: USAGE_PATH });
    const body: unknown = await response.json().catch(() => null);
    if (response.ok) return body;
    // Shaped like the client's ApiException, so that errors.ts names it the same way.
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => (headers[name] = value));
    throw Object.assign(new Error(`HTTP ${response.status}`), {
      code: response.status,
      body,
      headers,
    });
  });
}

interface FetchLike {
  ok: boolean;
  status: number;
  headers: { forEach(each: (value: string, name: string) => void): void };
  json(): Promise<unknown>;
}

/**
 * Outcome and co-sell reads are polling that can wait: past the configured share of the daily
 * allocation they stop (writes of new referrals go on). Unknown budget: read on (no extra call).
 */
export async function readsWithinBudget(
  budget: DailyBudget,
  refresh: () => Promise<unknown>,
  warn: (message: string, details: Record<string, unknown>) => void,
): Promise<boolean> {
  if (budget.needsUsageRead()) {
    try {
      budget.observeUsage(await refresh());
    } catch (error) {
      // The headers still say where the day stands; a refused usage read must not stop the cycle.
      if (isLeadbridgeError(error) && error.code === 'ABORTED') throw error;
      warn('the daily API usage could not be read; judging by the last headers seen', {
        error: (error as Error).message,
      });
    }
  }
  const seen = budget.budget();
  if (!seen?.holdingBack) return true;
  warn(
    'daily API share used: outcome reads wait until the allocation frees up; ' +
      'new referrals are still written',
    { used: seen.used, max: seen.max, maxDailyApiShare: seen.limitShare },
  );
  return false;
}
