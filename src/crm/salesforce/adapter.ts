// The Salesforce CRM adapter: collection upserts by referral id; outcomes read back with SOQL.
import { Connection } from 'jsforce';
import type {
  CrmAdapter,
  CrmAdapterOptions,
  CrmChangePage,
  CrmRecordState,
  MappedRecord,
  UpsertItemResult,
} from '../adapter.js';
import type { ApiBudget, CrmEntityMetadata, SharedDeal } from '../adapter.js';
import { LeadbridgeError } from '../../core/errors.js';
import { silentLogger } from '../../core/log.js';
import { DEFAULT_RETRY_POLICY } from '../../core/retry.js';
import { tokenSourceFor } from './auth.js';
import { linkDeal, readSharedDeals } from './deals.js';
import { entityMetadataOf } from './metadata.js';
import {
  apiBudgetOf,
  getByReferralId,
  readChangesWithinBudget,
  readsWithinBudget,
} from './reads.js';
import { SalesforceSession } from './session.js';
import {
  parseSalesforceSettings,
  SALESFORCE_MIN_API_VERSION,
  type SalesforceSettings,
} from './settings.js';
import { instrumentTransport } from './transport.js';
import { reflectExpired, upsertLeads, type WriteContext } from './writes.js';

export interface SalesforceAdapterOptions extends CrmAdapterOptions {
  /**
   * A ready jsforce connection (tests, or one shared with other code); settings.auth still renews
   * its token.
   */
  connection?: Connection;
  /** Injected for tests (the JWT assertion's expiry). */
  nowMs?: () => number;
}

export class SalesforceAdapter implements CrmAdapter {
  readonly kind = 'salesforce';
  readonly target: string;
  readonly maxBatchSize: number;
  readonly settings: SalesforceSettings;
  private readonly conn: Connection;
  private readonly session: SalesforceSession;
  /** The state the reads and writes share: connection, session, settings, logger. */
  private readonly ctx: WriteContext;
  private requests = 0;

  constructor(options: SalesforceAdapterOptions) {
    this.target = options.target;
    this.settings = parseSalesforceSettings(
      options.settings,
      `targets[${options.target}].settings`,
    );
    this.maxBatchSize = this.settings.batchSize;
    const policy = options.retryPolicy ?? DEFAULT_RETRY_POLICY;
    const logger = (options.logger ?? silentLogger).child({ target: this.target, crm: this.kind });
    this.conn = options.connection ?? this.connect();
    checkApiVersion(this.conn, this.target);
    this.conn._transport = instrumentTransport(
      this.conn._transport,
      () => this.requests++,
      options.onCall,
    );
    const tokens = tokenSourceFor(this.settings.auth, {
      target: this.target,
      onRequest: () => this.requests++,
      nowMs: options.nowMs,
    });
    this.session = new SalesforceSession({
      conn: this.conn,
      tokens,
      policy,
      logger,
      limiter: options.limiter,
      target: this.target,
      authKind: this.settings.auth.kind,
    });
    this.ctx = {
      conn: this.conn,
      session: this.session,
      settings: this.settings,
      logger,
      maxBatchSize: this.maxBatchSize,
      policy,
      picklists: {},
    };
  }

  /**
   * HTTP requests made so far: REST calls, query pages and token requests (counted in the jsforce
   * transport).
   */
  get callCount(): number {
    return this.requests;
  }

  /** The version is always explicit: below 46.0 jsforce silently upserts one request per record. */
  private connect(): Connection {
    const { instanceUrl, apiVersion, auth } = this.settings;
    return new Connection({
      instanceUrl,
      version: apiVersion,
      ...(auth.kind === 'accessToken' ? { accessToken: auth.token } : {}),
    });
  }

  upsertLeads(
    records: MappedRecord[],
    options: { signal?: AbortSignal } = {},
  ): Promise<UpsertItemResult[]> {
    return upsertLeads(this.ctx, records, options.signal);
  }

  readChanges(
    since: string | null,
    options: { signal?: AbortSignal } = {},
  ): AsyncIterable<CrmChangePage> {
    return readChangesWithinBudget(this.ctx, since, options.signal);
  }

  /** The org's daily API requests as last seen (see apiBudgetOf). */
  apiBudget(): ApiBudget | null {
    return apiBudgetOf(this.conn, this.settings);
  }

  getByReferralId(
    referralId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<CrmRecordState | null> {
    return getByReferralId(this.ctx, referralId, options.signal);
  }

  /** The sObject's fields from its describe, normalised; NOT_FOUND when the org has no such one. */
  async describeEntity(
    entity: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<CrmEntityMetadata> {
    const describe = await this.session.call(
      `describe ${entity}`,
      () => this.conn.sobject(entity).describe(),
      options.signal,
    );
    return entityMetadataOf(entity, describe);
  }

  async close(): Promise<void> {
    // jsforce keeps no sockets or timers of its own between calls; a pending token request is left
    // to settle.
    this.session.forgetPendingToken();
  }

  /** Co-sell: flagged Opportunities with no referral id yet. */
  async readSharedDeals(
    shareField: string,
    fields: readonly string[],
    options: { signal?: AbortSignal } = {},
  ): Promise<SharedDeal[]> {
    // Like outcome reads, a non-essential read: skipped past the configured share of the
    // allocation.
    if (!(await readsWithinBudget(this.ctx, options.signal))) return [];
    const runner = this.session.queryRunner(options.signal);
    return readSharedDeals(runner, shareField, this.settings.externalIdField, fields);
  }

  /** Co-sell: the created referral's id on the Opportunity. */
  linkDeal(
    recordId: string,
    referralId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    return linkDeal(this.ctx, recordId, referralId, options.signal);
  }

  /** Marks the lead of an expired referral while it is still open (see writes.ts). */
  reflectExpired(
    record: CrmRecordState,
    fields: Record<string, unknown>,
    options: { signal?: AbortSignal } = {},
  ): Promise<boolean> {
    return reflectExpired(this.ctx, record, fields, options.signal);
  }
}

/** A given connection must already speak a version with collection upserts. */
function checkApiVersion(conn: Connection, target: string): void {
  if (Number.parseFloat(conn.version) < SALESFORCE_MIN_API_VERSION) {
    throw new LeadbridgeError(
      'CONFIG_INVALID',
      `salesforce target "${target}": the jsforce connection uses API version ${conn.version}; ` +
        `collection upserts need ${SALESFORCE_MIN_API_VERSION}.0 or later`,
    );
  }
}
