// The shapes the Partner Center client takes and gives: options, listing pages, request options.
import type { ApiClientOptions } from '../../core/http.js';
import type { TokenCredential } from '../../core/auth.js';
import type { Logger } from '../../core/log.js';
import type { Referral } from '../../core/referral.js';
import type { RetryPolicy } from '../../core/retry.js';
import type { InvalidReferral } from './parse.js';

export interface PartnerCenterClientOptions {
  /** https://api.partner.microsoft.com, or a simulator's base URL. */
  baseUrl: string;
  credential: TokenCredential;
  logger?: Logger;
  retryPolicy?: RetryPolicy;
  /** How far each incremental poll reaches back before `since` (default 5 minutes). */
  overlapMs?: number;
  /** The local clock (ms since the epoch), injectable for tests. */
  now?: () => number;
  onCall?: ApiClientOptions['onCall'];
  limiter?: ApiClientOptions['limiter'];
  timeoutMs?: number;
}

/** One page of a listing, as the sync engine's ReferralSource port takes it (sync/types.ts). */
export interface ReferralPage {
  /**
   * Valid referral versions not delivered before (by id + eTag); the engine derives their lead
   * kind.
   */
  referrals: Referral[];
  /** Items the schema refused; their page-mates still flow. */
  invalid: InvalidReferral[];
  /**
   * Highest updatedDateTime on this page, over every item with a readable one (valid, invalid or
   * repeated), so that a malformed referral never pins the caller's watermark.
   */
  highWatermark: string | null;
}

export interface RequestOptions {
  signal?: AbortSignal;
}
