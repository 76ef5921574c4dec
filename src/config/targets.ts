// Config of the CRM targets: one schema per CRM kind, joined by the `kind` discriminator; names must be unique.
import { z } from 'zod';
import {
  booleanField,
  entraClientCredentialsSchema,
  httpUrl,
  intField,
  nonEmptyString,
  secretString,
  staticAuthSchema,
} from './fields.js';

// ---- Dynamics 365 (Dataverse Web API) ----

const dynamics365SettingsSchema = z
  .strictObject({
    /** The org URL (https://org.crm.dynamics.com); the API root is url + /api/data/<apiVersion>/. */
    url: httpUrl(),
    apiVersion: z
      .string()
      .trim()
      .regex(/^v\d+\.\d+$/, 'expected a Web API version like "v9.2"')
      .default('v9.2'),
    auth: z.discriminatedUnion('kind', [staticAuthSchema, entraClientCredentialsSchema]),
    /** The alternate key (a custom column holding the referral id) that upserts address. */
    alternateKey: z
      .string()
      .trim()
      .regex(/^[a-z_][a-z0-9_]*$/, 'expected a column logical name like "lb_referralid"')
      .default('lb_referralid'),
    /** Operations per $batch request (Dataverse refuses more than 1000). */
    batchSize: intField(1, 1000).default(500),
    /** Rows per page of a read (Prefer: odata.maxpagesize; Dataverse serves at most 5000). */
    readPageSize: intField(1, 5000).default(500),
    /** Parallel requests (Dataverse allows 52 concurrent requests per user). */
    concurrency: intField(1, 52).default(4),
  })
  .transform((settings) => ({
    ...settings,
    // The token audience is the org itself unless the admin says otherwise.
    auth:
      settings.auth.kind === 'clientCredentials'
        ? {
            ...settings.auth,
            scope: settings.auth.scope ?? `${new URL(settings.url).origin}/.default`,
          }
        : settings.auth,
  }));

// ---- Salesforce (REST API through jsforce) ----

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
  batchSize: intField(1, 200).default(200),
  limits: z
    .strictObject({
      /**
       * The share of the org's daily API request allocation (DailyApiRequests) leadbridge may see used before it
       * stops its outcome reads until the allocation frees up; writes of new referrals go on.
       */
      maxDailyApiShare: z.number().gt(0).max(1).default(0.8),
    })
    .prefault({}),
});

// ---- the target list ----

const targetNameSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
    'expected letters, digits, "-", "_" or "." (starting with a letter or digit)',
  );

/** The fields every target has, around its CRM-specific settings. */
function targetSchema<Kind extends string, Settings extends z.ZodType>(
  kind: Kind,
  settings: Settings,
) {
  return z.strictObject({
    name: targetNameSchema,
    kind: z.literal(kind),
    enabled: booleanField().default(true),
    /** A field-mapping file (relative to the working directory); the CRM's default mapping when absent. */
    mapping: nonEmptyString().optional(),
    settings,
  });
}

const dynamics365TargetSchema = targetSchema('dynamics365', dynamics365SettingsSchema);
const salesforceTargetSchema = targetSchema('salesforce', salesforceSettingsSchema);

const targetConfigSchema = z.discriminatedUnion('kind', [
  dynamics365TargetSchema,
  salesforceTargetSchema,
]);

export const targetsSchema = z.array(targetConfigSchema).superRefine(
  (targets, ctx) => {
    // Runs even when some targets are invalid, so a duplicate is reported together with everything else.
    if (!Array.isArray(targets)) return;
    const firstIndexByName = new Map<string, number>();
    targets.forEach((target: unknown, index) => {
      const name = (target as { name?: unknown } | null)?.name;
      if (typeof name !== 'string') return;
      const first = firstIndexByName.get(name);
      if (first === undefined) firstIndexByName.set(name, index);
      else
        ctx.addIssue({
          code: 'custom',
          path: [index, 'name'],
          message: `duplicate target name "${name}" (also used by targets[${first}])`,
        });
    });
  },
  { when: () => true },
);

export type SalesforceSettings = z.output<typeof salesforceSettingsSchema>;
export type SalesforceAuth = z.output<typeof salesforceAuthSchema>;
export type TargetConfig = z.output<typeof targetConfigSchema>;
