// JSON Patch as the referrals API applies it: only replace and add, JSON Pointer paths checked
// against the referral schema.
import {
  READ_ONLY_FIELDS,
  REFERRAL_SPEC,
  conform,
  suggestField,
  type FieldSpec,
} from './schema.js';
import { isPlainObject } from './json.js';

/** A patch the service would refuse; the message names the operation and its path. */
export class PatchError extends Error {
  override name = 'PatchError';
}

interface Operation {
  op: 'replace' | 'add';
  tokens: string[];
  value: unknown;
  label: string;
  /** The schema of the value the operation writes. */
  spec: FieldSpec;
}

const UNSUPPORTED_OPS: ReadonlySet<string> = new Set(['remove', 'move', 'copy', 'test']);
const EXAMPLE = '[{"op":"replace","path":"/details/notes","value":"..."}]';

/**
 * Applies the operations, all or nothing, to a copy of the referral and returns the copy. Each
 * written value is
 * checked against the schema at its path (and normalised: "10000" → 10000); what the operations do
 * not touch is
 * left as stored, so a referral the service itself stored with an odd value can still be written
 * to.
 */
export function applyReferralPatch(
  referral: Record<string, unknown>,
  operations: unknown,
): Record<string, unknown> {
  if (!Array.isArray(operations))
    throw new PatchError(`the body must be a JSON Patch array of operations, e.g. ${EXAMPLE}`);
  if (operations.length === 0)
    throw new PatchError(`the JSON Patch array has no operations, e.g. ${EXAMPLE}`);
  const parsed = operations.map((operation, i) => parseOperation(operation, i + 1));
  const problems: string[] = [];
  for (const operation of parsed)
    operation.value = conform(
      operation.value,
      operation.spec,
      operation.tokens.join('.'),
      problems,
    );
  if (problems.length > 0)
    throw new PatchError(`invalid referral after the update: ${problems.join('; ')}`);
  const document = structuredClone(referral);
  for (const operation of parsed) applyOperation(document, operation);
  return document;
}

function parseOperation(raw: unknown, number: number): Operation {
  if (!isPlainObject(raw))
    throw new PatchError(`operation ${number} must be an object with op, path and value`);
  const { op, path } = raw;
  if (typeof op !== 'string')
    throw new PatchError(`operation ${number} has no op (replace or add)`);
  if (typeof path !== 'string')
    throw new PatchError(
      `operation ${number} (${op}) has no path: give a JSON Pointer such as /details/notes`,
    );
  const label = `operation ${number} (${op} ${path})`;
  if (UNSUPPORTED_OPS.has(op))
    throw new PatchError(`${label}: op '${op}' is not supported; only replace and add are`);
  if (op !== 'replace' && op !== 'add')
    throw new PatchError(`${label}: unknown op '${op}'; only replace and add are supported`);
  if (!('value' in raw)) throw new PatchError(`${label}: value is missing`);
  const tokens = parsePointer(path, label);
  const spec = checkPath(tokens, op, label);
  return { op, tokens, value: raw.value, label, spec };
}

function parsePointer(path: string, label: string): string[] {
  if (path === '' || path === '/')
    throw new PatchError(`${label}: the whole referral cannot be replaced; patch its fields`);
  if (!path.startsWith('/'))
    throw new PatchError(
      `${label}: a path is a JSON Pointer starting with /, such as /details/notes`,
    );
  if (/~([^01]|$)/.test(path))
    throw new PatchError(`${label}: '~' must be escaped as ~0 (and '/' inside a name as ~1)`);
  return path
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * Every token must name a schema field or an array position; read-only fields are refused. Returns
 * the value's spec.
 */
function checkPath(tokens: string[], op: Operation['op'], label: string): FieldSpec {
  if (READ_ONLY_FIELDS.has(tokens[0]!))
    throw new PatchError(`${label}: /${tokens[0]} is read-only`);
  let spec: FieldSpec = REFERRAL_SPEC;
  let walked = '';
  tokens.forEach((token, i) => {
    if (spec.kind === 'object') {
      const field = Object.hasOwn(spec.fields, token) ? spec.fields[token] : undefined;
      if (!field) {
        const suggestion = suggestField(spec, token);
        throw new PatchError(
          `${label}: ${walked}/${token} is not a referral field${
            suggestion ? ` (did you mean ` + `${walked}/${suggestion}?)` : ''
          }`,
        );
      }
      spec = field;
    } else if (spec.kind === 'collection') {
      if (token === '-' && (i !== tokens.length - 1 || op !== 'add')) {
        throw new PatchError(
          `${label}: '-' (the end of ${walked}) is only valid as the last token of an add`,
        );
      }
      if (token !== '-' && !/^(0|[1-9]\d*)$/.test(token))
        throw new PatchError(`${label}: ${walked} is an array and '${token}' is not an index`);
      spec = spec.element;
    } else {
      throw new PatchError(
        `${label}: ${walked} is a ${spec.kind === 'datetime' ? 'date-time' : spec.kind} and ` +
          `has no member '${token}'`,
      );
    }
    walked = `${walked}/${token}`;
  });
  return spec;
}

function applyOperation(document: Record<string, unknown>, operation: Operation): void {
  const { tokens, label } = operation;
  let container: unknown = document;
  for (let i = 0; i < tokens.length - 1; i++) {
    container = Array.isArray(container)
      ? container[Number(tokens[i])]
      : (container as Record<string, unknown>)[tokens[i]!];
    if (container === null || container === undefined) {
      const at = `/${tokens.slice(0, i + 1).join('/')}`;
      throw new PatchError(
        `${label}: ${at} is ${container === null ? 'null' : 'absent'}, so nothing can be set ` +
          `inside it (set ${at} itself)`,
      );
    }
  }
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(container)) setInArray(container, last, operation);
  else (container as Record<string, unknown>)[last] = operation.value;
}

function setInArray(items: unknown[], token: string, operation: Operation): void {
  if (token === '-') {
    items.push(operation.value);
    return;
  }
  const index = Number(token);
  if (operation.op === 'add') {
    if (index > items.length)
      throw new PatchError(
        `${operation.label}: index ${index} is past the end of the array (length ${items.length})`,
      );
    items.splice(index, 0, operation.value);
  } else {
    if (index >= items.length)
      throw new PatchError(
        `${operation.label}: there is no element ${index} to replace (length ${items.length})`,
      );
    items[index] = operation.value;
  }
}
