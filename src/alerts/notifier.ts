// Connects the sync cycle to the alerts: hot leads as they are read, expiry warnings and the
// quarantine digest after.
import type { LeadbridgeConfig } from '../config/index.js';
import { normaliseError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Ledger } from '../ledger/index.js';
import { deriveLeadKind, type LeadKind, type Referral } from '../core/referral.js';
import type { PartnerCenterClient } from '../source/partner-center/index.js';
import type { AlertMetrics } from './alert-options.js';
import type { AlertSender } from './alerts.js';

/**
 * A referral the sync read this cycle, with the lead kind and hot flag it derived
 * (sync/lead-kind.ts).
 */
interface ReadReferral {
  referral: Referral;
  leadKind: LeadKind;
  hot: boolean;
}

export interface NotifierOptions {
  config: LeadbridgeConfig;
  ledger: Ledger;
  source: Pick<PartnerCenterClient, 'listExpiringBefore'>;
  logger: Logger;
  metrics?: AlertMetrics;
  now?: () => Date;
}

/**
 * Alerts never stop a sync: a failure is logged, and the ledger makes sure the alert is tried again
 * next cycle.
 */
export class Notifier {
  private sender: Promise<AlertSender> | null = null;
  private lastExpiryScan = 0;
  private readonly now: () => Date;

  constructor(private readonly options: NotifierOptions) {
    this.now = options.now ?? (() => new Date());
  }

  private get enabled(): boolean {
    return this.options.config.alerts.enabled;
  }

  /** The Graph client loads only when alerts are switched on. */
  private alertSender(): Promise<AlertSender> {
    this.sender ??= import('./alerts.js').then(
      ({ AlertSender }) =>
        new AlertSender({
          config: this.options.config.alerts,
          ledger: this.options.ledger,
          logger: this.options.logger,
          now: this.now,
          ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
        }),
    );
    return this.sender;
  }

  /**
   * Hot leads (the customer asked to be contacted) that are still unanswered: one alert each, at
   * once.
   */
  async hotLeads(items: ReadReferral[], runId: string, signal?: AbortSignal): Promise<void> {
    if (!this.enabled) return;
    const kinds = this.options.config.source.partnerCenter.leadKinds;
    // Only leads this deployment works (by default not co-sell opportunities), still unanswered.
    const hot = items.filter(
      (i) => i.hot && i.referral.status === 'New' && kinds.includes(i.leadKind),
    );
    if (hot.length === 0) return;
    await this.guarded('hot-lead alerts', async () =>
      (await this.alertSender()).hotLeads(hot, runId, { signal }),
    );
  }

  /** Expiry warnings (at most every expiryScanMinutes) and the quarantine digest. */
  async afterCycle(runId: string, signal?: AbortSignal): Promise<void> {
    if (!this.enabled || this.options.config.alerts.enabled !== true) return;
    const alerts = this.options.config.alerts;
    const now = this.now().getTime();
    if (now - this.lastExpiryScan >= this.options.config.worker.expiryScanMinutes * 60_000) {
      const before = new Date(now + alerts.expiryWarningDays * 86_400_000).toISOString();
      const scanned = await this.guarded('expiry warnings', async () => {
        const sender = await this.alertSender();
        const kinds = this.options.config.source.partnerCenter.leadKinds;
        // This scan is not the inbound path: it reads quiet referrals the stream never brings.
        for await (const referrals of this.options.source.listExpiringBefore(before, { signal })) {
          const items = referrals.map((referral) => ({
            referral,
            leadKind: deriveLeadKind(referral),
          }));
          await sender.expiryWarnings(
            items.filter((i) => kinds.includes(i.leadKind)),
            runId,
            { signal },
          );
        }
        return true;
      });
      if (scanned) this.lastExpiryScan = now;
    }
    await this.guarded('quarantine digest', async () =>
      (await this.alertSender()).quarantineDigest(runId, { signal }),
    );
  }

  /**
   * The Partner Center sign-in is lost: one alert per lost sign-in (the ledger remembers it was
   * sent).
   */
  async signInRequired(
    cause: string,
    signIn: { id: string; account: string | null },
    runId: string,
    signal?: AbortSignal,
  ): Promise<void> {
    if (!this.enabled) return;
    await this.guarded('sign-in alert', async () =>
      (await this.alertSender()).signInRequired(cause, signIn, runId, { signal }),
    );
  }

  /** Polls found changes no webhook announced for too long: one alert per episode (`since`). */
  async webhooksSilent(
    since: string,
    detail: string,
    reregistered: boolean,
    runId: string,
  ): Promise<void> {
    if (!this.enabled) return;
    await this.guarded('webhooks-silent alert', async () =>
      (await this.alertSender()).webhooksSilent(since, detail, reregistered, runId),
    );
  }

  private async guarded<T>(what: string, send: () => Promise<T>): Promise<T | null> {
    try {
      const result = await send();
      const errors = (result as { errors?: string[] } | null)?.errors ?? [];
      for (const error of errors)
        this.options.logger.warn(`${what}: not sent; tried again next cycle`, { error });
      return result;
    } catch (thrown) {
      this.options.logger.warn(`${what} failed; tried again next cycle`, {
        error: normaliseError(thrown).message,
      });
      return null;
    }
  }
}
