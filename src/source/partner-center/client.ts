// The Partner Center referrals client: incremental paged listing with overlap dedupe, and
// eTag-guarded life-cycle writes.
import type { AxiosResponse } from 'axios';
import { LeadbridgeError, ValidationError } from '../../core/errors.js';
import { ApiClient, newCorrelationId } from '../../core/http.js';
import { silentLogger, type Logger } from '../../core/log.js';
import type { Referral } from '../../core/referral.js';
import {
  acceptPatch,
  declinePatch,
  externalReferencePatch,
  lostPatch,
  wonPatch,
  type AcceptFields,
  type CloseFields,
  type ReferralRef,
  type WonFields,
} from './actions.js';
import {
  DEFAULT_OVERLAP_MS,
  HEADERS,
  PARTNER_CENTER_API,
  PREFER_REPRESENTATION,
  REFERRALS_PATH,
  parsePartnerCenterError,
  type PatchOperation,
} from './facts.js';
import { OverlapDeduper, filterLiteral, msToTicks } from './overlap.js';
import {
  formatLiteral,
  isEmptyBody,
  isFilterRefusal,
  itemPath,
  listBodyOf,
  listUrl,
  type ListPage,
  type LiteralForm,
} from './list-query.js';
import { parseReferral } from './parse.js';
import { nextLinkOf } from './next-link.js';
import { ReferralReader } from './referral-reader.js';
import { parseSince } from './since.js';
import type { PartnerCenterClientOptions, ReferralPage, RequestOptions } from './client-types.js';

/**
 * A write the service applied (2xx) whose result could not be read: never to be recorded as a
 * failed write.
 */
export class WriteAppliedError extends LeadbridgeError {
  constructor(message: string, cause: unknown) {
    super('HTTP_ERROR', message, { api: PARTNER_CENTER_API, retryable: false, cause });
  }
}

export class PartnerCenterClient {
  /**
   * Sent as MS-CorrelationId on every call of this client, to tie its calls together in the
   * vendor's logs.
   */
  readonly correlationId = newCorrelationId();
  private readonly api: ApiClient;
  private readonly logger: Logger;
  private readonly overlapTicks: bigint;
  private readonly now: () => number;
  private lastCompletePassStartedMs: number | null = null;
  private readonly deduper: OverlapDeduper;
  private readonly reader: ReferralReader;
  private literalForm: LiteralForm = 'unquoted';
  private literalFormConfirmed = false;

  constructor(options: PartnerCenterClientOptions) {
    const overlapMs = options.overlapMs ?? DEFAULT_OVERLAP_MS;
    if (!Number.isFinite(overlapMs) || overlapMs < 0) {
      throw new LeadbridgeError(
        'CONFIG_INVALID',
        `partner-center: overlapMs must be a non-negative number of milliseconds (got ` +
          `${overlapMs})`,
      );
    }
    this.logger = (options.logger ?? silentLogger).child({ api: PARTNER_CENTER_API });
    this.overlapTicks = msToTicks(overlapMs);
    this.deduper = new OverlapDeduper(this.overlapTicks);
    this.reader = new ReferralReader(this.logger);
    this.now = options.now ?? Date.now;
    this.api = new ApiClient({
      api: PARTNER_CENTER_API,
      baseUrl: options.baseUrl,
      credential: options.credential,
      parseError: parsePartnerCenterError,
      defaultHeaders: { Accept: 'application/json', [HEADERS.correlationId]: this.correlationId },
      retryPolicy: options.retryPolicy,
      timeoutMs: options.timeoutMs,
      logger: this.logger,
      onCall: options.onCall,
      limiter: options.limiter,
    });
  }

  /** HTTP attempts made so far, retries included. */
  get callCount(): number {
    return this.api.callCount;
  }

  /**
   * Streams changed referrals page by page: updatedDateTime ge (since - overlap), ordered
   * ascending.
   * Repeats (same id + eTag) are dropped within the pass and against the previous completed pass
   * when
   * `since` covers it. `since` null lists everything. Only one page is held at a time.
   */
  async *listChanged(
    since: string | null,
    options: RequestOptions = {},
  ): AsyncGenerator<ReferralPage> {
    const sinceTicks = parseSince(since);
    const startedMs = this.now();
    const pass = this.deduper.beginPass(sinceTicks);
    let page = await this.firstPage(sinceTicks, options.signal);
    for (;;) {
      yield this.reader.readPage(page.body.value, pass);
      pass.prune();
      const next = nextLinkOf(page);
      if (next === null) break;
      if (options.signal?.aborted)
        throw new LeadbridgeError('ABORTED', 'partner-center: listing aborted', {
          api: PARTNER_CENTER_API,
        });
      page = await this.fetchPage(next, options.signal);
    }
    pass.complete();
    this.lastCompletePassStartedMs = startedMs;
  }

  /**
   * The lower bound of the next query. A change the service had not yet made visible when the
   * previous
   * complete pass started carries a timestamp after (that start - overlap), so only that stretch
   * needs a
   * second look; once a poll starts a full overlap after the last change, it reads from `since`
   * itself.
   * Without such a pass in this process (first poll, restart), the whole overlap before `since` is
   * re-read.
   */
  private lowerBound(sinceTicks: bigint): bigint {
    const windowFloor = sinceTicks - this.overlapTicks;
    if (this.lastCompletePassStartedMs === null) return windowFloor;
    const invisibleFloor = msToTicks(this.lastCompletePassStartedMs) - this.overlapTicks;
    const floor = invisibleFloor < sinceTicks ? invisibleFloor : sinceTicks;
    return floor > windowFloor ? floor : windowFloor;
  }

  /**
   * Unanswered (New) referrals whose expirationDateTime is at or before `before`, page by page.
   * Quiet referrals
   * never show up in incremental polls, so expiry warnings look for them with this one query.
   */
  async *listExpiringBefore(
    before: string,
    options: RequestOptions = {},
  ): AsyncGenerator<Referral[]> {
    const ticks = parseSince(before);
    const literal = formatLiteral(filterLiteral(ticks ?? 0n), this.literalForm);
    const filter = `status eq 'New' and expirationDateTime le ${literal}`;
    let page = await this.fetchPage(
      `${REFERRALS_PATH}?$filter=${encodeURIComponent(filter)}`,
      options.signal,
    );
    for (;;) {
      const items: Referral[] = [];
      for (const item of page.body.value) {
        const parsed = parseReferral(item);
        if (parsed.ok) items.push(parsed.referral);
      }
      yield items;
      const next = nextLinkOf(page);
      if (next === null) return;
      page = await this.fetchPage(next, options.signal);
    }
  }

  /** One referral by id; a NOT_FOUND LeadbridgeError when it does not exist. */
  async get(id: string, options: RequestOptions = {}): Promise<Referral> {
    if (typeof id !== 'string' || id.trim() === '') {
      throw new ValidationError('VALIDATION_FAILED', 'partner-center: cannot get a referral', [
        { path: 'id', message: 'is required' },
      ]);
    }
    const response = await this.api.request({
      method: 'GET',
      url: itemPath(id),
      headers: this.requestHeaders(),
      idempotent: true,
      signal: options.signal,
    });
    this.noteRequestId(response, `GET referral ${id}`);
    return this.reader.toReferral(response.data, `GET referral ${id}`);
  }

  /** New → Active/Accepted with the deal's name, value, currency, close date and notes. */
  async accept(
    ref: ReferralRef,
    fields: AcceptFields,
    options: RequestOptions = {},
  ): Promise<Referral> {
    return await this.write('accept', ref, acceptPatch(ref, fields), options);
  }

  /** New → Closed/Declined with the reason (and notes). */
  async decline(
    ref: ReferralRef,
    fields: CloseFields,
    options: RequestOptions = {},
  ): Promise<Referral> {
    return await this.write('decline', ref, declinePatch(ref, fields), options);
  }

  /** Active → Closed/Won. */
  async markWon(
    ref: ReferralRef,
    fields: WonFields = {},
    options: RequestOptions = {},
  ): Promise<Referral> {
    return await this.write('win', ref, wonPatch(ref, fields), options);
  }

  /** Active → Closed/Lost with the reason (and notes). */
  async markLost(
    ref: ReferralRef,
    fields: CloseFields,
    options: RequestOptions = {},
  ): Promise<Referral> {
    return await this.write('lose', ref, lostPatch(ref, fields), options);
  }

  /** Records the partner's CRM record id on the referral. */
  async setExternalReference(
    ref: ReferralRef,
    externalReferenceId: string,
    options: RequestOptions = {},
  ): Promise<Referral> {
    return await this.write(
      'set external reference',
      ref,
      externalReferencePatch(ref, externalReferenceId),
      options,
    );
  }

  /**
   * Sends a JSON Patch guarded by If-Match. Treated as idempotent: a repeat of an applied write can
   * only fail with 412, never apply twice. A 412 surfaces as ConflictError.
   */
  private async write(
    action: string,
    ref: ReferralRef,
    operations: PatchOperation[],
    options: RequestOptions,
  ): Promise<Referral> {
    const response = await this.api.request({
      method: 'PATCH',
      url: itemPath(ref.id),
      data: operations,
      headers: {
        ...this.requestHeaders(),
        'Content-Type': 'application/json',
        [HEADERS.ifMatch]: ref.eTag,
        [HEADERS.prefer]: PREFER_REPRESENTATION,
      },
      idempotent: true,
      signal: options.signal,
    });
    this.noteRequestId(response, `${action} referral ${ref.id}`);
    return this.readBack(action, ref, response, options);
  }

  /**
   * The referral after an applied write: the representation, else (204, or an unreadable body) a
   * GET by id. When
   * neither can be read the write still happened: WriteAppliedError says so, and callers record it
   * as sent.
   */
  private async readBack(
    action: string,
    ref: ReferralRef,
    response: AxiosResponse,
    options: RequestOptions,
  ): Promise<Referral> {
    if (response.status !== 204 && !isEmptyBody(response.data)) {
      const parsed = parseReferral(response.data);
      if (parsed.ok) {
        this.reader.reportDropped(parsed.referral, parsed.dropped);
        return parsed.referral;
      }
      this.logger.warn('the updated referral in the response is unreadable; reading it again', {
        referralId: ref.id,
        action,
        issues: parsed.invalid.issues,
      });
    }
    try {
      return await this.get(ref.id, options);
    } catch (error) {
      throw new WriteAppliedError(
        `partner-center: ${action} referral ${ref.id} was applied (${response.status}), but ` +
          `the referral could not be read back: ${(error as Error).message}`,
        error,
      );
    }
  }

  /**
   * The first page; an unconfirmed literal form that the service refuses is retried once in the
   * other form.
   */
  private async firstPage(sinceTicks: bigint | null, signal?: AbortSignal): Promise<ListPage> {
    if (sinceTicks === null) return this.fetchPage(listUrl(null), signal);
    const floor = filterLiteral(this.lowerBound(sinceTicks));
    try {
      const page = await this.fetchPage(listUrl(formatLiteral(floor, this.literalForm)), signal);
      this.literalFormConfirmed = true;
      return page;
    } catch (error) {
      if (this.literalFormConfirmed || !isFilterRefusal(error)) throw error;
      const fallback: LiteralForm = this.literalForm === 'unquoted' ? 'quoted' : 'unquoted';
      this.logger.warn('the $filter datetime literal was refused; trying the other form', {
        refused: this.literalForm,
        trying: fallback,
        error: (error as Error).message,
      });
      const page = await this.fetchPage(listUrl(formatLiteral(floor, fallback)), signal);
      this.literalForm = fallback;
      this.literalFormConfirmed = true;
      return page;
    }
  }

  private async fetchPage(url: string, signal?: AbortSignal): Promise<ListPage> {
    const response = await this.api.request({
      method: 'GET',
      url,
      headers: this.requestHeaders(),
      idempotent: true,
      signal,
    });
    this.noteRequestId(response, 'list referrals');
    return { url, body: listBodyOf(response, url) };
  }

  /**
   * A fresh client-request-id per logical request (headers.md); retries of that request reuse it.
   */
  private requestHeaders(): Record<string, string> {
    return { [HEADERS.clientRequestId]: newCorrelationId() };
  }

  /** The service's `request-id` for the call, logged so a support case can name it. */
  private noteRequestId(response: AxiosResponse, what: string): void {
    const requestId = response.headers?.[HEADERS.responseRequestId];
    this.logger.debug('partner-center call', {
      call: what,
      status: response.status,
      requestId: typeof requestId === 'string' ? requestId : null,
    });
  }
}
