// The Salesforce target's connection settings: validated with the config's own schema (config/targets.ts), not a second one.
import { ValidationError, type Issue } from '../../core/errors.js';
import {
  salesforceSettingsSchema,
  type SalesforceAuth,
  type SalesforceSettings,
} from '../../config/targets.js';

export type { SalesforceAuth, SalesforceSettings };

/** Validates settings (raw or already parsed), reporting every problem at once with its path under `where`. */
export function parseSalesforceSettings(input: unknown, where = 'settings'): SalesforceSettings {
  const result = salesforceSettingsSchema.safeParse(input);
  if (result.success) return result.data;
  const issues: Issue[] = result.error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  throw new ValidationError('CONFIG_INVALID', 'invalid Salesforce settings', issues);
}
