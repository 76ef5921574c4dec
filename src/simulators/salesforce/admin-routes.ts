// The simulator's /_sim/ routes for Salesforce: inspect records and act as a CRM user (convert,
// status, close).
import { z } from 'zod';
import type { SimRequest, SimResponse, SimRoute } from '../common/server.js';
import { parseDateOnly } from './dates.js';
import { SalesforceApiError, notFound } from './errors.js';
import { decodeSegment, json, route } from './route-helpers.js';
import { ACCOUNT, LEAD, OPPORTUNITY, findField, type SObjectSpec } from './schema.js';
import { systemInput, type SalesforceStore, type SaveResult } from './store.js';
import { deserializeRecord, recordToJson, type SObjectRow } from './values.js';

export interface AdminContext {
  store: SalesforceStore;
  /** The API version used for the records' attributes.url. */
  version: string;
  expireSessions: () => void;
  setApiUsage: (used: number) => void;
  apiUsage: () => { used: number; limit: number };
}

const convertSchema = z.object({
  opportunityName: z.string().min(1).optional(),
  amount: z.number().nonnegative().optional(),
  closeDate: z
    .string()
    .refine((text) => parseDateOnly(text) !== null, 'closeDate must be a YYYY-MM-DD calendar date')
    .optional(),
});
const statusSchema = z.object({ status: z.string().min(1), reason: z.string().min(1).optional() });
const closeSchema = z.object({ won: z.boolean(), reason: z.string().min(1).optional() });
const usageSchema = z.object({ used: z.number().int().nonnegative() });

function parseBody<T>(schema: z.ZodType<T>, req: SimRequest): T {
  const parsed = schema.safeParse(req.body ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`,
  );
  throw new SalesforceApiError(
    400,
    'INVALID_INPUT',
    `invalid ${req.method} ${req.path} body: ${problems.join('; ')}`,
  );
}

function rowOrNotFound(store: SalesforceStore, object: SObjectSpec, id: string): SObjectRow {
  const row = store.get(object, id);
  if (!row) throw notFound(`No ${object.name} with id ${id}`);
  return row;
}

function recordsOf(ctx: AdminContext, object: SObjectSpec): SimResponse {
  const records = [...ctx.store.rows(object)].map((row) =>
    recordToJson(object, row, object.fields, ctx.version),
  );
  return json({ totalSize: records.length, records });
}

/** Applies a save and answers the saved record, or the save's error as the API would. */
function savedRecord(ctx: AdminContext, object: SObjectSpec, result: SaveResult): SimResponse {
  if (!result.ok) throw SalesforceApiError.fromRecordError(400, result.error);
  return json(
    recordToJson(object, rowOrNotFound(ctx.store, object, result.id), object.fields, ctx.version),
  );
}

/**
 * GET list, GET one and PATCH fields (with the API's checks) for one object under /_sim/{plural}.
 */
function recordRoutes(ctx: AdminContext, object: SObjectSpec, plural: string): SimRoute[] {
  const one = `^/_sim/${plural}/(?<id>[A-Za-z0-9]+)/?$`;
  return [
    route('GET', `^/_sim/${plural}/?$`, () => recordsOf(ctx, object)),
    route('GET', one, (req) =>
      json(
        recordToJson(
          object,
          rowOrNotFound(ctx.store, object, req.params.id ?? ''),
          object.fields,
          ctx.version,
        ),
      ),
    ),
    route('PATCH', one, (req) => {
      const row = rowOrNotFound(ctx.store, object, req.params.id ?? '');
      const input = deserializeRecord(object, req.body ?? {});
      return savedRecord(ctx, object, ctx.store.update(object, String(row.Id), input));
    }),
  ];
}

function leadActionRoutes(ctx: AdminContext): SimRoute[] {
  const referralField = findField(LEAD, 'PartnerReferralId__c');
  return [
    route('GET', '^/_sim/leads/by-referral/(?<referralId>[^/]+)/?$', (req) => {
      const referralId = decodeSegment(req.params.referralId ?? '');
      const [row] = referralField
        ? ctx.store.findByExternalId(LEAD, referralField, referralId)
        : [];
      if (!row) throw notFound(`No Lead with PartnerReferralId__c ${referralId}`);
      return json(recordToJson(LEAD, row, LEAD.fields, ctx.version));
    }),
    route('POST', '^/_sim/leads/(?<id>[A-Za-z0-9]+)/convert/?$', (req) => {
      const options = parseBody(convertSchema, req);
      const conversion = ctx.store.convertLead(req.params.id ?? '', options);
      const show = (object: SObjectSpec, id: string) =>
        recordToJson(object, rowOrNotFound(ctx.store, object, id), object.fields, ctx.version);
      return json({
        ...conversion,
        lead: show(LEAD, conversion.leadId),
        account: show(ACCOUNT, conversion.accountId),
        opportunity: show(OPPORTUNITY, conversion.opportunityId),
      });
    }),
    route('POST', '^/_sim/leads/(?<id>[A-Za-z0-9]+)/status/?$', (req) => {
      const { status, reason } = parseBody(statusSchema, req);
      if (status === 'Closed - Converted') {
        throw new SalesforceApiError(
          400,
          'INVALID_INPUT',
          'a lead reaches Closed - Converted through POST /_sim/leads/{id}/convert',
        );
      }
      const row = rowOrNotFound(ctx.store, LEAD, req.params.id ?? '');
      const input = deserializeRecord(LEAD, {
        Status: status,
        ...(reason ? { DeclineReason__c: reason } : {}),
      });
      return savedRecord(ctx, LEAD, ctx.store.update(LEAD, String(row.Id), input));
    }),
  ];
}

function opportunityActionRoutes(ctx: AdminContext): SimRoute[] {
  return [
    route('POST', '^/_sim/opportunities/(?<id>[A-Za-z0-9]+)/close/?$', (req) => {
      const { won, reason } = parseBody(closeSchema, req);
      const row = rowOrNotFound(ctx.store, OPPORTUNITY, req.params.id ?? '');
      const values = {
        StageName: won ? 'Closed Won' : 'Closed Lost',
        ...(reason && !won ? { LossReason__c: reason } : {}),
      };
      return savedRecord(
        ctx,
        OPPORTUNITY,
        ctx.store.update(OPPORTUNITY, String(row.Id), systemInput(OPPORTUNITY, values)),
      );
    }),
  ];
}

function sessionRoutes(ctx: AdminContext): SimRoute[] {
  return [
    route('POST', '^/_sim/expire-sessions/?$', () => {
      ctx.expireSessions();
      return { status: 204 };
    }),
    route('GET', '^/_sim/api-usage/?$', () => json(ctx.apiUsage())),
    route('POST', '^/_sim/api-usage/?$', (req) => {
      ctx.setApiUsage(parseBody(usageSchema, req).used);
      return json(ctx.apiUsage());
    }),
  ];
}

/** Every Salesforce-specific admin route; action routes come before the generic `/{id}` ones. */
export function adminRoutes(ctx: AdminContext): SimRoute[] {
  return [
    ...leadActionRoutes(ctx),
    ...opportunityActionRoutes(ctx),
    ...recordRoutes(ctx, LEAD, 'leads'),
    ...recordRoutes(ctx, OPPORTUNITY, 'opportunities'),
    ...recordRoutes(ctx, ACCOUNT, 'accounts'),
    ...sessionRoutes(ctx),
  ];
}
