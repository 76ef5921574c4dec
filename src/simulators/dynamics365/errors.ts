// The Dataverse errors the simulator answers with: HTTP status, hex error code and message, kept in
// one place.
import { SimHttpError } from '../common/server.js';
import { stateOf, type TableSpec } from './schema.js';

export const CODES = {
  /** OData-layer problems: unknown segment or property, bad query, bad header, bad batch. */
  odata: '0x80060888',
  notFound: '0x80040217',
  keyNotFound: '0x80060891',
  duplicateKey: '0x80040237',
  versionMismatch: '0x80060882',
  invalidStatus: '0x80048408',
  payload: '0x80048d19',
  stringTooLong: '0x80044331',
  outOfRange: '0x8004431a',
  invalidArgument: '0x80040203',
  tooManyRequests: '0x80072322',
  tooManyConcurrent: '0x80072326',
  unexpected: '0x80040216',
} as const;

export function odataError(message: string, status = 400): SimHttpError {
  return new SimHttpError(status, CODES.odata, message);
}

export function segmentNotFound(segment: string): SimHttpError {
  return new SimHttpError(404, CODES.odata, `Resource not found for the segment '${segment}'.`);
}

export function recordNotFound(table: TableSpec, id: string): SimHttpError {
  return new SimHttpError(
    404,
    CODES.notFound,
    `${table.logicalName} With Id = ${id} Does Not Exist`,
  );
}

export function keyNotFound(table: TableSpec): SimHttpError {
  return new SimHttpError(
    404,
    CODES.keyNotFound,
    `A record with the specified key values does not exist in ${table.logicalName} entity`,
  );
}

export function duplicateKey(status = 400): SimHttpError {
  return new SimHttpError(
    status,
    CODES.duplicateKey,
    'A record with matching key values already exists.',
  );
}

export function versionMismatch(): SimHttpError {
  return new SimHttpError(
    412,
    CODES.versionMismatch,
    "The version of the existing record doesn't match the RowVersion property provided.",
  );
}

/** A body property that the entity type does not declare. */
export function unknownBodyProperty(table: TableSpec, property: string): SimHttpError {
  return new SimHttpError(
    400,
    CODES.odata,
    `The property '${property}' does not exist on type 'Microsoft.Dynamics.CRM.` +
      `${table.logicalName}'.`,
  );
}

/** A $select / $filter / $orderby name that the entity type does not declare. */
export function unknownQueryProperty(table: TableSpec, property: string): SimHttpError {
  return new SimHttpError(
    400,
    CODES.odata,
    `Could not find a property named '${property}' on type 'Microsoft.Dynamics.CRM.` +
      `${table.logicalName}'.`,
  );
}

export function readOnlyProperty(table: TableSpec, property: string): SimHttpError {
  return new SimHttpError(
    400,
    CODES.odata,
    `The property '${property}' is read-only on type 'Microsoft.Dynamics.CRM.` +
      `${table.logicalName}' and cannot be set.`,
  );
}

export function cannotConvert(literal: string, edmType: string, property: string): SimHttpError {
  return new SimHttpError(
    400,
    CODES.payload,
    `Cannot convert the literal '${literal}' to the expected type '${edmType}' (property '` +
      `${property}').`,
  );
}

export function stringTooLong(table: TableSpec, property: string, maxLength: number): SimHttpError {
  return new SimHttpError(
    400,
    CODES.stringTooLong,
    `A validation error occurred.  The length of the '${property}' attribute of the '` +
      `${table.logicalName}' entity exceeded the maximum allowed length of '${maxLength}'.`,
  );
}

export function outOfRange(
  table: TableSpec,
  property: string,
  value: unknown,
  accepted: readonly number[],
): SimHttpError {
  return new SimHttpError(
    400,
    CODES.outOfRange,
    `A validation error occurred. The value ${String(value)} of '${property}' on record of ` +
      `type '${table.logicalName}' is outside the valid range. Accepted Values: ` +
      `${accepted.join(',')}`,
  );
}

/** `5 is not a valid status code for state code LeadState.Open on lead with Id <id>.` */
export function invalidStatus(
  table: TableSpec,
  statuscode: number,
  statecode: number,
  id: string,
): SimHttpError {
  const state = stateOf(table, statecode)?.name ?? String(statecode);
  return new SimHttpError(
    400,
    CODES.invalidStatus,
    `${statuscode} is not a valid status code for state code ${table.stateEnum}State.${state}` +
      ` on ${table.logicalName} with Id ${id}.`,
  );
}

export function invalidArgument(message: string): SimHttpError {
  return new SimHttpError(400, CODES.invalidArgument, message);
}

export function unsupportedMediaType(contentType: string): SimHttpError {
  return new SimHttpError(
    415,
    CODES.odata,
    `The request body's Content-Type '${contentType || 'none'}' is not supported; send JSON ` +
      `with Content-Type: application/json.`,
  );
}

export function methodNotAllowed(method: string, resource: string): SimHttpError {
  return new SimHttpError(
    405,
    CODES.odata,
    `The HTTP method '${method}' is not allowed on '${resource}'.`,
  );
}
