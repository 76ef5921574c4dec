// POST /crm/v3/objects/{objectType}/batch/create: records created with their associations inline.
// Sources: developers.hubspot.com/docs/api-reference/legacy/crm/objects/objects/batch/create-objects
// (inputs of {properties, associations: [{to: {id}, types: [{associationCategory,
// associationTypeId}]}], objectWriteTraceId}; 201 when all are created, 207 with `errors`) and
// developers.hubspot.com/docs/api-reference/error-handling ("Multi-status errors": with a unique
// objectWriteTraceId on every input, HubSpot creates the valid inputs and names each refused one
// by its trace id in the error's context; without, one bad input fails the whole call).
import type { SimRequest, SimResponse } from '../common/server.js';
import { batchResponse, DEFAULT_TYPE_IDS, inputsOf, now, objectType } from './batch.js';
import { HubSpotError, validationError } from './errors.js';
import { OBJECT_TYPES, type ObjectType } from './schema.js';
import type { HubSpotStore } from './store.js';
import { objectJson } from './values.js';

interface CreateContext {
  store: HubSpotStore;
  countWrite(): void;
}

interface PlannedCreate {
  values: Record<string, string>;
  links: Array<{ type: ObjectType; id: string }>;
}

export function batchCreate(context: CreateContext, req: SimRequest): SimResponse {
  const startedAt = now();
  const type = objectType(req);
  const raw = inputsOf(req);
  const traceIds = raw.map(
    (input) => (input as { objectWriteTraceId?: unknown })?.objectWriteTraceId,
  );
  const multiStatus =
    raw.length > 0 &&
    traceIds.every((id) => typeof id === 'string' && id !== '') &&
    new Set(traceIds).size === traceIds.length;
  const claimed = new Map<string, string>();
  const create = ({ values, links }: PlannedCreate) => {
    const record = context.store.create(type, values);
    for (const link of links) context.store.associate({ type, id: record.id }, link);
    return objectJson(record, Object.keys(record.properties));
  };
  if (!multiStatus) {
    // One bad input fails the call: everything is checked before anything is written.
    const planned = raw.map((input, index) =>
      planCreate(context.store, type, input, index, claimed),
    );
    context.countWrite();
    return batchResponse(planned.map(create), startedAt, [], 201);
  }
  // Each input on its own, in order: a later input taking a unique value an earlier one of the
  // same batch took is refused as a conflict with that record ("Contact already exists. Existing
  // ID: N" for an email: github.com/HubSpot/hubspot-api-nodejs/issues/545 shows the answer, and
  // github.com/Joystream/youtube-synch/pull/355 meets it for two inputs of one batch).
  context.countWrite();
  const results: unknown[] = [];
  const errors: unknown[] = [];
  raw.forEach((input, index) => {
    try {
      results.push(create(planCreate(context.store, type, input, index, new Map())));
    } catch (error) {
      if (!(error instanceof HubSpotError)) throw error;
      errors.push({
        status: 'error',
        category: error.category,
        message: error.message,
        context: { objectWriteTraceId: [String(traceIds[index])] },
        ...(error.details.errors ? { errors: error.details.errors } : {}),
      });
    }
  });
  return batchResponse(results, startedAt, errors, 201);
}

/** Checks one input (properties, unique values, also within the batch, associations). */
function planCreate(
  store: HubSpotStore,
  type: ObjectType,
  raw: unknown,
  index: number,
  claimed: Map<string, string>,
): PlannedCreate {
  const input = (raw ?? {}) as { properties?: unknown; associations?: unknown };
  if (typeof input.properties !== 'object' || input.properties === null)
    throw validationError(`inputs[${index}].properties is required`);
  const values = store.validate(type, input.properties as Record<string, unknown>);
  store.checkUnique(type, values, null);
  for (const [name, value] of Object.entries(values)) {
    const definition = store.definition(type, name);
    const unique = definition?.hasUniqueValue || (type === 'contacts' && name === 'email');
    if (!unique || value === '') continue;
    if (claimed.has(`${name}=${value}`)) {
      throw validationError(
        `Duplicate values found for unique property ${name} in batch input: [${value}]`,
      );
    }
    claimed.set(`${name}=${value}`, String(index));
  }
  const links = associationsOf(store, type, input.associations, index);
  return { values, links };
}

function associationsOf(
  store: HubSpotStore,
  type: ObjectType,
  raw: unknown,
  index: number,
): Array<{ type: ObjectType; id: string }> {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw validationError(`inputs[${index}].associations must be a list`);
  return raw.map((entry, n) => {
    const where = `inputs[${index}].associations[${n}]`;
    const association = (entry ?? {}) as {
      to?: { id?: unknown };
      types?: Array<{ associationCategory?: unknown; associationTypeId?: unknown }>;
    };
    const spec = association.types?.[0];
    const toType = Object.entries(DEFAULT_TYPE_IDS).find(
      ([pair, id]) => pair.startsWith(`${type}/`) && id === spec?.associationTypeId,
    )?.[0];
    if (!spec || spec.associationCategory !== 'HUBSPOT_DEFINED' || !toType) {
      throw validationError(
        `${where}: ${String(spec?.associationTypeId)} is not a HUBSPOT_DEFINED association type ` +
          `from ${OBJECT_TYPES[type].singular}`,
      );
    }
    const target = toType.slice(type.length + 1) as ObjectType;
    const id = String(association.to?.id ?? '');
    if (!store.get(target, id)) {
      throw new HubSpotError(
        400,
        'VALIDATION_ERROR',
        `${where}: ${OBJECT_TYPES[target].singular} ${id} does not exist`,
      );
    }
    return { type: target, id };
  });
}
