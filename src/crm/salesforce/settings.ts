// The Salesforce target's settings: one zod schema, for the config and the adapter.
import { z } from 'zod';
import { httpUrl, intField, nonEmptyString, secretString } from '../../config/fields.js';
import { ValidationError, type Issue } from '../../core/errors.js';
import { MAX_COLLECTION_RECORDS } from './facts.js';
/** Collection upserts (PATCH /composite/sobjects/{type}/{field}) need API 46.0 or later. */
export const SALESFORCE_MIN_API_VERSION = 46;
const API_VERSION_FORM = /^\d+\.\d$/;

// YAML reads `60.0` as the number 60 and "60" is common shorthand: both mean "60.0".
function apiVersionText(value: unknown): unknown {
  if (typeof value === 'number' && Number.isFinite(value)) return value.toFixed(1);
  if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) return `${value.trim()}.0`;
  return value;
}

const salesforceApiVersionSchema = z.preprocess(
  apiVersionText,
  z
    .string()
    .trim()
    .regex(API_VERSION_FORM, 'expected an API version like "60.0"')
    .refine(
      (version) => !API_VERSION_FORM.test(version) || Number(version) >= SALESFORCE_MIN_API_VERSION,
      `must be at least ${SALESFORCE_MIN_API_VERSION}.0 (collection upserts need it)`,
    ),
);

const SALESFORCE_LOGIN_URL = 'https://login.salesforce.com';
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

const salesforceJwtAuthSchema = z
  .strictObject({
    kind: z.literal('jwt'),
    clientId: nonEmptyString(),
    username: nonEmptyString(),
    /** The PEM text itself... */
    privateKey: secretString()
      .regex(PEM_PRIVATE_KEY, 'expected a PEM private key (-----BEGIN PRIVATE KEY-----)')
      .optional(),
    /** ...or a file holding it (relative to the working directory). */
    privateKeyFile: nonEmptyString().optional(),
    loginUrl: httpUrl().default(SALESFORCE_LOGIN_URL),
  })
  .superRefine(
    (auth, ctx) => {
      if (typeof auth !== 'object' || auth === null) return;
      const given = ['privateKey', 'privateKeyFile'].filter(
        (key) => (auth as Record<string, unknown>)[key] !== undefined,
      );
      if (given.length !== 1) {
        ctx.addIssue({
          code: 'custom',
          path: given.length === 0 ? ['privateKey'] : ['privateKeyFile'],
          message:
            given.length === 0
              ? 'required: privateKey or privateKeyFile'
              : 'give privateKey or privateKeyFile, not both',
        });
      }
    },
    { when: () => true },
  );

const salesforceAuthSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('accessToken'), token: secretString() }),
  // The client-credentials flow only works against the org's My Domain URL, so there is no default.
  z.strictObject({
    kind: z.literal('clientCredentials'),
    clientId: nonEmptyString(),
    clientSecret: secretString(),
    loginUrl: httpUrl(),
  }),
  salesforceJwtAuthSchema,
]);

export const salesforceSettingsSchema = z.strictObject({
  instanceUrl: httpUrl(),
  apiVersion: salesforceApiVersionSchema.default('60.0'),
  auth: salesforceAuthSchema,
  /** The Lead's External ID field holding the referral id. */
  externalIdField: z
    .string()
    .trim()
    .regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'expected a field API name like "PartnerReferralId__c"')
    .default('PartnerReferralId__c'),
  /** Records per collection call (Salesforce accepts at most 200). */
  batchSize: intField(1, MAX_COLLECTION_RECORDS).default(MAX_COLLECTION_RECORDS),
  limits: z
    .strictObject({
      /**
       * The share of the org's daily API request allocation (DailyApiRequests) leadbridge may see
       * used before it
       * stops its outcome reads until the allocation frees up; writes of new referrals go on.
       */
      maxDailyApiShare: z.number().gt(0).max(1).default(0.8),
    })
    .prefault({}),
});

export type SalesforceSettings = z.output<typeof salesforceSettingsSchema>;
export type SalesforceAuth = z.output<typeof salesforceAuthSchema>;

/**
 * Validates settings (raw or already parsed), reporting every problem at once with its path under
 * `where`.
 */
export function parseSalesforceSettings(input: unknown, where = 'settings'): SalesforceSettings {
  const result = salesforceSettingsSchema.safeParse(input);
  if (result.success) return result.data;
  const issues: Issue[] = result.error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  throw new ValidationError('CONFIG_INVALID', 'invalid Salesforce settings', issues);
}

/**
 * The settings with a relative private key file made absolute (the config loader calls this once).
 */
export function withResolvedKeyFile(
  settings: SalesforceSettings,
  resolve: (file: string) => string,
): SalesforceSettings {
  if (settings.auth.kind !== 'jwt' || !settings.auth.privateKeyFile) return settings;
  const auth = { ...settings.auth, privateKeyFile: resolve(settings.auth.privateKeyFile) };
  return { ...settings, auth };
}
