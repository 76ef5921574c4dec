// Mapping edits re-applied, quarantine on a transform error, and the operator's resync and retry,
// over real HTTP.
import { dynamics365Module } from '../../src/crm/dynamics365/module.js';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { prepareResync, quarantineList, scheduleOperatorRetry } from '../../src/sync/operator.js';
import type { CrmAdapter, MappedRecord } from '../../src/crm/adapter.js';
import type { Referral } from '../../src/core/referral.js';
import { auditTrail, getSyncStates } from '../../src/ledger/index.js';
import { startHarness, type Harness } from './support/harness.js';

let harness: Harness;
afterEach(async () => harness?.close());

/**
 * Of the 60 referrals seed 7 generates, 57 are synced (not co-sell, not archived): 30 customer
 * inquiries.
 */
const SYNCED = 57;
const CUSTOMER_INQUIRIES = 30;

describe('mapping changes and operator commands', () => {
  it(
    'after a mapping edit, the next cycle writes only the records whose output ' + 'changed',
    async () => {
      harness = await startHarness({ referrals: 60 });
      const first = await harness.runtime();
      await first.syncOnce({ runId: 'before-edit' });
      await first.close();

      // The admin maps customer inquiries to lead source 10 (Other) instead of 8 (Web).
      const edited = path.join(harness.dir, 'dynamics365.yaml');
      const original = await readFile(dynamics365Module.mappingFile, 'utf8');
      expect(original).toContain('    customerInquiry: 8');
      await writeFile(
        edited,
        original.replace('    customerInquiry: 8', '    customerInquiry: 10'),
      );
      const runtime = await harness.runtime((config) => ({
        ...config,
        targets: config.targets.map((t) => ({ ...t, mapping: edited })),
      }));
      const result = await runtime.syncOnce({ runId: 'after-edit' });

      expect(result.inbound.byTarget.dynamics).toMatchObject({
        created: 0,
        updated: CUSTOMER_INQUIRIES,
        unchanged: SYNCED - CUSTOMER_INQUIRIES,
        failed: 0,
      });
      const sources = [...harness.dynamics.store.leads.values()].map((lead) => lead.leadsourcecode);
      expect(sources.filter((code) => code === 10)).toHaveLength(CUSTOMER_INQUIRIES);

      // The mapping is applied everywhere now: the cycle after is quiet again.
      const quiet = await runtime.syncOnce({ runId: 'settled' });
      expect(quiet.inbound.byTarget.dynamics).toMatchObject({
        created: 0,
        updated: 0,
        unchanged: 0,
      });
    },
  );

  it(
    'quarantines a referral whose mapping fails, with the field and reason; the others flow; ' +
      'a fix releases it',
    async () => {
      harness = await startHarness({ referrals: 0 });
      // The next 12 seed 7 generates are all of synced kinds, New.
      const [broken] = harness.pc.store.seed(12) as unknown as Referral[];
      harness.pc.store.update(broken!.id, { customerProfile: { name: '   ' } });
      const runtime = await harness.runtime();
      const result = await runtime.syncOnce({ runId: 'quarantine' });
      expect(result.inbound.byTarget.dynamics).toMatchObject({
        created: 11,
        quarantined: 1,
      });
      const listed = await quarantineList(runtime.ledger, runtime.config);
      expect(listed.map((r) => [r.referralId, r.quarantineReason])).toEqual([
        [
          broken!.id,
          'mapping failed: companyname: value is required but customerProfile.name is empty',
        ],
      ]);
      expect(harness.dynamics.store.findLeadByKey(broken!.id)).toBeUndefined();

      harness.pc.store.update(broken!.id, { customerProfile: { name: 'Fixed Company Ltd' } });
      const fixed = await runtime.syncOnce({ runId: 'fixed' });
      expect(fixed.inbound.byTarget.dynamics).toMatchObject({ created: 1, quarantined: 0 });
      expect(harness.dynamics.store.findLeadByKey(broken!.id)?.companyname).toBe(
        'Fixed Company Ltd',
      );
      expect(await quarantineList(runtime.ledger, runtime.config)).toEqual([]);
    },
  );

  it(
    'resync rewrites every record, even unchanged ones, restoring what a CRM user ' + 'overwrote',
    async () => {
      harness = await startHarness({ referrals: 25 });
      const runtime = await harness.runtime();
      await runtime.syncOnce({ runId: 'initial' });
      const lead = [...harness.dynamics.store.leads.values()][0]!;
      const companyname = lead.companyname;
      const admin = await fetch(`${harness.dynamics.url}/_sim/leads/${String(lead.leadid)}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ companyname: 'typed over by a user' }),
      });
      expect(admin.status).toBeLessThan(300);

      const forgotten = await prepareResync(runtime.ledger, runtime.config, { target: 'dynamics' });
      const total = harness.dynamics.store.leads.size;
      expect(forgotten.dynamics?.forgotten).toBe(harness.pc.store.size);
      const result = await runtime.syncOnce({ runId: 'resync' });
      expect(result.inbound.byTarget.dynamics).toMatchObject({
        created: 0,
        updated: total,
        failed: 0,
      });
      expect(harness.dynamics.store.findLeadByKey(String(lead.lb_referralid))?.companyname).toBe(
        companyname,
      );
    },
  );

  it('retry gives a failed referral another attempt now', async () => {
    harness = await startHarness({ referrals: 0 });
    const [victim] = harness.pc.store.seed(6) as unknown as Referral[];
    const runtime = await harness.runtime();
    const target = runtime.targets[0]!;
    const real = target.adapter;
    target.adapter = Object.assign(Object.create(real) as CrmAdapter, {
      upsertLeads: (records: MappedRecord[]) =>
        real.upsertLeads(
          records.map((r) =>
            r.referralId === victim!.id ? { ...r, fields: { ...r.fields, lb_bogus: 1 } } : r,
          ),
        ),
    });
    await runtime.syncOnce({ runId: 'fails' });
    expect(
      (await getSyncStates(runtime.ledger.db, 'dynamics', [victim!.id])).get(victim!.id),
    ).toMatchObject({ state: 'failed', attempts: 1 });

    target.adapter = real; // the cause is fixed
    const moved = await scheduleOperatorRetry(
      runtime.ledger,
      runtime.config,
      { referralIds: [victim!.id], allFailed: false, quarantined: false },
      new Date(),
    );
    expect(moved).toEqual({ dynamics: 1 });
    const retried = await runtime.syncOnce({ runId: 'retried' });
    expect(retried.inbound.retried).toBe(1);
    expect(
      (await getSyncStates(runtime.ledger.db, 'dynamics', [victim!.id])).get(victim!.id),
    ).toMatchObject({ state: 'applied', attempts: 0 });
    const actions = (await auditTrail(runtime.ledger.db, victim!.id)).map((e) => e.action);
    expect(actions).toEqual(['failed', 'created', 'external-reference-written']);
  });

  it('refuses an unknown target name and a retry with nothing named', async () => {
    harness = await startHarness({ referrals: 0 });
    const runtime = await harness.runtime();
    await expect(
      prepareResync(runtime.ledger, runtime.config, { target: 'dynamcis' }),
    ).rejects.toThrow(
      'unknown target:\n  - --target: "dynamcis" is not a configured target (configured: dynamics)',
    );
    await expect(
      scheduleOperatorRetry(
        runtime.ledger,
        runtime.config,
        { referralIds: [], allFailed: false, quarantined: false },
        new Date(),
      ),
    ).rejects.toThrow(
      'nothing to retry:\n  - retry: name referral ids, or pass --all-failed and/or --quarantined',
    );
  });
});
