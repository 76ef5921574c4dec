// The Dynamics 365 (Dataverse Web API) CRM adapter: upserts by referral id in $batch calls, reads
// outcomes back.
import PQueue from 'p-queue';
import type {
  CrmAdapter,
  CrmAdapterOptions,
  CrmChangePage,
  CrmRecordState,
  MappedRecord,
  UpsertItemResult,
} from '../adapter.js';
import type { CrmEntityMetadata, SharedDeal } from '../adapter.js';
import { sharedDealsUrl, toSharedDeal } from './deals.js';
import { LeadbridgeError } from '../../core/errors.js';
import { ApiClient } from '../../core/http.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { backoffDelay, DEFAULT_RETRY_POLICY, sleep, type RetryPolicy } from '../../core/retry.js';
import { decodeBatchResponse, encodeBatchRequest, matchBatchResponses } from './batch.js';
import type { TokenCredential } from '../../core/auth.js';
import { credentialFor } from './credential.js';
import { isPausable, ServiceProtectionGate } from './throttle.js';
import {
  leadColumns,
  leadState,
  opportunityColumns,
  opportunityState,
  readChangePages,
  type Row,
  type RowPage,
} from './changes.js';
import { ENTITY_SETS, ITEM_RETRY_ROUNDS, JSON_CONTENT_TYPE, ODATA_HEADERS } from './facts.js';
import {
  alternateKeyPath,
  guidLiteral,
  parseDataverseError,
  queryString,
  stringLiteral,
} from './odata.js';
import { readEntityMetadata } from './metadata.js';
import { fetchRowPage, getRow } from './rows.js';
import { apiRootOf, parseDynamicsSettings, type DynamicsSettings } from './settings.js';
import { blankReferralId, upsertOperation, upsertOutcome, type ItemOutcome } from './upsert.js';

export interface DynamicsAdapterOptions extends CrmAdapterOptions {
  /** Overrides settings.auth (tests, or a credential shared with other clients). */
  credential?: TokenCredential;
}

/**
 * LeadState.Open: the only state in which a lead may still be disqualified for an expired referral.
 */
const OPEN_LEAD_STATE = 0;

interface PendingRecord {
  record: MappedRecord;
  /** Position in the caller's input, where its result goes. */
  index: number;
}

export class DynamicsAdapter implements CrmAdapter {
  readonly kind = 'dynamics365';
  readonly target: string;
  readonly maxBatchSize: number;
  readonly settings: DynamicsSettings;
  private readonly api: ApiClient;
  private readonly apiRoot: string;
  private readonly policy: RetryPolicy;
  private readonly logger: Logger;
  private readonly gate: ServiceProtectionGate;

  constructor(options: DynamicsAdapterOptions) {
    this.target = options.target;
    this.settings = parseDynamicsSettings(options.settings, `targets[${options.target}].settings`);
    this.maxBatchSize = this.settings.batchSize;
    this.apiRoot = apiRootOf(this.settings);
    this.policy = options.retryPolicy ?? DEFAULT_RETRY_POLICY;
    this.logger = (options.logger ?? silentLogger).child({ target: this.target, crm: this.kind });
    // One queue holds every request of this user, so that a 429's Retry-After holds them all (see
    // throttle.ts).
    const queue = isPausable(options.limiter)
      ? options.limiter
      : new PQueue({ concurrency: this.settings.concurrency });
    this.gate = new ServiceProtectionGate(queue, this.logger);
    this.api = new ApiClient({
      api: 'dynamics365',
      baseUrl: this.apiRoot,
      credential: options.credential ?? credentialFor(this.settings),
      parseError: parseDataverseError,
      defaultHeaders: { ...ODATA_HEADERS },
      retryPolicy: this.policy,
      logger: this.logger,
      ...(options.onCall ? { onCall: options.onCall } : {}),
      limiter: isPausable(options.limiter) ? options.limiter : (options.limiter ?? queue),
      onResponse: (response) => this.gate.observe(response),
    });
  }

  get callCount(): number {
    return this.api.callCount;
  }

  async upsertLeads(
    records: MappedRecord[],
    options: { signal?: AbortSignal } = {},
  ): Promise<UpsertItemResult[]> {
    const results: UpsertItemResult[] = new Array<UpsertItemResult>(records.length);
    let pending: PendingRecord[] = [];
    records.forEach((record, index) => {
      if (record.referralId.trim() === '') results[index] = blankReferralId(record);
      else pending.push({ record, index });
    });
    for (let round = 0; pending.length > 0; round++) {
      const outcomes = await this.upsertRound(pending, options.signal);
      const retry = pending.filter((item, i) => {
        results[item.index] = (outcomes[i] as ItemOutcome).result;
        return isRetryableFailure(outcomes[i] as ItemOutcome);
      });
      if (retry.length === 0 || round >= ITEM_RETRY_ROUNDS) break;
      const delayMs = itemRetryDelay(round + 1, this.policy, outcomes);
      this.logger.warn('retrying failed $batch items', {
        items: retry.length,
        round: round + 1,
        delayMs,
      });
      await sleep(delayMs, options.signal);
      pending = retry;
    }
    this.logFailures(results);
    return results;
  }

  /**
   * One $batch per batchSize records, `concurrency` at a time; outcomes in the order of `pending`.
   */
  private async upsertRound(
    pending: PendingRecord[],
    signal?: AbortSignal,
  ): Promise<ItemOutcome[]> {
    const queue = new PQueue({ concurrency: this.settings.concurrency });
    const chunks: PendingRecord[][] = [];
    for (let i = 0; i < pending.length; i += this.maxBatchSize)
      chunks.push(pending.slice(i, i + this.maxBatchSize));
    const settled = await Promise.allSettled(
      chunks.map((chunk) =>
        queue.add(() =>
          this.sendBatch(
            chunk.map((item) => item.record),
            signal,
          ),
        ),
      ),
    );
    // Wait for every batch before failing, so that no request is still running when the caller
    // hears of the error.
    const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (rejected) throw rejected.reason;
    return settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : []));
  }

  private async sendBatch(records: MappedRecord[], signal?: AbortSignal): Promise<ItemOutcome[]> {
    const operations = records.map((record, i) =>
      upsertOperation(record, String(i + 1), this.apiRoot, this.settings.alternateKey),
    );
    const batch = encodeBatchRequest(operations);
    const response = await this.api.request<string>({
      method: 'POST',
      url: '$batch',
      headers: { 'Content-Type': batch.contentType, Prefer: 'odata.continue-on-error' },
      data: batch.body,
      // Upserts by alternate key may be repeated: the whole batch is retried on 429 / 5xx / network
      // failures.
      idempotent: true,
      responseType: 'text',
      signal,
    });
    let matched;
    try {
      matched = matchBatchResponses(
        operations,
        decodeBatchResponse(String(response.headers['content-type'] ?? ''), String(response.data)),
      );
    } catch (error) {
      throw new LeadbridgeError(
        'HTTP_ERROR',
        `dynamics365: POST $batch → ${response.status}: unreadable response: ` +
          `${(error as Error).message}`,
        {
          api: 'dynamics365',
          status: response.status,
          cause: error,
        },
      );
    }
    this.logger.debug('$batch sent', { operations: operations.length, status: response.status });
    return records.map((record, i) => upsertOutcome(record, matched[i], this.policy));
  }

  readChanges(
    since: string | null,
    options: { signal?: AbortSignal } = {},
  ): AsyncIterable<CrmChangePage> {
    return readChangePages(
      {
        keyColumn: this.settings.alternateKey,
        concurrency: this.settings.concurrency,
        fetchPage: (url) => this.fetchRows(url, options.signal),
      },
      since,
    );
  }

  async getByReferralId(
    referralId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<CrmRecordState | null> {
    const key = this.settings.alternateKey;
    const lead = await getRow(
      this.api,
      `${alternateKeyPath(ENTITY_SETS.lead, key, referralId)}` +
        `${queryString({ $select: leadColumns(key) })}`,
      options.signal,
    );
    const qualifying = lead?._qualifyingopportunityid_value;
    if (lead && typeof qualifying === 'string') {
      const path =
        `${ENTITY_SETS.opportunity}(` +
        `${guidLiteral(qualifying, '_qualifyingopportunityid_value')})`;
      const opportunity = await getRow(
        this.api,
        `${path}${queryString({ $select: opportunityColumns(key) })}`,
        options.signal,
      );
      return leadState(referralId, lead, opportunity ?? undefined);
    }
    // An open lead may still have an opportunity carrying its referral id, and a referral may be
    // written as an opportunity only.
    const opportunity = await this.latestOpportunityOf(referralId, options.signal);
    if (lead) return leadState(referralId, lead, opportunity);
    return opportunity ? opportunityState(referralId, opportunity) : null;
  }

  /**
   * PATCH leads(<id>) with the expired reflection (e.g. statecode 2 / statuscode 7), only while the
   * lead is open.
   * If-Match carries the version that was read, so a lead a user qualified meanwhile is not
   * overwritten (412).
   */
  async reflectExpired(
    record: CrmRecordState,
    fields: Record<string, unknown>,
    options: { signal?: AbortSignal } = {},
  ): Promise<boolean> {
    if (record.entity !== 'lead' || Number(record.fields.statecode) !== OPEN_LEAD_STATE)
      return false;
    const version = record.fields['@odata.etag'];
    await this.api.request({
      method: 'PATCH',
      url: `${ENTITY_SETS.lead}(${guidLiteral(record.recordId, 'reflectExpired recordId')})`,
      data: fields,
      // `*` still refuses to create a lead that was deleted meanwhile (404).
      headers: {
        'Content-Type': JSON_CONTENT_TYPE,
        'If-Match': typeof version === 'string' ? version : '*',
      },
      // Guarded by If-Match: a repeat of an applied write fails with 412, it never applies twice.
      idempotent: true,
      signal: options.signal,
    });
    this.logger.info('expired referral reflected on its lead', {
      referralId: record.referralId,
      crmRecordId: record.recordId,
    });
    return true;
  }

  /**
   * The table's columns from the metadata API (EntityDefinitions), normalised; NOT_FOUND when
   * Dataverse has no such table.
   */
  describeEntity(
    entity: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<CrmEntityMetadata> {
    return readEntityMetadata(
      async (path) =>
        (
          await this.api.request({
            method: 'GET',
            url: path,
            idempotent: true,
            signal: options.signal,
          })
        ).data,
      entity,
    );
  }

  /** Co-sell: flagged opportunities with no referral id yet, every page. */
  async readSharedDeals(
    shareField: string,
    fields: readonly string[],
    options: { signal?: AbortSignal } = {},
  ): Promise<SharedDeal[]> {
    const deals: SharedDeal[] = [];
    let url: string | undefined = sharedDealsUrl(shareField, this.settings.alternateKey, fields);
    while (url) {
      const page = await this.fetchRows(url, options.signal);
      deals.push(...page.rows.map(toSharedDeal));
      url = page.nextLink;
    }
    return deals;
  }

  /** Co-sell: the created referral's id on the opportunity (If-Match `*`: never creates a row). */
  async linkDeal(
    recordId: string,
    referralId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    await this.api.request({
      method: 'PATCH',
      url: `${ENTITY_SETS.opportunity}(${guidLiteral(recordId, 'linkDeal recordId')})`,
      data: { [this.settings.alternateKey]: referralId },
      headers: { 'Content-Type': JSON_CONTENT_TYPE, 'If-Match': '*' },
      idempotent: true,
      signal: options.signal,
    });
  }

  async close(): Promise<void> {
    this.gate.close();
    this.api.http.defaults.httpAgent?.destroy?.();
    this.api.http.defaults.httpsAgent?.destroy?.();
  }

  private async latestOpportunityOf(
    referralId: string,
    signal?: AbortSignal,
  ): Promise<Row | undefined> {
    const key = this.settings.alternateKey;
    const url = `${ENTITY_SETS.opportunity}${queryString({
      $select: opportunityColumns(key),
      $filter: `${key} eq ${stringLiteral(referralId)}`,
      $orderby: 'modifiedon desc',
    })}`;
    return (await this.fetchRows(url, signal)).rows[0];
  }

  /** One collection page; `Prefer: odata.maxpagesize` bounds the rows held in memory. */
  private fetchRows(url: string, signal?: AbortSignal): Promise<RowPage> {
    return fetchRowPage(this.api, url, this.settings.readPageSize, signal);
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

function isRetryableFailure(outcome: ItemOutcome): boolean {
  return !outcome.result.ok && outcome.result.error.retryable;
}

/**
 * The longest Retry-After among the retryable items wins; without one, capped exponential backoff.
 */
export function itemRetryDelay(
  round: number,
  policy: RetryPolicy,
  outcomes: readonly ItemOutcome[],
): number {
  const retryAfters = outcomes
    .filter((o) => isRetryableFailure(o) && o.retryAfterSeconds !== undefined)
    .map((o) => o.retryAfterSeconds as number);
  const retryAfterSeconds = retryAfters.length > 0 ? Math.max(...retryAfters) : undefined;
  return backoffDelay(round, policy, retryAfterSeconds);
}
