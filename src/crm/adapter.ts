// What any CRM's adapter offers the sync engine (its kind's module.ts makes it).
import type { Logger } from '../core/log.js';
import type { RetryPolicy } from '../core/retry.js';

/** A referral already mapped into CRM fields (field name → value in the CRM's wire form). */
export interface MappedRecord {
  referralId: string;
  /** The CRM entity to write (lead by default). */
  entity?: 'lead' | 'opportunity';
  fields: Record<string, unknown>;
}

export interface CrmItemError {
  /** The CRM's own error code (`0x80048408`, `INVALID_FIELD`, `HTTP_400`...). */
  code: string;
  /** The CRM's message, verbatim. */
  message: string;
  /** Whether the same write may succeed later (throttling, 5xx, network). */
  retryable: boolean;
  /** CRM fields the error names, when it names any. */
  fields?: string[];
  status?: number;
  /**
   * Set when the record refused the write because the lead became other records (a converted
   * Salesforce
   * lead): the id of the record it became, or null when the CRM did not name it. Not retried, not
   * quarantined.
   */
  convertedInto?: string | null;
}

export type UpsertItemResult =
  | { referralId: string; ok: true; recordId: string; created: boolean }
  | { referralId: string; ok: false; error: CrmItemError };

/** An opportunity flagged "share with Microsoft" that has no referral yet. */
export interface SharedDeal {
  recordId: string;
  fields: Record<string, unknown>;
}

/** A CRM record linked to a referral, as read back for reconciliation. */
export interface CrmRecordState {
  referralId: string;
  /** The id of the record leadbridge wrote (the lead). */
  recordId: string;
  entity: 'lead' | 'opportunity';
  /** Change cursor value of this record (modifiedon / SystemModstamp), ISO-8601. */
  modifiedAt: string;
  /** The record's raw fields as the CRM returned them (state, status, deal fields...). */
  fields: Record<string, unknown>;
  /** The opportunity the lead was qualified / converted into, when there is one. */
  opportunity?: { recordId: string; modifiedAt: string; fields: Record<string, unknown> } | null;
  /**
   * Set once the lead was converted (Salesforce) or qualified (Dynamics) and so takes no more
   * writes from the
   * referral: the id of the opportunity it became ('' when the CRM names none).
   */
  convertedInto?: string;
}

export interface CrmChangePage {
  records: CrmRecordState[];
  /** Resume point after this page (pass back as `since`). */
  cursor: string | null;
}

/** The normalised type of a CRM field: what a mapping may write into it. */
export type CrmFieldType =
  | 'string'
  | 'text'
  | 'number'
  | 'integer'
  | 'boolean'
  | 'date'
  | 'datetime'
  | 'picklist'
  | 'id'
  | 'reference'
  | 'other';

/**
 * One field of a CRM entity, the same for every CRM (Dataverse attribute metadata, Salesforce
 * describe).
 */
export interface CrmFieldMetadata {
  /** The name a write uses (Dataverse logical name, Salesforce API name). */
  name: string;
  type: CrmFieldType;
  /** Longest accepted text, in characters (text-like fields). */
  maxLength?: number;
  /**
   * A create must supply it: the CRM requires it and does not fill it itself (ids, state, owner,
   * defaults excluded).
   */
  required: boolean;
  createable: boolean;
  updateable: boolean;
  /**
   * The values a picklist accepts (Dataverse option values are numbers, Salesforce picklist values
   * texts).
   */
  picklistValues?: Array<string | number>;
  /**
   * The picklist that backs this text field (Salesforce Country → CountryCode when State and
   * Country/Territory
   * Picklists are on): the text then takes only a listed value's integration value.
   */
  codeField?: string;
}

export interface CrmEntityMetadata {
  /** The entity as the CRM names it (lead, Lead). */
  entity: string;
  fields: CrmFieldMetadata[];
}

/** A CRM's request budget as last seen, and whether the adapter holds back because of it. */
export interface ApiBudget {
  /**
   * Requests counted so far in the CRM's window (Salesforce: the rolling 24 hours) and the window's
   * allocation.
   */
  used: number;
  max: number;
  /**
   * The configured share of `max` past which non-essential reads stop (Salesforce
   * limits.maxDailyApiShare).
   */
  limitShare: number;
  /** True while the adapter holds back (outcome reads skipped, or requests slowed down). */
  holdingBack: boolean;
}

/** Called once per HTTP attempt (metrics). */
type ApiCallHook = (info: {
  api: string;
  method: string;
  status: number | null;
  durationMs: number;
}) => void;

export interface CrmAdapterOptions {
  /** The configured target name (several targets may use the same CRM kind). */
  target: string;
  onCall?: ApiCallHook;
  /** Caps the CRM API's requests in flight and per interval (see the config's `limits`). */
  limiter?: { add<T>(task: () => Promise<T>): Promise<T> };
  logger?: Logger;
  retryPolicy?: RetryPolicy;
  /** Adapter-specific connection settings, validated by the adapter's own schema. */
  settings: unknown;
}

export interface CrmAdapter {
  /** The kind of its module (src/crm/modules.ts). */
  readonly kind: string;
  readonly target: string;
  /** How many records one upsertLeads call should carry (the CRM's batch cap). */
  readonly maxBatchSize: number;
  /**
   * Upsert by referral id; one result per input, in input order; only item-level failures are
   * returned as ok:false.
   */
  upsertLeads(
    records: MappedRecord[],
    options?: { signal?: AbortSignal },
  ): Promise<UpsertItemResult[]>;
  /**
   * Records linked to referrals that changed after `since` (null: from the beginning), page by
   * page.
   */
  readChanges(
    since: string | null,
    options?: { signal?: AbortSignal },
  ): AsyncIterable<CrmChangePage>;
  /** The request budget as last seen, or null before any call / for CRMs without one. Optional. */
  apiBudget?(): ApiBudget | null;
  /** The current record for one referral, or null (used by previews and reconciliation). */
  getByReferralId(
    referralId: string,
    options?: { signal?: AbortSignal },
  ): Promise<CrmRecordState | null>;
  /**
   * Marks the lead of a referral that expired unanswered with `fields` (the mapping's
   * status.expiredReflection),
   * when that lead is still open; `record` is a fresh read (getByReferralId). Resolves false when
   * the record was
   * left alone (not open, or not a lead), true or nothing when it was written. A record changed
   * since it was read
   * may fail with ConflictError (412). Optional: without it, expiries are not reflected into this
   * CRM.
   */
  reflectExpired?(
    record: CrmRecordState,
    fields: Record<string, unknown>,
    options?: { signal?: AbortSignal },
  ): Promise<boolean | void>;
  /**
   * The entity's fields as the CRM describes them (types, lengths, required, writable, picklist
   * values), for checking
   * a mapping against the real CRM. Fails with NOT_FOUND when the CRM has no such entity. Optional.
   */
  describeEntity?(entity: string, options?: { signal?: AbortSignal }): Promise<CrmEntityMetadata>;
  /**
   * Co-sell: opportunities whose `shareField` is true and whose referral-id field is still empty,
   * with
   * `fields` (and the record id). Optional: without it, no partner-originated deals come from this
   * CRM.
   */
  readSharedDeals?(
    shareField: string,
    fields: readonly string[],
    options?: { signal?: AbortSignal },
  ): Promise<SharedDeal[]>;
  /** Co-sell: writes the created referral's id into the opportunity's referral-id field. */
  linkDeal?(
    recordId: string,
    referralId: string,
    options?: { signal?: AbortSignal },
  ): Promise<void>;
  /** API calls made so far, for metrics and benchmarks. */
  readonly callCount: number;
  close?(): Promise<void>;
}
