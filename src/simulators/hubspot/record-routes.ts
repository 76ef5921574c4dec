// Single-record routes (create, update by id or unique property) and the private apps' daily usage.
// Sources: developers.hubspot.com/docs/api-reference/legacy/crm/objects/deals/basic/create-deal
// (POST /crm/v3/objects/{objectType} with {properties}, 201; a deal needs dealname and dealstage,
// the pipeline defaults to the default one), .../deals/basic/update-deal (PATCH
// /crm/v3/objects/{objectType}/{id}[?idProperty=], 200, 404 OBJECT_NOT_FOUND for an unknown id),
// developers.hubspot.com/docs/api-reference/legacy/account/account-information/get-usage-details
// (GET /account-info/v3/api-usage/daily/private-apps: results[{name, usageLimit, currentUsage,
// collectedAt, fetchStatus, resetsAt}]).
import type { SimClock } from '../common/clock.js';
import type { SimRequest, SimResponse, SimRoute } from '../common/server.js';
import { HubSpotError, propertyValuesError, validationError } from './errors.js';
import { handle } from './batch.js';
import type { RateLimits } from './limits.js';
import { DEFAULT_PIPELINE, isObjectType, OBJECT_TYPES, type ObjectType } from './schema.js';
import type { HubSpotStore } from './store.js';
import { objectJson } from './values.js';

export interface RecordRouteContext {
  store: HubSpotStore;
  limits: RateLimits;
  clock: SimClock;
  countWrite(): void;
}

function typeOf(req: SimRequest): ObjectType {
  const name = req.params.objectType ?? '';
  if (!isObjectType(name))
    throw new HubSpotError(400, 'VALIDATION_ERROR', `Unable to infer object type from: ${name}`);
  return name;
}

function propertiesOf(req: SimRequest): Record<string, unknown> {
  const properties = (req.body as { properties?: unknown } | undefined)?.properties;
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties))
    throw validationError('Invalid input JSON: properties is required');
  return properties as Record<string, unknown>;
}

function create(context: RecordRouteContext, req: SimRequest): SimResponse {
  const type = typeOf(req);
  const given = propertiesOf(req);
  const values = context.store.validate(type, given);
  if (type === 'deals') {
    const missing = ['dealname', 'dealstage'].filter((name) => !values[name]);
    if (missing.length > 0)
      throw propertyValuesError(
        missing.map((name) => ({
          name,
          error: 'REQUIRED_PROPERTY',
          message: `${name} is required to create a deal`,
        })),
      );
    values.pipeline ||= DEFAULT_PIPELINE.id;
  }
  context.store.checkUnique(type, values, null);
  context.countWrite();
  const record = context.store.create(type, values);
  return { status: 201, body: objectJson(record, Object.keys(record.properties)) };
}

function update(context: RecordRouteContext, req: SimRequest): SimResponse {
  const type = typeOf(req);
  const idProperty = req.query.get('idProperty') ?? 'hs_object_id';
  const id = decodeURIComponent(req.params.id ?? '');
  const record = context.store.findBy(type, idProperty, id);
  if (!record)
    throw new HubSpotError(
      404,
      'OBJECT_NOT_FOUND',
      `Object not found. objectId are usually numeric. (${OBJECT_TYPES[type].singular} ${id})`,
    );
  const values = context.store.validate(type, propertiesOf(req));
  context.store.checkUnique(type, values, record.id);
  context.countWrite();
  context.store.update(record, values);
  return { status: 200, body: objectJson(record, Object.keys(record.properties)) };
}

/** The day's usage; the allocation resets at midnight (UTC here, the account's time zone there). */
function usage(context: RecordRouteContext): SimResponse {
  const now = context.clock.now();
  const resetsAt = new Date(
    Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1),
  );
  return {
    status: 200,
    body: {
      results: [
        {
          name: 'private-apps-api-calls-daily',
          usageLimit: context.limits.settings.daily,
          currentUsage: context.limits.dailyUsed,
          collectedAt: now.toISOString(),
          fetchStatus: 'SUCCESS',
          resetsAt: resetsAt.toISOString(),
        },
      ],
    },
  };
}

export function recordRoutes(context: RecordRouteContext): SimRoute[] {
  const objects = '/crm/v3/objects/(?<objectType>[a-z_0-9-]+)';
  return [
    {
      method: 'POST',
      pattern: new RegExp(`^${objects}$`),
      handler: handle((req) => create(context, req)),
    },
    {
      method: 'PATCH',
      pattern: new RegExp(`^${objects}/(?<id>[^/]+)$`),
      handler: handle((req) => update(context, req)),
    },
    {
      method: 'GET',
      pattern: /^\/account-info\/v3\/api-usage\/daily\/private-apps$/,
      handler: handle(() => usage(context)),
    },
  ];
}
