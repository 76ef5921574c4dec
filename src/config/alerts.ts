// The `alerts:` config section (zod 4): Microsoft Graph access, who sends and who receives, and what is alerted.
import { z } from 'zod';
import { booleanField, entraClientCredentialsSchema, httpUrl, intField, nonEmptyString, staticAuthSchema } from './fields.js';

export const GRAPH_URL = 'https://graph.microsoft.com';
export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
export const DEFAULT_EXPIRY_WARNING_DAYS = 2;

export const graphAccessSchema = z.strictObject({
  baseUrl: httpUrl().default(GRAPH_URL),
  auth: z.discriminatedUnion('kind', [
    staticAuthSchema,
    entraClientCredentialsSchema.extend({ scope: nonEmptyString().default(GRAPH_SCOPE) }),
  ]),
});

const enabledAlertsSchema = z.strictObject({
  enabled: z.literal(true),
  graph: graphAccessSchema,
  /** The mailbox that sends (user id or userPrincipalName): POST /users/{sender}/sendMail. */
  sender: nonEmptyString(),
  recipients: z.array(z.string().trim().pipe(z.email('expected an email address'))).min(1, 'name at least one recipient'),
  /** Also post each alert to this Teams channel. */
  teamsChannel: z.strictObject({ teamId: nonEmptyString(), channelId: nonEmptyString() }).optional(),
  /** Warn when an unanswered lead has at most this many days left before Partner Center expires it (14 days in all). */
  expiryWarningDays: intField(0, 14).default(DEFAULT_EXPIRY_WARNING_DAYS),
  /** One mail listing the referrals quarantined since the last digest. */
  quarantineDigest: booleanField().default(true),
});

// A switched-off section may be left half filled in (an operator turning alerts off should not have to delete it).
const disabledAlertsSchema = z.looseObject({ enabled: z.literal(false) });

/** `enabled` may be left out (meaning true) or come from ${ENV} as "true"/"false". */
function withEnabledFlag(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const section = value as Record<string, unknown>;
  const flag = section.enabled;
  if (flag === undefined) return { ...section, enabled: true };
  if (typeof flag === 'string' && /^(true|false)$/i.test(flag.trim())) return { ...section, enabled: flag.trim().toLowerCase() === 'true' };
  return value;
}

export const alertsConfigSchema = z.preprocess(withEnabledFlag, z.discriminatedUnion('enabled', [enabledAlertsSchema, disabledAlertsSchema]));

export type AlertsConfig = z.output<typeof alertsConfigSchema>;
export type EnabledAlertsConfig = z.output<typeof enabledAlertsSchema>;
export type GraphAccessConfig = z.output<typeof graphAccessSchema>;
