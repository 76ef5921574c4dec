// The referral's shape as the simulator enforces it: field types for $filter, JSON Patch paths and
// body validation.
import { canonicalInstant } from './instant.js';
import {
  ASSISTANCE_REQUEST_CODES,
  CUSTOMER_SIZES,
  DIRECTIONS,
  PROFILE_ID_TYPES,
  QUALIFICATIONS,
  REFERRAL_TYPES,
  SALES_STAGES,
  SOLUTION_TYPES,
  STATUSES,
  SUBSTATUSES,
  TARGET_TYPES,
} from './vocabulary.js';

export type FieldSpec =
  | { kind: 'string'; enumValues?: readonly string[]; format?: 'country' | 'currency' }
  | { kind: 'datetime' }
  /** A number; numeric strings such as "10000" are accepted and stored as numbers. */
  | { kind: 'number' }
  | { kind: 'boolean' }
  | { kind: 'object'; fields: Readonly<Record<string, FieldSpec>> }
  | { kind: 'collection'; element: FieldSpec };

export type ObjectSpec = Extract<FieldSpec, { kind: 'object' }>;

const text: FieldSpec = { kind: 'string' };
const datetime: FieldSpec = { kind: 'datetime' };
const flag: FieldSpec = { kind: 'boolean' };
const oneOf = (enumValues: readonly string[]): FieldSpec => ({ kind: 'string', enumValues });
const object = (fields: Record<string, FieldSpec>): ObjectSpec => ({ kind: 'object', fields });
const collection = (element: FieldSpec): FieldSpec => ({ kind: 'collection', element });

const member = object({
  firstName: text,
  lastName: text,
  phoneNumber: text,
  email: text,
  contactPreference: object({ locale: text, disableNotifications: flag }),
});
const tag = object({ id: text });
const link = object({ uri: text, method: text, headers: collection(text) });

/** Every field of a referral (api-facts.md §1), in the order the simulator writes them. */
export const REFERRAL_SPEC: ObjectSpec = object({
  id: text,
  engagementId: text,
  organizationId: text,
  organizationName: text,
  name: text,
  externalReferenceId: text,
  createdDateTime: datetime,
  updatedDateTime: datetime,
  expirationDateTime: datetime,
  acceptedDateTime: datetime,
  status: oneOf(STATUSES),
  substatus: oneOf(SUBSTATUSES),
  statusReason: text,
  type: oneOf(REFERRAL_TYPES),
  qualification: oneOf(QUALIFICATIONS),
  direction: oneOf(DIRECTIONS),
  referralSource: text,
  callToAction: text,
  customerProfile: object({
    name: text,
    address: object({
      addressLine1: text,
      addressLine2: text,
      city: text,
      state: text,
      postalCode: text,
      country: { kind: 'string', format: 'country' },
      region: text,
    }),
    size: oneOf(CUSTOMER_SIZES),
    team: collection(member),
    ids: collection(object({ id: text, profileType: oneOf(PROFILE_ID_TYPES) })),
  }),
  consent: object({
    consentToToShareInfoWithOthers: flag,
    consentToContact: flag,
    consentToMicrosoftToContactSpecificPartners: flag,
    consentToShareReferralWithMicrosoftSellers: flag,
  }),
  details: object({
    notes: text,
    dealValue: { kind: 'number' },
    currency: { kind: 'string', format: 'currency' },
    closingDateTime: datetime,
    customerRequestedContact: flag,
    customerAction: text,
    requirements: object({
      // Tag and SolutionTag objects (swagger definitions Tag, SolutionTag), never bare strings.
      industries: collection(tag),
      products: collection(tag),
      services: collection(tag),
      solutions: collection(object({ id: text, name: text, type: oneOf(SOLUTION_TYPES) })),
    }),
  }),
  team: collection(member),
  inviteContext: object({
    notes: text,
    invitedBy: object({ organizationId: text, organizationName: text }),
    assistanceRequestCode: oneOf(ASSISTANCE_REQUEST_CODES),
  }),
  target: collection(object({ type: oneOf(TARGET_TYPES), id: text })),
  campaignId: text,
  favorite: flag,
  salesStage: oneOf(SALES_STAGES),
  eTag: text,
  links: object({ self: link, relatedReferrals: link }),
});

export const TOP_LEVEL_FIELDS: readonly string[] = Object.keys(REFERRAL_SPEC.fields);

/** Fields a partner can never write (PATCH and PUT); the server or Microsoft owns them. */
export const READ_ONLY_FIELDS: ReadonlySet<string> = new Set([
  'id',
  'eTag',
  'createdDateTime',
  'updatedDateTime',
  'expirationDateTime',
  'acceptedDateTime',
  'links',
  'engagementId',
  'organizationId',
  'organizationName',
  'direction',
  'qualification',
  'type',
]);

/**
 * Fields the server sets when a partner creates a referral (type and qualification are the
 * partner's to choose then).
 */
export const SERVER_SET_ON_CREATE: readonly string[] = [...READ_ONLY_FIELDS].filter(
  (f) => f !== 'type' && f !== 'qualification',
);

/**
 * The field a misspelt name probably meant: the same name in another case (OData names are
 * case-sensitive), else the one closest by at most two edits.
 */
export function suggestField(spec: ObjectSpec, name: string): string | null {
  const fields = Object.keys(spec.fields);
  const lower = name.toLowerCase();
  const sameLetters = fields.find((field) => field.toLowerCase() === lower);
  if (sameLetters) return sameLetters;
  let best: { field: string; distance: number } | null = null;
  for (const field of fields) {
    const distance = editDistance(lower, field.toLowerCase());
    if (distance <= 2 && (!best || distance < best.distance)) best = { field, distance };
  }
  return best?.field ?? null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * Validates a value against a spec and returns it as a typed .NET contract would re-serialise it:
 * known fields only (absent ones as null), date-times canonical, numeric strings as numbers.
 * Every problem is appended to `problems` with its dotted path.
 */
export function conform(
  value: unknown,
  spec: FieldSpec,
  path: string,
  problems: string[],
): unknown {
  if (value === null || value === undefined) return null;
  switch (spec.kind) {
    case 'string':
      return conformString(value, spec, path, problems);
    case 'datetime': {
      const instant = canonicalInstant(value);
      if (instant === null)
        problems.push(
          `${path}: expected an ISO-8601 date-time such as 2025-06-30T00:00:00Z, got ` +
            `${describe(value)}`,
        );
      return instant;
    }
    case 'number':
      return conformNumber(value, path, problems);
    case 'boolean':
      if (typeof value !== 'boolean')
        problems.push(`${path}: expected true or false, got ${describe(value)}`);
      return value;
    case 'object':
      return conformObject(value, spec, path, problems);
    case 'collection':
      if (!Array.isArray(value)) {
        problems.push(`${path}: expected an array, got ${describe(value)}`);
        return value;
      }
      return value.map((element, index) =>
        conform(element, spec.element, `${path}[${index}]`, problems),
      );
  }
}

export function conformObject(
  value: unknown,
  spec: ObjectSpec,
  path: string,
  problems: string[],
): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${path || 'body'}: expected an object, got ${describe(value)}`);
    return {};
  }
  const source = value as Record<string, unknown>;
  const result: Record<string, unknown> = {};
  for (const [field, fieldSpec] of Object.entries(spec.fields)) {
    result[field] = conform(source[field], fieldSpec, path ? `${path}.${field}` : field, problems);
  }
  return result;
}

function conformString(
  value: unknown,
  spec: Extract<FieldSpec, { kind: 'string' }>,
  path: string,
  problems: string[],
): unknown {
  if (typeof value !== 'string') {
    problems.push(`${path}: expected a string, got ${describe(value)}`);
  } else if (spec.enumValues && !spec.enumValues.includes(value)) {
    problems.push(
      `${path}: ${describe(value)} is not a valid value (expected one of ` +
        `${spec.enumValues.join(', ')})`,
    );
  } else if (spec.format === 'country' && !/^[A-Z]{2}$/.test(value)) {
    problems.push(
      `${path}: ${describe(value)} is not an ISO 3166 two-letter country code such as US`,
    );
  } else if (spec.format === 'currency' && !/^[A-Z]{3}$/.test(value)) {
    problems.push(
      `${path}: ${describe(value)} is not an ISO 4217 three-letter currency code such as USD`,
    );
  }
  return value;
}

function conformNumber(value: unknown, path: string, problems: string[]): unknown {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim()))
    return Number(value.trim());
  problems.push(
    `${path}: expected a number (or a numeric string such as "10000"), got ${describe(value)}`,
  );
  return value;
}

/** A short rendering of a received value for error messages. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const shown = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const clipped = shown.length > 60 ? `${shown.slice(0, 57)}...` : shown;
  return typeof value === 'string' ? `'${clipped}'` : clipped;
}
