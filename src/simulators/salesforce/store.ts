// The simulated org's records in memory: saves with the platform's checks, unique indexes, undo for
// all-or-none.
import type { SimClock } from '../common/clock.js';
import { recordError, type RecordError } from './errors.js';
import { makeRecordId, normaliseRecordId } from './ids.js';
import { LEAD, SOBJECTS, objectForId, type FieldSpec, type SObjectSpec } from './schema.js';
import { ADDRESSES, syncAddress } from './address-picklists.js';
import { defaultsOf, derive, withoutNulls } from './rows.js';
import { convertLead, type ConvertLeadOptions, type LeadConversion } from './conversion.js';
import { checkRecordFields, type FieldValue, type RecordInput, type SObjectRow } from './values.js';

export { systemInput } from './rows.js';

/** A failed save names the record (`id`) when it concerned an existing one (update, delete). */
export type SaveResult =
  { ok: true; id: string; created: boolean } | { ok: false; error: RecordError; id?: string };

export interface SaveOptions {
  /**
   * A system write (lead conversion, the simulator's admin): read-only fields and converted leads
   * may change.
   */
  asSystem?: boolean;
}

interface ObjectTable {
  object: SObjectSpec;
  rows: Map<string, SObjectRow>;
  /**
   * Unique field → lower-cased value → id of the live record holding it (text uniqueness ignores
   * case).
   */
  uniqueIndexes: Map<string, Map<string, string>>;
  seq: number;
}

interface UndoEntry {
  table: ObjectTable;
  id: string;
  previous: SObjectRow | undefined;
}

export class SalesforceStore {
  private tables = new Map<string, ObjectTable>();
  private lastStampMs = 0;
  private undoLog: UndoEntry[] | null = null;

  /**
   * @param statePicklists State and Country/Territory Picklists (on by default, as in new orgs):
   * the address code
   * picklists exist, and address texts must be integration values.
   */
  constructor(
    readonly clock: SimClock,
    readonly statePicklists = true,
  ) {
    this.reset();
  }

  reset(): void {
    this.tables = new Map(
      SOBJECTS.map((object) => [
        object.name,
        {
          object,
          rows: new Map(),
          uniqueIndexes: new Map(
            object.fields.filter((f) => f.unique).map((f) => [f.name, new Map()]),
          ),
          seq: 0,
        },
      ]),
    );
    this.lastStampMs = 0;
  }

  /** A live (not deleted) record by 15- or 18-character id. */
  get(object: SObjectSpec, id: string): SObjectRow | undefined {
    const row = this.getIncludingDeleted(object, id);
    return row && row.IsDeleted !== true ? row : undefined;
  }

  getIncludingDeleted(object: SObjectSpec, id: string): SObjectRow | undefined {
    const canonical = normaliseRecordId(id);
    return canonical ? this.table(object).rows.get(canonical) : undefined;
  }

  /** Whether a live record of any object has this id. */
  exists(id: string): boolean {
    const object = objectForId(id);
    return object !== undefined && this.get(object, id) !== undefined;
  }

  /** Records in creation order; deleted ones only when asked (queryAll). */
  *rows(object: SObjectSpec, includeDeleted = false): IterableIterator<SObjectRow> {
    for (const row of this.table(object).rows.values()) {
      if (includeDeleted || row.IsDeleted !== true) yield row;
    }
  }

  count(object: SObjectSpec): number {
    let n = 0;
    for (const row of this.table(object).rows.values()) if (row.IsDeleted !== true) n++;
    return n;
  }

  /**
   * Live records whose external id field holds this value (case-insensitive, as text external ids
   * match).
   */
  findByExternalId(object: SObjectSpec, field: FieldSpec, value: string): SObjectRow[] {
    const table = this.table(object);
    const index = table.uniqueIndexes.get(field.name);
    if (index) {
      const id = index.get(value.toLowerCase());
      const row = id ? table.rows.get(id) : undefined;
      return row ? [row] : [];
    }
    const wanted = value.toLowerCase();
    return [...this.rows(object)].filter(
      (row) => String(row[field.name] ?? '').toLowerCase() === wanted,
    );
  }

  create(object: SObjectSpec, input: RecordInput, options: SaveOptions = {}): SaveResult {
    if (input.id !== undefined)
      return failure(recordError('INVALID_FIELD', 'cannot specify Id in an insert call'));
    const checked = checkRecordFields(object, input, {
      mode: 'create',
      exists: (id) => this.exists(id),
      asSystem: options.asSystem,
    });
    if (!checked.ok) return failure(checked.error);
    const addressError = this.checkAddresses(object, checked.values, undefined);
    if (addressError) return failure(addressError);
    const table = this.table(object);
    const draft: Record<string, FieldValue> = {
      ...defaultsOf(object),
      ...withoutNulls(checked.values),
    };
    const duplicate = this.findDuplicate(table, draft, undefined);
    if (duplicate) return failure(duplicate);
    table.seq += 1;
    const id = makeRecordId(object.keyPrefix, table.seq);
    const stamp = this.nextStamp();
    const row = derive(object, {
      Id: id,
      ...draft,
      CreatedDate: stamp,
      LastModifiedDate: stamp,
      SystemModstamp: stamp,
    });
    this.putRow(table, id, row);
    return { ok: true, id, created: true };
  }

  update(
    object: SObjectSpec,
    id: string,
    input: RecordInput,
    options: SaveOptions = {},
  ): SaveResult {
    const table = this.table(object);
    const canonical = normaliseRecordId(id);
    if (canonical === null || canonical.slice(0, 3) !== object.keyPrefix) {
      return failure(
        recordError('MALFORMED_ID', `${object.name} ID: id value of incorrect type: ${id}`, ['Id']),
      );
    }
    const previous = table.rows.get(canonical);
    if (!previous)
      return failure(recordError('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id'));
    if (previous.IsDeleted === true)
      return failure(recordError('ENTITY_IS_DELETED', 'entity is deleted'), canonical);
    if (object === LEAD && previous.IsConverted === true && !options.asSystem) {
      return failure(
        recordError('CANNOT_UPDATE_CONVERTED_LEAD', 'cannot reference converted lead'),
        canonical,
      );
    }
    const checked = checkRecordFields(object, input, {
      mode: 'update',
      exists: (ref) => this.exists(ref),
      asSystem: options.asSystem,
    });
    if (!checked.ok) return failure(checked.error, canonical);
    const addressError = this.checkAddresses(object, checked.values, previous);
    if (addressError) return failure(addressError, canonical);
    const duplicate = this.findDuplicate(table, checked.values, canonical);
    if (duplicate) return failure(duplicate, canonical);
    const stamp = this.nextStamp();
    const next = derive(
      object,
      withoutNulls({
        ...previous,
        ...checked.values,
        LastModifiedDate: stamp,
        SystemModstamp: stamp,
      }),
    );
    this.putRow(table, canonical, next);
    return { ok: true, id: canonical, created: false };
  }

  /**
   * Upsert by external id: update the one record holding `value`, create one when none does.
   * Several matches (possible only for a non-unique external id) yield their ids, as the platform's
   * 300.
   */
  upsert(
    object: SObjectSpec,
    field: FieldSpec,
    value: string,
    input: RecordInput,
    options: SaveOptions = {},
  ): SaveResult | { multiple: string[] } {
    const matches = this.findByExternalId(object, field, value);
    if (matches.length > 1) return { multiple: matches.map((row) => String(row.Id)) };
    const match = matches[0];
    if (match) return this.update(object, String(match.Id), input, options);
    const withKey = input.fields.some(([f]) => f === field)
      ? input
      : { ...input, fields: [...input.fields, [field, value] as [FieldSpec, FieldValue]] };
    return this.create(object, withKey, options);
  }

  /**
   * Soft delete: the record stays visible to queryAll with IsDeleted = true and frees its unique
   * values.
   */
  delete(object: SObjectSpec, id: string): SaveResult {
    const table = this.table(object);
    const canonical = normaliseRecordId(id);
    if (canonical === null || canonical.slice(0, 3) !== object.keyPrefix) {
      return failure(recordError('MALFORMED_ID', `malformed id ${id}`));
    }
    const previous = table.rows.get(canonical);
    if (!previous)
      return failure(recordError('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id'));
    if (previous.IsDeleted === true)
      return failure(recordError('ENTITY_IS_DELETED', 'entity is deleted'), canonical);
    const stamp = this.nextStamp();
    this.putRow(table, canonical, {
      ...previous,
      IsDeleted: true,
      LastModifiedDate: stamp,
      SystemModstamp: stamp,
    });
    return { ok: true, id: canonical, created: false };
  }

  /** Runs `work`; its saves are undone unless it returns true (allOrNone, conversion). */
  atomically(work: () => boolean): boolean {
    if (this.undoLog) throw new Error('atomically() does not nest');
    const log: UndoEntry[] = [];
    this.undoLog = log;
    let committed = false;
    try {
      committed = work();
      return committed;
    } finally {
      this.undoLog = null;
      if (!committed)
        for (const entry of log.reverse()) this.putRow(entry.table, entry.id, entry.previous);
    }
  }

  /**
   * Converts a lead as a CRM user would: an Account and an Opportunity are created and the lead is
   * locked.
   */
  convertLead(leadId: string, options: ConvertLeadOptions = {}): LeadConversion {
    return convertLead(this, leadId, options);
  }

  /** The next SystemModstamp: the clock's time, but always after the previous stamp. */
  nextStamp(): number {
    this.lastStampMs = Math.max(this.clock.nowMs(), this.lastStampMs + 1);
    return this.lastStampMs;
  }

  /**
   * Address fields of a save: unknown without the picklists feature, else synced and checked
   * (values completed in place).
   */
  private checkAddresses(
    object: SObjectSpec,
    values: Record<string, FieldValue>,
    previous: SObjectRow | undefined,
  ): RecordError | undefined {
    if (!this.statePicklists) {
      const featured = object.fields.find(
        (field) => field.feature !== undefined && values[field.name] !== undefined,
      );
      return featured
        ? recordError(
            'INVALID_FIELD',
            `No such column '${featured.name}' on sobject of type ${object.name}`,
            [featured.name],
          )
        : undefined;
    }
    for (const address of ADDRESSES[object.name] ?? []) {
      const error = syncAddress(address, values, previous);
      if (error) return error;
    }
    return undefined;
  }

  private table(object: SObjectSpec): ObjectTable {
    const table = this.tables.get(object.name);
    if (!table) throw new Error(`no table for ${object.name}`);
    return table;
  }

  private findDuplicate(
    table: ObjectTable,
    values: Record<string, FieldValue>,
    selfId: string | undefined,
  ): RecordError | undefined {
    for (const [fieldName, index] of table.uniqueIndexes) {
      const value = values[fieldName];
      if (typeof value !== 'string') continue;
      const holder = index.get(value.toLowerCase());
      if (holder && holder !== selfId) {
        return recordError(
          'DUPLICATE_VALUE',
          `duplicate value found: ${fieldName} duplicates value on record with id: ${holder}`,
          [fieldName],
        );
      }
    }
    return undefined;
  }

  /** Replaces (or removes) a row, keeping the unique indexes and the undo log in step. */
  private putRow(table: ObjectTable, id: string, next: SObjectRow | undefined): void {
    const previous = table.rows.get(id);
    this.undoLog?.push({ table, id, previous });
    for (const [fieldName, index] of table.uniqueIndexes) {
      const oldKey = indexKey(previous, fieldName);
      if (oldKey !== undefined && index.get(oldKey) === id) index.delete(oldKey);
      const newKey = indexKey(next, fieldName);
      if (newKey !== undefined) index.set(newKey, id);
    }
    if (next) table.rows.set(id, next);
    else table.rows.delete(id);
  }
}

function failure(error: RecordError, id?: string): SaveResult {
  return id === undefined ? { ok: false, error } : { ok: false, error, id };
}

function indexKey(row: SObjectRow | undefined, fieldName: string): string | undefined {
  if (!row || row.IsDeleted === true) return undefined;
  const value = row[fieldName];
  return typeof value === 'string' ? value.toLowerCase() : undefined;
}
