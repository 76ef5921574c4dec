// The HubSpot CRM adapter: a referral becomes a company, a contact and a deal (upserted by the
// referral id
// property, associated with each other); outcomes are read back from deal stages and contact lead
// statuses.
import { Client } from '@hubspot/api-client';
import { LeadbridgeError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { DEFAULT_RETRY_POLICY, sleep, withRetry, type RetryPolicy } from '../../core/retry.js';
import type {
  CrmAdapter,
  CrmAdapterOptions,
  CrmChangePage,
  CrmEntityMetadata,
  CrmRecordState,
  MappedRecord,
  SharedDeal,
  ApiBudget,
  UpsertItemResult,
} from '../adapter.js';
import { DailyBudget, readsWithinBudget, readUsage } from './budget.js';
import { opportunityMetadata, readSharedDeals, updateObject } from './deals.js';
import { ClosedStages, reflectExpired } from './expiry.js';
import type { HubSpotCalls } from './calls.js';
import { readChangePages, readProperties, stateOf } from './changes.js';
import { clientCalls } from './client-calls.js';
import { callError, isApiException } from './errors.js';
import { OBJECT_PREFIXES, RATE_WINDOW_MS, SEARCH_SPACING_MS, type HubSpotObject } from './facts.js';
import { entityMetadataOf, type PropertyDefinitionShape } from './metadata.js';
import { RequestWindow } from './pacing.js';
import { parseHubSpotSettings, type HubSpotSettings } from './settings.js';
import { writeReferrals } from './upsert.js';

type Signal = AbortSignal | undefined;

export class HubSpotAdapter implements CrmAdapter {
  readonly kind = 'hubspot';
  readonly target: string;
  readonly maxBatchSize: number;
  readonly settings: HubSpotSettings;
  private readonly client: Client;
  private readonly calls: HubSpotCalls;
  private readonly policy: RetryPolicy;
  private readonly logger: Logger;
  private readonly options: CrmAdapterOptions;
  private requests = 0;
  private token: Promise<void> | null = null;
  private signal: Signal;
  /**
   * When the next search may start: searches are spaced to stay within HubSpot's per-second search
   * limit.
   */
  private nextSearchAt = 0;
  /** Every request waits for a place in the portal's rolling 10-second window. */
  private readonly window: RequestWindow;
  private readonly budget: DailyBudget;
  private readonly closedStages: ClosedStages;

  constructor(options: CrmAdapterOptions) {
    this.options = options;
    this.target = options.target;
    this.settings = parseHubSpotSettings(options.settings, `targets[${options.target}].settings`);
    this.maxBatchSize = this.settings.batchSize;
    this.window = new RequestWindow(this.settings.requestsPer10Seconds, RATE_WINDOW_MS);
    this.policy = options.retryPolicy ?? DEFAULT_RETRY_POLICY;
    this.logger = (options.logger ?? silentLogger).child({ target: this.target, crm: this.kind });
    const { auth, baseUrl } = this.settings;
    this.budget = new DailyBudget(this.settings.maxDailyApiShare);
    this.client = new Client({
      basePath: baseUrl,
      ...(auth.kind === 'privateApp' ? { accessToken: auth.token } : {}),
    });
    this.closedStages = new ClosedStages(
      this.client,
      (what, request) => this.call(what, request),
      this.budget.callOptions(),
    );
    this.calls = clientCalls(
      this.client,
      this.settings.referralIdProperty,
      (what, request, search) => this.call(what, request, search === true),
      this.budget.callOptions(),
    );
  }

  /** HTTP requests made so far (every attempt, token refreshes included). */
  get callCount(): number {
    return this.requests;
  }

  async upsertLeads(
    records: MappedRecord[],
    options: { signal?: AbortSignal } = {},
  ): Promise<UpsertItemResult[]> {
    this.signal = options.signal;
    const results: UpsertItemResult[] = [];
    for (let i = 0; i < records.length; i += this.maxBatchSize) {
      results.push(
        ...(await writeReferrals(
          this.calls,
          records.slice(i, i + this.maxBatchSize),
          this.settings,
        )),
      );
    }
    const failed = results.filter((r) => !r.ok).length;
    if (failed > 0)
      this.logger.warn('some referrals were not written', { failed, of: results.length });
    return results;
  }

  readChanges(
    since: string | null,
    options: { signal?: AbortSignal } = {},
  ): AsyncIterable<CrmChangePage> {
    this.signal = options.signal;
    return this.withinBudget(() =>
      readChangePages(
        {
          calls: this.calls,
          referralIdProperty: this.settings.referralIdProperty,
          pageSize: this.settings.searchPageSize,
        },
        since,
      ),
    );
  }

  async getByReferralId(
    referralId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<CrmRecordState | null> {
    this.signal = options.signal;
    if (referralId.trim() === '') return null;
    const rows: Partial<
      Record<HubSpotObject, { id: string; properties: Record<string, string | null> }>
    > = {};
    for (const { object } of OBJECT_PREFIXES) {
      const [row] = await this.calls.readByReferralIds(
        object,
        [referralId],
        readProperties(object, this.settings.referralIdProperty),
      );
      if (row) rows[object] = row;
    }
    return Object.keys(rows).length === 0 ? null : stateOf(referralId, rows);
  }

  /**
   * The contact's, company's and deal's properties as one entity (`lead`, the mapping's record
   * role).
   */
  async describeEntity(
    entity: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<CrmEntityMetadata> {
    this.signal = options.signal;
    if (entity.toLowerCase() === 'opportunity')
      return opportunityMetadata(await this.dealProperties());
    if (entity.toLowerCase() !== 'lead') {
      throw new LeadbridgeError(
        'NOT_FOUND',
        `hubspot target "${this.target}": a HubSpot mapping writes the entity "lead" (a ` +
          `contact, a company and a deal) and co-sell reads "opportunity" (a deal), ` +
          `not "${entity}"`,
        { api: 'hubspot' },
      );
    }
    const definitions = {} as Record<HubSpotObject, PropertyDefinitionShape[]>;
    for (const { object } of OBJECT_PREFIXES) {
      const response = await this.call(`read of the ${object} properties`, () =>
        this.client.crm.properties.coreApi.getAll(
          object,
          undefined,
          undefined,
          this.budget.callOptions(),
        ),
      );
      definitions[object] = response.results as PropertyDefinitionShape[];
    }
    return entityMetadataOf(entity, definitions);
  }

  async close(): Promise<void> {
    this.token = null;
  }

  /**
   * One HubSpot request: an OAuth token first (when the target uses OAuth), transient failures
   * retried by the
   * policy (429 and 5xx; upserts by key and reads may be repeated), and an expired OAuth token
   * renewed once.
   */
  private async call<T>(what: string, request: () => Promise<T>, search = false): Promise<T> {
    for (let renewed = false; ; renewed = true) {
      await this.ensureToken();
      try {
        return await withRetry(() => this.attempt(what, request, search), this.policy, {
          idempotent: true,
          signal: this.signal,
          api: 'hubspot',
          onRetry: ({ attempt, delayMs, error }) =>
            this.logger.warn('retrying a HubSpot call', {
              call: what,
              attempt,
              delayMs,
              error: error.message,
            }),
        });
      } catch (error) {
        const status = (error as LeadbridgeError).status;
        if (status !== 401 || this.settings.auth.kind !== 'oauth' || renewed) throw error;
        this.logger.info('the HubSpot access token was refused; refreshing it', { call: what });
        this.token = null;
      }
    }
  }

  private async attempt<T>(what: string, request: () => Promise<T>, search: boolean): Promise<T> {
    if (this.signal?.aborted)
      throw new LeadbridgeError('ABORTED', 'operation aborted', { api: 'hubspot' });
    const run = async () => {
      if (search) await this.searchTurn();
      await this.window.take(this.signal);
      const started = Date.now();
      this.requests++;
      let status: number | null = null;
      try {
        const result = await request();
        status = 200;
        return result;
      } catch (error) {
        status = isApiException(error) ? error.code : null;
        const failure = callError(error, { target: this.target, call: what, search });
        // Another client of the app used the window up: everyone waits, not only this call.
        if (status === 429 && failure.retryAfterSeconds !== undefined)
          this.window.holdFor(
            Math.min(failure.retryAfterSeconds * 1000, this.policy.maxRetryAfterMs),
          );
        throw failure;
      } finally {
        this.options.onCall?.({
          api: 'hubspot',
          method: 'POST',
          status,
          durationMs: Date.now() - started,
        });
      }
    };
    return this.options.limiter ? this.options.limiter.add(run) : run();
  }

  private async searchTurn(): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.nextSearchAt);
    this.nextSearchAt = at + SEARCH_SPACING_MS;
    if (at > now) await sleep(at - now, this.signal);
  }

  /** OAuth apps: one refresh at a time, shared by concurrent calls. */
  private ensureToken(): Promise<void> {
    const auth = this.settings.auth;
    if (auth.kind !== 'oauth') return Promise.resolve();
    this.token ??= this.attempt(
      'OAuth token refresh',
      async () => {
        const tokens = await this.client.oauth.tokensApi.create(
          'refresh_token',
          undefined,
          undefined,
          auth.clientId,
          auth.clientSecret,
          auth.refreshToken,
        );
        this.client.setAccessToken(tokens.accessToken);
      },
      false,
    ).catch((error: unknown) => {
      this.token = null;
      throw new LeadbridgeError(
        'AUTH_FAILED',
        `hubspot target "${this.target}": the OAuth refresh token was refused (` +
          `${(error as Error).message}); ` +
          "check the app's client id and secret and the target's settings.auth.refreshToken",
        { api: 'hubspot', cause: error },
      );
    });
    return this.token;
  }

  /** The daily allocation as last seen on responses (private apps; OAuth apps have none). */
  apiBudget(): ApiBudget | null {
    return this.budget.budget();
  }

  /** Shows an expired referral on its open deal (see expiry.ts); false when left alone. */
  reflectExpired(
    record: CrmRecordState,
    fields: Record<string, unknown>,
    options: { signal?: AbortSignal } = {},
  ): Promise<boolean> {
    this.signal = options.signal;
    return reflectExpired(
      {
        client: this.client,
        run: (what, request) => this.call(what, request),
        options: this.budget.callOptions(),
        stages: this.closedStages,
        target: this.target,
      },
      record,
      fields,
    );
  }

  /** Co-sell: flagged deals with no referral id yet; skipped past the daily share like outcomes. */
  async readSharedDeals(
    shareField: string,
    fields: readonly string[],
    options: { signal?: AbortSignal } = {},
  ): Promise<SharedDeal[]> {
    this.signal = options.signal;
    if (!(await this.readsAllowed())) return [];
    const { referralIdProperty, searchPageSize: pageSize } = this.settings;
    return readSharedDeals({ calls: this.calls, referralIdProperty, pageSize }, shareField, fields);
  }

  /** Co-sell: the created referral's id into the deal's referral id property. */
  async linkDeal(
    recordId: string,
    referralId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    this.signal = options.signal;
    await updateObject(
      {
        client: this.client,
        run: (what, request) => this.call(what, request),
        options: this.budget.callOptions(),
      },
      'deals',
      recordId,
      { [this.settings.referralIdProperty]: referralId },
    );
  }

  private async dealProperties(): Promise<PropertyDefinitionShape[]> {
    const response = await this.call('read of the deals properties', () =>
      this.client.crm.properties.coreApi.getAll(
        'deals',
        undefined,
        undefined,
        this.budget.callOptions(),
      ),
    );
    return response.results as PropertyDefinitionShape[];
  }

  /** Past the daily share (checked with the usage endpoint when due), non-essential reads wait. */
  private readsAllowed(): Promise<boolean> {
    return readsWithinBudget(
      this.budget,
      () => readUsage(this.client, (what, request) => this.call(what, request)),
      (message, details) => this.logger.warn(message, details),
    );
  }

  private async *withinBudget(pages: () => AsyncIterable<CrmChangePage>) {
    if (await this.readsAllowed()) yield* pages();
  }
}
