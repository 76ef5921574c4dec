// The Salesforce CRM adapter: upserts by referral id through jsforce's sObject collections, reads outcomes back with SOQL.
import { readSharedDeals } from './deals.js';
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
import { silentLogger, type Logger } from '../../core/log.js';
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  sleep,
  withRetry,
  type RetryPolicy,
} from '../../core/retry.js';
import { SALESFORCE_MIN_API_VERSION } from './settings.js';
import { tokenSourceFor, type TokenSource } from './auth.js';
import {
  fetchAll,
  latestOpportunitySoql,
  leadState,
  leadsByReferralSoql,
  opportunitiesByIdSoql,
  opportunityState,
  readChangePages,
  type QueryPage,
  type QueryRunner,
  type SalesforceRow,
} from './changes.js';
import { addressPicklistsOf, withAddressCodes, type AddressPicklists } from './address.js';
import { callError, isInvalidSession } from './errors.js';
import { entityMetadataOf } from './metadata.js';
import { parseSalesforceSettings, type SalesforceSettings } from './settings.js';
import { instrumentTransport, withResponseNotes } from './transport.js';
import {
  collectionCalls,
  collectionRecord,
  upsertItemResult,
  upsertWithItemRetries,
  type PendingRecord,
} from './upsert.js';

export interface SalesforceAdapterOptions extends CrmAdapterOptions {
  /** A ready jsforce connection (tests, or one shared with other code); settings.auth still renews its token. */
  connection?: Connection;
  /** Injected for tests (the JWT assertion's expiry). */
  nowMs?: () => number;
}

type Signal = AbortSignal | undefined;

export class SalesforceAdapter implements CrmAdapter {
  readonly kind = 'salesforce';
  readonly target: string;
  readonly maxBatchSize: number;
  readonly settings: SalesforceSettings;
  private readonly conn: Connection;
  private readonly tokens: TokenSource;
  private readonly policy: RetryPolicy;
  private readonly logger: Logger;
  private readonly limiter: CrmAdapterOptions['limiter'];
  private requests = 0;
  /** The token request in flight, so that concurrent calls wait for one token instead of asking for several. */
  private pendingToken: Promise<void> | undefined;
  /** The org's State and Country/Territory Picklists (null: off), read once from the Lead describe. */
  private addressPicklists: Promise<AddressPicklists | null> | undefined;

  constructor(options: SalesforceAdapterOptions) {
    this.limiter = options.limiter;
    this.target = options.target;
    this.settings = parseSalesforceSettings(
      options.settings,
      `targets[${options.target}].settings`,
    );
    this.maxBatchSize = this.settings.batchSize;
    this.policy = options.retryPolicy ?? DEFAULT_RETRY_POLICY;
    this.logger = (options.logger ?? silentLogger).child({ target: this.target, crm: this.kind });
    this.conn = options.connection ?? this.connect();
    checkApiVersion(this.conn, this.target);
    this.conn._transport = instrumentTransport(
      this.conn._transport,
      () => this.requests++,
      options.onCall,
    );
    this.tokens = tokenSourceFor(this.settings.auth, {
      target: this.target,
      onRequest: () => this.requests++,
      nowMs: options.nowMs,
    });
  }

  /** HTTP requests made so far: REST calls, query pages and token requests (counted in the jsforce transport). */
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

  async upsertLeads(
    records: MappedRecord[],
    options: { signal?: AbortSignal } = {},
  ): Promise<UpsertItemResult[]> {
    const results = await upsertWithItemRetries(records, {
      sendRound: (pending) => this.upsertRound(pending, options.signal),
      waitBeforeRound: async (round, retrying) => {
        const delayMs = backoffDelay(round, this.policy);
        this.logger.warn('retrying failed collection records', {
          records: retrying,
          round,
          delayMs,
        });
        await sleep(delayMs, options.signal);
      },
    });
    this.logFailures(results);
    return results;
  }

  /** One collection call per batchSize records of one sObject type, one call at a time; results in `pending` order. */
  private async upsertRound(pending: PendingRecord[], signal: Signal): Promise<UpsertItemResult[]> {
    const field = this.settings.externalIdField;
    const results = new Map<PendingRecord, UpsertItemResult>();
    // The describe is asked for once, and only when a lead carries an address country or state.
    const picklists = pending.some((item) => hasAddressText(item.record))
      ? await this.orgAddressPicklists(signal)
      : null;
    for (const call of collectionCalls(pending, this.maxBatchSize)) {
      const records = call.items.map((item) =>
        this.addressed(
          collectionRecord(item.record, field),
          call.sobject,
          picklists,
          item.record.referralId,
        ),
      );
      // Upserts by external id may be repeated: a whole call is retried on 429 / 5xx / network failures.
      const saved: unknown[] = await this.call(
        `upsert of ${records.length} ${call.sobject} records by ${field}`,
        () => this.conn.sobject(call.sobject).upsert(records, field, { allOrNone: false }),
        signal,
      );
      call.items.forEach((item, i) =>
        results.set(item, upsertItemResult(item.record.referralId, saved[i])),
      );
      this.logger.debug('collection upsert sent', {
        sobject: call.sobject,
        records: records.length,
      });
    }
    return pending.map((item) => results.get(item) as UpsertItemResult);
  }

  /** Whether the org has State and Country/Territory Picklists on: it then has a CountryCode field on Lead. */
  private orgAddressPicklists(signal: Signal): Promise<AddressPicklists | null> {
    this.addressPicklists ??= this.call(
      'describe Lead',
      () => this.conn.sobject('Lead').describe(),
      signal,
    ).then(addressPicklistsOf);
    // A failed describe is asked again on the next round rather than remembered.
    this.addressPicklists.catch(() => (this.addressPicklists = undefined));
    return this.addressPicklists;
  }

  /** A lead's country and state as the org takes them (codes into the code fields); unknown values are left out, said in the log. */
  private addressed(
    record: Record<string, unknown>,
    sobject: string,
    picklists: AddressPicklists | null,
    referralId: string,
  ): Record<string, unknown> {
    if (picklists === null || sobject !== 'Lead') return record;
    const { fields, dropped } = withAddressCodes(record, picklists);
    for (const { field, value } of dropped) {
      this.logger.warn(
        "address value not in the org's State and Country/Territory picklists; left out of the write",
        { referralId, field, value },
      );
    }
    return fields;
  }

  readChanges(
    since: string | null,
    options: { signal?: AbortSignal } = {},
  ): AsyncIterable<CrmChangePage> {
    return this.readChangesWithinBudget(since, options.signal);
  }

  /** Outcome reads are polling that can wait: past the configured share of the daily allocation they stop. */
  private async *readChangesWithinBudget(
    since: string | null,
    signal: Signal,
  ): AsyncGenerator<CrmChangePage> {
    if (!(await this.readsWithinBudget(signal))) return;
    yield* readChangePages(
      { externalIdField: this.settings.externalIdField, runner: this.queryRunner(signal) },
      since,
    );
  }

  /**
   * The org's daily API requests as last seen: every REST response carries `Sforce-Limit-Info: api-usage=N/M`
   * (jsforce keeps it in limitInfo); before any call, the `/limits` resource's DailyApiRequests {Max, Remaining}.
   * Sources: Salesforce REST API Developer Guide, "Limits" resource and "Limit Info Header".
   */
  apiBudget(): ApiBudget | null {
    const usage = this.conn.limitInfo?.apiUsage;
    if (!usage || !(usage.limit > 0)) return null;
    const limitShare = this.settings.limits.maxDailyApiShare;
    return {
      used: usage.used,
      max: usage.limit,
      limitShare,
      holdingBack: usage.used >= usage.limit * limitShare,
    };
  }

  private async readsWithinBudget(signal: Signal): Promise<boolean> {
    // Unknown, or last seen past the share: ask /limits, since the rolling 24 hours may have freed calls meanwhile.
    if (this.apiBudget()?.holdingBack !== false) await this.readLimits(signal);
    const budget = this.apiBudget();
    if (!budget?.holdingBack) return true;
    this.logger.warn(
      'daily API share used: outcome reads wait until the allocation frees up; new referrals are still written',
      {
        used: budget.used,
        max: budget.max,
        maxDailyApiShare: budget.limitShare,
      },
    );
    return false;
  }

  private async readLimits(signal: Signal): Promise<void> {
    const limits = await this.call('read of /limits', () => this.conn.limits(), signal);
    const daily = (limits as { DailyApiRequests?: { Max?: unknown; Remaining?: unknown } })
      .DailyApiRequests;
    if (typeof daily?.Max !== 'number' || typeof daily.Remaining !== 'number') return;
    this.conn.limitInfo = {
      ...this.conn.limitInfo,
      apiUsage: { used: daily.Max - daily.Remaining, limit: daily.Max },
    };
  }

  async getByReferralId(
    referralId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<CrmRecordState | null> {
    if (referralId.trim() === '') return null;
    const field = this.settings.externalIdField;
    const runner = this.queryRunner(options.signal);
    const [lead] = await fetchAll(runner, leadsByReferralSoql(field, [referralId]));
    const converted = lead?.ConvertedOpportunityId;
    if (lead && typeof converted === 'string') {
      const [opportunity] = await fetchAll(runner, opportunitiesByIdSoql(field, [converted]));
      return leadState(referralId, lead, opportunity);
    }
    // An open lead may still have an opportunity carrying its referral id, and a referral may be written as an opportunity only.
    const [opportunity] = await fetchAll(runner, latestOpportunitySoql(field, referralId));
    if (lead) return leadState(referralId, lead, opportunity);
    return opportunity ? opportunityState(referralId, opportunity) : null;
  }

  /** The sObject's fields from its describe, normalised; NOT_FOUND when the org has no such sObject. */
  async describeEntity(
    entity: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<CrmEntityMetadata> {
    const describe = await this.call(
      `describe ${entity}`,
      () => this.conn.sobject(entity).describe(),
      options.signal,
    );
    return entityMetadataOf(entity, describe);
  }

  async close(): Promise<void> {
    // jsforce keeps no sockets or timers of its own between calls; a pending token request is left to settle.
    this.pendingToken = undefined;
  }

  /** One page per call (autoFetch off): a query's records are held a page at a time, never all at once. */
  private queryRunner(signal: Signal): QueryRunner {
    return {
      query: (soql) =>
        this.call(
          `query ${soql.slice(0, 120)}`,
          async () => pageOf(await this.conn.query(soql, { autoFetch: false })),
          signal,
        ),
      queryMore: (nextRecordsUrl) =>
        this.call(
          `query page ${nextRecordsUrl}`,
          async () => pageOf(await this.conn.queryMore(nextRecordsUrl)),
          signal,
        ),
    };
  }

  /** Co-sell: flagged Opportunities with no referral id yet. */
  async readSharedDeals(
    shareField: string,
    fields: readonly string[],
    options: { signal?: AbortSignal } = {},
  ): Promise<SharedDeal[]> {
    // Like outcome reads, a non-essential read: skipped past the configured share of the allocation.
    if (!(await this.readsWithinBudget(options.signal))) return [];
    const runner = this.queryRunner(options.signal);
    return readSharedDeals(runner, shareField, this.settings.externalIdField, fields);
  }

  /** Co-sell: the created referral's id on the Opportunity. */
  async linkDeal(
    recordId: string,
    referralId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const field = this.settings.externalIdField;
    await this.call(
      `update Opportunity ${recordId}`,
      async () => {
        const result = await this.conn
          .sobject('Opportunity')
          .update({ Id: recordId, [field]: referralId });
        if (!result.success)
          throw new LeadbridgeError(
            'HTTP_ERROR',
            `salesforce: linking Opportunity ${recordId} failed`,
            {
              api: 'salesforce',
              provider: result,
            },
          );
      },
      options.signal,
    );
  }

  /**
   * Marks the lead of a referral that expired unanswered with the mapping's `status.expiredReflection`, while
   * the lead is still open (not converted, not closed); false when it was left alone. Writing the same fields
   * twice changes nothing, so a repeat after a lost response is harmless.
   */
  async reflectExpired(
    record: CrmRecordState,
    fields: Record<string, unknown>,
    options: { signal?: AbortSignal } = {},
  ): Promise<boolean> {
    const status = String(record.fields.Status ?? '');
    if (
      record.entity !== 'lead' ||
      record.fields.IsConverted === true ||
      status.startsWith('Closed')
    )
      return false;
    await this.call(
      `update Lead ${record.recordId}`,
      async () => {
        const result = await this.conn.sobject('Lead').update({ Id: record.recordId, ...fields });
        if (!result.success) {
          const reasons = (result as { errors?: Array<{ message?: string }> }).errors
            ?.map((e) => e.message)
            .join('; ');
          throw new LeadbridgeError(
            'HTTP_ERROR',
            `salesforce: updating Lead ${record.recordId} failed: ${reasons || 'no reason given'}`,
            { api: 'salesforce' },
          );
        }
      },
      options.signal,
    );
    this.logger.info('expired referral reflected on its lead', {
      referralId: record.referralId,
      crmRecordId: record.recordId,
    });
    return true;
  }

  /**
   * Runs one REST call: a token first (lazily), transient failures retried by the policy, and a refused session
   * renewed once for the OAuth kinds. A given access token cannot be renewed, so that case says so plainly.
   */
  private async call<T>(what: string, operation: () => Promise<T>, signal: Signal): Promise<T> {
    for (let renewed = false; ; renewed = true) {
      await this.ensureToken(signal);
      const token = this.conn.accessToken ?? undefined;
      try {
        return await withRetry(() => this.attempt(what, operation, signal), this.policy, {
          idempotent: true,
          signal,
          api: 'salesforce',
          onRetry: ({ attempt, delayMs, error }) =>
            this.logger.warn('retrying a Salesforce call', {
              call: what,
              attempt,
              delayMs,
              error: error.message,
            }),
        });
      } catch (error) {
        if (!isInvalidSession(error)) throw error;
        if (!this.tokens.renewable) throw this.accessTokenRefused(error as LeadbridgeError);
        if (renewed) throw this.renewedTokenRefused(error as LeadbridgeError);
        this.logger.info('the Salesforce session was refused; authenticating again', {
          call: what,
        });
        await this.renewToken(token, signal);
      }
    }
  }

  private async attempt<T>(what: string, operation: () => Promise<T>, signal: Signal): Promise<T> {
    if (signal?.aborted)
      throw new LeadbridgeError('ABORTED', 'operation aborted', { api: 'salesforce' });
    const context = { target: this.target, call: what };
    // The notes are entered inside the limiter's task, so a queued call never reads another call's response.
    const run = () =>
      withResponseNotes(async (notes) => {
        try {
          return await operation();
        } catch (error) {
          throw callError(error, {
            ...context,
            apiUsage: this.conn.limitInfo?.apiUsage,
            retryAfterSeconds: notes.retryAfterSeconds,
          });
        }
      });
    try {
      // Each call is one REST request (queries page by page), so the limiter caps requests.
      return await (this.limiter ? this.limiter.add(run) : run());
    } catch (error) {
      throw callError(error, { ...context, apiUsage: this.conn.limitInfo?.apiUsage });
    }
  }

  private async ensureToken(signal: Signal): Promise<void> {
    if (this.conn.accessToken) return;
    await this.renewToken(undefined, signal);
  }

  /** Asks for a new token unless another call already replaced `staleToken`; one token request at a time. */
  private async renewToken(staleToken: string | undefined, signal: Signal): Promise<void> {
    if (this.pendingToken) return this.pendingToken;
    if (this.conn.accessToken && this.conn.accessToken !== staleToken) return;
    const pending = withRetry(() => this.tokens.fetchToken(), this.policy, {
      idempotent: true,
      signal,
      api: 'salesforce',
    }).then((token) => {
      this.conn.accessToken = token;
    });
    this.pendingToken = pending;
    try {
      await pending;
    } finally {
      if (this.pendingToken === pending) this.pendingToken = undefined;
    }
  }

  private accessTokenRefused(error: LeadbridgeError): LeadbridgeError {
    return new LeadbridgeError(
      'AUTH_FAILED',
      `salesforce target "${this.target}": the access token has expired or was revoked (INVALID_SESSION_ID: ${providerMessage(error)}); ` +
        "put a new token in the target's settings.auth.token, or use clientCredentials or jwt auth so that leadbridge can renew it",
      {
        api: 'salesforce',
        status: 401,
        providerCode: 'INVALID_SESSION_ID',
        provider: error.provider,
        cause: error,
      },
    );
  }

  private renewedTokenRefused(error: LeadbridgeError): LeadbridgeError {
    return new LeadbridgeError(
      'AUTH_FAILED',
      `salesforce target "${this.target}": a newly issued ${this.settings.auth.kind} token was refused too (INVALID_SESSION_ID: ${providerMessage(error)}); ` +
        "check that the connected app's user may use the API on this instance",
      {
        api: 'salesforce',
        status: 401,
        providerCode: 'INVALID_SESSION_ID',
        provider: error.provider,
        cause: error,
      },
    );
  }

  private logFailures(results: UpsertItemResult[]): void {
    const failures = results.filter((r): r is Extract<UpsertItemResult, { ok: false }> => !r.ok);
    if (failures.length === 0) return;
    const codes = [...new Set(failures.map((f) => f.error.code))].slice(0, 5);
    this.logger.warn('some records were not written', {
      failed: failures.length,
      of: results.length,
      codes,
    });
  }
}

/** A given connection must already speak a version with collection upserts. */
function checkApiVersion(conn: Connection, target: string): void {
  if (Number.parseFloat(conn.version) < SALESFORCE_MIN_API_VERSION) {
    throw new LeadbridgeError(
      'CONFIG_INVALID',
      `salesforce target "${target}": the jsforce connection uses API version ${conn.version}; collection upserts need ${SALESFORCE_MIN_API_VERSION}.0 or later`,
    );
  }
}

function pageOf(result: { records: unknown[]; nextRecordsUrl?: string }): QueryPage {
  const records = result.records.map((record) => {
    const { attributes: _attributes, ...fields } = record as SalesforceRow;
    return fields;
  });
  return { records, ...(result.nextRecordsUrl ? { nextRecordsUrl: result.nextRecordsUrl } : {}) };
}

/** The provider's own message (Salesforce's `message`), without the adapter's prefix. */
function providerMessage(error: LeadbridgeError): string {
  const provider = error.provider as { message?: unknown } | undefined;
  return typeof provider?.message === 'string' ? provider.message : error.message;
}

function hasAddressText(record: MappedRecord): boolean {
  return (
    (record.entity ?? 'lead') === 'lead' &&
    (record.fields.Country !== undefined || record.fields.State !== undefined)
  );
}
