// sync --once --dry-run is a plan from the current cursors, per target, and writes nothing
// anywhere.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { runSyncPreview } from '../../src/cli/sync-preview.js';
import { silentLogger } from '../../src/core/log.js';
import type { Referral } from '../../src/simulators/partner-center/payload.js';
import {
  getCursor,
  LEDGER_TABLES,
  transitionSyncStates,
  type Ledger,
} from '../../src/ledger/index.js';
import { startHarness, type Harness } from './support/harness.js';

let harness: Harness;
afterEach(async () => harness?.close());

const base = { direction: 'Incoming', status: 'New', substatus: 'Received' };
const inquiry = (name: string): Referral =>
  harness.pc.store.create({
    ...base,
    type: 'Independent',
    qualification: 'Direct',
    inviteContext: null,
    customerProfile: { name },
  });
const coSell = (name: string): Referral =>
  harness.pc.store.create({
    ...base,
    type: 'Shared',
    qualification: 'SalesQualified',
    inviteContext: {
      invitedBy: {
        organizationId: 'a1b2c3d4-0000-4000-8000-000000000001',
        organizationName: 'Fabrikam Partners',
      },
    },
    customerProfile: { name },
  });

/**
 * Every ledger table's rows, in a stable order: equal before and after means nothing was written.
 */
async function ledgerSnapshot(ledger: Ledger): Promise<Record<string, unknown[]>> {
  const snapshot: Record<string, unknown[]> = {};
  for (const table of Object.values(LEDGER_TABLES)) {
    snapshot[table] = (await ledger.db(table).select('*')).map((row) => JSON.stringify(row)).sort();
  }
  return snapshot;
}

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => ((text += chunk.toString('utf8')), done()),
  });
  return { stream, text: () => text };
}

describe('sync --once --dry-run', () => {
  it(
    'plans create, update, skip (with why) and quarantine (naming the field) per target from ' +
      'the cursor, and writes nothing',
    async () => {
      harness = await startHarness({ referrals: 0, salesforce: true });
      const settled = inquiry('Alpha Ltd');
      const changed = inquiry('Beta Ltd');
      const runtime = await harness.runtime();
      await runtime.syncOnce({ runId: 'initial' });

      harness.pc.store.update(changed.id, { customerProfile: { name: 'Beta Holdings Ltd' } });
      const fresh = inquiry('Gamma GmbH');
      const skipped = coSell('Woodgrove Bank');
      const broken = inquiry('   ');

      const cursor = await getCursor(runtime.ledger.db, 'partner-center:dynamics');
      expect(await getCursor(runtime.ledger.db, 'partner-center:salesforce')).toBe(cursor);
      const before = await ledgerSnapshot(runtime.ledger);
      const requests = {
        pc: harness.pc.server.requests().length,
        d365: harness.dynamics.server.requests().length,
        sf: harness.salesforce!.server.requests().length,
      };
      const json = capture();
      const plan = await runSyncPreview({
        config: runtime.config,
        logger: silentLogger,
        ledger: runtime.ledger,
        cwd: harness.dir,
        out: json.stream,
        json: true,
      });
      expect(JSON.parse(json.text())).toEqual(plan);
      expect(plan.since).toBe(cursor);
      const skip = {
        action: 'skip',
        leadKind: 'coSell',
        customer: 'Woodgrove Bank',
        referralId: skipped.id,
        reason: 'lead kind coSell is not synced (source.partnerCenter.leadKinds)',
      };
      const update = {
        action: 'update',
        leadKind: 'customerInquiry',
        customer: 'Beta Holdings Ltd',
        referralId: changed.id,
      };
      const create = {
        action: 'create',
        leadKind: 'customerInquiry',
        customer: 'Gamma GmbH',
        referralId: fresh.id,
      };
      expect(plan.targets).toEqual([
        {
          target: 'dynamics',
          cursor,
          mappingChanged: false,
          counts: { create: 1, update: 1, skip: 1, quarantine: 1, unchanged: 0, alreadySynced: 1 },
          retriesDue: 0,
          entries: [
            update,
            create,
            skip,
            {
              action: 'quarantine',
              leadKind: 'customerInquiry',
              customer: null,
              referralId: broken.id,
              reason:
                'mapping failed: companyname: value is required but customerProfile.name is empty',
              fields: ['companyname'],
            },
          ],
        },
        {
          target: 'salesforce',
          cursor,
          mappingChanged: false,
          // Salesforce's mapping defaults an empty company to "(unknown company)": created there.
          counts: { create: 2, update: 1, skip: 1, quarantine: 0, unchanged: 0, alreadySynced: 1 },
          retriesDue: 0,
          entries: [
            update,
            create,
            skip,
            {
              action: 'create',
              leadKind: 'customerInquiry',
              customer: null,
              referralId: broken.id,
            },
          ],
        },
      ]);
      expect(plan.targets.flatMap((t) => t.entries.map((e) => e.referralId))).not.toContain(
        settled.id,
      );
      // As text: one line per entry as decided (target, action, referral, kind, customer, why),
      // then
      // the counts.
      const out = capture();
      const streamed = await runSyncPreview({
        config: runtime.config,
        logger: silentLogger,
        ledger: runtime.ledger,
        cwd: harness.dir,
        out: out.stream,
        json: false,
      });
      expect(streamed.targets.map((t) => t.entries)).toEqual([[], []]);
      const lines = out.text().split('\n');
      expect([lines[0], ...lines.slice(-4)]).toEqual([
        'dry run: nothing is written to Partner Center, the CRMs or the ledger',
        `5 referrals read in 1 page from ${cursor} (the lowest target cursor, less the 60 s ` +
          `overlap)`,
        `dynamics (cursor ${cursor}): would create 1, update 1, skip 1, quarantine 1; 0 ` +
          `unchanged, 1 already synced at this version; 0 failed writes due for retry`,
        `salesforce (cursor ${cursor}): would create 2, update 1, skip 1, quarantine 0; 0 ` +
          `unchanged, 1 already synced at this version; 0 failed writes due for retry`,
        '',
      ]);
      expect(lines.slice(1, -4).sort()).toEqual(
        [
          `dynamics    update      ${changed.id}  customerInquiry  Beta Holdings Ltd`,
          `dynamics    create      ${fresh.id}  customerInquiry  Gamma GmbH`,
          `dynamics    skip        ${skipped.id}  coSell  Woodgrove Bank: lead kind coSell is ` +
            `not synced (source.partnerCenter.leadKinds)`,
          `dynamics    quarantine  ${broken.id}  customerInquiry  (no customer name): mapping ` +
            `failed: companyname: value is required but customerProfile.name is empty`,
          `salesforce  update      ${changed.id}  customerInquiry  Beta Holdings Ltd`,
          `salesforce  create      ${fresh.id}  customerInquiry  Gamma GmbH`,
          `salesforce  skip        ${skipped.id}  coSell  Woodgrove Bank: lead kind coSell is ` +
            `not synced (source.partnerCenter.leadKinds)`,
          `salesforce  create      ${broken.id}  customerInquiry  (no customer name)`,
        ].sort(),
      );

      // Nothing written: every ledger row as it was, only GETs to Partner Center (one listing per
      // plan), no call to either CRM.
      expect(await ledgerSnapshot(runtime.ledger)).toEqual(before);
      expect(
        harness.pc.server
          .requests()
          .slice(requests.pc)
          .map((r) => r.method),
      ).toEqual(['GET', 'GET']);
      expect(harness.dynamics.server.requests().length).toBe(requests.d365);
      expect(harness.salesforce!.server.requests().length).toBe(requests.sf);

      // The plan is what the next cycle does.
      const result = await runtime.syncOnce({ runId: 'after-plan' });
      expect(result.inbound.byTarget.dynamics).toMatchObject({
        created: 1,
        updated: 1,
        skippedKind: 1,
        quarantined: 1,
        failed: 0,
      });
      expect(result.inbound.byTarget.salesforce).toMatchObject({
        created: 2,
        updated: 1,
        skippedKind: 1,
        quarantined: 0,
        failed: 0,
      });
    },
  );

  it(
    'counts failed writes whose retry is due, and a changed mapping reads from the ' + 'beginning',
    async () => {
      harness = await startHarness({ referrals: 0 });
      const [first, second] = [inquiry('Alpha Ltd'), inquiry('Beta Ltd')];
      const runtime = await harness.runtime();
      await runtime.syncOnce({ runId: 'initial' });
      const error = { code: 'HTTP_ERROR', message: 'the CRM answered 503' };
      await transitionSyncStates(runtime.ledger.db, 'dynamics', [
        { referralId: first.id, to: 'pending', runId: 'test' },
        {
          referralId: first.id,
          to: 'failed',
          error,
          nextRetryAt: '2026-01-01T00:00:00.000Z',
          runId: 'test',
        },
        { referralId: second.id, to: 'pending', runId: 'test' },
        {
          referralId: second.id,
          to: 'failed',
          error,
          nextRetryAt: '2099-01-01T00:00:00.000Z',
          runId: 'test',
        },
      ]);
      const plan = await runSyncPreview({
        config: runtime.config,
        logger: silentLogger,
        ledger: runtime.ledger,
        cwd: harness.dir,
        out: capture().stream,
        json: true,
        now: new Date('2026-12-04T12:00:00Z'),
      });
      expect(plan.targets.map((t) => [t.target, t.retriesDue, t.mappingChanged])).toEqual([
        ['dynamics', 1, false],
      ]);

      // Another mapping version recorded on a link: the next pass maps everything again, and so
      // does
      // the plan.
      await runtime.ledger
        .db(LEDGER_TABLES.links)
        .where({ referral_id: first.id })
        .update({ mapping_version: 'an-older-version' });
      const remap = await runSyncPreview({
        config: runtime.config,
        logger: silentLogger,
        ledger: runtime.ledger,
        cwd: harness.dir,
        out: capture().stream,
        json: true,
      });
      expect([remap.since, remap.targets[0]?.cursor, remap.targets[0]?.mappingChanged]).toEqual([
        null,
        null,
        true,
      ]);
    },
  );
});
