// Partner-originated deals: create a referral (POST) and find one by the partner's CRM id first.
//
// create-a-referral.md: POST https://api.partner.microsoft.com/v1.0/engagements/referrals with a
// Referral
// body; the answer is the populated referral. A create is never retried blindly (not idempotent):
// the
// caller looks the deal up by externalReferenceId (get-a-list-of-referrals.md documents `$filter`
// on the
// referral's properties) before any second attempt, so a lost answer never makes a second referral.
import type { TokenCredential } from '../../core/auth.js';
import { ValidationError } from '../../core/errors.js';
import { ApiClient, newCorrelationId, type ApiClientOptions } from '../../core/http.js';
import { silentLogger, type Logger } from '../../core/log.js';
import type { Referral } from '../../core/referral.js';
import { HEADERS, PARTNER_CENTER_API, REFERRALS_PATH, parsePartnerCenterError } from './facts.js';
import { parseReferral } from './parse.js';

export interface DealClientOptions {
  baseUrl: string;
  credential: TokenCredential;
  logger?: Logger;
  onCall?: ApiClientOptions['onCall'];
  limiter?: ApiClientOptions['limiter'];
}

export class PartnerDealClient {
  private readonly api: ApiClient;
  /** Test hook (see sync/actions/create-referral.ts): runs after a create landed. */
  afterCreate?: (referral: Referral) => Promise<void> | void;

  constructor(options: DealClientOptions) {
    this.api = new ApiClient({
      api: PARTNER_CENTER_API,
      baseUrl: options.baseUrl,
      credential: options.credential,
      parseError: parsePartnerCenterError,
      defaultHeaders: { Accept: 'application/json', [HEADERS.correlationId]: newCorrelationId() },
      logger: (options.logger ?? silentLogger).child({ api: PARTNER_CENTER_API }),
      onCall: options.onCall,
      limiter: options.limiter,
    });
  }

  get callCount(): number {
    return this.api.callCount;
  }

  /** The referral whose externalReferenceId is `crmId`, or null. */
  async findByExternalReferenceId(crmId: string, signal?: AbortSignal): Promise<Referral | null> {
    const filter = `externalReferenceId eq '${crmId.replace(/'/g, "''")}'`;
    const response = await this.api.request<{ value?: unknown[] }>({
      method: 'GET',
      url: `${REFERRALS_PATH}?$filter=${encodeURIComponent(filter)}`,
      headers: { [HEADERS.clientRequestId]: newCorrelationId() },
      idempotent: true,
      signal,
    });
    for (const item of response.data?.value ?? []) {
      const parsed = parseReferral(item);
      if (parsed.ok && parsed.referral.externalReferenceId === crmId) return parsed.referral;
    }
    return null;
  }

  /** POSTs a new referral; a refusal (400 naming the field) surfaces as the LeadbridgeError. */
  async create(body: Record<string, unknown>, signal?: AbortSignal): Promise<Referral> {
    const response = await this.api.request({
      method: 'POST',
      url: REFERRALS_PATH,
      data: body,
      headers: {
        [HEADERS.clientRequestId]: newCorrelationId(),
        'Content-Type': 'application/json',
      },
      idempotent: false,
      signal,
    });
    const parsed = parseReferral(response.data);
    if (!parsed.ok) {
      throw new ValidationError(
        'VALIDATION_FAILED',
        'partner-center: the created referral in the answer is not valid',
        parsed.invalid.issues,
      );
    }
    return parsed.referral;
  }
}
