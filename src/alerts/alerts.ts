// Alerts a person must see: hot leads, leads nearing expiry, and a digest of quarantined referrals,
// each sent once.
import { createHash } from 'node:crypto';
import { credentialFromAuth } from '../config/credentials.js';
import type { LeadbridgeError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/log.js';
import { isHotLead } from '../core/referral.js';
import { DEFAULT_RETRY_POLICY, withRetry, type RetryPolicy } from '../core/retry.js';
import { appendAudit, listByState, listOutboxByState, type Ledger } from '../ledger/index.js';
import type { EnabledAlertsConfig } from '../config/alerts.js';
import {
  expiryWarningContent,
  hotLeadContent,
  quarantineDigestContent,
  renderAdaptiveCard,
  signInRequiredContent,
  webhooksSilentContent,
  renderText,
  type AlertContent,
  type AlertKind,
  type AlertReferral,
  type QuarantinedReferral,
} from './alerts-content.js';
import { GRAPH_API, GraphAlertTransport } from './alerts-graph.js';
import { TEAMS_WEBHOOK_API, TeamsWebhookTransport, webhookName } from './alerts-teams.js';
import { portalLink } from '../source/partner-center/facts.js';
import {
  claimAlert,
  releaseAlert,
  type AlertEntry,
  type Channel,
  type PendingAlert,
} from './alert-claims.js';
import {
  addCounts,
  zeroCounts,
  type AlertCounts,
  type AlertSenderOptions,
  type SendOptions,
} from './alert-options.js';

export { alertsConfigSchema } from '../config/alerts.js';
export type { EnabledAlertsConfig } from '../config/alerts.js';
export type { AlertKind, AlertReferral } from './alerts-content.js';

const DAY_MS = 86_400_000;
const DEFAULT_DIGEST_SCAN_LIMIT = 10_000;
const IMPORTANCE: Record<AlertKind, 'high' | 'normal'> = {
  'hot-lead': 'high',
  'expiry-warning': 'high',
  'quarantine-digest': 'normal',
  'sign-in-required': 'high',
  'webhooks-silent': 'high',
};

export class AlertSender {
  private readonly config: EnabledAlertsConfig | null;
  private readonly transport: GraphAlertTransport | null;
  private readonly teams: TeamsWebhookTransport | null;
  private readonly ledger: Ledger;
  private readonly logger: Logger;
  private readonly now: () => Date;
  private readonly metrics: AlertSenderOptions['metrics'];
  private readonly referralLink: (referralId: string) => string;
  private readonly retryPolicy: RetryPolicy;
  private readonly digestScanLimit: number;

  constructor(options: AlertSenderOptions) {
    this.config = options.config.enabled ? options.config : null;
    this.ledger = options.ledger;
    this.logger = (options.logger ?? silentLogger).child({ component: 'alerts' });
    this.now = options.now ?? (() => new Date());
    this.metrics = options.metrics;
    this.referralLink = options.referralLink ?? portalLink;
    this.retryPolicy = options.retryPolicy ?? DEFAULT_RETRY_POLICY;
    this.digestScanLimit = options.digestScanLimit ?? DEFAULT_DIGEST_SCAN_LIMIT;
    this.transport = this.config
      ? new GraphAlertTransport({
          baseUrl: this.config.graph.baseUrl,
          credential:
            options.credential ?? credentialFromAuth(this.config.graph.auth, 'alerts.graph.auth'),
          onCall: (info) => this.metrics?.recordApiCall(info),
        })
      : null;
    const webhookUrl = this.config?.teams?.webhookUrl;
    this.teams = webhookUrl
      ? new TeamsWebhookTransport({
          url: webhookUrl,
          onCall: (info) => this.metrics?.recordApiCall(info),
        })
      : null;
  }

  get enabled(): boolean {
    return this.config !== null;
  }

  /**
   * One alert per hot referral still waiting for an answer (status New), the first time it is seen.
   */
  async hotLeads(
    items: AlertReferral[],
    runId: string,
    options: SendOptions = {},
  ): Promise<AlertCounts> {
    const counts = zeroCounts();
    if (!this.config) return counts;
    for (const item of items) {
      const { referral } = item;
      if (!isHotLead(referral) || referral.status !== 'New') continue;
      const entry = { key: `hot:${referral.id}`, referralId: referral.id, target: null };
      const compose = () => hotLeadContent(item, this.referralLink(referral.id));
      addCounts(
        counts,
        await this.deliver({ kind: 'hot-lead', entries: [entry], compose }, runId, options),
      );
    }
    return counts;
  }

  /**
   * One warning per unanswered referral (status New) that expires within expiryWarningDays from
   * now.
   */
  async expiryWarnings(
    items: AlertReferral[],
    runId: string,
    options: SendOptions = {},
  ): Promise<AlertCounts> {
    const counts = zeroCounts();
    if (!this.config) return counts;
    const now = this.now();
    const window = this.config.expiryWarningDays * DAY_MS;
    for (const item of items) {
      const { referral } = item;
      const expiresAt = referral.expirationDateTime
        ? Date.parse(referral.expirationDateTime)
        : Number.NaN;
      const left = expiresAt - now.getTime();
      if (referral.status !== 'New' || !(left > 0 && left <= window)) continue;
      const entry = { key: `expiry:${referral.id}`, referralId: referral.id, target: null };
      const compose = () => expiryWarningContent(item, this.referralLink(referral.id), now);
      addCounts(
        counts,
        await this.deliver({ kind: 'expiry-warning', entries: [entry], compose }, runId, options),
      );
    }
    return counts;
  }

  /**
   * One message listing the referrals and outcomes quarantined since the last digest; nothing when
   * there is nothing new.
   */
  async quarantineDigest(runId: string, options: SendOptions = {}): Promise<AlertCounts> {
    if (!this.config?.quarantineDigest) return zeroCounts();
    const rows = await listByState(this.ledger.db, 'quarantined', { limit: this.digestScanLimit });
    const entries = rows.map((row) => {
      const reason = row.quarantineReason ?? 'quarantined';
      // Per referral, target and reason: a referral quarantined again for another reason is
      // reported again.
      const key = `quarantine:${row.target}:${row.referralId}:${shortHash(reason)}`;
      return { key, referralId: row.referralId, target: row.target, reason, since: row.updatedAt };
    });
    // Outcomes that could not be reported (a missing close date or value, a refusal) wait for a
    // person just the same.
    for (const row of await listOutboxByState(this.ledger.db, 'quarantined', {
      limit: this.digestScanLimit,
    })) {
      const reason = `outcome ${row.action} not reported: ${row.lastError ?? 'quarantined'}`;
      entries.push({
        key: `quarantine:${row.target}:${row.referralId}:${shortHash(reason)}`,
        referralId: row.referralId,
        target: row.target,
        reason,
        since: row.updatedAt,
      });
    }
    const compose = (claimed: QuarantinedReferral[]) => quarantineDigestContent(claimed);
    return this.deliver({ kind: 'quarantine-digest', entries, compose }, runId, options);
  }

  /**
   * The Partner Center sign-in is lost: one alert per sign-in (`signInId` names the login that was
   * lost), so a
   * worker failing every cycle alerts once, and a later loss after a new login alerts again.
   */
  async signInRequired(
    cause: string,
    signIn: { id: string; account: string | null },
    runId: string,
    options: SendOptions = {},
  ): Promise<AlertCounts> {
    if (!this.config) return zeroCounts();
    const entry = {
      key: `sign-in-required:partner-center:${signIn.id}`,
      referralId: '',
      target: null,
    };
    return this.deliver(
      {
        kind: 'sign-in-required',
        entries: [entry],
        compose: () => signInRequiredContent(cause, signIn.account),
      },
      runId,
      options,
    );
  }

  /**
   * The webhook callbacks went silent: one alert per silence episode (`since` names the episode).
   */
  async webhooksSilent(
    since: string,
    detail: string,
    reregistered: boolean,
    runId: string,
    options: SendOptions = {},
  ): Promise<AlertCounts> {
    if (!this.config) return zeroCounts();
    const entry = { key: `webhooks-silent:${since}`, referralId: '', target: null };
    return this.deliver(
      {
        kind: 'webhooks-silent',
        entries: [entry],
        compose: () => webhooksSilentContent(detail, reregistered),
      },
      runId,
      options,
    );
  }

  /**
   * Claims the entries' keys per channel, sends what was claimed, and releases the keys when
   * sending fails.
   */
  private async deliver<E extends AlertEntry>(
    alert: PendingAlert<E>,
    runId: string,
    options: SendOptions,
  ): Promise<AlertCounts> {
    const counts = zeroCounts();
    if (!this.config) return counts;
    for (const channel of this.channels()) {
      const claimed = await claimAlert(this.ledger, alert, channel);
      if (claimed.length === 0) continue;
      const content = alert.compose(claimed);
      try {
        await withRetry(
          () => this.send(channel, alert.kind, content, options.signal),
          this.policyFor(channel),
          {
            idempotent: false,
            signal: options.signal,
            api: channel === 'mail' ? GRAPH_API : TEAMS_WEBHOOK_API,
            onRetry: ({ attempt, delayMs, error }) =>
              this.logger.warn('retrying alert', {
                kind: alert.kind,
                channel,
                attempt,
                delayMs,
                error: error.message,
              }),
          },
        );
      } catch (thrown) {
        const error = thrown as LeadbridgeError;
        await releaseAlert(this.ledger, claimed, channel);
        counts.failed++;
        counts.errors.push(
          error.code === 'ABORTED'
            ? `${alert.kind} ${channel} "${content.subject}" aborted: the worker is stopping`
            : error.message,
        );
        this.logFailure(alert.kind, channel, content, error);
        continue;
      }
      counts.sent++;
      this.metrics?.recordAlertSent(alert.kind);
      await this.audit(alert.kind, channel, content, claimed, runId);
    }
    return counts;
  }

  /**
   * Graph's throttling answers are the Graph client's RetryHandler's to wait out; here only a
   * refused connection is retried.
   */
  private policyFor(channel: Channel): RetryPolicy {
    return channel === 'mail' ? { ...this.retryPolicy, retryableStatuses: [] } : this.retryPolicy;
  }

  private channels(): Channel[] {
    return this.teams ? ['mail', 'teams'] : ['mail'];
  }

  private async send(
    channel: Channel,
    kind: AlertKind,
    content: AlertContent,
    signal?: AbortSignal,
  ): Promise<void> {
    const config = this.config as EnabledAlertsConfig;
    const transport = this.transport as GraphAlertTransport;
    if (channel === 'mail') {
      const mail = {
        subject: content.subject,
        body: { contentType: 'Text' as const, content: renderText(content) },
        toRecipients: config.recipients,
      };
      await transport.sendMail(config.sender, { ...mail, importance: IMPORTANCE[kind] }, signal);
      return;
    }
    // Not Graph's channel-message API: it refuses application tokens outside migrations (README,
    // "Alerts").
    await (this.teams as TeamsWebhookTransport).post(
      renderAdaptiveCard(content, IMPORTANCE[kind] === 'high'),
      signal,
    );
  }

  private async audit(
    kind: AlertKind,
    channel: Channel,
    content: AlertContent,
    claimed: AlertEntry[],
    runId: string,
  ): Promise<void> {
    const config = this.config as EnabledAlertsConfig;
    const to =
      channel === 'mail' ? config.recipients : [webhookName(config.teams?.webhookUrl ?? '')];
    // The audit trail is per referral; an alert about no referral (the sign-in) has no trail to
    // join.
    await appendAudit(
      this.ledger.db,
      claimed
        .filter((entry) => entry.referralId !== '')
        .map((entry) => ({
          runId,
          referralId: entry.referralId,
          target: entry.target,
          action: 'alert-sent',
          detail: { kind, channel, to, subject: content.subject },
        })),
    );
  }

  private logFailure(
    kind: AlertKind,
    channel: Channel,
    content: AlertContent,
    error: LeadbridgeError,
  ): void {
    this.logger.error('alert not sent; it will be tried again next cycle', {
      kind,
      channel,
      subject: content.subject,
      error: error.message,
      errorCode: error.code,
      status: error.status,
    });
  }
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
