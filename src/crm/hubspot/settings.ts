// The HubSpot target's settings (zod): portal API base, private-app token or OAuth refresh, the
// referral id property.
import { z } from 'zod';
import { ValidationError, type Issue } from '../../core/errors.js';
import { httpUrl, intField, nonEmptyString, secretString } from '../../config/fields.js';
import { BATCH_MAX, SEARCH_PAGE_MAX, TEN_SECOND_LIMIT } from './facts.js';

const PROPERTY_NAME = /^[a-z][a-z0-9_]*$/;

const hubspotAuthSchema = z.discriminatedUnion('kind', [
  /** A private app's access token (pat-na1-...): it does not expire. */
  z.strictObject({ kind: z.literal('privateApp'), token: secretString() }),
  /**
   * A public app installed in the portal: access tokens (30 minutes) are refreshed with the refresh
   * token.
   */
  z.strictObject({
    kind: z.literal('oauth'),
    clientId: nonEmptyString(),
    clientSecret: secretString(),
    refreshToken: secretString(),
  }),
]);

export const hubspotSettingsSchema = z.strictObject({
  /** The API root; the official client's default is https://api.hubapi.com. */
  baseUrl: httpUrl().default('https://api.hubapi.com'),
  auth: hubspotAuthSchema,
  /** The custom single-line text property with unique values, on contacts, companies and deals. */
  referralIdProperty: z
    .string()
    .trim()
    .regex(PROPERTY_NAME, 'expected a property internal name like "leadbridge_referral_id"')
    .default('leadbridge_referral_id'),
  /** The pipeline and stage a new deal starts in (later writes never move a deal's stage). */
  pipeline: nonEmptyString().default('default'),
  newDealStage: nonEmptyString().default('appointmentscheduled'),
  /** Inputs per batch upsert (HubSpot takes at most 100). */
  batchSize: intField(1, BATCH_MAX).default(BATCH_MAX),
  /** Results per search page (HubSpot serves at most 200). */
  searchPageSize: intField(1, SEARCH_PAGE_MAX).default(SEARCH_PAGE_MAX),
  /**
   * Requests the adapter starts in any 10 seconds, all calls counted: the portal's rolling limit
   * (100 for private apps on Free and Starter, more on higher tiers or with the API limit
   * increase).
   */
  requestsPer10Seconds: intField(1, 10_000).default(TEN_SECOND_LIMIT),
  /**
   * The share of the daily request allocation (private apps) past which outcome and co-sell reads
   * wait until the allocation frees up; writes of new referrals go on.
   */
  maxDailyApiShare: z.number().gt(0).max(1).default(0.8),
});

export type HubSpotSettings = z.output<typeof hubspotSettingsSchema>;

/** Validates settings, reporting every problem at once with its path under `where`. */
export function parseHubSpotSettings(input: unknown, where = 'settings'): HubSpotSettings {
  const result = hubspotSettingsSchema.safeParse(input);
  if (result.success) return result.data;
  const issues: Issue[] = result.error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  throw new ValidationError('CONFIG_INVALID', 'invalid HubSpot settings', issues);
}
