// $select / $expand on the metadata routes: parsing them into a projection and checking names.
import type { SimHttpError } from '../common/server.js';
import { odataError } from './errors.js';

/** The namespace that qualifies metadata type names (casts, @odata.type, error messages). */
export const NAMESPACE = 'Microsoft.Dynamics.CRM.';

/** What a $select / $expand asks of one level. */
export interface Projection {
  select: string[] | null;
  expand: Map<string, Projection>;
}

export function readProjection(query: URLSearchParams): Projection {
  for (const name of query.keys()) {
    if (name.startsWith('$') && name !== '$select' && name !== '$expand') {
      throw odataError(
        `The query parameter ${name} is not supported on metadata by the Dataverse simulator ` +
          `(supported here: $select, $expand).`,
      );
    }
  }
  return projectionOf(query.get('$select'), query.get('$expand'));
}

function projectionOf(select: string | null, expand: string | null): Projection {
  const names = select === null ? null : select.split(',').map((name) => name.trim());
  if (names?.some((name) => name === ''))
    throw odataError(`Syntax error: empty name in $select '${select}'.`);
  return { select: names, expand: expand === null ? new Map() : parseExpand(expand) };
}

/**
 * `Attributes($select=a,b)`, `OptionSet($select=Options),GlobalOptionSet`: navigation → nested
 * projection.
 */
function parseExpand(text: string): Map<string, Projection> {
  const expanded = new Map<string, Projection>();
  for (const item of splitTopLevel(text, ',')) {
    const match = /^([A-Za-z]+)(?:\((.*)\))?$/s.exec(item.trim());
    if (!match) throw odataError(`Syntax error in $expand at '${item}'.`);
    const nested = { select: null as string | null, expand: null as string | null };
    for (const option of match[2] === undefined || match[2] === ''
      ? []
      : splitTopLevel(match[2], ';')) {
      const [name = '', ...value] = option.split('=');
      if (name.trim() === '$select') nested.select = value.join('=');
      else if (name.trim() === '$expand') nested.expand = value.join('=');
      else
        throw odataError(
          `The query option '${name.trim()}' is not supported inside $expand by the Dataverse ` +
            `simulator (supported: $select, $expand).`,
        );
    }
    expanded.set(match[1] as string, projectionOf(nested.select, nested.expand));
  }
  return expanded;
}

function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (depth < 0) throw odataError(`Syntax error: unbalanced parentheses in '${text}'.`);
    if (char === separator && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  if (depth !== 0) throw odataError(`Syntax error: unbalanced parentheses in '${text}'.`);
  parts.push(current);
  return parts;
}

export function checkSelect(
  select: string[] | null,
  allowed: readonly string[],
  typeName: string,
): string[] | null {
  for (const name of select ?? []) {
    if (!allowed.includes(name)) throw unknownProperty(name, typeName);
  }
  return select;
}

export function unknownProperty(name: string, typeName: string): SimHttpError {
  return odataError(`Could not find a property named '${name}' on type '${NAMESPACE}${typeName}'.`);
}
