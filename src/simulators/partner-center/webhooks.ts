// Partner Center webhooks: registration API, signed callbacks on referral writes, a drop fault.
//
// Written from MicrosoftDocs/partner-center-pr partner-center/develop/partner-center-webhooks.md
// (read in its mirror xdmushui/partner-center-sdk develop/partner-center-webhooks.md) and
// partner-center-webhook-events.md:
// - registration at /webhooks/v1/registration: POST registers, GET shows, PUT updates, DELETE
//   removes; bodies `{WebhookUrl, WebhookEvents}`, answers `{SubscriberId, WebhookUrl,
//   WebhookEvents}`; GET .../events lists events;
// - a callback is a POST of `{EventName, ResourceUri, ResourceName, AuditUri,
//   ResourceChangeUtcDate}` with `Authorization: Signature <base64>` (RSA over the UTF-8 body),
//   `X-MS-Certificate-Url` (where the signing certificate is) and `X-MS-Signature-Algorithm:
//   rsa-sha256`; the certificate chains to a Microsoft root and its subject's O is "Microsoft
//   Corporation";
// - "Partner Center will make 10 attempts to deliver the event", then gives up.
// Simulator choices (the documents are silent): the real API lives on
// api.partnercenter.microsoft.com; here it shares the referrals simulator's port. The signing
// certificate is webhook-tls/cert.pem, issued by the simulator's own root webhook-tls/ca.pem (a
// receiver trusts that root in tests), served at /_sim/webhooks/certificate. A referral's
// ResourceUri is its item URL. related-referral-* go out when another referral shares the written
// one's engagementId.
import { randomUUID, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  SimHttpError,
  type SimRequest,
  type SimResponse,
  type SimRoute,
} from '../common/server.js';
import { isPlainObject } from './json.js';
import type { ReferralStore } from './store.js';

const WEBHOOK_EVENTS = [
  'referral-created',
  'referral-updated',
  'related-referral-created',
  'related-referral-updated',
  'test-created',
] as const;
type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

const TLS_DIR = new URL('./webhook-tls/', import.meta.url);
const SIGNING_KEY = readFileSync(new URL('key.pem', TLS_DIR), 'utf8');
/** The signing certificate (served at the certificate URL). */
const WEBHOOK_CERTIFICATE_PEM = readFileSync(new URL('cert.pem', TLS_DIR), 'utf8');

const REGISTRATION = /^\/webhooks\/v1\/registration$/;
const EVENTS = /^\/webhooks\/v1\/registration\/events$/;
/** partner-center-webhooks.md: 10 delivery attempts, then the event goes to an offline queue. */
const MAX_ATTEMPTS = 10;

interface Registration {
  SubscriberId: string;
  WebhookUrl: string;
  WebhookEvents: WebhookEvent[];
}

export interface WebhookDelivery {
  at: string;
  eventName: string;
  resourceUri: string;
  url: string;
  /** The receiver's status, 'dropped' (fault mode), or 'failed' after every attempt. */
  outcome: number | 'dropped' | 'failed';
  attempts: number;
}

export interface WebhookHubOptions {
  store: ReferralStore;
  /** The simulator's base URL (ResourceUri and the certificate URL point at it). */
  baseUrl: () => string;
  /** Pause between delivery attempts (default 200 ms, doubled each time, at most 5 s). */
  retryDelayMs?: number;
}

export class WebhookHub {
  private registration: Registration | null = null;
  /**
   * Fault mode: callbacks are built and logged but never sent (the "silent webhook" the issue
   * describes).
   */
  dropCallbacks = false;
  readonly deliveries: WebhookDelivery[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: WebhookHubOptions) {
    options.store.onWrite((referral, created) => this.referralWritten(referral, created));
  }

  get current(): Readonly<Registration> | null {
    return this.registration;
  }

  /** Resolves when every callback sent so far has been answered or given up (tests await this). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  clear(): void {
    this.registration = null;
    this.dropCallbacks = false;
    this.deliveries.length = 0;
  }

  /** The registration API (bearer-authenticated like the rest of the API). */
  routes(): SimRoute[] {
    return [
      {
        method: 'GET',
        pattern: EVENTS,
        handler: () => ({ status: 200, body: [...WEBHOOK_EVENTS] }),
      },
      { method: 'POST', pattern: REGISTRATION, handler: (req) => this.register(req, false) },
      { method: 'PUT', pattern: REGISTRATION, handler: (req) => this.register(req, true) },
      { method: 'GET', pattern: REGISTRATION, handler: () => this.show() },
      { method: 'DELETE', pattern: REGISTRATION, handler: () => this.remove() },
    ];
  }

  /**
   * /_sim/webhooks/...: the certificate, the delivery log, the drop fault, and losing the
   * registration.
   */
  adminRoutes(): SimRoute[] {
    return [
      {
        method: 'GET',
        pattern: /^\/_sim\/webhooks\/certificate$/,
        handler: () => ({
          status: 200,
          headers: { 'Content-Type': 'application/x-pem-file' },
          body: WEBHOOK_CERTIFICATE_PEM,
        }),
      },
      {
        method: 'GET',
        pattern: /^\/_sim\/webhooks\/deliveries$/,
        handler: () => ({ status: 200, body: { deliveries: this.deliveries } }),
      },
      {
        method: 'PUT',
        pattern: /^\/_sim\/webhooks\/faults$/,
        handler: (req) => this.setFaults(req),
      },
      {
        method: 'DELETE',
        pattern: /^\/_sim\/webhooks\/registration$/,
        handler: () => {
          this.registration = null;
          return { status: 204 };
        },
      },
    ];
  }

  private register(req: SimRequest, update: boolean): SimResponse {
    if (update && !this.registration)
      throw new SimHttpError(404, 'itemNotFound', 'no webhook registration to update: POST one');
    if (!update && this.registration) {
      throw new SimHttpError(
        409,
        'invalidRequest',
        'a webhook registration exists already: PUT to change it, or DELETE it first',
      );
    }
    const { url, events } = parseRegistration(req.body);
    this.registration = {
      SubscriberId: this.registration?.SubscriberId ?? randomUUID(),
      WebhookUrl: url,
      WebhookEvents: events,
    };
    return { status: 200, body: this.registration };
  }

  private show(): SimResponse {
    if (!this.registration) throw new SimHttpError(404, 'itemNotFound', 'no webhook registration');
    const { WebhookUrl, WebhookEvents } = this.registration;
    return { status: 200, body: { WebhookUrl, WebhookEvents } };
  }

  private remove(): SimResponse {
    if (!this.registration) throw new SimHttpError(404, 'itemNotFound', 'no webhook registration');
    this.registration = null;
    return { status: 204 };
  }

  private setFaults(req: SimRequest): SimResponse {
    const body = req.body;
    if (!isPlainObject(body) || typeof body.dropCallbacks !== 'boolean')
      throw new SimHttpError(400, 'invalidRequest', 'expected {"dropCallbacks": true|false}');
    this.dropCallbacks = body.dropCallbacks;
    return { status: 200, body: { dropCallbacks: this.dropCallbacks } };
  }

  private referralWritten(referral: Record<string, unknown>, created: boolean): void {
    const registration = this.registration;
    if (!registration) return;
    const action = created ? 'created' : 'updated';
    const events: WebhookEvent[] = [`referral-${action}`];
    if (
      registration.WebhookEvents.some((e) => e.startsWith('related-')) &&
      this.hasRelated(referral)
    )
      events.push(`related-referral-${action}`);
    const uri = `${this.options.baseUrl()}/v1.0/engagements/referrals/${String(referral.id)}`;
    for (const event of events) {
      if (!registration.WebhookEvents.includes(event)) continue;
      this.send(registration.WebhookUrl, {
        EventName: event,
        ResourceUri: uri,
        ResourceName: 'referral',
        AuditUri: null,
        ResourceChangeUtcDate: String(referral.updatedDateTime ?? new Date().toISOString()),
      });
    }
  }

  private hasRelated(referral: Record<string, unknown>): boolean {
    const engagement = referral.engagementId;
    if (typeof engagement !== 'string') return false;
    return this.options.store
      .all()
      .some((other) => other.engagementId === engagement && other.id !== referral.id);
  }

  private send(url: string, event: Record<string, unknown>): void {
    const body = JSON.stringify(event);
    const log: WebhookDelivery = {
      at: new Date().toISOString(),
      eventName: String(event.EventName),
      resourceUri: String(event.ResourceUri),
      url,
      outcome: 'dropped',
      attempts: 0,
    };
    this.deliveries.push(log);
    if (this.deliveries.length > 5_000) this.deliveries.splice(0, this.deliveries.length - 5_000);
    if (this.dropCallbacks) return;
    const delivery = this.deliver(url, body, log).finally(() => this.inFlight.delete(delivery));
    this.inFlight.add(delivery);
  }

  private async deliver(url: string, body: string, log: WebhookDelivery): Promise<void> {
    const signature = sign('sha256', Buffer.from(body, 'utf8'), SIGNING_KEY).toString('base64');
    const headers = {
      'Content-Type': 'application/json',
      Authorization: `Signature ${signature}`,
      'X-MS-Certificate-Url': `${this.options.baseUrl()}/_sim/webhooks/certificate`,
      'X-MS-Signature-Algorithm': 'rsa-sha256',
    };
    let delay = this.options.retryDelayMs ?? 200;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      log.attempts = attempt;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(5_000),
        });
        await response.arrayBuffer().catch(() => undefined);
        log.outcome = response.status;
        if (response.status < 500 && response.status !== 429) return;
      } catch {
        log.outcome = 'failed';
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 5_000);
    }
    if (log.outcome !== 'failed' && typeof log.outcome === 'number' && log.outcome >= 500)
      log.outcome = 'failed';
  }
}

function parseRegistration(body: unknown): { url: string; events: WebhookEvent[] } {
  if (!isPlainObject(body))
    throw new SimHttpError(400, 'invalidRequest', 'the body must be {WebhookUrl, WebhookEvents}');
  const url = body.WebhookUrl;
  if (typeof url !== 'string' || !isCallbackUrl(url)) {
    throw new SimHttpError(
      400,
      'invalidRequest',
      'WebhookUrl must be an absolute https URL (http only on a loopback host)',
    );
  }
  const events = body.WebhookEvents;
  if (!Array.isArray(events) || events.length === 0)
    throw new SimHttpError(400, 'invalidRequest', 'WebhookEvents must be a non-empty array');
  const unknown = events.filter((event) => !(WEBHOOK_EVENTS as readonly unknown[]).includes(event));
  if (unknown.length > 0) {
    throw new SimHttpError(
      400,
      'invalidRequest',
      `unknown WebhookEvents ${unknown.map((e) => JSON.stringify(e)).join(', ')} ` +
        `(known: ${WEBHOOK_EVENTS.join(', ')})`,
    );
  }
  return { url, events: [...new Set(events as WebhookEvent[])] };
}

function isCallbackUrl(value: string): boolean {
  try {
    const url = new URL(value);
    if (url.protocol === 'https:') return true;
    return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  } catch {
    return false;
  }
}
