// The Partner Center webhook registration API: register, show, update and remove the callback.
//
// MicrosoftDocs/partner-center-pr partner-center/develop/partner-center-webhooks.md ("Webhook
// APIs"): POST, GET, PUT and DELETE on
// https://api.partnercenter.microsoft.com/webhooks/v1/registration, Bearer token as for the rest of
// the API, bodies `{WebhookUrl, WebhookEvents}`, answers `{SubscriberId?, WebhookUrl,
// WebhookEvents}`.
import type { TokenCredential } from '../../core/auth.js';
import { LeadbridgeError } from '../../core/errors.js';
import { ApiClient, newCorrelationId, type ApiClientOptions } from '../../core/http.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { HEADERS, parsePartnerCenterError } from './facts.js';

/** The referral events leadbridge registers for (partner-center-webhook-events.md). */
export const REFERRAL_WEBHOOK_EVENTS = [
  'referral-created',
  'referral-updated',
  'related-referral-created',
  'related-referral-updated',
] as const;

const REGISTRATION_PATH = 'webhooks/v1/registration';

export interface WebhookRegistration {
  subscriberId: string | null;
  url: string;
  events: string[];
}

export interface WebhookRegistrationClientOptions {
  /** https://api.partnercenter.microsoft.com, or the simulator's base URL. */
  baseUrl: string;
  credential: TokenCredential;
  logger?: Logger;
  onCall?: ApiClientOptions['onCall'];
}

export class WebhookRegistrationClient {
  private readonly api: ApiClient;

  constructor(options: WebhookRegistrationClientOptions) {
    this.api = new ApiClient({
      api: 'partner-center-webhooks',
      baseUrl: options.baseUrl,
      credential: options.credential,
      parseError: parsePartnerCenterError,
      defaultHeaders: { Accept: 'application/json', [HEADERS.correlationId]: newCorrelationId() },
      logger: (options.logger ?? silentLogger).child({ api: 'partner-center-webhooks' }),
      onCall: options.onCall,
    });
  }

  /** The current registration, or null when there is none. */
  async show(signal?: AbortSignal): Promise<WebhookRegistration | null> {
    const response = await this.api.request({
      method: 'GET',
      url: REGISTRATION_PATH,
      idempotent: true,
      acceptStatuses: [404],
      signal,
    });
    if (response.status === 404) return null;
    return toRegistration(response.data);
  }

  /** Registers `url` for the referral events; an existing registration is updated (PUT) instead. */
  async register(
    url: string,
    events: readonly string[] = REFERRAL_WEBHOOK_EVENTS,
    signal?: AbortSignal,
  ): Promise<WebhookRegistration> {
    const existing = await this.show(signal);
    const response = await this.api.request({
      method: existing ? 'PUT' : 'POST',
      url: REGISTRATION_PATH,
      data: { WebhookUrl: url, WebhookEvents: [...events] },
      headers: { 'Content-Type': 'application/json' },
      // Registering the same URL and events twice leaves the same registration.
      idempotent: true,
      signal,
    });
    return toRegistration(response.data);
  }

  /** Removes the registration; resolves false when there was none. */
  async remove(signal?: AbortSignal): Promise<boolean> {
    const response = await this.api.request({
      method: 'DELETE',
      url: REGISTRATION_PATH,
      idempotent: true,
      acceptStatuses: [404],
      signal,
    });
    return response.status !== 404;
  }
}

function toRegistration(body: unknown): WebhookRegistration {
  const record = (body ?? {}) as Record<string, unknown>;
  const url = record.WebhookUrl ?? record.webhookUrl;
  const events = record.WebhookEvents ?? record.webhookEvents;
  if (typeof url !== 'string' || !Array.isArray(events)) {
    throw new LeadbridgeError(
      'VALIDATION_FAILED',
      'partner-center webhooks: the registration answer has no WebhookUrl / WebhookEvents',
      { api: 'partner-center-webhooks', retryable: false },
    );
  }
  const subscriber = record.SubscriberId ?? record.subscriberId;
  return {
    subscriberId: typeof subscriber === 'string' ? subscriber : null,
    url,
    events: events.filter((event): event is string => typeof event === 'string'),
  };
}
