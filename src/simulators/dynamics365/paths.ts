// Resource paths below the service root: `leads`, `leads(<guid>)`,
// `leads(lb_referralid='x')/Microsoft.Dynamics.CRM.QualifyLead`.
import { odataError } from './errors.js';

export const SERVICE_ROOT_PATH = '/api/data/v9.2/';

export const GUID_PATTERN =
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export type RecordKey =
  { kind: 'id'; id: string } | { kind: 'alternate'; values: Record<string, string> };

export interface ResourcePath {
  /** The first segment: an entity set, an unbound operation, or `$batch`. */
  head: string;
  key?: RecordKey;
  /** Segments after the keyed one (a bound action, a property). */
  rest: string[];
}

/** Parses a percent-decoded path relative to the service root. */
export function parseResourcePath(path: string): ResourcePath {
  const open = path.indexOf('(');
  const slash = path.indexOf('/');
  if (open === -1 || (slash !== -1 && slash < open)) {
    const [head = '', ...rest] = path.split('/');
    return { head, rest: rest.filter((segment) => segment !== '') };
  }
  const head = path.slice(0, open);
  const close = closingParen(path, open);
  const key = parseKey(path.slice(open + 1, close), path);
  const after = path.slice(close + 1);
  if (after !== '' && !after.startsWith('/'))
    throw odataError(
      `Bad Request - Error in query syntax: unexpected '${after}' after the key in '${path}'.`,
    );
  return { head, key, rest: after.split('/').filter((segment) => segment !== '') };
}

/** The index of the `)` closing the key that opens at `open`, skipping quoted literals. */
function closingParen(path: string, open: number): number {
  let quoted = false;
  for (let index = open + 1; index < path.length; index++) {
    const char = path[index];
    if (char === "'") {
      if (quoted && path[index + 1] === "'") index++;
      else quoted = !quoted;
    } else if (char === ')' && !quoted) {
      return index;
    }
  }
  throw odataError(`Bad Request - Error in query syntax: the key in '${path}' is not closed.`);
}

function parseKey(inner: string, path: string): RecordKey {
  const trimmed = inner.trim();
  if (GUID_PATTERN.test(trimmed)) return { kind: 'id', id: trimmed.toLowerCase() };
  if (!trimmed.includes('='))
    throw odataError(
      `Bad Request - Error in query syntax: '${inner}' in '${path}' is neither a GUID nor ` +
        `name='value' pairs.`,
    );
  const values: Record<string, string> = {};
  let position = 0;
  while (position < trimmed.length) {
    const equals = trimmed.indexOf('=', position);
    if (equals === -1)
      throw odataError(
        `Bad Request - Error in query syntax: expected name=value in the key of '${path}'.`,
      );
    const name = trimmed.slice(position, equals).trim();
    const { value, end } = readKeyValue(trimmed, equals + 1, path);
    values[name] = value;
    position = skipSeparator(trimmed, end, path);
  }
  return { kind: 'alternate', values };
}

/** A quoted literal (quotes doubled inside) or a bare value up to the next comma. */
function readKeyValue(text: string, start: number, path: string): { value: string; end: number } {
  let index = start;
  while (text[index] === ' ') index++;
  if (text[index] !== "'") {
    const comma = text.indexOf(',', index);
    const end = comma === -1 ? text.length : comma;
    return { value: text.slice(index, end).trim(), end };
  }
  let value = '';
  for (index++; index < text.length; index++) {
    const char = text[index];
    if (char === "'" && text[index + 1] === "'") {
      value += "'";
      index++;
    } else if (char === "'") {
      return { value, end: index + 1 };
    } else {
      value += char;
    }
  }
  throw odataError(
    `Bad Request - Error in query syntax: unterminated string literal in the key of '${path}'.`,
  );
}

function skipSeparator(text: string, index: number, path: string): number {
  let position = index;
  while (text[position] === ' ') position++;
  if (position >= text.length) return position;
  if (text[position] !== ',')
    throw odataError(
      `Bad Request - Error in query syntax: unexpected '${text.slice(position)}' in the key ` +
        `of '${path}'.`,
    );
  return position + 1;
}

/**
 * The path below the service root that a URL or reference names:
 * `https://org/api/data/v9.2/leads(…)`,
 * `/api/data/v9.2/leads(…)`, `/leads(…)` and `leads(…)` all give `leads(…)`. Undefined when it
 * names another root.
 */
export function pathBelowRoot(reference: string): string | undefined {
  let path = reference;
  const absolute = /^https?:\/\/[^/]+(\/.*)?$/i.exec(reference);
  if (absolute) path = absolute[1] ?? '/';
  if (path.startsWith(SERVICE_ROOT_PATH)) return path.slice(SERVICE_ROOT_PATH.length);
  if (absolute || path.startsWith('/api/')) return undefined;
  return path.replace(/^\//, '');
}
