// Outbound sync over real HTTP: CRM outcomes in the Dataverse simulator flow back to the Partner
// Center simulator, with a real SQLite ledger.
import { afterEach, describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/core/errors.js';
import type { Referral } from '../../src/core/referral.js';
import type { LeadbridgeConfig } from '../../src/config/index.js';
import { SimClock } from '../../src/simulators/common/clock.js';
import {
  auditTrail,
  claimOutbox,
  countOutboxByState,
  enqueueOutcomes,
  getLinks,
  listOutbox,
  setCursor,
} from '../../src/ledger/index.js';
import { silentLogger } from '../../src/core/log.js';
import { handlerLedger } from '../../src/sync/actions/context.js';
import { drainOutboxActions, outboxHandlers } from '../../src/sync/actions/index.js';
import { expiredReflections } from '../../src/sync/actions/reflect-expired.js';
import { OutboundSync } from '../../src/sync/outbound.js';
import { recoverAbandoned } from '../../src/sync/recovery.js';
import {
  emptyOutboundStats,
  type OutboundStats,
  type OutcomeWriter,
  type ReferralSource,
} from '../../src/sync/types.js';
import type { Runtime } from '../../src/sync/cycle.js';
import { startHarness, type Harness } from './support/harness.js';
import { newCustomerInquiry } from './support/referrals.js';

const DAY_MS = 86_400_000;
const REFERRALS_API = '/v1.0/engagements/referrals/';

let harness: Harness;
afterEach(async () => harness?.close());

type Source = ReferralSource & OutcomeWriter;

/**
 * The engines wired as the worker will run them: inbound, then outbound collect, then one drain of
 * the whole outbox.
 */
class Cycles {
  private count = 0;
  readonly outbound: OutboundSync;

  constructor(
    readonly runtime: Runtime,
    source: Source = runtime.source,
  ) {
    this.outbound = new OutboundSync({ ledger: runtime.ledger, source, targets: runtime.targets });
  }

  async run(): Promise<{ collected: OutboundStats; drained: OutboundStats }> {
    const runId = `cycle-${++this.count}`;
    await this.runtime.inbound.runCycle({ runId });
    const collected = await this.outbound.collect({ runId });
    return { collected, drained: await this.drain(runId) };
  }

  /** One drain of the whole outbox with every registered action; the outbound ones counted. */
  async drain(runId: string, source: Source = this.runtime.source): Promise<OutboundStats> {
    const drained = emptyOutboundStats();
    const { ledger, targets } = this.runtime;
    await drainOutboxActions({ ledger, source, targets, runId, concurrency: 8 }, drained);
    return drained;
  }
}

/** An incoming customer inquiry, New, with the deal details the customer gave. */
function createReferral(details: Record<string, unknown> = {}): Referral {
  return newCustomerInquiry(harness.pc.store, {
    customerProfile: { name: 'Fabrikam Ltd' },
    details: {
      dealValue: 50_000,
      currency: 'EUR',
      closingDateTime: '2026-06-30T00:00:00Z',
      notes: 'Needs an ERP for 40 people',
      ...details,
    },
  }) as unknown as Referral;
}

async function dynamicsAdmin(
  method: 'POST' | 'PATCH',
  path: string,
  body: unknown = {},
): Promise<Record<string, unknown>> {
  const response = await fetch(`${harness.dynamics.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} → ${response.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

function leadOf(referralId: string): Record<string, unknown> {
  const lead = harness.dynamics.store.findLeadByKey(referralId);
  if (!lead) throw new Error(`no lead for referral ${referralId}`);
  return lead;
}

/** QualifyLead in the CRM; returns the new opportunity's id. */
async function qualify(referralId: string): Promise<string> {
  const created = await dynamicsAdmin(
    'POST',
    `/_sim/leads/${String(leadOf(referralId).leadid)}/qualify`,
  );
  const opportunity = (created.value as Array<Record<string, unknown>>).find(
    (row) => row.entity === 'opportunity',
  );
  return String(opportunity?.opportunityid);
}

const referral = (id: string) => harness.pc.store.get(id) as Referral;
/** PATCHes to the referrals API (the simulator's own /_sim/ edits do not count). */
const referralPatches = (id?: string) =>
  harness.pc.server
    .requests()
    .filter(
      (r) =>
        r.method === 'PATCH' &&
        r.path.startsWith(REFERRALS_API) &&
        (id === undefined || r.path.endsWith(id)),
    );
const crmWrites = () =>
  harness.dynamics.server
    .requests()
    .filter((r) => r.method !== 'GET' && !r.path.startsWith('/_sim/'));
const outboxSize = async (runtime: Runtime) =>
  (await countOutboxByState(runtime.ledger.db)).reduce((sum, row) => sum + row.count, 0);
const actionsOf = async (runtime: Runtime, id: string) =>
  (await auditTrail(runtime.ledger.db, id)).map((entry) => entry.action);

/**
 * Starts the simulators, writes the referrals' leads into the CRM (and the CRM ids back), and
 * returns the cycles.
 */
async function started(
  ...details: Array<Record<string, unknown>>
): Promise<{ cycles: Cycles; ids: string[] }> {
  harness = await startHarness({ referrals: 0 });
  const ids = details.map((d) => createReferral(d).id);
  const cycles = new Cycles(await harness.runtime());
  await cycles.run();
  for (const id of ids) expect(referral(id).externalReferenceId).toBe(leadOf(id).leadid);
  return { cycles, ids };
}

describe('outbound sync: Dynamics 365 outcomes back to Partner Center', () => {
  it(
    'accepts a referral whose lead was qualified, with the opportunity’s value, close date ' +
      'and notes',
    async () => {
      const { cycles, ids } = await started({});
      const id = ids[0]!;
      const opportunityId = await qualify(id);
      await dynamicsAdmin('PATCH', `/_sim/opportunities/${opportunityId}`, {
        name: 'Fabrikam ERP rollout',
        estimatedvalue: 84_000,
        estimatedclosedate: '2026-09-30',
        description: '40 seats, finance and HR modules',
      });

      const { collected, drained } = await cycles.run();
      expect(collected).toMatchObject({ outcomesRead: 1, enqueued: 1, quarantined: 0 });
      expect(drained).toMatchObject({ sent: 1, superseded: 0, failed: 0, conflicts: 0 });
      expect(referral(id)).toMatchObject({
        status: 'Active',
        substatus: 'Accepted',
        name: 'Fabrikam ERP rollout',
        details: {
          dealValue: 84_000,
          currency: 'EUR',
          closingDateTime: '2026-09-30T00:00:00.0000000Z',
          notes: '40 seats, finance and HR modules',
        },
      });
      expect(await actionsOf(cycles.runtime, id)).toEqual([
        'created',
        'external-reference-written',
        'outcome-enqueued',
        'outcome-sent',
      ]);
      const link = (await getLinks(cycles.runtime.ledger.db, 'dynamics', [id])).get(id);
      expect(link).toMatchObject({ referralStatus: 'Active', referralETag: referral(id).eTag });

      // Our write rolled the eTag: the next cycles neither see it as a change nor send anything
      // again.
      const patches = referralPatches().length;
      const writes = crmWrites().length;
      await cycles.run();
      expect(referralPatches()).toHaveLength(patches);
      expect(crmWrites()).toHaveLength(writes);
    },
  );

  it(
    'declines with the Partner Center reason mapped from the disqualified lead’s status ' +
      'reason',
    async () => {
      const { cycles, ids } = await started({});
      const id = ids[0]!;
      await dynamicsAdmin('POST', `/_sim/leads/${String(leadOf(id).leadid)}/state`, {
        statecode: 2,
        statuscode: 5,
      });
      const { collected, drained } = await cycles.run();
      expect(collected.enqueued).toBe(1);
      expect(drained.sent).toBe(1);
      expect(referral(id)).toMatchObject({
        status: 'Closed',
        substatus: 'Declined',
        statusReason: "Customer didn't respond",
      });
    },
  );

  it('reports won and lost after the accept, each once', async () => {
    const { cycles, ids } = await started({}, {});
    const [won, lost] = ids as [string, string];
    const wonOpportunity = await qualify(won);
    const lostOpportunity = await qualify(lost);
    await cycles.run();
    expect([referral(won).status, referral(lost).status]).toEqual(['Active', 'Active']);

    await dynamicsAdmin('POST', `/_sim/opportunities/${wonOpportunity}/win`);
    await dynamicsAdmin('POST', `/_sim/opportunities/${lostOpportunity}/lose`, { statuscode: 5 });
    const { drained } = await cycles.run();
    expect(drained.sent).toBe(2);
    expect(referral(won)).toMatchObject({ status: 'Closed', substatus: 'Won' });
    expect(referral(lost)).toMatchObject({
      status: 'Closed',
      substatus: 'Lost',
      statusReason: 'Customer chose another vendor',
    });
    // external reference, accept, win
    expect(referralPatches(won).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(referralPatches(lost)).toHaveLength(3);
  });

  it(
    'a deal already won in the CRM while the referral is New is accepted, then won, in that ' +
      'order',
    async () => {
      const { cycles, ids } = await started({});
      const id = ids[0]!;
      const opportunityId = await qualify(id);
      await dynamicsAdmin('PATCH', `/_sim/opportunities/${opportunityId}`, {
        estimatedvalue: 61_000,
      });
      await dynamicsAdmin('POST', `/_sim/opportunities/${opportunityId}/win`);

      const { collected, drained } = await cycles.run();
      expect(collected.enqueued).toBe(2);
      expect(drained.sent).toBe(2);
      expect(referral(id)).toMatchObject({
        status: 'Closed',
        substatus: 'Won',
        details: { dealValue: 61_000 },
      });
      const sent = (await auditTrail(cycles.runtime.ledger.db, id)).filter(
        (e) => e.action === 'outcome-sent',
      );
      expect(sent.map((e) => [e.detail?.action, e.detail?.status])).toEqual([
        ['accept', 'Active'],
        ['win', 'Closed'],
      ]);
    },
  );

  it(
    'reflects an expired referral into the CRM as disqualified / canceled once, and sends ' +
      'nothing to Partner Center',
    async () => {
      const { cycles, ids } = await started({});
      const id = ids[0]!;
      harness.pc.server.clock.advance(15 * DAY_MS);
      const patchesBefore = referralPatches(id).length;
      // The inbound side sees Closed/Expired and queues the reflection; the same cycle's drain
      // writes
      // it.
      const { drained } = await cycles.run();
      expect(referral(id)).toMatchObject({ status: 'Closed', substatus: 'Expired' });
      expect(drained).toMatchObject({ sent: 1, expiredReflected: 1 });
      expect(leadOf(id)).toMatchObject({ statecode: 2, statuscode: 7 });
      const { db } = cycles.runtime.ledger;
      const links = await getLinks(db, 'dynamics', [id]);

      // The disqualified lead reads as "declined", but the referral is Closed: no legal path,
      // nothing
      // sent.
      const { collected } = await cycles.run();
      expect(collected).toMatchObject({ outcomesRead: 1, nothingToSend: 1, enqueued: 0 });
      expect(referralPatches(id)).toHaveLength(patchesBefore);
      expect(
        await enqueueOutcomes(db, expiredReflections([{ referral: referral(id) }], links)),
      ).toBe(0);
      expect((await listOutbox(db, id)).map((row) => [row.action, row.state])).toEqual([
        ['set-external-reference', 'sent'],
        ['reflect-expired', 'sent'],
      ]);
    },
  );

  it(
    'the Dynamics adapter marks only an open lead, and refuses to overwrite a lead changed ' +
      'since it was read (412)',
    async () => {
      const { cycles, ids } = await started({});
      const id = ids[0]!;
      const adapter = cycles.runtime.targets[0]!.adapter;
      const stale = (await adapter.getByReferralId(id))!;
      await dynamicsAdmin('PATCH', `/_sim/leads/${String(leadOf(id).leadid)}`, {
        description: 'called the customer',
      });
      await expect(adapter.reflectExpired!(stale, { statecode: 2, statuscode: 7 })).rejects.toThrow(
        ConflictError,
      );
      expect(leadOf(id).statecode).toBe(0);

      expect(
        await adapter.reflectExpired!((await adapter.getByReferralId(id))!, {
          statecode: 2,
          statuscode: 7,
        }),
      ).toBe(true);
      expect(leadOf(id)).toMatchObject({
        statecode: 2,
        statuscode: 7,
        description: 'called the customer',
      });
      const writes = crmWrites().length;
      expect(
        await adapter.reflectExpired!((await adapter.getByReferralId(id))!, {
          statecode: 2,
          statuscode: 7,
        }),
      ).toBe(false);
      expect(crmWrites()).toHaveLength(writes);
    },
  );

  it(
    'a referral changed between the read and the write (412) is read again and accepted; ' +
      'customer data stays Partner Center’s',
    async () => {
      const { cycles, ids } = await started({});
      const id = ids[0]!;
      const opportunityId = await qualify(id);
      let armed = true;
      const real = cycles.runtime.source;
      // Another actor edits the referral right after the handler has read it.
      const racing = Object.assign(Object.create(real) as Source, {
        async get(referralId: string, options?: { signal?: AbortSignal }) {
          const fresh = await real.get(referralId, options);
          if (armed) {
            armed = false;
            harness.pc.store.update(referralId, { customerProfile: { name: 'Fabrikam Holdings' } });
          }
          return fresh;
        },
      });
      await cycles.runtime.inbound.runCycle({ runId: 'race' });
      expect(await cycles.outbound.collect({ runId: 'race' })).toMatchObject({ enqueued: 1 });
      const drained = await cycles.drain('race', racing);
      expect(drained).toMatchObject({ sent: 1, conflicts: 1, failed: 0 });
      expect(referralPatches(id).map((r) => r.status)).toEqual([200, 412, 200]);
      expect(referral(id)).toMatchObject({
        status: 'Active',
        substatus: 'Accepted',
        customerProfile: { name: 'Fabrikam Holdings' },
      });
      const trail = await auditTrail(cycles.runtime.ledger.db, id);
      expect(trail.map((e) => e.action).slice(-3)).toEqual([
        'outcome-enqueued',
        'conflict',
        'outcome-sent',
      ]);
      expect(trail.at(-1)?.detail).toMatchObject({ action: 'accept', afterConflict: true });
      const link = (await getLinks(cycles.runtime.ledger.db, 'dynamics', [id])).get(id);
      expect(link?.referralETag).not.toBe(referral(id).eTag);

      // The other actor's change was not hidden: the next inbound cycle sees it, and since the lead
      // was
      // qualified (it lives on as the opportunity) records it as skipped with the reason, never
      // quarantined.
      await cycles.run();
      const seen = (await auditTrail(cycles.runtime.ledger.db, id)).at(-1);
      expect(seen).toMatchObject({
        action: 'skipped-converted',
        detail: {
          reason:
            `the CRM lead ${leadOf(id).leadid as string} was converted into opportunity ` +
            `${opportunityId}; a converted lead takes no more changes`,
        },
      });
      expect(leadOf(id).companyname).toBe('Fabrikam Ltd');
      expect(referralPatches(id)).toHaveLength(3);
    },
  );

  it(
    'a crash between the Partner Center write and the ledger commit neither loses the outcome ' +
      'nor sends it twice',
    async () => {
      const { cycles, ids } = await started({});
      const id = ids[0]!;
      const opportunityId = await qualify(id);
      await dynamicsAdmin('POST', `/_sim/opportunities/${opportunityId}/win`);
      await cycles.runtime.inbound.runCycle({ runId: 'before-crash' });
      expect(await cycles.outbound.collect({ runId: 'before-crash' })).toMatchObject({
        enqueued: 2,
      });

      // The process dies right after Partner Center applied the accept: the row stays "sending",
      // unmarked.
      const real = cycles.runtime.source;
      const dying = Object.assign(Object.create(real) as Source, {
        async accept(...args: Parameters<Source['accept']>) {
          await real.accept(...args);
          throw new Error('process died after the Partner Center write');
        },
      });
      const { ledger, targets } = cycles.runtime;
      const doomed = outboxHandlers({
        ledger: handlerLedger(ledger),
        source: dying,
        targets: new Map(targets.map((target) => [target.name, target])),
        logger: silentLogger,
        stats: emptyOutboundStats(),
        maxAttempts: 8,
        now: () => new Date(),
      });
      // Claimed with a lease that has not run out when the worker restarts.
      const lease = { owner: 'host:4242:dead', until: new Date(Date.now() + 60_000).toISOString() };
      const [claimed] = await claimOutbox(ledger.db, 10, 'crashed-run', { lease });
      expect(claimed).toMatchObject({ action: 'accept', claimedBy: 'host:4242:dead' });
      // The verdict is never recorded: the process is gone before the drain's transaction.
      expect(await doomed.get('accept')!.handle(claimed!)).toMatchObject({
        state: 'failed',
        error: 'process died after the Partner Center write',
      });
      expect(referral(id)).toMatchObject({ status: 'Active', substatus: 'Accepted' });
      expect(referralPatches(id)).toHaveLength(2); // external reference, accept

      // The restarted worker owns the embedded ledger: the claim is taken back at once, lease or
      // not,
      // and audited.
      const now = new Date();
      expect(
        await recoverAbandoned(ledger, { runId: 'restart', logger: silentLogger, now }),
      ).toEqual({ reclaimed: 1, abortedRuns: [] });
      expect((await auditTrail(ledger.db, id)).at(-1)).toMatchObject({
        runId: 'restart',
        action: 'outbox-reclaimed',
        detail: { action: 'accept', claimedBy: 'host:4242:dead' },
      });
      // The fresh read shows the accept done, so only the win is sent.
      const { drained } = await cycles.run();
      expect(drained).toMatchObject({ sent: 1, superseded: 1 });
      expect(referralPatches(id)).toHaveLength(3);
      expect(referral(id)).toMatchObject({ status: 'Closed', substatus: 'Won' });
      expect(
        (await listOutbox(cycles.runtime.ledger.db, id)).map((row) => [row.action, row.state]),
      ).toEqual([
        ['set-external-reference', 'sent'],
        ['accept', 'superseded'],
        ['win', 'sent'],
      ]);
    },
  );

  it(
    'quarantines an accept without a deal value, naming dealValue, and sends it once the CRM ' +
      'has one',
    async () => {
      const { cycles, ids } = await started({ dealValue: null });
      const id = ids[0]!;
      const opportunityId = await qualify(id);
      const { collected, drained } = await cycles.run();
      expect(collected).toMatchObject({ outcomesRead: 1, quarantined: 1, enqueued: 0 });
      expect(drained.sent).toBe(0);
      const reason =
        'the CRM record reads as accepted, but dealValue is missing to accept the referral ' +
        '(dealValue: value is required but ' +
        'opportunity.estimatedvalue | lead.estimatedvalue | referral.details.dealValue is empty)';
      const [, quarantined] = await listOutbox(cycles.runtime.ledger.db, id);
      expect(quarantined).toMatchObject({
        action: 'accept',
        state: 'quarantined',
        lastError: reason,
        lastErrorCode: 'OUTCOME_INCOMPLETE',
      });
      expect((await auditTrail(cycles.runtime.ledger.db, id)).at(-1)).toMatchObject({
        action: 'outcome-quarantined',
        detail: { missing: ['dealValue'], reason },
      });
      expect(referral(id).status).toBe('New');
      expect(referralPatches(id)).toHaveLength(1); // the external reference only

      // Reading the same gap again adds nothing.
      await dynamicsAdmin('PATCH', `/_sim/opportunities/${opportunityId}`, {
        description: 'still no value',
      });
      expect((await cycles.run()).collected).toMatchObject({ quarantined: 0, enqueued: 0 });

      await dynamicsAdmin('PATCH', `/_sim/opportunities/${opportunityId}`, {
        estimatedvalue: 12_000,
      });
      const fixed = await cycles.run();
      expect(fixed.collected).toMatchObject({ enqueued: 1, superseded: 1 });
      expect(fixed.drained.sent).toBe(1);
      expect(referral(id)).toMatchObject({ status: 'Active', details: { dealValue: 12_000 } });
    },
  );

  it(
    'once everything has settled, ten more cycles write nothing anywhere and record no new ' +
      'outbox rows',
    async () => {
      const { cycles, ids } = await started({}, {}, {}, {}, {});
      const [accepted, won, declined, expired, untouched] = ids as [
        string,
        string,
        string,
        string,
        string,
      ];
      await qualify(accepted);
      const wonOpportunity = await qualify(won);
      await dynamicsAdmin('POST', `/_sim/opportunities/${wonOpportunity}/win`);
      await dynamicsAdmin('POST', `/_sim/leads/${String(leadOf(declined).leadid)}/state`, {
        statecode: 2,
        statuscode: 6,
      });
      await cycles.run();
      harness.pc.server.clock.advance(15 * DAY_MS); // expires the two referrals still New
      await cycles.run();
      const { db } = cycles.runtime.ledger;
      const links = await getLinks(db, 'dynamics', [expired, untouched]);
      await enqueueOutcomes(
        db,
        expiredReflections(
          [{ referral: referral(expired) }, { referral: referral(untouched) }],
          links,
        ),
      );
      await cycles.run();
      await cycles.run();
      expect([accepted, won, declined, expired].map((id) => referral(id).substatus)).toEqual([
        'Accepted',
        'Won',
        'Declined',
        'Expired',
      ]);
      expect([leadOf(expired).statecode, leadOf(untouched).statecode]).toEqual([2, 2]);

      const patches = referralPatches().length;
      const writes = crmWrites().length;
      const rows = await outboxSize(cycles.runtime);
      for (let i = 0; i < 10; i++) {
        const { collected, drained } = await cycles.run();
        expect(collected.enqueued + drained.sent + drained.superseded).toBe(0);
      }
      expect(referralPatches()).toHaveLength(patches);
      expect(crmWrites()).toHaveLength(writes);
      expect(await outboxSize(cycles.runtime)).toBe(rows);
    },
  );
});

describe('outbound sync: CRM change stamps with second precision', () => {
  it('still sees an outcome stamped in the same second as the cursor', async () => {
    const { cycles, ids } = await started({});
    const id = ids[0]!;
    const opportunityId = await qualify(id);
    await dynamicsAdmin('PATCH', `/_sim/opportunities/${opportunityId}`, {
      estimatedvalue: 42_000,
      estimatedclosedate: '2026-12-31',
    });
    // As if the CRM had stamped the edit 12:00:05 while the last read had already moved the cursor
    // to 12:00:05.4:
    // the cursor sits 400 ms after the newest stamp.
    const newest = [
      leadOf(id).modifiedon,
      harness.dynamics.store.opportunities.get(opportunityId)?.modifiedon,
    ]
      .map(String)
      .sort()
      .at(-1)!;
    await setCursor(
      cycles.runtime.ledger.db,
      'crm:dynamics',
      new Date(Date.parse(newest) + 400).toISOString(),
    );
    const { collected, drained } = await cycles.run();
    expect(collected).toMatchObject({ outcomesRead: 1, enqueued: 1 });
    expect(drained.sent).toBe(1);
    expect(referral(id)).toMatchObject({
      status: 'Active',
      substatus: 'Accepted',
      details: { dealValue: 42_000 },
    });
  });
});

describe('outbound sync: Dataverse pages of outcomes that share a modifiedon second', () => {
  /**
   * Stands still unless advanced, so that every write of a step gets the same modifiedon second.
   */
  class StillClock extends SimClock {
    private readonly fixed = Date.parse('2026-12-04T09:00:00.000Z');
    override nowMs(): number {
      return this.fixed + this.offset;
    }
    override now(): Date {
      return new Date(this.nowMs());
    }
  }

  it(
    'sends every outcome stamped in one second, though that second spans several pages of the ' +
      'read',
    async () => {
      const clock = new StillClock();
      harness = await startHarness({ referrals: 0, dynamicsClock: clock });
      const ids = Array.from({ length: 7 }, () => createReferral({}).id);
      // Two rows per page: the seven leads of one second cross three page boundaries.
      const cycles = new Cycles(
        await harness.runtime((config) => withDynamicsSettings(config, { readPageSize: 2 })),
      );
      await cycles.run();
      clock.advance(1000);
      for (const id of ids)
        await dynamicsAdmin('POST', `/_sim/leads/${String(leadOf(id).leadid)}/state`, {
          statecode: 2,
          statuscode: 5,
        });
      expect(new Set(ids.map((id) => leadOf(id).modifiedon))).toEqual(
        new Set(['2026-12-04T09:00:01.000Z']),
      );

      const { collected, drained } = await cycles.run();
      expect(collected).toMatchObject({ enqueued: 7 });
      expect(drained).toMatchObject({ sent: 7, failed: 0 });
      for (const id of ids)
        expect(referral(id)).toMatchObject({
          status: 'Closed',
          substatus: 'Declined',
          statusReason: "Customer didn't respond",
        });
    },
  );
});

function withDynamicsSettings(
  config: LeadbridgeConfig,
  settings: Record<string, unknown>,
): LeadbridgeConfig {
  return {
    ...config,
    targets: config.targets.map((target) =>
      target.kind === 'dynamics365'
        ? { ...target, settings: { ...(target.settings as object), ...settings } }
        : target,
    ),
  };
}

describe('outbound sync: Salesforce outcomes back to Partner Center', () => {
  async function salesforceAdmin(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<Record<string, unknown>> {
    const init =
      body === undefined
        ? { method }
        : { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
    const response = await fetch(`${harness.salesforce!.url}${path}`, init);
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} → ${response.status}: ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  }

  it(
    'accepts a converted lead with the opportunity’s name, amount and close date, then ' +
      'reports it won, each once',
    async () => {
      harness = await startHarness({ referrals: 0, salesforce: true });
      const id = createReferral({}).id;
      const runtime = await harness.runtime((config) => ({
        ...config,
        targets: config.targets.filter((t) => t.kind === 'salesforce'),
      }));
      const cycles = new Cycles(runtime);
      await cycles.run();
      const lead = await salesforceAdmin('GET', `/_sim/leads/by-referral/${id}`);
      expect(referral(id).externalReferenceId).toBe(lead.Id);

      const converted = await salesforceAdmin('POST', `/_sim/leads/${String(lead.Id)}/convert`, {
        opportunityName: 'Fabrikam ERP rollout',
        amount: 84_000,
        closeDate: '2026-09-30',
      });
      const accepted = await cycles.run();
      expect(accepted.collected).toMatchObject({ outcomesRead: 1, enqueued: 1 });
      expect(accepted.drained.sent).toBe(1);
      expect(referral(id)).toMatchObject({
        status: 'Active',
        substatus: 'Accepted',
        name: 'Fabrikam ERP rollout',
        details: {
          dealValue: 84_000,
          currency: 'EUR',
          closingDateTime: '2026-09-30T00:00:00.0000000Z',
        },
      });

      await salesforceAdmin(
        'POST',
        `/_sim/opportunities/${String(converted.opportunityId)}/close`,
        {
          won: true,
        },
      );
      const won = await cycles.run();
      expect(won.drained.sent).toBe(1);
      expect(referral(id)).toMatchObject({ status: 'Closed', substatus: 'Won' });
      expect(referralPatches(id)).toHaveLength(3); // external reference, accept, win

      const quiet = await cycles.run();
      expect(quiet.collected.enqueued + quiet.drained.sent).toBe(0);
      expect(referralPatches(id)).toHaveLength(3);
    },
  );
  it(
    'reflects an expired referral on its open Salesforce lead once, and sends nothing to ' +
      'Partner Center',
    async () => {
      harness = await startHarness({ referrals: 0, salesforce: true });
      const id = createReferral({}).id;
      const runtime = await harness.runtime((config) => ({
        ...config,
        targets: config.targets.filter((t) => t.kind === 'salesforce'),
      }));
      const cycles = new Cycles(runtime);
      await cycles.run();
      const patchesBefore = referralPatches(id).length;
      harness.pc.server.clock.advance(15 * DAY_MS);
      const { drained } = await cycles.run();
      expect(referral(id)).toMatchObject({ status: 'Closed', substatus: 'Expired' });
      expect(drained).toMatchObject({ sent: 1, expiredReflected: 1 });
      const lead = await salesforceAdmin('GET', `/_sim/leads/by-referral/${id}`);
      expect(lead).toMatchObject({ Status: 'Closed - Not Converted', DeclineReason__c: 'Expired' });

      // The closed lead reads as "declined", but the referral is archived: nothing goes back, and
      // nothing repeats.
      const quiet = await cycles.run();
      expect(quiet.collected.enqueued + quiet.drained.sent).toBe(0);
      expect(referralPatches(id)).toHaveLength(patchesBefore);
    },
  );
});
