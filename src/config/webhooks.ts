// The `webhooks` config section: listener, callback verification, the silent-webhook watch.
import { z } from 'zod';
import { booleanField, httpUrl, intField, nonEmptyString } from './fields.js';

/** Where Partner Center's registration API lives (partner-center-webhooks.md, "Webhook APIs"). */
const REGISTRATION_URL = 'https://api.partnercenter.microsoft.com';
/** The certificate host of every documented callback sample (X-MS-Certificate-Url). */
const DOCUMENTED_CERTIFICATE_PREFIX = 'https://3psostorageacct.blob.core.windows.net/cert/';

export const webhooksConfigSchema = z.strictObject({
  /** Off by default: the route must be reachable from the internet (through a reverse proxy). */
  enabled: booleanField().default(false),
  /**
   * The listener's own address, separate from the health endpoint. Loopback: a reverse proxy
   * forwards to it.
   */
  host: nonEmptyString().default('127.0.0.1'),
  port: intField(0, 65_535).default(9465),
  /** The route the callbacks arrive on. */
  path: z
    .string()
    .regex(/^\/[A-Za-z0-9/_-]*$/, 'expected an absolute path such as /partner-center/webhooks')
    .default('/partner-center/webhooks'),
  /**
   * The public https URL Partner Center posts to (what `webhooks register` and re-registration
   * use).
   */
  publicUrl: httpUrl().optional(),
  registrationBaseUrl: httpUrl().default(REGISTRATION_URL),
  /**
   * A callback's X-MS-Certificate-Url must start with one of these (nothing else is ever fetched).
   */
  certificateUrlPrefixes: z.array(nonEmptyString()).min(1).default([DOCUMENTED_CERTIFICATE_PREFIX]),
  /**
   * PEM file of the certificates allowed to have issued the signing certificate (the Microsoft
   * issuing CAs);
   * absent: Node's bundled root certificates.
   */
  trustedIssuersFile: nonEmptyString().optional(),
  /** The subject organization (O=) the signing certificate must carry. */
  organization: nonEmptyString().default('Microsoft Corporation'),
  /** A callback whose ResourceChangeUtcDate is older than this is refused as a replay (401). */
  maxEventAgeSeconds: intField(1).default(900),
  /** Callbacks within this window make one early cycle. */
  coalesceMs: intField(0, 60_000).default(500),
  /**
   * Polls finding changes no callback announced for this long: warn once, alert, re-register if
   * allowed.
   */
  silenceMinutes: intField(1).default(30),
  /** Register `publicUrl` again when the webhooks went silent. */
  reregister: booleanField().default(false),
});

export type WebhooksConfig = z.output<typeof webhooksConfigSchema>;
