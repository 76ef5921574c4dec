// sObject Collections under /composite/sobjects: create, update, upsert (46.0+), delete and
// retrieve, 200 a call.
import type { SimRequest, SimResponse, SimRoute } from '../common/server.js';
import { SalesforceApiError, notFound, recordError, type RecordError } from './errors.js';
import { normaliseRecordId } from './ids.js';
import {
  VERSIONED,
  bodyOf,
  externalIdFieldOf,
  fieldsParam,
  json,
  objectOf,
  route,
  versionAtLeast,
  versionOf,
  type RestContext,
} from './route-helpers.js';
import { findObject, objectForId, type FieldSpec, type SObjectSpec } from './schema.js';
import type { SalesforceStore, SaveResult } from './store.js';
import { deserializeRecord, recordToJson, type RecordInput } from './values.js';

const MAX_COLLECTION_RECORDS = 200;
const MAX_RETRIEVE_IDS = 2000;

const ROLLED_BACK = recordError(
  'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  'Record rolled back because not all records were valid and the request was using AllOrNone ' +
    'header',
);

function tooManyRecords(): SalesforceApiError {
  return new SalesforceApiError(
    400,
    'EXCEEDED_ID_LIMIT',
    `record limit reached. cannot submit more than ${MAX_COLLECTION_RECORDS} records into this ` +
      `call`,
  );
}

/** `{allOrNone, records}`: the records array is required and holds at most 200 entries. */
function collectionBodyOf(req: SimRequest): { allOrNone: boolean; records: unknown[] } {
  const body = bodyOf(req);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new SalesforceApiError(
      400,
      'JSON_PARSER_ERROR',
      'Cannot deserialize the request body: expected an object with a records array',
    );
  }
  const { allOrNone, records } = body as { allOrNone?: unknown; records?: unknown };
  if (allOrNone !== undefined && typeof allOrNone !== 'boolean') {
    throw new SalesforceApiError(
      400,
      'JSON_PARSER_ERROR',
      `Cannot deserialize instance of boolean from value ${JSON.stringify(allOrNone)} for ` +
        `allOrNone`,
    );
  }
  if (!Array.isArray(records))
    throw new SalesforceApiError(
      400,
      'JSON_PARSER_ERROR',
      'The request body needs a records array',
    );
  if (records.length > MAX_COLLECTION_RECORDS) throw tooManyRecords();
  return { allOrNone: allOrNone ?? false, records };
}

/**
 * The sObject a collection record declares in `attributes.type` (or, for updates, implies by its
 * id).
 */
function objectOfRecord(record: unknown, implied?: SObjectSpec): SObjectSpec {
  const attributes =
    typeof record === 'object' && record !== null
      ? (record as { attributes?: { type?: unknown } }).attributes
      : undefined;
  const type = attributes?.type;
  if (type === undefined || type === null) {
    if (implied) return implied;
    throw new SalesforceApiError(400, 'INVALID_TYPE', 'Must send a concrete entity type.');
  }
  const object = typeof type === 'string' ? findObject(type) : undefined;
  if (!object) {
    throw new SalesforceApiError(
      400,
      'INVALID_TYPE',
      `sObject type '${String(type)}' is not supported.`,
    );
  }
  return object;
}

function rawIdOf(record: unknown): string | undefined {
  if (typeof record !== 'object' || record === null) return undefined;
  const entry = Object.entries(record).find(([key]) => key.toLowerCase() === 'id');
  return typeof entry?.[1] === 'string' ? entry[1] : undefined;
}

/**
 * Runs the saves in request order. With allOrNone one failure undoes every save: failed records
 * keep
 * their own error, the others report ALL_OR_NONE_OPERATION_ROLLED_BACK.
 */
function runSaves(
  store: SalesforceStore,
  allOrNone: boolean,
  saves: Array<() => SaveResult>,
): SaveResult[] {
  if (!allOrNone) return saves.map((save) => save());
  let results: SaveResult[] = [];
  const committed = store.atomically(() => {
    results = saves.map((save) => save());
    return results.every((r) => r.ok);
  });
  if (committed) return results;
  return results.map((r) =>
    r.ok
      ? r.created
        ? { ok: false, error: ROLLED_BACK }
        : { ok: false, error: ROLLED_BACK, id: r.id }
      : r,
  );
}

function saveResultJson(result: SaveResult, withCreated: boolean): Record<string, unknown> {
  if (result.ok)
    return {
      id: result.id,
      success: true,
      errors: [],
      ...(withCreated ? { created: result.created } : {}),
    };
  return { ...(result.id ? { id: result.id } : {}), success: false, errors: [result.error] };
}

const failed = (error: RecordError): SaveResult => ({ ok: false, error });

function createMany(ctx: RestContext, req: SimRequest): SimResponse {
  const { allOrNone, records } = collectionBodyOf(req);
  const inputs = records.map((record) => {
    const object = objectOfRecord(record);
    return { object, input: deserializeRecord(object, record) };
  });
  const results = runSaves(
    ctx.store,
    allOrNone,
    inputs.map(
      ({ object, input }) =>
        () =>
          ctx.store.create(object, input),
    ),
  );
  return json(results.map((r) => saveResultJson(r, false)));
}

function updateMany(ctx: RestContext, req: SimRequest): SimResponse {
  const { allOrNone, records } = collectionBodyOf(req);
  const inputs = records.map((record) => {
    const rawId = rawIdOf(record);
    const object = objectOfRecord(record, rawId ? objectForId(rawId) : undefined);
    return { object, input: deserializeRecord(object, record) };
  });
  const saves = inputs.map(({ object, input }) => () => {
    if (input.id === undefined)
      return failed(recordError('MISSING_ARGUMENT', 'Id not specified in an update call'));
    if (normaliseRecordId(input.id) === null)
      return failed(recordError('MALFORMED_ID', `malformed id ${input.id}`));
    return ctx.store.update(object, input.id, { ...input, id: undefined });
  });
  return json(runSaves(ctx.store, allOrNone, saves).map((r) => saveResultJson(r, false)));
}

/**
 * Upsert by external id: every record carries its key; a key given twice in one call fails for each
 * record.
 */
function upsertMany(ctx: RestContext, req: SimRequest): SimResponse {
  if (!versionAtLeast(versionOf(req), 46)) throw notFound();
  const object = objectOf(req);
  const field = externalIdFieldOf(object, req.params.field ?? '');
  const { allOrNone, records } = collectionBodyOf(req);
  const inputs = records.map((record) => {
    if (objectOfRecord(record, object) !== object) {
      throw new SalesforceApiError(
        400,
        'INVALID_TYPE',
        `Every record must be of type ${object.name} to upsert through this resource.`,
      );
    }
    return deserializeRecord(object, record);
  });
  const keys = inputs.map((input) => keyOf(input, field));
  const keyCounts = new Map<string, number>();
  for (const key of keys)
    if (key) keyCounts.set(key.toLowerCase(), (keyCounts.get(key.toLowerCase()) ?? 0) + 1);
  const saves = inputs.map((input, i) => () => {
    const key = keys[i];
    if (!key) return failed(recordError('MISSING_ARGUMENT', `${field.name} not specified`));
    if ((keyCounts.get(key.toLowerCase()) ?? 0) > 1) {
      return failed(
        recordError('DUPLICATE_EXTERNAL_ID', `Duplicate external id specified: ${key}`, [
          field.name,
        ]),
      );
    }
    if (input.id !== undefined)
      return failed(
        recordError('INVALID_FIELD', 'The Id field should not be specified in the sobject data.'),
      );
    const refusal = ctx.refusalFor?.(key);
    if (refusal) return failed(refusal);
    const result = ctx.store.upsert(object, field, key, input);
    if (!('multiple' in result)) return result;
    return failed(
      recordError(
        'DUPLICATE_EXTERNAL_ID',
        `${field.name}: more than one record found for external id field: [` +
          `${result.multiple.join(', ')}]`,
        [field.name],
      ),
    );
  });
  return json(runSaves(ctx.store, allOrNone, saves).map((r) => saveResultJson(r, true)));
}

function keyOf(input: RecordInput, field: FieldSpec): string | null {
  const entry = input.fields.find(([f]) => f === field);
  return typeof entry?.[1] === 'string' ? entry[1] : null;
}

function deleteMany(ctx: RestContext, req: SimRequest): SimResponse {
  const ids = (req.query.get('ids') ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  if (ids.length === 0)
    throw new SalesforceApiError(
      400,
      'MISSING_ARGUMENT',
      'The ids parameter is required: a comma-separated list of record ids',
    );
  if (ids.length > MAX_COLLECTION_RECORDS) throw tooManyRecords();
  const allOrNone = req.query.get('allOrNone') === 'true';
  const saves = ids.map((id) => () => {
    const object = normaliseRecordId(id) ? objectForId(id) : undefined;
    if (!object) return failed(recordError('MALFORMED_ID', `malformed id ${id}`));
    return ctx.store.delete(object, id);
  });
  return json(runSaves(ctx.store, allOrNone, saves).map((r) => saveResultJson(r, false)));
}

/** Retrieve by ids: the records in request order, null where an id matches nothing. */
function retrieveMany(ctx: RestContext, req: SimRequest): SimResponse {
  const object = objectOf(req);
  let ids: unknown;
  let fieldList: unknown;
  if (req.method === 'GET') {
    ids = (req.query.get('ids') ?? '').split(',').filter((id) => id !== '');
    fieldList = req.query.get('fields');
  } else {
    ({ ids, fields: fieldList } = (bodyOf(req) ?? {}) as { ids?: unknown; fields?: unknown });
    if (Array.isArray(fieldList)) fieldList = fieldList.join(',');
  }
  if (
    !Array.isArray(ids) ||
    ids.length === 0 ||
    typeof fieldList !== 'string' ||
    fieldList.trim() === ''
  ) {
    throw new SalesforceApiError(400, 'MISSING_ARGUMENT', 'Both ids and fields are required');
  }
  if (ids.length > MAX_RETRIEVE_IDS)
    throw new SalesforceApiError(
      400,
      'EXCEEDED_ID_LIMIT',
      `record limit reached. cannot submit more than ${MAX_RETRIEVE_IDS} records into this call`,
    );
  const fields = fieldsParam(object, fieldList);
  return json(
    ids.map((id) => {
      const row =
        typeof id === 'string' && normaliseRecordId(id) ? ctx.store.get(object, id) : undefined;
      return row ? recordToJson(object, row, fields, versionOf(req)) : null;
    }),
  );
}

export function collectionRoutes(ctx: RestContext): SimRoute[] {
  const all = `${VERSIONED}/composite/sobjects/?$`;
  const typed = `${VERSIONED}/composite/sobjects/(?<type>[^/]+)/?$`;
  return [
    route('POST', all, (req) => createMany(ctx, req)),
    route('PATCH', all, (req) => updateMany(ctx, req)),
    route('DELETE', all, (req) => deleteMany(ctx, req)),
    route('GET', typed, (req) => retrieveMany(ctx, req)),
    route('POST', typed, (req) => retrieveMany(ctx, req)),
    route('PATCH', `${VERSIONED}/composite/sobjects/(?<type>[^/]+)/(?<field>[^/]+)/?$`, (req) =>
      upsertMany(ctx, req),
    ),
  ];
}
