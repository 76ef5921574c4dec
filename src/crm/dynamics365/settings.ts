// The Dynamics 365 target's connection settings (targets[].settings): the zod schema is the source of truth.
import { z } from 'zod';
import { ValidationError, type Issue } from '../../core/errors.js';
import { CHANGE_PAGE_SIZE, MAX_BATCH_OPERATIONS } from './facts.js';

const staticAuthSchema = z.strictObject({
  kind: z.literal('static'),
  token: z.string().min(1),
});

const clientCredentialsAuthSchema = z.strictObject({
  kind: z.literal('clientCredentials'),
  tenantId: z.string().min(1),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  /** Defaults to `<url>/.default`. */
  scope: z.string().min(1).optional(),
  /** Defaults to https://login.microsoftonline.com (sovereign clouds differ). */
  authorityHost: z.url().optional(),
});

export const dynamicsAuthSchema = z.discriminatedUnion('kind', [
  staticAuthSchema,
  clientCredentialsAuthSchema,
]);

export const dynamicsSettingsSchema = z.strictObject({
  /** The organisation URL, e.g. https://contoso.crm.dynamics.com; the API root is url + /api/data/ + apiVersion + /. */
  url: z.url({ protocol: /^https?$/ }),
  apiVersion: z
    .string()
    .regex(/^v\d+\.\d+$/, 'must look like v9.2')
    .default('v9.2'),
  auth: dynamicsAuthSchema,
  /** The lead column that holds the referral id and is defined as an alternate key. */
  alternateKey: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a column logical name')
    .default('lb_referralid'),
  /** Records per $batch call. */
  batchSize: z.number().int().min(1).max(MAX_BATCH_OPERATIONS).default(500),
  /** Rows per page of a read (`Prefer: odata.maxpagesize`; Dataverse serves at most 5000). */
  readPageSize: z.number().int().min(1).max(5000).default(CHANGE_PAGE_SIZE),
  /** $batch calls in flight at once (Dataverse allows 52 concurrent requests per user). */
  concurrency: z.number().int().min(1).max(52).default(4),
});

export type DynamicsSettings = z.infer<typeof dynamicsSettingsSchema>;
export type DynamicsSettingsInput = z.input<typeof dynamicsSettingsSchema>;
export type DynamicsAuth = z.infer<typeof dynamicsAuthSchema>;

/** Validates settings, reporting every problem at once with its path under `where`. */
export function parseDynamicsSettings(input: unknown, where = 'settings'): DynamicsSettings {
  const result = dynamicsSettingsSchema.safeParse(input);
  if (result.success) return result.data;
  const issues: Issue[] = result.error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  throw new ValidationError('CONFIG_INVALID', 'invalid Dynamics 365 settings', issues);
}

/** The Web API root, always ending in a slash. */
export function apiRootOf(settings: Pick<DynamicsSettings, 'url' | 'apiVersion'>): string {
  return `${orgUrlOf(settings)}/api/data/${settings.apiVersion}/`;
}

/** The organisation URL without a trailing slash (also the token audience). */
export function orgUrlOf(settings: Pick<DynamicsSettings, 'url'>): string {
  return settings.url.replace(/\/+$/, '');
}
