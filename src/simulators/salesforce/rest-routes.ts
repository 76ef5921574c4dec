// The REST routes under /services/data/vXX.X/: versions, resources, limits, describe, sObject rows
// and query.
import type { SimRequest, SimResponse, SimRoute } from '../common/server.js';
import { collectionRoutes } from './collection-routes.js';
import { replicationRoutes } from './replication-routes.js';
import { describeGlobal, describeObject } from './describe.js';
import { SalesforceApiError, notFound } from './errors.js';
import { normaliseRecordId } from './ids.js';
import { batchSizeFrom, findMatches } from './query.js';
import {
  ORG_ID,
  USER_ID,
  VERSIONED,
  bodyOf,
  decodeSegment,
  externalIdFieldOf,
  fieldsParam,
  json,
  objectOf,
  route,
  versionAtLeast,
  versionOf,
  type RestContext,
} from './route-helpers.js';
import type { SObjectSpec } from './schema.js';
import { SoqlError, formatSoqlProblem } from './soql.js';
import { planQuery } from './soql-plan.js';
import type { SaveResult } from './store.js';
import { deserializeRecord, recordToJson, type SObjectRow } from './values.js';

function refuseIdInBody(id: string | undefined): void {
  if (id !== undefined)
    throw new SalesforceApiError(
      400,
      'INVALID_FIELD',
      'The Id field should not be specified in the sobject data.',
    );
}

function throwIfFailed(result: SaveResult): asserts result is Extract<SaveResult, { ok: true }> {
  if (!result.ok) throw SalesforceApiError.fromRecordError(400, result.error);
}

/** A live record addressed by id in the URL, or the platform's 404. */
function rowAt(ctx: RestContext, object: SObjectSpec, idText: string): SObjectRow {
  const row = normaliseRecordId(idText) ? ctx.store.get(object, idText) : undefined;
  if (!row) throw notFound();
  return row;
}

function versionRoutes(ctx: RestContext): SimRoute[] {
  return [
    route('GET', String.raw`^/services/data/?$`, () =>
      json(
        ctx.versions.map((version) => ({
          label: releaseLabel(version),
          url: `/services/data/v${version}`,
          version,
        })),
      ),
    ),
    route('GET', `${VERSIONED}/?$`, (req) => {
      const base = `/services/data/v${versionOf(req)}`;
      return json({
        sobjects: `${base}/sobjects`,
        query: `${base}/query`,
        queryAll: `${base}/queryAll`,
        composite: `${base}/composite`,
        limits: `${base}/limits`,
        identity: `${ctx.instanceUrl()}/id/${ORG_ID}/${USER_ID}`,
      });
    }),
    route('GET', `${VERSIONED}/limits/?$`, () => {
      const { used, limit } = ctx.apiUsage();
      return json({ DailyApiRequests: { Max: limit, Remaining: Math.max(0, limit - used) } });
    }),
  ];
}

function describeRoutes(ctx: RestContext): SimRoute[] {
  return [
    route('GET', `${VERSIONED}/sobjects/?$`, (req) => json(describeGlobal(versionOf(req)))),
    route('GET', `${VERSIONED}/sobjects/(?<type>[^/]+)/describe/?$`, (req) =>
      json(describeObject(objectOf(req), versionOf(req), ctx.store)),
    ),
    route('GET', `${VERSIONED}/sobjects/(?<type>[^/]+)/?$`, (req) => {
      const {
        fields: _fields,
        childRelationships: _c,
        recordTypeInfos: _r,
        ...objectDescribe
      } = describeObject(objectOf(req), versionOf(req), ctx.store);
      return json({ objectDescribe, recentItems: [] });
    }),
  ];
}

function recordRoutes(ctx: RestContext): SimRoute[] {
  const one = `${VERSIONED}/sobjects/(?<type>[^/]+)/(?<id>[^/]+)/?$`;
  return [
    route('POST', `${VERSIONED}/sobjects/(?<type>[^/]+)/?$`, (req) => {
      const object = objectOf(req);
      const input = deserializeRecord(object, bodyOf(req));
      refuseIdInBody(input.id);
      const result = ctx.store.create(object, input);
      throwIfFailed(result);
      return json({ id: result.id, success: true, errors: [] }, 201);
    }),
    route('GET', one, (req) => {
      const object = objectOf(req);
      const fields = fieldsParam(object, req.query.get('fields'));
      return json(
        recordToJson(object, rowAt(ctx, object, req.params.id ?? ''), fields, versionOf(req)),
      );
    }),
    route('PATCH', one, (req) => {
      const object = objectOf(req);
      const row = rowAt(ctx, object, req.params.id ?? '');
      const input = deserializeRecord(object, bodyOf(req));
      refuseIdInBody(input.id);
      throwIfFailed(ctx.store.update(object, String(row.Id), input));
      return { status: 204 };
    }),
    route('DELETE', one, (req) => {
      const object = objectOf(req);
      throwIfFailed(ctx.store.delete(object, String(rowAt(ctx, object, req.params.id ?? '').Id)));
      return { status: 204 };
    }),
  ];
}

/** `/sobjects/{type}/{ExtIdField}/{value}`: retrieve, upsert and delete by external id. */
function externalIdRoutes(ctx: RestContext): SimRoute[] {
  const byKey = `${VERSIONED}/sobjects/(?<type>[^/]+)/(?<field>[^/]+)/(?<value>[^/]+)/?$`;
  const matchesOf = (req: SimRequest) => {
    const object = objectOf(req);
    const field = externalIdFieldOf(object, req.params.field ?? '');
    const value = decodeSegment(req.params.value ?? '');
    return { object, field, value, rows: ctx.store.findByExternalId(object, field, value) };
  };
  const single = (req: SimRequest, rows: SObjectRow[], object: SObjectSpec): SObjectRow => {
    if (rows.length > 1)
      throw new MultipleMatches(
        rows.map(
          (row) => `/services/data/v${versionOf(req)}/sobjects/${object.name}/${String(row.Id)}`,
        ),
      );
    const [row] = rows;
    if (!row) throw notFound();
    return row;
  };
  return [
    route(
      'GET',
      byKey,
      multipleChoices((req) => {
        const { object, rows } = matchesOf(req);
        return json(
          recordToJson(
            object,
            single(req, rows, object),
            fieldsParam(object, req.query.get('fields')),
            versionOf(req),
          ),
        );
      }),
    ),
    route(
      'PATCH',
      byKey,
      multipleChoices((req) => upsertOne(ctx, req)),
    ),
    route(
      'DELETE',
      byKey,
      multipleChoices((req) => {
        const { object, rows } = matchesOf(req);
        throwIfFailed(ctx.store.delete(object, String(single(req, rows, object).Id)));
        return { status: 204 };
      }),
    ),
  ];
}

/** Several records hold one external id value: 300 with their URLs. */
class MultipleMatches extends Error {
  constructor(readonly urls: string[]) {
    super('Multiple records found');
  }
}

function multipleChoices(handler: SimRoute['handler']): SimRoute['handler'] {
  return async (req) => {
    try {
      return await handler(req);
    } catch (error) {
      if (error instanceof MultipleMatches) return json(error.urls, 300);
      throw error;
    }
  };
}

function upsertOne(ctx: RestContext, req: SimRequest): SimResponse {
  const object = objectOf(req);
  const field = externalIdFieldOf(object, req.params.field ?? '');
  const value = decodeSegment(req.params.value ?? '');
  const input = deserializeRecord(object, bodyOf(req));
  refuseIdInBody(input.id);
  const inBody = input.fields.find(([f]) => f === field);
  if (inBody && inBody[1] !== value) {
    throw new SalesforceApiError(
      400,
      'INVALID_FIELD',
      `The value of ${field.name} in the request body (${String(inBody[1])}) does not match ` +
        `the value in the URL (${value})`,
      [field.name],
    );
  }
  const result = ctx.store.upsert(object, field, value, input);
  if ('multiple' in result) {
    throw new MultipleMatches(
      result.multiple.map(
        (id) => `/services/data/v${versionOf(req)}/sobjects/${object.name}/${id}`,
      ),
    );
  }
  throwIfFailed(result);
  if (result.created) return json({ id: result.id, success: true, errors: [], created: true }, 201);
  // Before API 46.0 an update through upsert answered 204 with no body.
  if (!versionAtLeast(versionOf(req), 46)) return { status: 204 };
  return json({ id: result.id, success: true, errors: [], created: false }, 200);
}

function queryRoutes(ctx: RestContext): SimRoute[] {
  const run = (includeDeleted: boolean) => (req: SimRequest) => {
    const soql = req.query.get('q');
    if (soql === null || soql.trim() === '') {
      throw new SalesforceApiError(
        400,
        'MALFORMED_QUERY',
        formatSoqlProblem(soql ?? '', 0, 'unexpected token: <EOF>'),
      );
    }
    let plan;
    try {
      plan = planQuery(soql);
    } catch (error) {
      if (error instanceof SoqlError)
        throw new SalesforceApiError(400, error.errorCode, error.message);
      throw error;
    }
    const rows = findMatches(ctx.store, plan, includeDeleted);
    return json(
      ctx.cursors.firstPage(
        plan,
        rows,
        versionOf(req),
        batchSizeFrom(req.headers['sforce-query-options']),
      ),
    );
  };
  const more = (req: SimRequest) =>
    json(ctx.cursors.page(req.params.locator ?? '', versionOf(req)));
  return [
    route('GET', `${VERSIONED}/query/?$`, run(false)),
    route('GET', `${VERSIONED}/queryAll/?$`, run(true)),
    route('GET', `${VERSIONED}/query/(?<locator>[^/]+)/?$`, more),
    route('GET', `${VERSIONED}/queryAll/(?<locator>[^/]+)/?$`, more),
  ];
}

/** `Spring '24` for 60.0: three releases a year, 42.0 being Spring '18. */
function releaseLabel(version: string): string {
  const k = Math.round(Number.parseFloat(version)) - 42;
  const season = ['Spring', 'Summer', 'Winter'][((k % 3) + 3) % 3] ?? 'Spring';
  const year = 18 + Math.floor((k + 1) / 3);
  return `${season} '${String(year).padStart(2, '0')}`;
}

/** Every REST route of the simulator, most specific patterns first. */
export function restRoutes(ctx: RestContext): SimRoute[] {
  return [
    ...versionRoutes(ctx),
    ...describeRoutes(ctx),
    ...replicationRoutes(ctx),
    ...recordRoutes(ctx),
    ...externalIdRoutes(ctx),
    ...collectionRoutes(ctx),
    ...queryRoutes(ctx),
  ];
}
