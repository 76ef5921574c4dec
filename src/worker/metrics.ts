// The worker's Prometheus metrics on a registry of its own (never prom-client's global one, so
// tests and workers don't share).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { apiCallBucket, type ApiCallCount } from '../ledger/api-calls.js';
import { OUTBOX_WAITING_STATES } from '../ledger/outbox.js';
import { SYNC_STATES } from '../ledger/sync-state.js';

export interface ApiCallInfo {
  api: string;
  method: string;
  /** null when no response came back (network failure, timeout). */
  status: number | null;
  durationMs: number;
}

/** What one cycle did for one target (InboundStats has these fields, summed over targets). */
export interface SyncCounts {
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  quarantined: number;
}

export interface RecordCycleOptions {
  /** Whose counts these are; InboundStats sums every target, hence the default "all". */
  target?: string;
  /** A cycle that threw is timed but does not move the last-success timestamp. */
  succeeded?: boolean;
  finishedAt?: Date;
}

const API_LATENCY_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const CYCLE_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
/** The status label of a call that got no response. */
const NO_RESPONSE = 'none';

export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly apiTally = new Map<string, ApiCallCount>();
  private readonly synced: Counter<'target' | 'result'>;
  private readonly failed: Counter<'target'>;
  private readonly quarantined: Counter<'target'>;
  private readonly apiCalls: Counter<'api' | 'method' | 'status'>;
  private readonly throttled: Counter<'api'>;
  private readonly apiLatency: Histogram<'api'>;
  private readonly cycleDuration: Histogram;
  private readonly lastSuccess: Gauge;
  private readonly backlog: Gauge<'target' | 'state'>;
  private readonly outboxBacklog: Gauge<'target' | 'state'>;
  private readonly outboxSeries = new Set<string>();
  private readonly outcomes: Counter<'target' | 'result'>;
  private readonly alertsSent: Counter<'kind'>;
  private readonly apiBudgetUsed: Gauge<'target'>;
  private readonly apiHoldingBack: Gauge<'target'>;
  /**
   * Backlog series set before, so a state that empties reads 0 instead of keeping its last value.
   */
  private readonly backlogSeries = new Set<string>();

  constructor() {
    const registers = [this.registry];
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Counter<L>({ name, help, labelNames, registers });
    this.synced = counter(
      'leadbridge_referrals_synced_total',
      'Referrals written to (or found unchanged in) a CRM target',
      ['target', 'result'],
    );
    this.failed = counter(
      'leadbridge_referrals_failed_total',
      'Referrals a CRM target rejected or could not take (retried later)',
      ['target'],
    );
    this.quarantined = counter(
      'leadbridge_referrals_quarantined_total',
      'Referrals set aside until a person looks at them',
      ['target'],
    );
    this.apiCalls = counter(
      'leadbridge_api_calls_total',
      `HTTP attempts per API, method and status ("${NO_RESPONSE}": no response)`,
      ['api', 'method', 'status'],
    );
    this.throttled = counter('leadbridge_api_throttled_total', 'HTTP 429 answers per API', ['api']);
    this.outcomes = counter(
      'leadbridge_outcomes_total',
      'CRM outcomes reported back to Partner Center, by result',
      ['target', 'result'],
    );
    this.alertsSent = counter('leadbridge_alerts_sent_total', 'Alert messages delivered, by kind', [
      'kind',
    ]);
    this.apiBudgetUsed = new Gauge({
      name: 'leadbridge_crm_api_budget_used_ratio',
      help: "Share of the CRM's request allocation used (Salesforce: daily)",
      labelNames: ['target'],
      registers,
    });
    this.apiHoldingBack = new Gauge({
      name: 'leadbridge_crm_api_holding_back',
      help: '1 while a target holds back (outcome reads paused) to spare its API allocation',
      labelNames: ['target'],
      registers,
    });
    this.apiLatency = new Histogram({
      name: 'leadbridge_api_latency_seconds',
      help: 'Time per HTTP attempt',
      labelNames: ['api'],
      buckets: API_LATENCY_BUCKETS,
      registers,
    });
    this.cycleDuration = new Histogram({
      name: 'leadbridge_cycle_duration_seconds',
      help: 'Time per sync cycle',
      buckets: CYCLE_BUCKETS,
      registers,
    });
    this.lastSuccess = new Gauge({
      name: 'leadbridge_last_success_timestamp_seconds',
      help: 'Unix time of the last cycle that completed',
      registers,
    });
    this.outboxBacklog = new Gauge({
      name: 'leadbridge_outbox_backlog',
      help:
        'Writes to Partner Center (outcomes, CRM ids) waiting per target and state: ' +
        'pending, failed (retried), quarantined (a person must act)',
      labelNames: ['target', 'state'],
      registers,
    });
    this.backlog = new Gauge({
      name: 'leadbridge_ledger_backlog',
      help: 'Referrals per target and sync state in the ledger',
      labelNames: ['target', 'state'],
      registers,
    });
  }

  /** The onCall hook of ApiClientOptions (core/http) and of the Graph alert transport. */
  recordApiCall(info: ApiCallInfo): void {
    const status = info.status === null ? NO_RESPONSE : String(info.status);
    this.apiCalls.inc({ api: info.api, method: info.method.toUpperCase(), status });
    if (info.status === 429) this.throttled.inc({ api: info.api });
    this.apiLatency.observe({ api: info.api }, Math.max(0, info.durationMs) / 1000);
    this.tallyApiCall(info, new Date());
  }

  /**
   * Calls per API and bucket since the last take, for the ledger (the console's chart reads them
   * there).
   */
  takeApiCallCounts(): ApiCallCount[] {
    const counts = [...this.apiTally.values()];
    this.apiTally.clear();
    return counts;
  }

  private tallyApiCall(info: ApiCallInfo, at: Date): void {
    const bucket = apiCallBucket(at);
    const key = `${bucket} ${info.api}`;
    const count = this.apiTally.get(key) ?? {
      bucket,
      api: info.api,
      calls: 0,
      throttled: 0,
      errors: 0,
    };
    count.calls += 1;
    if (info.status === 429) count.throttled += 1;
    else if (info.status === null || info.status >= 400) count.errors += 1;
    this.apiTally.set(key, count);
  }

  /** Times a cycle, adds its counts, and (unless it failed) moves the last-success timestamp. */
  recordCycle(stats: SyncCounts, durationMs: number, options: RecordCycleOptions = {}): void {
    this.cycleDuration.observe(Math.max(0, durationMs) / 1000);
    this.recordSyncCounts(options.target ?? 'all', stats);
    if (options.succeeded !== false) this.markSuccess(options.finishedAt ?? new Date());
  }

  recordSyncCounts(target: string, counts: SyncCounts): void {
    for (const result of ['created', 'updated', 'unchanged'] as const) {
      if (counts[result] > 0) this.synced.inc({ target, result }, counts[result]);
    }
    if (counts.failed > 0) this.failed.inc({ target }, counts.failed);
    if (counts.quarantined > 0) this.quarantined.inc({ target }, counts.quarantined);
  }

  markSuccess(at: Date): void {
    this.lastSuccess.set(at.getTime() / 1000);
  }

  /**
   * From the ledger's countByState: every known state of every target gets a value (0 when absent).
   */
  setApiBudget(target: string, budget: { used: number; max: number; holdingBack: boolean }): void {
    this.apiBudgetUsed.set({ target }, budget.max > 0 ? budget.used / budget.max : 0);
    this.apiHoldingBack.set({ target }, budget.holdingBack ? 1 : 0);
  }

  setBacklog(rows: ReadonlyArray<{ target: string; state: string; count: number }>): void {
    const next = new Map<string, { target: string; state: string; count: number }>();
    const targets = new Set(rows.map((row) => row.target));
    for (const target of targets)
      for (const state of SYNC_STATES)
        next.set(seriesKey(target, state), { target, state, count: 0 });
    for (const row of rows) next.set(seriesKey(row.target, row.state), { ...row });
    for (const key of this.backlogSeries) {
      if (!next.has(key)) {
        const [target = '', state = ''] = JSON.parse(key) as string[];
        next.set(key, { target, state, count: 0 });
      }
    }
    for (const [key, row] of next) {
      this.backlog.set({ target: row.target, state: row.state }, row.count);
      this.backlogSeries.add(key);
    }
  }

  /** From countOutboxByState over OUTBOX_WAITING_STATES: a series that empties reads 0. */
  setOutboxBacklog(rows: ReadonlyArray<{ target: string; state: string; count: number }>): void {
    const next = new Map<string, number>();
    for (const key of this.outboxSeries) next.set(key, 0);
    for (const target of new Set(rows.map((row) => row.target)))
      for (const state of OUTBOX_WAITING_STATES) next.set(seriesKey(target, state), 0);
    for (const row of rows) next.set(seriesKey(row.target, row.state), row.count);
    for (const [key, count] of next) {
      const [target = '', state = ''] = JSON.parse(key) as string[];
      this.outboxBacklog.set({ target, state }, count);
      this.outboxSeries.add(key);
    }
  }

  /**
   * Outcome write-backs of one target, e.g. the outbox drain's {sent, failed, superseded,
   * quarantined}.
   */
  recordOutcomes(target: string, counts: Readonly<Record<string, number>>): void {
    for (const [result, count] of Object.entries(counts)) {
      if (count > 0) this.outcomes.inc({ target, result }, count);
    }
  }

  recordAlertSent(kind: string, count = 1): void {
    this.alertsSent.inc({ kind }, count);
  }

  /** The Prometheus text exposition of every metric above. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

function seriesKey(target: string, state: string): string {
  return JSON.stringify([target, state]);
}
