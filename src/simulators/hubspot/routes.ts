// The CRM API routes: objects batch upsert / read and search, properties, pipelines, v4 default
// associations.
// Sources:
// developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/upsert-contacts
// (inputs of
// {idProperty, id, properties}, at most 100; results with `new`), .../batch/read-contacts
// (idProperty, 207 with
// OBJECT_NOT_FOUND for missing ids), developers.hubspot.com/docs/api-reference/crm-associations-v4
// (batch
// associate default), .../crm/properties and .../crm/pipelines.
import type { Random } from '../common/random.js';
import type { SimRequest, SimResponse, SimRoute } from '../common/server.js';
import { batchResponse, DEFAULT_TYPE_IDS, handle, inputsOf, now, objectType } from './batch.js';
import { batchCreate } from './batch-create.js';
import { HubSpotError, validationError } from './errors.js';
import { search } from './search.js';
import {
  DEFAULT_PIPELINE,
  isObjectType,
  OBJECT_TYPES,
  propertyJson,
  type ObjectType,
} from './schema.js';
import type { HubSpotStore, StoredObject } from './store.js';
import { objectJson } from './values.js';

export interface RouteContext {
  store: HubSpotStore;
  random: Random;
  /** Counts a request that changes records (bench: write calls per referral). */
  countWrite(): void;
}

interface UpsertInput {
  id: string;
  idProperty: string;
  properties: Record<string, unknown>;
}

/**
 * The whole batch is checked before anything is written: one invalid input fails the call (400 or
 * 409).
 */
function upsert(context: RouteContext, req: SimRequest): SimResponse {
  const startedAt = now();
  const type = objectType(req);
  const inputs = inputsOf(req).map((raw, index) => upsertInput(context.store, type, raw, index));
  const seen = new Set<string>();
  const duplicates = inputs.filter((i) => seen.size === seen.add(i.id).size).map((i) => i.id);
  if (duplicates.length > 0)
    throw validationError(`Duplicate IDs found in batch input: [${duplicates.join(', ')}]`);
  const planned = inputs.map((input) => {
    const values = context.store.validate(type, input.properties);
    const existing = context.store.findBy(type, input.idProperty, input.id);
    context.store.checkUnique(type, values, existing?.id ?? null);
    return { input, values, existing };
  });
  context.countWrite();
  const results = planned.map(({ input, values, existing }) => {
    let record: StoredObject;
    if (existing) context.store.update((record = existing), values);
    else record = context.store.create(type, { ...values, [input.idProperty]: input.id });
    return objectJson(record, Object.keys(record.properties), { new: existing === undefined });
  });
  return batchResponse(results, startedAt);
}

function upsertInput(
  store: HubSpotStore,
  type: ObjectType,
  raw: unknown,
  index: number,
): UpsertInput {
  const input = (raw ?? {}) as Partial<UpsertInput>;
  const where = `inputs[${index}]`;
  if (typeof input.id !== 'string' || input.id === '')
    throw validationError(`${where}.id is required`);
  if (typeof input.idProperty !== 'string')
    throw validationError(`${where}.idProperty is required for an upsert`);
  const definition = store.definition(type, input.idProperty);
  if (!definition?.hasUniqueValue && !(type === 'contacts' && input.idProperty === 'email')) {
    throw validationError(
      `${input.idProperty} is not a unique property of ${type}: upserts need a property with ` +
        `unique values`,
    );
  }
  if (typeof input.properties !== 'object' || input.properties === null)
    throw validationError(`${where}.properties is required`);
  return input as UpsertInput;
}

function batchRead(context: RouteContext, req: SimRequest): SimResponse {
  const startedAt = now();
  const type = objectType(req);
  const body = (req.body ?? {}) as { idProperty?: string; properties?: string[] };
  const idProperty = body.idProperty ?? 'hs_object_id';
  const inputs = inputsOf(req).map((raw) => String((raw as { id?: unknown }).id ?? ''));
  const properties = ['hs_object_id', 'createdate', ...(body.properties ?? [])];
  const found: unknown[] = [];
  const missing: string[] = [];
  for (const id of inputs) {
    const record = context.store.findBy(type, idProperty, id);
    if (record) found.push(objectJson(record, properties));
    else missing.push(id);
  }
  const errors =
    missing.length > 0
      ? [
          {
            status: 'error',
            category: 'OBJECT_NOT_FOUND',
            message:
              `Could not get some ${OBJECT_TYPES[type].singular} objects, they may be ` +
              `deleted or not exist. Check that ids are valid.`,
            context: { ids: missing },
          },
        ]
      : [];
  return batchResponse(found, startedAt, errors);
}

/**
 * POST /crm/v4/associations/{from}/{to}/batch/associate/default with inputs [{from: {id}, to:
 * {id}}].
 */
function associateDefault(context: RouteContext, req: SimRequest): SimResponse {
  const startedAt = now();
  const from = typeParam(req.params.fromType);
  const to = typeParam(req.params.toType);
  const pairs: Array<{ fromId: string; toId: string }> = [];
  const errors: unknown[] = [];
  inputsOf(req).forEach((raw) => {
    const input = (raw ?? {}) as { from?: { id?: unknown }; to?: { id?: unknown } };
    const fromId = String(input.from?.id ?? '');
    const toId = String(input.to?.id ?? '');
    // A pair naming a record that does not exist is refused alone (207); the rest are written.
    if (context.store.get(from, fromId) && context.store.get(to, toId))
      pairs.push({ fromId, toId });
    else
      errors.push({
        status: 'error',
        category: 'VALIDATION_ERROR',
        message:
          `${OBJECT_TYPES[from].singular} ${fromId} or ${OBJECT_TYPES[to].singular} ${toId} ` +
          `does not exist`,
        context: { fromObjectId: [fromId], toObjectId: [toId] },
      });
  });
  context.countWrite();
  const results = pairs.map(({ fromId, toId }) => {
    context.store.associate({ type: from, id: fromId }, { type: to, id: toId });
    return {
      from: { id: fromId },
      to: { id: toId },
      associationSpec: {
        associationCategory: 'HUBSPOT_DEFINED',
        associationTypeId: DEFAULT_TYPE_IDS[`${from}/${to}`] ?? 0,
      },
    };
  });
  return batchResponse(results, startedAt, errors);
}

/**
 * POST /crm/v4/associations/{from}/{to}/batch/read with inputs [{id}]: each record's associated
 * ids.
 */
function readAssociations(context: RouteContext, req: SimRequest): SimResponse {
  const startedAt = now();
  const from = typeParam(req.params.fromType);
  const to = typeParam(req.params.toType);
  const typeId = DEFAULT_TYPE_IDS[`${from}/${to}`] ?? 0;
  const results: unknown[] = [];
  const missing: string[] = [];
  for (const raw of inputsOf(req)) {
    const id = String((raw as { id?: unknown }).id ?? '');
    const linked = context.store.get(from, id) ? context.store.associated(from, id, to) : [];
    if (linked.length === 0) missing.push(id);
    else
      results.push({
        from: { id },
        to: linked.map((toId) => ({
          toObjectId: Number(toId),
          associationTypes: [{ category: 'HUBSPOT_DEFINED', typeId, label: null }],
        })),
      });
  }
  const errors =
    missing.length > 0
      ? [
          {
            status: 'error',
            category: 'OBJECT_NOT_FOUND',
            message: `No ${to} is associated with ${from} ${missing.join(', ')}`,
            context: { fromIds: missing },
          },
        ]
      : [];
  return batchResponse(results, startedAt, errors);
}

function typeParam(name: string | undefined): ObjectType {
  if (name && isObjectType(name)) return name;
  throw new HubSpotError(
    400,
    'VALIDATION_ERROR',
    `Unable to infer object type from: ${name ?? ''}`,
  );
}

function properties(context: RouteContext, req: SimRequest): SimResponse {
  const type = objectType(req);
  return { status: 200, body: { results: context.store.properties[type].map(propertyJson) } };
}

function pipelines(req: SimRequest): SimResponse {
  if (req.params.objectType !== 'deals')
    throw new HubSpotError(
      404,
      'OBJECT_NOT_FOUND',
      `No pipelines for ${req.params.objectType ?? ''}`,
    );
  const stamp = '2020-01-01T00:00:00.000Z';
  const stages = DEFAULT_PIPELINE.stages.map((stage, displayOrder) => ({
    id: stage.id,
    label: stage.label,
    displayOrder,
    metadata: {
      isClosed: String(stage.id.startsWith('closed')),
      probability: stage.probability,
    },
    createdAt: stamp,
    updatedAt: stamp,
    archived: false,
    writePermissions: 'CRM_PERMISSIONS_ENFORCEMENT',
  }));
  const pipeline = {
    id: DEFAULT_PIPELINE.id,
    label: DEFAULT_PIPELINE.label,
    displayOrder: 0,
    stages,
    createdAt: stamp,
    updatedAt: stamp,
    archived: false,
  };
  return { status: 200, body: { results: [pipeline] } };
}

export function crmRoutes(context: RouteContext): SimRoute[] {
  const objects = '/crm/v3/objects/(?<objectType>[a-z_0-9-]+)';
  return [
    {
      method: 'POST',
      pattern: new RegExp(`^${objects}/batch/upsert$`),
      handler: handle((req) => upsert(context, req)),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^${objects}/batch/create$`),
      handler: handle((req) => batchCreate(context, req)),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^${objects}/batch/read$`),
      handler: handle((req) => batchRead(context, req)),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^${objects}/search$`),
      handler: handle((req) => ({
        status: 200,
        body: search(context.store, objectType(req), req.body, context.random),
      })),
    },
    {
      method: 'GET',
      pattern: /^\/crm\/v3\/properties\/(?<objectType>[a-z_0-9-]+)$/,
      handler: handle((req) => properties(context, req)),
    },
    {
      method: 'GET',
      pattern: /^\/crm\/v3\/pipelines\/(?<objectType>[a-z_0-9-]+)$/,
      handler: handle(pipelines),
    },
    {
      method: 'POST',
      pattern: new RegExp(
        String.raw`^\/crm\/v4\/associations\/(?<fromType>[a-z]+)\/(?<toType>[a-z]+)` +
          String.raw`\/batch\/associate\/default$`,
      ),
      handler: handle((req) => associateDefault(context, req)),
    },
    {
      method: 'POST',
      pattern: /^\/crm\/v4\/associations\/(?<fromType>[a-z]+)\/(?<toType>[a-z]+)\/batch\/read$/,
      handler: handle((req) => readAssociations(context, req)),
    },
  ];
}
