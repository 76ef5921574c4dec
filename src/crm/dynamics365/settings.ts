// The Dynamics 365 target's settings: one zod schema, for the config and the adapter.
import { z } from 'zod';
import {
  entraClientCredentialsSchema,
  httpUrl,
  intField,
  staticAuthSchema,
} from '../../config/fields.js';
import { ValidationError, type Issue } from '../../core/errors.js';
import { CHANGE_PAGE_SIZE, MAX_BATCH_OPERATIONS } from './facts.js';

export const dynamicsSettingsSchema = z
  .strictObject({
    /**
     * The org URL (https://org.crm.dynamics.com); the API root is url + /api/data/<apiVersion>/.
     */
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
    batchSize: intField(1, MAX_BATCH_OPERATIONS).default(500),
    /** Rows per page of a read (Prefer: odata.maxpagesize; Dataverse serves at most 5000). */
    readPageSize: intField(1, 5000).default(CHANGE_PAGE_SIZE),
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

export type DynamicsSettings = z.output<typeof dynamicsSettingsSchema>;

/**
 * Validates settings (raw or already parsed), reporting every problem at once with its path under
 * `where`.
 */
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
