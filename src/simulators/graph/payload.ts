// Checks shared by the Graph simulator's request bodies: JSON objects, declared properties, OData
// enum literals.
import { SimHttpError } from '../common/server.js';

/**
 * Graph's code when the OData reader cannot deserialise a body (unknown property, wrong literal
 * type).
 */
export const REQUEST_BODY_READ = 'RequestBodyRead';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The request's JSON object body; Graph answers an empty or non-object body with 400. */
export function requireJsonObject(body: unknown): Record<string, unknown> {
  if (body === undefined)
    throw new SimHttpError(400, 'BadRequest', 'Empty Payload. JSON content expected.');
  if (!isPlainObject(body))
    throw new SimHttpError(400, REQUEST_BODY_READ, 'The request body must be a JSON object.');
  return body;
}

/** Graph types are closed: a property the type does not declare is refused, naming the type. */
export function rejectUnknownProperties(
  value: Record<string, unknown>,
  declared: ReadonlySet<string>,
  graphType: string,
): void {
  for (const key of Object.keys(value)) {
    // OData annotations ("@odata.type") are allowed on any object.
    if (key.startsWith('@') || declared.has(key)) continue;
    throw new SimHttpError(
      400,
      REQUEST_BODY_READ,
      `The property '${key}' does not exist on type '${graphType}'. Make sure to only use ` +
        `property names that are defined by the type or mark the type as open type.`,
    );
  }
}

/**
 * An OData enum member, matched case-insensitively as Graph does; returns the canonical spelling.
 */
export function enumLiteral(value: unknown, members: readonly string[], graphType: string): string {
  const match =
    typeof value === 'string'
      ? members.find((m) => m.toLowerCase() === value.toLowerCase())
      : undefined;
  if (match === undefined) {
    throw new SimHttpError(
      400,
      REQUEST_BODY_READ,
      `Cannot convert the literal '${String(value)}' to the expected type '${graphType}'.`,
    );
  }
  return match;
}

export function optionalString(value: unknown, property: string, graphType: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') {
    throw new SimHttpError(
      400,
      REQUEST_BODY_READ,
      `The property '${property}' of type '${graphType}' must be a string (got ` +
        `${JSON.stringify(value)}).`,
    );
  }
  return value;
}
