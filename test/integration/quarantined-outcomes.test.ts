// Outcomes quarantined for a missing deal value: listed, counted in the cycle log and metrics, in
// the digest, and retried.
import { dynamics365Module } from '../../src/crm/dynamics365/module.js';
import { writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  formatQuarantine,
  quarantineReport,
  scheduleOutcomeRetry,
} from '../../src/sync/operator.js';
import type { Logger, LogFields } from '../../src/core/log.js';
import type { Referral } from '../../src/simulators/partner-center/payload.js';
import { listOutbox } from '../../src/ledger/index.js';
import { createGraphSimulator, type GraphSimulator } from '../../src/simulators/graph/index.js';
import { AlertSender, alertsConfigSchema } from '../../src/alerts/alerts.js';
import { WorkerMetrics } from '../../src/worker/metrics.js';
import { createRuntime } from '../../src/cli/compose.js';
import { Worker } from '../../src/worker/worker.js';
import { startHarness, type Harness } from './support/harness.js';
import { newCustomerInquiry } from './support/referrals.js';

const SENDER = 'leads-bot@contoso.com';
const REASON =
  'the CRM record reads as accepted, but dealValue is missing to accept the referral ' +
  '(dealValue: value is required but ' +
  'opportunity.estimatedvalue | lead.estimatedvalue | referral.details.dealValue is empty)';

let harness: Harness;
let graph: GraphSimulator;
beforeAll(async () => {
  graph = createGraphSimulator({ mailboxes: [SENDER] });
  await graph.start();
});
afterAll(() => graph.stop());
afterEach(() => harness?.close());

/**
 * A New customer inquiry without a deal value, synced, whose lead a CRM user qualified (the
 * opportunity has no value).
 */
async function qualifiedWithoutValue(): Promise<string> {
  harness = await startHarness({ referrals: 0 });
  const referral: Referral = newCustomerInquiry(harness.pc.store, {
    customerProfile: { name: 'Fabrikam Ltd' },
    details: {
      dealValue: null,
      currency: 'EUR',
      closingDateTime: '2026-06-30T00:00:00Z',
      notes: 'Needs an ERP',
    },
  });
  const first = await harness.runtime();
  await first.syncOnce({ runId: 'sync' });
  await first.close();
  const lead = harness.dynamics.store.findLeadByKey(referral.id)!;
  const qualified = await fetch(
    `${harness.dynamics.url}/_sim/leads/${String(lead.leadid)}/qualify`,
    { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' },
  );
  expect(qualified.status).toBe(200);
  return referral.id;
}

function capturingLogger(lines: Array<{ message: string; fields: LogFields }>): Logger {
  const log = (message: string, fields: LogFields = {}) => void lines.push({ message, fields });
  const logger: Logger = { debug: log, info: log, warn: log, error: log, child: () => logger };
  return logger;
}

describe('quarantined outcomes', () => {
  it(
    'are counted in the cycle log and the metrics, listed with target, referral and the ' +
      'missing field, and sent in the digest',
    async () => {
      const id = await qualifiedWithoutValue();
      const metrics = new WorkerMetrics();
      const runtime = await createRuntime(harness.config, { metrics });
      const lines: Array<{ message: string; fields: LogFields }> = [];
      const worker = new Worker({
        runtime: async () => runtime,
        intervalMs: () => 60_000,
        jitterMs: () => 0,
        logger: capturingLogger(lines),
        onCycle: () => void worker.stop(),
      });
      await worker.run();
      expect(lines.find((line) => line.message === 'cycle done')?.fields).toMatchObject({
        quarantined: 1,
        outcomesQuarantined: 1,
      });
      expect(await metrics.text()).toContain(
        'leadbridge_outbox_backlog{target="dynamics",state="quarantined"} 1',
      );

      const report = await quarantineReport(runtime.ledger, runtime.config);
      expect(report.outcomes).toEqual([
        {
          target: 'dynamics',
          referralId: id,
          action: 'accept',
          since: expect.any(String),
          reason: REASON,
        },
      ]);
      const text = formatQuarantine(report);
      expect(text).toContain(`dynamics\t${id}\toutcome accept\t`);
      expect(text).toContain(`\t${REASON}\n`);
      expect(text).toContain('0 referrals and 1 outcome quarantined;');

      const config = alertsConfigSchema.parse({
        graph: { baseUrl: graph.url, auth: { kind: 'static', token: 'g' } },
        sender: SENDER,
        recipients: ['sales@contoso.com'],
      });
      const sender = new AlertSender({ config, ledger: runtime.ledger });
      expect(await sender.quarantineDigest('digest-1')).toEqual({ sent: 1, failed: 0, errors: [] });
      expect(graph.mails.at(-1)?.content).toContain(
        `- ${id} → dynamics: outcome accept not reported: ${REASON} (since `,
      );
      expect(await sender.quarantineDigest('digest-2')).toEqual({ sent: 0, failed: 0, errors: [] });
      await runtime.close();
    },
  );

  it(
    'retry --quarantined re-reads the CRM record next cycle: after a mapping fix (no CRM ' +
      'change) the accept goes out',
    async () => {
      const id = await qualifiedWithoutValue();
      const runtime = await harness.runtime();
      expect((await runtime.syncOnce({ runId: 'quarantine' })).outbound.quarantined).toBe(1);
      // Later CRM changes move the outcome cursor more than a stamp second past the opportunity.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      harness.pc.store.create({
        type: 'Independent',
        qualification: 'Direct',
        direction: 'Incoming',
        inviteContext: null,
        status: 'New',
        substatus: 'Received',
        customerProfile: { name: 'Contoso' },
        details: { dealValue: 5 },
      });
      await runtime.syncOnce({ runId: 'later' });
      await runtime.close();

      // The admin gives the accept a fallback value in the mapping; nothing changes in the CRM, so
      // no
      // change brings it back.
      const fixed = path.join(harness.dir, 'dynamics365.yaml');
      const original = await readFile(dynamics365Module.mappingFile, 'utf8');
      const block =
        '      source: [opportunity.estimatedvalue, lead.estimatedvalue, ' +
        'referral.details.dealValue]\n      transforms: [number, required]';
      expect(original).toContain(block);
      const edited = original.replace(
        block,
        block.replace('[number, required]', '[number, { default: 1000 }, required]'),
      );
      expect(edited).not.toBe(original);
      await writeFile(fixed, edited);
      const after = await harness.runtime((config) => ({
        ...config,
        targets: config.targets.map((t) => ({ ...t, mapping: fixed })),
      }));
      expect((await after.syncOnce({ runId: 'still' })).outbound.sent).toBe(0);

      const request = { referralIds: [], allFailed: false, quarantined: true };
      expect(await scheduleOutcomeRetry(after.ledger, after.config, request, new Date())).toEqual({
        dynamics: { resend: 0, recheck: 1 },
      });
      const retried = await after.syncOnce({ runId: 'retried' });
      expect(retried.outbound).toMatchObject({ enqueued: 1, superseded: 1, sent: 1 });
      expect(harness.pc.store.get(id)).toMatchObject({
        status: 'Active',
        details: { dealValue: 1000 },
      });
      expect((await listOutbox(after.ledger.db, id)).map((row) => [row.action, row.state])).toEqual(
        [
          ['set-external-reference', 'sent'],
          ['accept', 'superseded'],
          ['accept', 'sent'],
        ],
      );
      expect((await quarantineReport(after.ledger, after.config)).outcomes).toEqual([]);
    },
  );
});
