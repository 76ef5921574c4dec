// The simulator's /_sim/ routes: list records, act as a salesperson (deal stage, lead status), set
// limits.
import { z } from 'zod';
import type { SimRequest, SimResponse, SimRoute } from '../common/server.js';
import { HubSpotError } from './errors.js';
import { handle } from './batch.js';
import type { LimitSettings, RateLimits } from './limits.js';
import { isObjectType, type ObjectType } from './schema.js';
import type { HubSpotStore } from './store.js';
import { objectJson } from './values.js';

export interface AdminContext {
  store: HubSpotStore;
  limits: RateLimits;
  writeCalls: () => number;
  expireOAuthTokens: () => void;
}

const stageSchema = z.object({
  stage: z.string().min(1),
  closedLostReason: z.string().optional(),
  closedWonReason: z.string().optional(),
});
const leadStatusSchema = z.object({
  status: z.string().min(1),
  declineReason: z.string().optional(),
});
const propertiesSchema = z.object({ properties: z.record(z.string(), z.string()) });
const limitsSchema = z.object({
  perTenSeconds: z.number().int().positive().optional(),
  daily: z.number().int().positive().optional(),
  searchPerSecond: z.number().int().positive().optional(),
  dailyUsed: z.number().int().nonnegative().optional(),
});

function parse<T>(schema: z.ZodType<T>, req: SimRequest): T {
  const parsed = schema.safeParse(req.body ?? {});
  if (parsed.success) return parsed.data;
  throw new HubSpotError(
    400,
    'VALIDATION_ERROR',
    parsed.error.issues.map((i) => i.message).join('; '),
  );
}

function typeOf(req: SimRequest): ObjectType {
  const name = req.params.objectType ?? '';
  if (!isObjectType(name))
    throw new HubSpotError(404, 'OBJECT_NOT_FOUND', `no object type ${name}`);
  return name;
}

/**
 * Changes a record as a user in HubSpot would: values validated against the properties, stamp
 * moved.
 */
function edit(
  context: AdminContext,
  type: ObjectType,
  id: string,
  values: Record<string, string>,
): SimResponse {
  const record = context.store.get(type, id);
  if (!record) throw new HubSpotError(404, 'OBJECT_NOT_FOUND', `no ${type} record ${id}`);
  const clean = context.store.validate(type, values);
  context.store.update(record, clean);
  return { status: 200, body: objectJson(record, Object.keys(record.properties)) };
}

export function adminRoutes(context: AdminContext): SimRoute[] {
  return [
    {
      method: 'GET',
      pattern: /^\/_sim\/objects\/(?<objectType>[a-z]+)$/,
      handler: handle((req) => {
        const type = typeOf(req);
        const results = context.store.list(type).map((record) => ({
          ...objectJson(record, Object.keys(record.properties)),
          associations: {
            contacts: context.store.associated(type, record.id, 'contacts'),
            companies: context.store.associated(type, record.id, 'companies'),
            deals: context.store.associated(type, record.id, 'deals'),
          },
        }));
        return { status: 200, body: { results } };
      }),
    },
    {
      method: 'PATCH',
      pattern: /^\/_sim\/objects\/(?<objectType>[a-z]+)\/(?<id>\d+)$/,
      handler: handle((req) =>
        edit(context, typeOf(req), req.params.id ?? '', parse(propertiesSchema, req).properties),
      ),
    },
    {
      method: 'POST',
      pattern: /^\/_sim\/deals\/(?<id>\d+)\/stage$/,
      handler: handle((req) => {
        const body = parse(stageSchema, req);
        return edit(context, 'deals', req.params.id ?? '', {
          dealstage: body.stage,
          ...(body.closedLostReason !== undefined
            ? { closed_lost_reason: body.closedLostReason }
            : {}),
          ...(body.closedWonReason !== undefined
            ? { closed_won_reason: body.closedWonReason }
            : {}),
        });
      }),
    },
    {
      method: 'POST',
      pattern: /^\/_sim\/contacts\/(?<id>\d+)\/lead-status$/,
      handler: handle((req) => {
        const body = parse(leadStatusSchema, req);
        return edit(context, 'contacts', req.params.id ?? '', {
          hs_lead_status: body.status,
          ...(body.declineReason !== undefined
            ? { leadbridge_decline_reason: body.declineReason }
            : {}),
        });
      }),
    },
    {
      method: 'PUT',
      pattern: /^\/_sim\/limits$/,
      handler: handle((req) => {
        const { dailyUsed, ...settings } = parse(limitsSchema, req);
        context.limits.settings = {
          ...context.limits.settings,
          ...(settings as Partial<LimitSettings>),
        };
        if (dailyUsed !== undefined) context.limits.dailyUsed = dailyUsed;
        return {
          status: 200,
          body: { ...context.limits.settings, dailyUsed: context.limits.dailyUsed },
        };
      }),
    },
    {
      method: 'GET',
      pattern: /^\/_sim\/writes$/,
      handler: () => ({ status: 200, body: { writeCalls: context.writeCalls() } }),
    },
    {
      method: 'POST',
      pattern: /^\/_sim\/oauth\/expire$/,
      handler: () => (context.expireOAuthTokens(), { status: 204 }),
    },
  ];
}
