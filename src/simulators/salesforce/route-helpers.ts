// Shared pieces of the REST handlers: route wrapping, the versioned prefix, URL and body readers.
import type { SimRequest, SimResponse, SimRoute } from '../common/server.js';
import { SalesforceApiError, answeringErrors, notFound, type RecordError } from './errors.js';
import type { QueryCursors } from './query.js';
import { findField, findObject, type FieldSpec, type SObjectSpec } from './schema.js';
import type { SalesforceStore } from './store.js';

/** What the REST routes need from the simulator. */
export interface RestContext {
  store: SalesforceStore;
  cursors: QueryCursors;
  versions: readonly string[];
  instanceUrl: () => string;
  apiUsage: () => { used: number; limit: number };
  /**
   * A /_sim/refusals rule's error for a save of the record with this external id (record-level
   * faults).
   */
  refusalFor?: (key: string) => RecordError | undefined;
}

/** The simulated org and its integration user, as they appear in identity URLs. */
export const ORG_ID = '00D5g000004SimOrgEAA';
export const USER_ID = '0055g000004SimUsrAAA';

/**
 * The versioned prefix of every REST route; the version is checked against the served list by the
 * auth hook.
 */
export const VERSIONED = String.raw`^/services/data/v(?<version>[^/]+)`;

export function route(method: string, pattern: string, handler: SimRoute['handler']): SimRoute {
  return { method, pattern: new RegExp(pattern), handler: answeringErrors(handler) };
}

export const json = (body: unknown, status = 200): SimResponse => ({ status, body });

export function versionOf(req: SimRequest): string {
  return req.params.version ?? '';
}

/** The sObject named in the URL (case-insensitive); unknown types are 404 as on the platform. */
export function objectOf(req: SimRequest, param = 'type'): SObjectSpec {
  const object = findObject(req.params[param] ?? '');
  if (!object) throw notFound();
  return object;
}

/**
 * The JSON body of a write; an empty body or a non-JSON content type is refused the platform's way.
 */
export function bodyOf(req: SimRequest): unknown {
  if (req.rawBody.trim() === '') {
    throw new SalesforceApiError(
      400,
      'JSON_PARSER_ERROR',
      'The HTTP entity body is required, but this request has no entity body.',
    );
  }
  if (req.body === undefined) {
    const type = String(req.headers['content-type'] ?? '');
    throw new SalesforceApiError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type header specified in HTTP request is not supported: ${type}`,
    );
  }
  return req.body;
}

export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new SalesforceApiError(
      400,
      'MALFORMED_URL',
      `The URL segment is not valid percent-encoding: ${segment}`,
    );
  }
}

/** The external id field named in an upsert URL: it must exist and be marked External ID. */
export function externalIdFieldOf(object: SObjectSpec, name: string): FieldSpec {
  const field = findField(object, name);
  if (!field || !field.externalId) {
    throw notFound(`Provided external ID field does not exist or is not accessible: ${name}`);
  }
  return field;
}

/** `?fields=A,B` of a retrieve, each checked; absent means every field. */
export function fieldsParam(object: SObjectSpec, list: string | null): readonly FieldSpec[] {
  if (list === null || list.trim() === '') return object.fields;
  return list.split(',').map((name) => {
    const field = findField(object, name.trim());
    if (!field) {
      throw new SalesforceApiError(
        400,
        'INVALID_FIELD',
        `No such column '${name.trim()}' on entity '${object.name}'. If you are attempting to ` +
          `use a custom field, be sure to append the '__c' after the custom field name. Please ` +
          `reference your WSDL or the describe call for the appropriate names.`,
      );
    }
    return field;
  });
}

export function versionAtLeast(version: string, major: number): boolean {
  return Number.parseFloat(version) >= major;
}
