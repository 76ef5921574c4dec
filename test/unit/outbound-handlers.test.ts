// Unit tests of the outcome and reflect-expired actions against in-memory fakes: fresh read, 412
// retry once, refusals.
import { describe, expect, it } from 'vitest';
import { ConflictError, LeadbridgeError, ValidationError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import type { Referral } from '../../src/core/referral.js';
import type { CrmAdapter, CrmRecordState } from '../../src/crm/adapter.js';
import type { Link, OutboxRow, OutcomeToSend, ReferralEcho } from '../../src/ledger/index.js';
import { parseMapping } from '../../src/mapping/index.js';
import { WriteAppliedError } from '../../src/source/partner-center/client.js';
import type { ActionContext, HandlerLedger } from '../../src/sync/actions/context.js';
import { outcomeHandler } from '../../src/sync/actions/outcome.js';
import { reflectExpiredHandler } from '../../src/sync/actions/reflect-expired.js';
import {
  emptyOutboundStats,
  type OutcomeWriter,
  type ReferralSource,
  type SyncTarget,
} from '../../src/sync/types.js';

const MAPPING = parseMapping(
  `
version: 1
target: dynamics365
entity: lead
defaults: { currency: USD }
fields:
  lb_referralid: { source: $referralId }
status:
  declined: { entity: lead, when: { statecode: 2 } }
  declineReasons: { field: lead.statuscode, default: Others }
  expiredReflection: { statecode: 2, statuscode: 7 }
`,
  'inline.yaml',
);

const NOW = new Date('2026-03-01T12:00:00.000Z');
const ACCEPT_FIELDS = {
  dealName: 'ERP rollout',
  dealValue: 84000,
  currency: 'EUR',
  closingDateTime: '2026-09-30T00:00:00.000Z',
  notes: '40 seats',
};

/**
 * Partner Center in memory: eTag-guarded writes that roll the eTag, and hooks to play another
 * actor.
 */
class FakeSource implements ReferralSource, OutcomeWriter {
  readonly writes: string[] = [];
  /** Runs after each get (another actor editing the referral between our read and our write). */
  afterGet: ((referral: Referral) => void) | null = null;
  refuse: LeadbridgeError | null = null;
  private version = 1;
  callCount = 0;

  constructor(public referral: Referral) {}

  async *listChanged(): AsyncGenerator<never> {}
  async setExternalReference(): Promise<Referral> {
    throw new Error('not used');
  }
  async get(id: string): Promise<Referral> {
    if (id !== this.referral.id)
      throw new LeadbridgeError('NOT_FOUND', `partner-center: GET referral ${id} → 404`, {
        status: 404,
      });
    const read = this.referral;
    this.afterGet?.(read);
    return read;
  }
  edit(changes: Partial<Referral>): void {
    this.referral = { ...this.referral, ...changes, eTag: `"e${++this.version}"` };
  }
  accept = (ref: { id: string; eTag: string }) =>
    this.write('accept', ref, { status: 'Active', substatus: 'Accepted' });
  decline = (ref: { id: string; eTag: string }) =>
    this.write('decline', ref, { status: 'Closed', substatus: 'Declined' });
  markWon = (ref: { id: string; eTag: string }) =>
    this.write('win', ref, { status: 'Closed', substatus: 'Won' });
  markLost = (ref: { id: string; eTag: string }) =>
    this.write('lose', ref, { status: 'Closed', substatus: 'Lost' });

  private async write(
    action: string,
    ref: { id: string; eTag: string },
    to: Partial<Referral>,
  ): Promise<Referral> {
    if (this.refuse) throw this.refuse;
    if (ref.eTag !== this.referral.eTag)
      throw new ConflictError(`partner-center: PATCH referral ${ref.id} → 412: eTag mismatch`);
    this.writes.push(action);
    this.edit({ ...to, updatedDateTime: '2026-03-01T12:00:00Z' });
    return this.referral;
  }
}

function referral(status: string, substatus: string): Referral {
  return {
    id: 'R1',
    status,
    substatus,
    eTag: '"e1"',
    createdDateTime: '2026-01-01T00:00:00Z',
    updatedDateTime: '2026-01-01T00:00:00Z',
  } as Referral;
}

function outboxRow(action: string, payload: Record<string, unknown>, attempts = 1): OutboxRow {
  return {
    id: 7,
    referralId: 'R1',
    target: 'd365',
    action,
    payload,
    state: 'sending',
    attempts,
    lastError: null,
    lastErrorCode: null,
    nextAttemptAt: null,
    runId: 'run-1',
    claimedBy: 'worker-1',
    leaseUntil: '2026-03-01T12:00:30.000Z',
    createdAt: '2026-03-01T00:00:00Z',
    updatedAt: '2026-03-01T00:00:00Z',
    sentAt: null,
    dedupeKey: `d365:R1:${action}`,
  };
}

/**
 * The ledger port in memory: links of R1 on d365 and sf, and the rows handlers record themselves.
 */
class FakeLedger implements HandlerLedger {
  readonly enqueued: OutcomeToSend[] = [];
  constructor(readonly links: Link[] = [link('d365', 'L1'), link('sf', '00Q1')]) {}
  async linksOf(referralId: string, targets: readonly string[]): Promise<Link[]> {
    return this.links.filter((l) => l.referralId === referralId && targets.includes(l.target));
  }
  async enqueue(rows: OutcomeToSend[]): Promise<number> {
    this.enqueued.push(...rows);
    return rows.length;
  }
  readonly echoes: ReferralEcho[] = [];
  async echoesOf(referralId: string): Promise<ReferralEcho[]> {
    return this.echoes.filter((e) => e.referralId === referralId);
  }
  async recordEchoes(echoes: ReferralEcho[]): Promise<void> {
    this.echoes.push(...echoes);
  }
}

function link(target: string, crmRecordId: string): Link {
  const empty = {
    referralETag: '"e1"',
    payloadHash: null,
    mappingVersion: null,
    referralUpdatedAt: null,
    leadKind: null,
    referralStatus: 'New',
    crmModifiedAt: null,
  };
  return { referralId: 'R1', target, crmRecordId, ...empty, createdAt: '', updatedAt: '' };
}

function context(
  source: FakeSource,
  adapter: Partial<CrmAdapter> = {},
  ledger = new FakeLedger(),
): ActionContext {
  const target = (name: string) =>
    ({
      name,
      adapter: { kind: 'dynamics365', ...adapter } as CrmAdapter,
      mapping: MAPPING,
      leadKinds: [],
      syncClosed: false,
      changeStampPrecisionMs: 1_000,
    }) satisfies SyncTarget;
  return {
    ledger,
    source,
    targets: new Map([
      ['d365', target('d365')],
      ['sf', target('sf')],
      ['hubspot', target('hubspot')],
    ]),
    logger: silentLogger,
    stats: emptyOutboundStats(),
    maxAttempts: 3,
    now: () => NOW,
  };
}

const acceptRow = (attempts = 1) =>
  outboxRow('accept', { outcome: 'won', fields: ACCEPT_FIELDS, crmRecordId: 'L1' }, attempts);

describe('outcome handlers', () => {
  it(
    'sends the accept with the fresh eTag and hands back the link and eTag moves with the ' +
      'audit',
    async () => {
      const source = new FakeSource(referral('New', 'Received'));
      const verdict = await outcomeHandler(context(source))(acceptRow());
      expect(source.writes).toEqual(['accept']);
      expect(verdict).toEqual({
        state: 'sent',
        effects: {
          // Every linked target learns the status (hubspot has no link: none is made for it).
          links: [
            { referralId: 'R1', target: 'd365', referralStatus: 'Active' },
            { referralId: 'R1', target: 'sf', referralStatus: 'Active' },
          ],
          eTagMoves: [
            {
              referralId: 'R1',
              fromETag: '"e1"',
              toETag: '"e2"',
              updatedAt: '2026-03-01T12:00:00Z',
            },
            // The same move in the form a link records for a list item without eTag.
            {
              referralId: 'R1',
              fromETag: 'updated:2026-01-01T00:00:00Z',
              toETag: 'updated:2026-03-01T12:00:00Z',
              updatedAt: '2026-03-01T12:00:00Z',
            },
          ],
          audits: [
            {
              at: NOW.toISOString(),
              runId: 'run-1',
              referralId: 'R1',
              target: 'd365',
              action: 'outcome-sent',
              crmRecordId: 'L1',
              detail: {
                action: 'accept',
                outcome: 'won',
                eTag: '"e2"',
                status: 'Active',
                substatus: 'Accepted',
                afterConflict: false,
              },
            },
          ],
        },
      });
    },
  );

  it(
    'after a 412 reads again, re-plans and sends once more; the conflict is audited and ' +
      'counted',
    async () => {
      const source = new FakeSource(referral('New', 'Received'));
      source.afterGet = () => {
        source.afterGet = null;
        source.edit({ customerProfile: { name: 'Fabrikam Holdings' } });
      };
      const ctx = context(source);
      const verdict = await outcomeHandler(ctx)(acceptRow());
      expect(source.writes).toEqual(['accept']);
      expect(ctx.stats.conflicts).toBe(1);
      expect(verdict.state).toBe('sent');
      expect(
        verdict.effects?.audits?.map((a) => [
          a.action,
          a.detail?.eTagSent ?? a.detail?.afterConflict,
        ]),
      ).toEqual([
        ['conflict', '"e1"'],
        ['outcome-sent', true],
      ]);
      // The version we wrote over was someone else's: only links still on it move (moveLinkETags),
      // so
      // theirs stays visible.
      expect(verdict.effects?.eTagMoves).toEqual([
        { referralId: 'R1', fromETag: '"e2"', toETag: '"e3"', updatedAt: '2026-03-01T12:00:00Z' },
        {
          referralId: 'R1',
          fromETag: 'updated:2026-01-01T00:00:00Z',
          toETag: 'updated:2026-03-01T12:00:00Z',
          updatedAt: '2026-03-01T12:00:00Z',
        },
      ]);
    },
  );

  it('a second 412 in a row fails the row with a backoff instead of looping', async () => {
    const source = new FakeSource(referral('New', 'Received'));
    source.afterGet = () => source.edit({ favorite: true });
    const ctx = context(source);
    const verdict = await outcomeHandler(ctx)(acceptRow(2));
    expect(source.writes).toEqual([]);
    expect(ctx.stats.conflicts).toBe(2);
    expect(verdict).toMatchObject({
      state: 'failed',
      error: 'accept of referral R1 met a conflict again after a re-read',
      nextAttemptAt: '2026-03-01T12:00:20.000Z',
    });
  });

  it(
    'never writes to a Closed referral, and finds an outcome already shown (a resend after a ' +
      'crash) superseded',
    async () => {
      const closed = new FakeSource(referral('Closed', 'Lost'));
      expect(
        await outcomeHandler(context(closed))(outboxRow('win', { outcome: 'won', fields: {} })),
      ).toMatchObject({
        state: 'superseded',
        error: 'the referral is Closed/Lost: archived referrals are never written',
        effects: { links: [{ referralId: 'R1', target: 'd365', referralStatus: 'Closed' }] },
      });
      const accepted = new FakeSource(referral('Active', 'Accepted'));
      expect(await outcomeHandler(context(accepted))(acceptRow())).toMatchObject({
        state: 'superseded',
        error: 'the referral already shows it (Active/Accepted)',
      });
      expect([...closed.writes, ...accepted.writes]).toEqual([]);
    },
  );

  it(
    'an outcome for a referral found expired is superseded, and the CRM lead is queued to be ' +
      'marked instead',
    async () => {
      const ledger = new FakeLedger();
      const source = new FakeSource(referral('Closed', 'Expired'));
      const verdict = await outcomeHandler(context(source, {}, ledger))(
        outboxRow('decline', { outcome: 'declined', fields: { reason: 'Others' } }),
      );
      expect(verdict).toMatchObject({
        state: 'superseded',
        error: 'the referral is Closed/Expired: archived referrals are never written',
      });
      expect(ledger.enqueued).toEqual([
        {
          referralId: 'R1',
          target: 'd365',
          action: 'reflect-expired',
          payload: { crmRecordId: 'L1' },
          dedupeKey: 'd365:R1:reflect-expired',
        },
      ]);
      expect(source.writes).toEqual([]);
    },
  );

  it(
    'quarantines a step that would break the life cycle, and a write Partner Center refuses ' +
      'for good',
    async () => {
      const fresh = new FakeSource(referral('New', 'Received'));
      expect(
        await outcomeHandler(context(fresh))(outboxRow('win', { outcome: 'won', fields: {} })),
      ).toMatchObject({
        state: 'quarantined',
        error:
          'win cannot be sent while the referral is New/Received: accept must come first and is ' +
          'no longer queued',
      });
      fresh.refuse = new ValidationError(
        'VALIDATION_FAILED',
        'partner-center: cannot accept referral R1',
        [{ path: 'currency', message: 'must be a 3-letter ISO 4217 code (got "EURO")' }],
      );
      const refused = await outcomeHandler(context(fresh))(acceptRow());
      expect(refused).toMatchObject({
        state: 'quarantined',
        error:
          'Partner Center refused accept: partner-center: cannot accept referral R1:\n  - ' +
          'currency: must be a 3-letter ISO 4217 code (got "EURO")',
      });
      expect(refused.effects?.audits?.map((a) => a.action)).toEqual(['outcome-quarantined']);
    },
  );

  it(
    'records a write Partner Center applied (2xx) as sent even when its result cannot be read ' +
      'back',
    async () => {
      const source = new FakeSource(referral('New', 'Received'));
      source.refuse = new WriteAppliedError(
        'partner-center: accept referral R1 was applied (200), but the referral could not be ' +
          'read back: boom',
        null,
      );
      const verdict = await outcomeHandler(context(source))(acceptRow());
      expect(verdict.state).toBe('sent');
      expect(verdict.effects?.eTagMoves).toBeUndefined();
      expect(
        verdict.effects?.audits?.map((entry) => [entry.action, entry.detail?.unreadable]),
      ).toEqual([
        [
          'outcome-sent',
          'partner-center: accept referral R1 was applied (200), but the referral could not be ' +
            'read back: boom',
        ],
      ]);
    },
  );

  it('sends no write when the GET by id carries no eTag', async () => {
    const source = new FakeSource({ ...referral('New', 'Received'), eTag: undefined } as Referral);
    expect(await outcomeHandler(context(source))(acceptRow())).toMatchObject({
      state: 'failed',
      error:
        'partner-center: GET referral R1 returned no eTag; no write is sent without a fresh ' +
        'If-Match eTag',
    });
    expect(source.writes).toEqual([]);
  });

  it(
    'a transient failure is retried later, the last allowed attempt and a vanished referral ' +
      'are quarantined',
    async () => {
      const source = new FakeSource(referral('New', 'Received'));
      source.refuse = new LeadbridgeError('HTTP_ERROR', 'partner-center: PATCH → 503', {
        status: 503,
      });
      const ctx = context(source);
      const handler = outcomeHandler(ctx);
      expect(await handler(acceptRow(1))).toMatchObject({
        state: 'failed',
        error: 'partner-center: PATCH → 503',
        nextAttemptAt: '2026-03-01T12:00:10.000Z',
      });
      expect(await handler(acceptRow(3))).toMatchObject({
        state: 'quarantined',
        error: 'accept failed 3 times: partner-center: PATCH → 503',
      });
      expect(await handler({ ...acceptRow(1), referralId: 'R9' })).toMatchObject({
        state: 'quarantined',
        error: 'accept found nothing to write to: partner-center: GET referral R9 → 404',
      });
    },
  );
});

describe('reflect-expired handler', () => {
  const lead = (statecode: number): CrmRecordState => ({
    referralId: 'R1',
    recordId: 'L1',
    entity: 'lead',
    modifiedAt: '2026-02-01T00:00:00Z',
    fields: { statecode },
    opportunity: null,
  });
  const reflectRow = () => outboxRow('reflect-expired', { crmRecordId: 'L1' });

  it('writes the mapping’s expiredReflection to the open lead once and counts it', async () => {
    const written: Array<Record<string, unknown>> = [];
    const ctx = context(new FakeSource(referral('Closed', 'Expired')), {
      getByReferralId: async () => lead(0),
      reflectExpired: async (_record, fields) => {
        written.push(fields);
        return true;
      },
    });
    const verdict = await reflectExpiredHandler(ctx)(reflectRow());
    expect(written).toEqual([{ statecode: 2, statuscode: 7 }]);
    expect(verdict).toMatchObject({
      state: 'sent',
      effects: { links: [{ referralId: 'R1', target: 'd365', referralStatus: 'Closed' }] },
    });
    expect(verdict.effects?.audits?.map((a) => [a.action, a.detail])).toEqual([
      ['expired-reflected', { fields: { statecode: 2, statuscode: 7 } }],
    ]);
    expect(ctx.stats.expiredReflected).toBe(1);
  });

  it(
    'leaves alone a lead that is no longer open, a referral that did not expire, and a CRM ' +
      'that cannot reflect',
    async () => {
      const notOpen = context(new FakeSource(referral('Closed', 'Expired')), {
        getByReferralId: async () => lead(1),
        reflectExpired: async () => false,
      });
      expect(await reflectExpiredHandler(notOpen)(reflectRow())).toMatchObject({
        state: 'superseded',
        error: 'the CRM lead is no longer open',
      });
      const declined = context(new FakeSource(referral('Closed', 'Declined')), {
        reflectExpired: async () => true,
      });
      expect(await reflectExpiredHandler(declined)(reflectRow())).toMatchObject({
        state: 'superseded',
        error: 'the referral is Closed/Declined, not Closed/Expired',
      });
      const unable = context(new FakeSource(referral('Closed', 'Expired')));
      expect(await reflectExpiredHandler(unable)(reflectRow())).toMatchObject({
        state: 'superseded',
        error: 'the dynamics365 adapter cannot reflect expiries',
      });
    },
  );

  it('a lead changed between the read and the write (412) is read again once', async () => {
    let calls = 0;
    const ctx = context(new FakeSource(referral('Closed', 'Expired')), {
      getByReferralId: async () => lead(0),
      reflectExpired: async () => {
        if (++calls === 1) throw new ConflictError('dynamics365: PATCH leads(L1) → 412');
        return true;
      },
    });
    const verdict = await reflectExpiredHandler(ctx)(reflectRow());
    expect(verdict.state).toBe('sent');
    expect(verdict.effects?.audits?.map((a) => a.action)).toEqual([
      'conflict',
      'expired-reflected',
    ]);
    expect(ctx.stats.conflicts).toBe(1);
  });
});
