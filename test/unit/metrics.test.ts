// WorkerMetrics: names, labels and values as Prometheus scrapes them (text format), on a private
// registry.
import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { WorkerMetrics } from '../../src/worker/metrics.js';

function sample(text: string, name: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

describe('WorkerMetrics', () => {
  it('counts API calls by api, method and status, 429s as throttled, and times them', async () => {
    const metrics = new WorkerMetrics();
    metrics.recordApiCall({ api: 'partner-center', method: 'get', status: 200, durationMs: 40 });
    metrics.recordApiCall({ api: 'partner-center', method: 'GET', status: 429, durationMs: 10 });
    metrics.recordApiCall({ api: 'dynamics365', method: 'POST', status: null, durationMs: 3000 });
    const text = await metrics.text();
    expect(sample(text, 'leadbridge_api_calls_total')).toEqual([
      'leadbridge_api_calls_total{api="partner-center",method="GET",status="200"} 1',
      'leadbridge_api_calls_total{api="partner-center",method="GET",status="429"} 1',
      'leadbridge_api_calls_total{api="dynamics365",method="POST",status="none"} 1',
    ]);
    expect(sample(text, 'leadbridge_api_throttled_total')).toEqual([
      'leadbridge_api_throttled_total{api="partner-center"} 1',
    ]);
    expect(text).toContain('# TYPE leadbridge_api_latency_seconds histogram');
    expect(text).toContain(
      'leadbridge_api_latency_seconds_bucket{le="0.025",api="partner-center"} 1',
    );
    expect(text).toContain(
      'leadbridge_api_latency_seconds_bucket{le="0.05",api="partner-center"} 2',
    );
    expect(text).toContain('leadbridge_api_latency_seconds_sum{api="partner-center"} 0.05');
    expect(text).toContain('leadbridge_api_latency_seconds_count{api="dynamics365"} 1');
  });

  it(
    'records a cycle: duration, synced/failed/quarantined counts and the last ' + 'success',
    async () => {
      const metrics = new WorkerMetrics();
      const stats = { created: 3, updated: 1, unchanged: 0, failed: 2, quarantined: 1, pages: 4 };
      metrics.recordCycle(stats, 1500, {
        target: 'dynamics',
        finishedAt: new Date('2026-11-24T10:00:00Z'),
      });
      metrics.recordCycle(
        { created: 1, updated: 0, unchanged: 5, failed: 0, quarantined: 0 },
        700,
        {
          succeeded: false,
          finishedAt: new Date('2026-11-24T11:00:00Z'),
        },
      );
      const text = await metrics.text();
      expect(sample(text, 'leadbridge_referrals_synced_total')).toEqual([
        'leadbridge_referrals_synced_total{target="dynamics",result="created"} 3',
        'leadbridge_referrals_synced_total{target="dynamics",result="updated"} 1',
        'leadbridge_referrals_synced_total{target="all",result="created"} 1',
        'leadbridge_referrals_synced_total{target="all",result="unchanged"} 5',
      ]);
      expect(sample(text, 'leadbridge_referrals_failed_total')).toEqual([
        'leadbridge_referrals_failed_total{target="dynamics"} 2',
      ]);
      expect(sample(text, 'leadbridge_referrals_quarantined_total')).toEqual([
        'leadbridge_referrals_quarantined_total{target="dynamics"} 1',
      ]);
      expect(sample(text, 'leadbridge_cycle_duration_seconds_count')).toEqual([
        'leadbridge_cycle_duration_seconds_count 2',
      ]);
      expect(sample(text, 'leadbridge_cycle_duration_seconds_sum')).toEqual([
        'leadbridge_cycle_duration_seconds_sum 2.2',
      ]);
      expect(text).toContain('leadbridge_cycle_duration_seconds_bucket{le="1"} 1');
      // The failed cycle did not move it.
      expect(sample(text, 'leadbridge_last_success_timestamp_seconds')).toEqual([
        'leadbridge_last_success_timestamp_seconds 1795514400',
      ]);
    },
  );

  it(
    'sets the backlog for every state of every target, and zeroes series that ' + 'disappear',
    async () => {
      const metrics = new WorkerMetrics();
      metrics.setBacklog([
        { target: 'dynamics', state: 'pending', count: 4 },
        { target: 'dynamics', state: 'quarantined', count: 1 },
        { target: 'salesforce', state: 'failed', count: 2 },
      ]);
      metrics.setBacklog([{ target: 'dynamics', state: 'applied', count: 9 }]);
      expect(sample(await metrics.text(), 'leadbridge_ledger_backlog')).toEqual([
        'leadbridge_ledger_backlog{target="dynamics",state="pending"} 0',
        'leadbridge_ledger_backlog{target="dynamics",state="applied"} 9',
        'leadbridge_ledger_backlog{target="dynamics",state="failed"} 0',
        'leadbridge_ledger_backlog{target="dynamics",state="quarantined"} 0',
        'leadbridge_ledger_backlog{target="salesforce",state="pending"} 0',
        'leadbridge_ledger_backlog{target="salesforce",state="applied"} 0',
        'leadbridge_ledger_backlog{target="salesforce",state="failed"} 0',
        'leadbridge_ledger_backlog{target="salesforce",state="quarantined"} 0',
      ]);
    },
  );

  it('counts outcomes and alerts, and keeps to its own registry', async () => {
    const metrics = new WorkerMetrics();
    metrics.recordOutcomes('dynamics', { sent: 2, failed: 0, superseded: 1 });
    metrics.recordAlertSent('hot-lead');
    metrics.recordAlertSent('quarantine-digest', 2);
    const text = await metrics.text();
    expect(sample(text, 'leadbridge_outcomes_total')).toEqual([
      'leadbridge_outcomes_total{target="dynamics",result="sent"} 2',
      'leadbridge_outcomes_total{target="dynamics",result="superseded"} 1',
    ]);
    expect(sample(text, 'leadbridge_alerts_sent_total')).toEqual([
      'leadbridge_alerts_sent_total{kind="hot-lead"} 1',
      'leadbridge_alerts_sent_total{kind="quarantine-digest"} 2',
    ]);
    expect(metrics.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    // A second instance does not clash over names, and nothing lands in prom-client's global
    // registry.
    expect(() => new WorkerMetrics()).not.toThrow();
    expect(await globalRegistry.metrics()).not.toContain('leadbridge_');
  });

  it(
    'shows how much of a CRM target’s request allocation is used, and whether the target ' +
      'holds back',
    async () => {
      const metrics = new WorkerMetrics();
      metrics.setApiBudget('salesforce', { used: 85_000, max: 100_000, holdingBack: true });
      const text = await metrics.registry.metrics();
      expect(text).toContain('leadbridge_crm_api_budget_used_ratio{target="salesforce"} 0.85');
      expect(text).toContain('leadbridge_crm_api_holding_back{target="salesforce"} 1');
      metrics.setApiBudget('salesforce', { used: 1_000, max: 100_000, holdingBack: false });
      expect(await metrics.registry.metrics()).toContain(
        'leadbridge_crm_api_holding_back{target="salesforce"} 0',
      );
    },
  );
});
