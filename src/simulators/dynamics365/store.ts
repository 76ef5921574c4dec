// The simulator's records: four tables in memory, the alternate-key index, row versions, audit
// stamps and atomic change sets.
import { randomUUID } from 'node:crypto';
import type { SimClock } from '../common/clock.js';
import {
  duplicateKey,
  invalidArgument,
  invalidStatus,
  keyNotFound,
  odataError,
  outOfRange,
  recordNotFound,
} from './errors.js';
import { parseResourcePath, pathBelowRoot, type RecordKey } from './paths.js';
import {
  ACCOUNT,
  CONTACT,
  LEAD,
  OPPORTUNITY,
  TABLES,
  stateOf,
  stateOfStatus,
  tableByEntitySet,
  type ColumnSpec,
  type TableSpec,
} from './schema.js';
import type { Row, RowValue } from './values.js';
import { TableRows } from './table-rows.js';
import { checkStatePolicy, defaultState, type StateActor } from './state-policy.js';
import { qualifyLead, type CreatedRecord, type QualifyOptions } from './qualify.js';

export interface OpportunityCloseDetails {
  subject?: string | null;
  description?: string | null;
  actualrevenue?: number | null;
  /** YYYY-MM-DD */
  actualend?: string | null;
}

export class DataverseStore {
  /** Closing records written by WinOpportunity / LoseOpportunity, oldest first. */
  readonly opportunityCloses: Row[] = [];
  private readonly tables = new Map<TableSpec, TableRows>(
    TABLES.map((spec) => [spec, new TableRows(spec)]),
  );
  private version = 1_000_000;
  private lastStampMs = 0;
  /** Undo steps of the change set under way, newest last; null outside change sets. */
  private journal: (() => void)[] | null = null;

  constructor(private readonly clock: SimClock) {}

  get leads(): ReadonlyMap<string, Row> {
    return this.rowsOf(LEAD);
  }

  get opportunities(): ReadonlyMap<string, Row> {
    return this.rowsOf(OPPORTUNITY);
  }

  get accounts(): ReadonlyMap<string, Row> {
    return this.rowsOf(ACCOUNT);
  }

  get contacts(): ReadonlyMap<string, Row> {
    return this.rowsOf(CONTACT);
  }

  rowsOf(table: TableSpec): ReadonlyMap<string, Row> {
    return this.state(table).rows;
  }

  /** The lead whose alternate key (lb_referralid) is `referralId`, compared case-insensitively. */
  findLeadByKey(referralId: string): Row | undefined {
    return this.state(LEAD).findByKey(referralId);
  }

  /**
   * Opportunities carrying this referral id (lb_referralid is not a key there, so there may be
   * several).
   */
  findOpportunitiesByReferralId(referralId: string): Row[] {
    const wanted = referralId.toLowerCase();
    return [...this.opportunities.values()].filter(
      (row) => typeof row.lb_referralid === 'string' && row.lb_referralid.toLowerCase() === wanted,
    );
  }

  clear(): void {
    for (const rows of this.tables.values()) rows.clear();
    this.opportunityCloses.length = 0;
    this.lastStampMs = 0;
  }

  /**
   * Runs `work` atomically: if it throws, every write it made is undone. Nested calls join the
   * outer one.
   */
  transaction<T>(work: () => T): T {
    if (this.journal) return work();
    const journal: (() => void)[] = [];
    this.journal = journal;
    try {
      return work();
    } catch (error) {
      for (let index = journal.length - 1; index >= 0; index--) journal[index]?.();
      throw error;
    } finally {
      this.journal = null;
    }
  }

  /**
   * The record a key names, or undefined. Throws when the key names columns that are not a key of
   * the table.
   */
  find(table: TableSpec, key: RecordKey): Row | undefined {
    if (key.kind === 'id') return this.rowsOf(table).get(key.id);
    const names = Object.keys(key.values);
    const [name] = names;
    const value = name === undefined ? undefined : key.values[name];
    if (names.length !== 1 || name === undefined || value === undefined)
      throw notAKey(table, names);
    if (name === table.primaryKey) return this.rowsOf(table).get(value.toLowerCase());
    if (name !== table.alternateKey) throw notAKey(table, names);
    return this.state(table).findByKey(value);
  }

  /** Like find, but a missing record is a 404 in Dataverse's words. */
  get(table: TableSpec, key: RecordKey): Row {
    const row = this.find(table, key);
    if (row) return row;
    throw key.kind === 'id' || table.primaryKey in key.values
      ? recordNotFound(table, idOfKey(key))
      : keyNotFound(table);
  }

  /**
   * Resolves an `@odata.bind` reference (`/opportunities(<id>)`, absolute, or by alternate key) to
   * an existing id.
   */
  readonly resolveBind = (column: ColumnSpec, reference: string): string => {
    const path = pathBelowRoot(reference);
    const target = column.target === undefined ? undefined : tableByEntitySet(column.target);
    if (path === undefined || target === undefined)
      throw invalidArgument(
        `The reference '${reference}' does not name a record of ${column.target ?? 'a table'}.`,
      );
    const parsed = parseResourcePath(path);
    if (parsed.head !== target.entitySet || !parsed.key || parsed.rest.length > 0) {
      throw invalidArgument(
        `The reference '${reference}' does not name a record of ${target.entitySet}: ` +
          `expected '/${target.entitySet}(<id>)'.`,
      );
    }
    return String(this.get(target, parsed.key)[target.primaryKey]);
  };

  /**
   * Creates a record from validated values (an explicit primary key is honoured); it starts open.
   */
  create(table: TableSpec, values: Record<string, RowValue>): Row {
    const id =
      typeof values[table.primaryKey] === 'string'
        ? (values[table.primaryKey] as string)
        : randomUUID();
    if (this.rowsOf(table).has(id)) throw duplicateKey();
    const state = this.resolveState(table, null, values, 'api', id) ?? defaultState(table);
    const row: Record<string, RowValue> = Object.fromEntries(
      Object.keys(table.columns).map((name) => [name, null]),
    );
    Object.assign(row, values, {
      [table.primaryKey]: id,
      statecode: state.statecode,
      statuscode: state.statuscode,
    });
    const stamp = this.nextStamp();
    row.createdon = stamp;
    this.write(table, id, row, stamp);
    return this.rowsOf(table).get(id) as Row;
  }

  /** Applies validated values to an existing record; state changes follow the actor's rules. */
  update(
    table: TableSpec,
    id: string,
    values: Record<string, RowValue>,
    actor: StateActor = 'api',
  ): Row {
    const current = this.rowsOf(table).get(id);
    if (!current) throw recordNotFound(table, id);
    const givenId = values[table.primaryKey];
    if (givenId !== undefined && givenId !== id) {
      throw invalidArgument(
        `The ${table.primaryKey} in the body (${String(givenId)}) differs from the record ` +
          `addressed (${id}).`,
      );
    }
    const state = this.resolveState(table, current, values, actor, id);
    this.write(table, id, { ...current, ...values, ...(state ?? {}) }, this.nextStamp());
    return this.rowsOf(table).get(id) as Row;
  }

  delete(table: TableSpec, id: string): void {
    if (!this.rowsOf(table).has(id)) throw recordNotFound(table, id);
    this.journalled(table, id);
    this.state(table).set(id, undefined);
  }

  /**
   * QualifyLead: closes the lead as qualified and creates the account, contact and opportunity
   * asked for.
   */
  qualifyLead(leadId: string, options: QualifyOptions): CreatedRecord[] {
    return qualifyLead(this, leadId, options);
  }

  /**
   * WinOpportunity / LoseOpportunity: closes an open opportunity and records the closing activity.
   */
  closeOpportunity(
    opportunityId: string,
    outcome: 'won' | 'lost',
    status: number,
    details: OpportunityCloseDetails,
  ): Row {
    return this.transaction(() => {
      const opportunity = this.get(OPPORTUNITY, { kind: 'id', id: opportunityId });
      if (opportunity.statecode !== 0) {
        const state = stateOf(OPPORTUNITY, Number(opportunity.statecode))?.name;
        throw invalidArgument(
          `The opportunity ${opportunityId} is already closed (OpportunityState.${state}); ` +
            `only an open opportunity can be won or lost.`,
        );
      }
      const closedState = stateOf(OPPORTUNITY, outcome === 'won' ? 1 : 2);
      const statuscode = status === -1 ? closedState?.statuses[0] : status;
      if (statuscode === undefined || !closedState?.statuses.includes(statuscode))
        throw invalidStatus(OPPORTUNITY, status, closedState?.code ?? 1, opportunityId);
      const actualvalue =
        details.actualrevenue ?? (outcome === 'won' ? (opportunity.estimatedvalue ?? null) : null);
      const actualclosedate = details.actualend ?? this.clock.now().toISOString().slice(0, 10);
      const closed = this.update(
        OPPORTUNITY,
        opportunityId,
        { statecode: closedState.code, statuscode, actualvalue, actualclosedate },
        'user',
      );
      this.recordClose(opportunityId, outcome, details, actualvalue, actualclosedate);
      return closed;
    });
  }

  /**
   * The next audit stamp: the clock's time in whole seconds, as Dataverse keeps modifiedon, so
   * writes can share one.
   */
  nextStamp(): string {
    this.lastStampMs = Math.max(Math.floor(this.clock.nowMs() / 1000) * 1000, this.lastStampMs);
    return new Date(this.lastStampMs).toISOString();
  }

  private recordClose(
    opportunityId: string,
    outcome: 'won' | 'lost',
    details: OpportunityCloseDetails,
    revenue: RowValue,
    end: string,
  ): void {
    this.opportunityCloses.push({
      activityid: randomUUID(),
      subject: details.subject ?? (outcome === 'won' ? 'Won' : 'Lost'),
      description: details.description ?? null,
      actualrevenue: revenue,
      actualend: end,
      _opportunityid_value: opportunityId,
      outcome,
    });
    this.journal?.push(() => void this.opportunityCloses.pop());
  }

  /**
   * Stores a new version of a row: derived columns, uniqueness of the alternate key, stamp and row
   * version.
   */
  private write(table: TableSpec, id: string, row: Record<string, RowValue>, stamp: string): void {
    const keyColumn = table.alternateKey;
    const keyValue = keyColumn ? row[keyColumn] : null;
    if (typeof keyValue === 'string') {
      const holder = this.state(table).findByKey(keyValue);
      if (holder && holder[table.primaryKey] !== id) throw duplicateKey();
    }
    if (table.fullNameFrom)
      row.fullname = fullNameOf(row[table.fullNameFrom[0]], row[table.fullNameFrom[1]]);
    row.modifiedon = stamp;
    row.versionnumber = ++this.version;
    this.journalled(table, id);
    this.state(table).set(id, Object.freeze(row));
  }

  private journalled(table: TableSpec, id: string): void {
    if (!this.journal) return;
    const previous = this.rowsOf(table).get(id);
    this.journal.push(() => this.state(table).set(id, previous));
  }

  /**
   * The statecode / statuscode a write ends with (null: unchanged). A lone statuscode implies its
   * state;
   * a lone statecode takes that state's default status.
   */
  private resolveState(
    table: TableSpec,
    current: Row | null,
    values: Record<string, RowValue>,
    actor: StateActor,
    id: string,
  ): { statecode: number; statuscode: number } | null {
    const givenState = values.statecode as number | undefined;
    const givenStatus = values.statuscode as number | undefined;
    if (givenState === undefined && givenStatus === undefined)
      return current ? null : defaultState(table);
    const state =
      givenState === undefined
        ? stateOfStatus(table, givenStatus as number)
        : stateOf(table, givenState);
    if (!state) {
      if (givenState !== undefined)
        throw outOfRange(
          table,
          'statecode',
          givenState,
          table.states.map((s) => s.code),
        );
      throw invalidStatus(table, givenStatus as number, Number(current?.statecode ?? 0), id);
    }
    const statuscode = givenStatus ?? (state.statuses[0] as number);
    if (!state.statuses.includes(statuscode))
      throw invalidStatus(table, statuscode, state.code, id);
    checkStatePolicy(table, current, state.code, actor);
    return { statecode: state.code, statuscode };
  }

  private state(table: TableSpec): TableRows {
    const rows = this.tables.get(table);
    if (!rows) throw new Error(`no table ${table.entitySet} in the Dataverse simulator`);
    return rows;
  }
}

function notAKey(table: TableSpec, names: string[]): Error {
  const key = table.alternateKey ? `'${table.alternateKey}'` : 'none';
  return odataError(
    `The key (${names.join(', ') || 'empty'}) is not a key of ${table.logicalName}; its ` +
      `alternate key is ${key}.`,
  );
}

function idOfKey(key: RecordKey): string {
  return key.kind === 'id' ? key.id : Object.values(key.values).join(',');
}

function fullNameOf(first: RowValue | undefined, last: RowValue | undefined): string | null {
  const name = [first, last].filter((part) => typeof part === 'string' && part !== '').join(' ');
  return name === '' ? null : name;
}
