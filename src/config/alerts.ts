// The `alerts:` config section (zod 4): Microsoft Graph access, who sends and who receives, and
// what is alerted.
import { z } from 'zod';
import {
  booleanField,
  entraClientCredentialsSchema,
  httpUrl,
  intField,
  nonEmptyString,
  staticAuthSchema,
} from './fields.js';

const GRAPH_URL = 'https://graph.microsoft.com';
const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
const DEFAULT_EXPIRY_WARNING_DAYS = 2;
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);

const graphAccessSchema = z.strictObject({
  // The Graph client sends the token only over https, or plain http to a loopback simulator.
  baseUrl: httpUrl()
    .refine((url) => url.startsWith('https://') || LOOPBACK_HOSTS.has(new URL(url).hostname), {
      message:
        'must be an https URL (plain http only for a loopback simulator): the Graph token ' +
        'would travel in clear',
    })
    .default(GRAPH_URL),
  auth: z.discriminatedUnion('kind', [
    staticAuthSchema,
    entraClientCredentialsSchema.extend({ scope: nonEmptyString().default(GRAPH_SCOPE) }),
  ]),
});

/**
 * Hosts of Office 365 connector incoming webhooks, which Microsoft is retiring in favour of
 * Workflows.
 */
const RETIRED_CONNECTOR_HOST = /(^|\.)webhook\.office\.com$|^outlook\.office(365)?\.com$/i;

/**
 * Why a Teams webhook URL cannot work, or null. The URL is a secret (its sig= signature), so no
 * message repeats it.
 */
function teamsWebhookUrlProblem(value: string): string | null {
  if (value === '')
    return (
      'expected the URL of a Teams Workflows webhook, got an empty value (is its ' +
      'environment variable set?)'
    );
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'expected the URL of a Teams Workflows webhook (https://…); this is not a URL';
  }
  if (RETIRED_CONNECTOR_HOST.test(url.hostname)) {
    return (
      'this is an Office 365 connector incoming webhook, which Microsoft is retiring; add ' +
      'the Workflows template "Post to a channel when a webhook request is received" to the ' +
      'channel and use its URL'
    );
  }
  if (
    url.protocol !== 'https:' &&
    !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))
  ) {
    return 'must be an https URL (plain http only for a loopback simulator)';
  }
  if (!url.searchParams.get('sig'))
    return 'has no sig= signature: copy the whole URL that Workflows shows for the webhook trigger';
  return null;
}

/**
 * Teams alerts go through a Workflows webhook: Graph refuses app-only channel posts (see README,
 * "Alerts").
 */
const teamsWebhookSchema = z.strictObject({
  webhookUrl: z
    .string({ error: 'expected the URL of a Teams Workflows webhook' })
    .trim()
    .superRefine((value, ctx) => {
      const problem = teamsWebhookUrlProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
});

const enabledAlertsSchema = z.strictObject({
  enabled: z.literal(true),
  graph: graphAccessSchema,
  /** The mailbox that sends (user id or userPrincipalName): POST /users/{sender}/sendMail. */
  sender: nonEmptyString(),
  recipients: z
    .array(z.string().trim().pipe(z.email('expected an email address')))
    .min(1, 'name at least one recipient'),
  /** Also post each alert to a Teams channel, through that channel's Workflows webhook. */
  teams: teamsWebhookSchema.optional(),
  /**
   * Replaced by teams.webhookUrl: a channel post with the app's Graph token is refused (401)
   * outside migrations.
   */
  teamsChannel: z
    .custom<never>(() => false, {
      message:
        'teamsChannel was replaced by teams.webhookUrl: Graph refuses channel posts made with ' +
        'an application token; set up a Workflows webhook for the channel (README, "Alerts")',
    })
    .optional(),
  /**
   * Warn when an unanswered lead has at most this many days left before Partner Center expires it
   * (14 days in all).
   */
  expiryWarningDays: intField(0, 14).default(DEFAULT_EXPIRY_WARNING_DAYS),
  /** One mail listing the referrals quarantined since the last digest. */
  quarantineDigest: booleanField().default(true),
});

// A switched-off section may be left half filled in (an operator turning alerts off should not have
// to delete it).
const disabledAlertsSchema = z.looseObject({ enabled: z.literal(false) });

/** `enabled` may be left out (meaning true) or come from ${ENV} as "true"/"false". */
function withEnabledFlag(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const section = value as Record<string, unknown>;
  const flag = section.enabled;
  if (flag === undefined) return { ...section, enabled: true };
  if (typeof flag === 'string' && /^(true|false)$/i.test(flag.trim()))
    return { ...section, enabled: flag.trim().toLowerCase() === 'true' };
  return value;
}

export const alertsConfigSchema = z.preprocess(
  withEnabledFlag,
  z.discriminatedUnion('enabled', [enabledAlertsSchema, disabledAlertsSchema]),
);

export type AlertsConfig = z.output<typeof alertsConfigSchema>;
export type EnabledAlertsConfig = z.output<typeof enabledAlertsSchema>;
