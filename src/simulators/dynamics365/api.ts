// The Web API below /api/data/v9.2/: entity sets, records by id or alternate key, upserts, reads
// and actions.
import type { SimResponse } from '../common/server.js';
import {
  duplicateKey,
  keyNotFound,
  methodNotAllowed,
  odataError,
  recordNotFound,
  segmentNotFound,
  versionMismatch,
} from './errors.js';
import { closeActionBody, qualifyActionBody } from './actions.js';
import { readEntityDefinitions } from './metadata.js';
import {
  checkKeyInBody,
  checkODataVersions,
  etagListMatches,
  keyValues,
  preferencesOf,
  requiredBody,
} from './request.js';
import { parseResourcePath, type RecordKey } from './paths.js';
import {
  DEFAULT_PAGE_SIZE,
  etagOf,
  nextSkipToken,
  parseCollectionQuery,
  parseSelect,
  projectRow,
  runQuery,
} from './query.js';
import { LEAD, tableByEntitySet, type TableSpec } from './schema.js';
import type { DataverseStore } from './store.js';
import { readRecordBody, type Row } from './values.js';

/** One Web API request, from the wire or from inside a $batch. */
export interface DataverseCall {
  method: string;
  /** The percent-decoded path below the service root (`leads(lb_referralid='x')`). */
  resource: string;
  query: URLSearchParams;
  /** Header names in lower case. */
  headers: Record<string, string>;
  rawBody: string;
}

export interface Preferences {
  returnRepresentation: boolean;
  maxPageSize?: number;
  continueOnError: boolean;
}

export const JSON_TYPE = 'application/json; odata.metadata=minimal';

/** Fixed identities answered by WhoAmI. */
const WHO_AM_I = {
  BusinessUnitId: '3f9b0d2e-5c1a-4e8b-9d7f-1a2b3c4d5e6f',
  UserId: '7c6d5e4f-3b2a-4190-8f7e-6d5c4b3a2918',
  OrganizationId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
};

export class DataverseApi {
  constructor(
    private readonly store: DataverseStore,
    /** `http://host:port/api/data/v9.2/` */
    private readonly apiUrl: () => string,
    /**
     * Draws the order of rows an $orderby leaves tied, anew for every read (seeded, so runs
     * repeat).
     */
    private readonly tieSeeds: () => number,
    /**
     * A refusal rule's error for a write to the record with this alternate-key value
     * (/_sim/refusals).
     */
    private readonly refusalFor: (key: string) => Error | undefined = () => undefined,
  ) {}

  /**
   * Answers one call; errors are thrown as SimHttpError. Writes are atomic: a failure leaves
   * nothing behind.
   */
  handle(call: DataverseCall): SimResponse {
    checkODataVersions(call.headers);
    if (call.method === 'GET') return this.dispatch(call);
    return this.store.transaction(() => this.dispatch(call));
  }

  private dispatch(call: DataverseCall): SimResponse {
    const path = parseResourcePath(call.resource);
    const operation = path.head.replace(/^Microsoft\.Dynamics\.CRM\./, '');
    if (!path.key && path.rest.length === 0) {
      if (operation === 'WhoAmI') return this.expectMethod(call, 'GET', () => this.whoAmI());
      if (operation === 'WinOpportunity')
        return this.expectMethod(call, 'POST', () => this.closeOpportunity(call, 'won'));
      if (operation === 'LoseOpportunity')
        return this.expectMethod(call, 'POST', () => this.closeOpportunity(call, 'lost'));
    }
    if (path.head === '$batch')
      throw odataError(
        'A $batch request is sent with POST to the service root and cannot contain another $batch.',
      );
    if (path.head === 'EntityDefinitions')
      return this.expectMethod(call, 'GET', () =>
        readEntityDefinitions(path, call.query, this.apiUrl()),
      );
    const table = tableByEntitySet(path.head);
    if (!table) throw segmentNotFound(path.head);
    if (!path.key) {
      if (path.rest[0] !== undefined) throw segmentNotFound(path.rest[0]);
      if (call.method === 'GET') return this.readCollection(table, call);
      if (call.method === 'POST') return this.create(table, call);
      throw methodNotAllowed(call.method, call.resource);
    }
    return this.dispatchRecord(table, path.key, path.rest, call);
  }

  private dispatchRecord(
    table: TableSpec,
    key: RecordKey,
    rest: string[],
    call: DataverseCall,
  ): SimResponse {
    const [segment, ...more] = rest;
    if (segment === undefined) {
      if (call.method === 'GET') return this.readOne(table, key, call);
      if (call.method === 'PATCH') return this.upsert(table, key, call);
      if (call.method === 'DELETE') return this.remove(table, key);
      throw methodNotAllowed(call.method, call.resource);
    }
    if (more[0] !== undefined) throw segmentNotFound(more[0]);
    if (table === LEAD && segment.replace(/^Microsoft\.Dynamics\.CRM\./, '') === 'QualifyLead') {
      return this.expectMethod(call, 'POST', () => this.qualifyLead(key, call));
    }
    if (table.columns[segment] && call.method === 'GET')
      return this.readProperty(table, key, segment);
    throw segmentNotFound(segment);
  }

  private expectMethod(
    call: DataverseCall,
    method: string,
    answer: () => SimResponse,
  ): SimResponse {
    if (call.method !== method) throw methodNotAllowed(call.method, call.resource);
    return answer();
  }

  private readCollection(table: TableSpec, call: DataverseCall): SimResponse {
    const query = parseCollectionQuery(table, call.query);
    const prefer = preferencesOf(call.headers);
    // $top takes the first rows and never pages; otherwise pages are cut at the preferred size (at
    // most 5000).
    const pageSize = Math.min(
      query.top ?? prefer.maxPageSize ?? DEFAULT_PAGE_SIZE,
      DEFAULT_PAGE_SIZE,
    );
    const {
      page,
      hasMore: more,
      total,
    } = runQuery(table, this.store.rowsOf(table).values(), query, pageSize, this.tieSeeds());
    const lastRow = page[page.length - 1];
    const hasMore = query.top === undefined && more && lastRow !== undefined;
    const select = query.select ? `(${query.select.join(',')})` : '';
    const body: Record<string, unknown> = {
      '@odata.context': `${this.apiUrl()}$metadata#${table.entitySet}${select}`,
    };
    if (query.count) body['@odata.count'] = total;
    body.value = page.map((row) => projectRow(table, row, query.select));
    if (hasMore)
      body['@odata.nextLink'] = this.nextLink(
        table,
        call.query,
        nextSkipToken(table, query, lastRow),
      );
    const headers: Record<string, string> = { 'Content-Type': JSON_TYPE };
    if (prefer.maxPageSize !== undefined && query.top === undefined)
      headers['Preference-Applied'] = `odata.maxpagesize=${pageSize}`;
    return { status: 200, headers, body };
  }

  private nextLink(table: TableSpec, query: URLSearchParams, skipToken: string): string {
    const pairs = [...query.entries()].filter(([name]) => name !== '$skiptoken');
    pairs.push(['$skiptoken', skipToken]);
    const encoded = pairs.map(
      ([name, value]) =>
        `${encodeURIComponent(name).replace(/^%24/, '$')}=${encodeURIComponent(value)}`,
    );
    return `${this.apiUrl()}${table.entitySet}?${encoded.join('&')}`;
  }

  private readOne(table: TableSpec, key: RecordKey, call: DataverseCall): SimResponse {
    const select = parseSelect(table, call.query);
    const row = this.store.get(table, key);
    if (etagListMatches(call.headers['if-none-match'], row))
      return { status: 304, headers: { ETag: etagOf(row) } };
    const context = `${this.apiUrl()}$metadata#${table.entitySet}${
      select ? `(` + `${select.join(',')})` : ''
    }/$entity`;
    return {
      status: 200,
      headers: { 'Content-Type': JSON_TYPE, ETag: etagOf(row) },
      body: { '@odata.context': context, ...projectRow(table, row, select) },
    };
  }

  private readProperty(table: TableSpec, key: RecordKey, property: string): SimResponse {
    const row = this.store.get(table, key);
    const value = row[property] ?? null;
    if (value === null) return { status: 204 };
    const context =
      `${this.apiUrl()}$metadata#${table.entitySet}(` +
      `${String(row[table.primaryKey])})/${property}`;
    return {
      status: 200,
      headers: { 'Content-Type': JSON_TYPE },
      body: { '@odata.context': context, value },
    };
  }

  private create(table: TableSpec, call: DataverseCall): SimResponse {
    const values = readRecordBody(table, requiredBody(call), this.store.resolveBind);
    const row = this.store.create(table, values);
    return this.written(table, row, 201, call);
  }

  /**
   * PATCH: update, or create when missing (Dataverse upserts); If-Match / If-None-Match narrow it
   * to one or the other.
   */
  private upsert(table: TableSpec, key: RecordKey, call: DataverseCall): SimResponse {
    const refusal =
      key.kind === 'alternate' ? this.refusalFor(Object.values(key.values)[0] ?? '') : undefined;
    if (refusal) throw refusal;
    const values = readRecordBody(table, requiredBody(call), this.store.resolveBind);
    const existing = this.store.find(table, key);
    const ifMatch = call.headers['if-match'];
    const ifNoneMatch = call.headers['if-none-match'];
    if (ifNoneMatch?.trim() === '*' && existing) throw duplicateKey(412);
    if (ifMatch !== undefined) {
      if (!existing) throw key.kind === 'id' ? recordNotFound(table, key.id) : keyNotFound(table);
      if (ifMatch.trim() !== '*' && !etagListMatches(ifMatch, existing)) throw versionMismatch();
    }
    checkKeyInBody(table, key, values);
    if (existing)
      return this.written(
        table,
        this.store.update(table, String(existing[table.primaryKey]), values),
        200,
        call,
      );
    return this.written(
      table,
      this.store.create(table, { ...values, ...keyValues(table, key) }),
      201,
      call,
    );
  }

  private remove(table: TableSpec, key: RecordKey): SimResponse {
    const row = this.store.get(table, key);
    this.store.delete(table, String(row[table.primaryKey]));
    return { status: 204 };
  }

  /**
   * 204 with the record's URL, or the record itself (201 created / 200 updated) with `Prefer:
   * return=representation`.
   */
  private written(
    table: TableSpec,
    row: Row,
    statusWithBody: 200 | 201,
    call: DataverseCall,
  ): SimResponse {
    const entityUrl = `${this.apiUrl()}${table.entitySet}(${String(row[table.primaryKey])})`;
    const headers: Record<string, string> = { 'OData-EntityId': entityUrl, Location: entityUrl };
    if (!preferencesOf(call.headers).returnRepresentation) return { status: 204, headers };
    const select = parseSelect(table, call.query);
    const context = `${this.apiUrl()}$metadata#${table.entitySet}${
      select ? `(` + `${select.join(',')})` : ''
    }/$entity`;
    return {
      status: statusWithBody,
      headers: {
        ...headers,
        'Content-Type': JSON_TYPE,
        'Preference-Applied': 'return=representation',
        ETag: etagOf(row),
      },
      body: { '@odata.context': context, ...projectRow(table, row, select) },
    };
  }

  private qualifyLead(key: RecordKey, call: DataverseCall): SimResponse {
    const lead = this.store.get(LEAD, key);
    const created = this.store.qualifyLead(
      String(lead.leadid),
      qualifyActionBody(requiredBody(call), this.store.resolveBind),
    );
    return {
      status: 200,
      headers: { 'Content-Type': JSON_TYPE },
      body: {
        '@odata.context':
          `${this.apiUrl()}` + `$metadata#Collection(Microsoft.Dynamics.CRM.crmbaseentity)`,
        value: created.map(({ table, row }) => ({
          '@odata.type': `#Microsoft.Dynamics.CRM.${table.logicalName}`,
          '@odata.etag': etagOf(row),
          [table.primaryKey]: row[table.primaryKey],
        })),
      },
    };
  }

  private closeOpportunity(call: DataverseCall, outcome: 'won' | 'lost'): SimResponse {
    const action = outcome === 'won' ? 'WinOpportunity' : 'LoseOpportunity';
    const { opportunityId, status, details } = closeActionBody(
      action,
      requiredBody(call),
      this.store.resolveBind,
    );
    this.store.closeOpportunity(opportunityId, outcome, status, details);
    return { status: 204 };
  }

  private whoAmI(): SimResponse {
    return {
      status: 200,
      headers: { 'Content-Type': JSON_TYPE },
      body: {
        '@odata.context': `${this.apiUrl()}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
        ...WHO_AM_I,
      },
    };
  }
}
