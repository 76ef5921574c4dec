// The validated, normalised form of a mapping file: what the engine runs and what later checks (CRM
// metadata) read.
import type { CLOSE_REASONS } from '../core/referral.js';
import type { CoSellDefinition } from './cosell.js';

/** One of the Partner Center portal's decline / loss reasons. */
export type CloseReason = (typeof CLOSE_REASONS)[number];

/** A value a mapping file may write literally (const, default, lookup results). */
export type Scalar = string | number | boolean | null;

/** The date forms the `date` transform produces. */
export type DateFormat = 'YYYY-MM-DD' | 'iso';

/** A value table for `lookup`: keys are compared as strings. */
export interface LookupTable {
  /**
   * The table's name in `lookups:` or a built-in name; null for a table written inline in a step.
   */
  readonly name: string | null;
  readonly entries: Readonly<Record<string, Scalar>>;
  /** What a miss gives when the table has `default:`; null means a miss is an error. */
  readonly miss: { readonly value: Scalar } | null;
  readonly builtIn: boolean;
}

/**
 * What a lookup step does on a miss, overriding the table: keep the input, or give a fixed value.
 */
export type LookupFallback = 'keep' | { readonly value: Scalar };

export type SimpleTransformName =
  | 'trim'
  | 'upper'
  | 'lower'
  | 'required'
  | 'number'
  | 'integer'
  | 'boolean'
  | 'email'
  | 'phone'
  | 'country';

export type TransformStep =
  | { readonly transform: SimpleTransformName }
  | { readonly transform: 'truncate'; readonly length: number }
  | { readonly transform: 'default'; readonly value: Scalar }
  | { readonly transform: 'date'; readonly format: DateFormat }
  | {
      readonly transform: 'lookup';
      readonly table: LookupTable;
      readonly fallback: LookupFallback | null;
    }
  | { readonly transform: 'join'; readonly separator: string }
  | { readonly transform: 'replace'; readonly pattern: string; readonly with: string }
  | { readonly transform: 'prefix' | 'suffix'; readonly text: string };

export type TransformName = TransformStep['transform'];

/**
 * One segment of a value path: `customerProfile.team[0].email`,
 * `details.requirements.solutions[].name`.
 */
export type PathSegment =
  { readonly key: string } | { readonly index: number } | { readonly each: true };

/** A parsed path; `text` is its canonical spelling. Computed values (`$hot`) have no segments. */
export interface ValuePath {
  readonly text: string;
  readonly computed: ComputedValue | null;
  readonly segments: readonly PathSegment[];
}

/** Values the engine computes for a referral rather than reading them from it. */
export type ComputedValue = '$leadKind' | '$hot' | '$referralLink' | '$referralId';

/** A template split into lines of literal text and placeholders. */
export interface Template {
  readonly text: string;
  readonly lines: ReadonlyArray<ReadonlyArray<string | ValuePath>>;
}

/** Where a field's value comes from: exactly one of these per field. */
export type ValueOrigin =
  /** The first non-empty of one or more paths. */
  | { readonly kind: 'source'; readonly paths: readonly ValuePath[] }
  | { readonly kind: 'template'; readonly template: Template }
  | { readonly kind: 'const'; readonly value: Scalar };

export interface FieldDefinition {
  /** The CRM field written (or, in status.acceptFields, the Partner Center accept field). */
  readonly name: string;
  readonly origin: ValueOrigin;
  readonly transforms: readonly TransformStep[];
  /**
   * What an empty result (null, '' or an empty list) becomes. false (the default): the field is
   * left out of the
   * payload, so a value a salesperson typed into the CRM survives later referral updates. true:
   * null is sent, which
   * clears the CRM field; use it for fields leadbridge owns outright.
   */
  readonly nullWhenEmpty: boolean;
}

export interface MappingDefaults {
  /** ISO 4217 code used for the accept `currency` when the CRM record gives none. */
  readonly currency: string | null;
  /** The nullWhenEmpty of fields that do not set their own. */
  readonly nullWhenEmpty: boolean;
}

/** The CRM outcomes that flow back to Partner Center. */
export type CrmOutcome = 'accepted' | 'declined' | 'won' | 'lost';
export const CRM_OUTCOMES: readonly CrmOutcome[] = ['won', 'lost', 'declined', 'accepted'];

/** The two record roles a status rule can look at (whatever the CRM calls them). */
export type RecordRole = 'lead' | 'opportunity';

/**
 * A rule matches when every `when` field of the record equals (as a string) one of the listed
 * values.
 */
export interface StatusRule {
  readonly entity: RecordRole;
  readonly when: Readonly<Record<string, readonly Scalar[]>>;
}

/** How a CRM field (`lead.statuscode`) turns into one of the Partner Center close reasons. */
export interface ReasonMapping {
  readonly field: ValuePath;
  /**
   * CRM value (as a string) → reason; when absent, a CRM value that already is a reason is used as
   * is.
   */
  readonly map: Readonly<Record<string, CloseReason>> | null;
  readonly default: CloseReason | null;
}

/** The fields Partner Center requires to accept a referral. */
export type AcceptFieldName = 'dealName' | 'dealValue' | 'currency' | 'closingDateTime' | 'notes';
export const ACCEPT_FIELD_NAMES: readonly AcceptFieldName[] = [
  'dealName',
  'dealValue',
  'currency',
  'closingDateTime',
  'notes',
];

export interface StatusDefinition {
  readonly rules: Readonly<Record<CrmOutcome, readonly StatusRule[]>>;
  readonly declineReasons: ReasonMapping | null;
  readonly lossReasons: ReasonMapping | null;
  /**
   * Sources are record paths: `lead.x`, `opportunity.x`, or `referral.x` (the referral as Partner
   * Center has it).
   */
  readonly acceptFields: Readonly<Partial<Record<AcceptFieldName, FieldDefinition>>>;
  /** CRM field values that show a referral expired unanswered. */
  readonly expiredReflection: Readonly<Record<string, Scalar>> | null;
}

export interface MappingDefinition {
  /** The file format version (`version: 1`). */
  readonly formatVersion: 1;
  readonly target: string;
  readonly entity: string;
  readonly defaults: MappingDefaults;
  /** CRM field name → definition, in file order. */
  readonly fields: Readonly<Record<string, FieldDefinition>>;
  /** The named tables of `lookups:` (built-in tables are not repeated here). */
  readonly lookups: Readonly<Record<string, LookupTable>>;
  readonly status: StatusDefinition | null;
  /** Partner-originated deals: the share flag and the outward fields (`coSell:`), or null. */
  readonly coSell: CoSellDefinition | null;
}
