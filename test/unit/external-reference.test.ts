// Unit tests of the write-back handler: it always reads the referral by id first and writes with
// that fresh eTag.
import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/core/errors.js';
import type { Referral } from '../../src/core/referral.js';
import type { OutboxRow, ReferralEcho } from '../../src/ledger/index.js';
import { WriteAppliedError } from '../../src/source/partner-center/client.js';
import { silentLogger } from '../../src/core/log.js';
import type { ActionContext } from '../../src/sync/actions/context.js';
import { withoutEchoes } from '../../src/sync/echo.js';
import { setExternalReferenceHandler } from '../../src/sync/actions/set-external-reference.js';
import {
  emptyOutboundStats,
  type OutcomeWriter,
  type ReferralSource,
} from '../../src/sync/types.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');

/** Where the handler records its intent (the ledger's echoes): nothing kept, unless a test asks. */
const NO_INTENTS = { echoesOf: async () => [], recordEchoes: async () => {} };

/** The handler with the source it reads and writes, and the ledger port's echoes only. */
function externalReferenceHandler(
  source: ReferralSource,
  intents: Pick<ActionContext['ledger'], 'echoesOf' | 'recordEchoes'> = NO_INTENTS,
) {
  const context: ActionContext = {
    ledger: intents as ActionContext['ledger'],
    source: source as ReferralSource & OutcomeWriter,
    targets: new Map(),
    logger: silentLogger,
    stats: emptyOutboundStats(),
    maxAttempts: 3,
    now: () => NOW,
  };
  return setExternalReferenceHandler(context);
}

const LISTED: Referral = {
  id: 'R1',
  status: 'New',
  substatus: 'Received',
  type: 'Independent',
  updatedDateTime: '2026-01-01T00:00:00Z',
};

class FakeSource implements ReferralSource {
  readonly calls: string[] = [];
  callCount = 0;
  fail: Error | null = null;
  constructor(public stored: Referral) {}
  async *listChanged(): AsyncGenerator<never> {}
  async get(id: string): Promise<Referral> {
    this.calls.push(`GET ${id}`);
    return this.stored;
  }
  async setExternalReference(ref: { id: string; eTag: string }, value: string): Promise<Referral> {
    this.calls.push(`PATCH ${ref.id} If-Match ${ref.eTag} externalReferenceId=${value}`);
    if (this.fail) throw this.fail;
    if (ref.eTag !== this.stored.eTag) throw new ConflictError('412');
    this.stored = {
      ...this.stored,
      externalReferenceId: value,
      eTag: '"e2"',
      updatedDateTime: '2026-01-02T00:00:00Z',
    };
    return this.stored;
  }
}

function row(syncedVersion: string): OutboxRow {
  return {
    id: 1,
    action: 'set-external-reference',
    referralId: 'R1',
    target: 'd365',
    runId: 'run-1',
    payload: { recordId: 'CRM-9', eTag: syncedVersion },
  } as unknown as OutboxRow;
}

/**
 * A row as the inbound side records it now: with the externalReferenceId the listed version held.
 */
function listedRow(syncedVersion: string): OutboxRow {
  const plain = row(syncedVersion);
  return { ...plain, payload: { ...plain.payload, listedValue: null } };
}

describe('external reference write-back', () => {
  it(
    'reads by id for a fresh eTag when the listed version had none, and moves the link in ' +
      'both version forms',
    async () => {
      const source = new FakeSource({ ...LISTED, eTag: '"e1"' });
      const verdict = await externalReferenceHandler(source)(row('updated:2026-01-01T00:00:00Z'));
      expect(source.calls).toEqual(['GET R1', 'PATCH R1 If-Match "e1" externalReferenceId=CRM-9']);
      expect(verdict).toEqual({
        state: 'sent',
        effects: {
          eTagMoves: [
            {
              referralId: 'R1',
              fromETag: '"e1"',
              toETag: '"e2"',
              updatedAt: '2026-01-02T00:00:00Z',
            },
            {
              referralId: 'R1',
              fromETag: 'updated:2026-01-01T00:00:00Z',
              toETag: 'updated:2026-01-02T00:00:00Z',
              updatedAt: '2026-01-02T00:00:00Z',
            },
          ],
          audits: [
            {
              at: '2026-03-01T12:00:00.000Z',
              runId: 'run-1',
              referralId: 'R1',
              target: 'd365',
              action: 'external-reference-written',
              crmRecordId: 'CRM-9',
              detail: { eTag: '"e2"' },
            },
          ],
        },
      });
    },
  );

  it(
    'writes with the fresh eTag but moves no link when the referral changed since it was ' +
      'synced',
    async () => {
      const source = new FakeSource({
        ...LISTED,
        eTag: '"e5"',
        updatedDateTime: '2026-01-01T09:00:00Z',
      });
      const verdict = await externalReferenceHandler(source)(row('updated:2026-01-01T00:00:00Z'));
      expect(source.calls).toEqual(['GET R1', 'PATCH R1 If-Match "e5" externalReferenceId=CRM-9']);
      expect(verdict.effects?.eTagMoves).toBeUndefined();
      expect(verdict.effects?.audits?.[0]?.detail).toEqual({
        eTag: '"e2"',
        changedSinceSync: true,
      });
    },
  );

  it(
    'writes a list item that carried an eTag with it at once, no GET; the link moves to the ' +
      'new one',
    async () => {
      const source = new FakeSource({ ...LISTED, eTag: '"e1"' });
      const recorded: unknown[] = [];
      const intents = {
        ...NO_INTENTS,
        recordEchoes: async (e: unknown[]) => void recorded.push(...e),
      };
      const verdict = await externalReferenceHandler(source, intents)(listedRow('"e1"'));
      expect(source.calls).toEqual(['PATCH R1 If-Match "e1" externalReferenceId=CRM-9']);
      // The intent is recorded first, against the value the listed version held.
      expect(recorded).toEqual([
        { referralId: 'R1', path: 'externalReferenceId', written: 'CRM-9', original: null },
      ]);
      expect(verdict).toEqual({
        state: 'sent',
        effects: {
          eTagMoves: [
            {
              referralId: 'R1',
              fromETag: '"e1"',
              toETag: '"e2"',
              updatedAt: '2026-01-02T00:00:00Z',
            },
          ],
          audits: [
            {
              at: '2026-03-01T12:00:00.000Z',
              runId: 'run-1',
              referralId: 'R1',
              target: 'd365',
              action: 'external-reference-written',
              crmRecordId: 'CRM-9',
              detail: { eTag: '"e2"', asListed: true },
            },
          ],
        },
      });
    },
  );

  it(
    'a listed eTag that is stale (412) is read again by id and written with the fresh ' + 'one',
    async () => {
      const source = new FakeSource({ ...LISTED, eTag: '"e5"' });
      const verdict = await externalReferenceHandler(source)(listedRow('"e1"'));
      expect(source.calls).toEqual([
        'PATCH R1 If-Match "e1" externalReferenceId=CRM-9',
        'GET R1',
        'PATCH R1 If-Match "e5" externalReferenceId=CRM-9',
      ]);
      expect(verdict.state).toBe('sent');
      expect(verdict.effects?.eTagMoves).toBeUndefined();
      expect(verdict.effects?.audits?.map((entry) => entry.action)).toEqual([
        'conflict',
        'external-reference-written',
      ]);
    },
  );

  it('sends nothing when the id is already there, or when GET by id gives no eTag', async () => {
    const done = new FakeSource({ ...LISTED, eTag: '"e1"', externalReferenceId: 'CRM-9' });
    expect(await externalReferenceHandler(done)(row('updated:2026-01-01T00:00:00Z'))).toEqual({
      state: 'sent',
      effects: {
        audits: [
          {
            at: '2026-03-01T12:00:00.000Z',
            runId: 'run-1',
            referralId: 'R1',
            target: 'd365',
            action: 'external-reference-written',
            crmRecordId: 'CRM-9',
            detail: { alreadySet: true },
          },
        ],
      },
    });
    expect(done.calls).toEqual(['GET R1']);
    const noETag = new FakeSource(LISTED);
    await expect(
      externalReferenceHandler(noETag)(row('updated:2026-01-01T00:00:00Z')),
    ).rejects.toThrow(
      'partner-center: GET referral R1 returned no eTag; no write is sent without a fresh ' +
        'If-Match eTag',
    );
    expect(noETag.calls).toEqual(['GET R1']);
  });

  it('records an applied write whose result could not be read as sent', async () => {
    const source = new FakeSource({ ...LISTED, eTag: '"e1"' });
    source.fail = new WriteAppliedError(
      'partner-center: set external reference referral R1 was applied (204), but the referral ' +
        'could not be read back: x',
      null,
    );
    const verdict = await externalReferenceHandler(source)(row('"e1"'));
    expect(verdict.state).toBe('sent');
    expect(verdict.effects?.eTagMoves).toBeUndefined();
  });

  it(
    'after a 412 reads again: an id already there is audited as sent after the conflict ' +
      '(issue 18)',
    async () => {
      const source = new FakeSource({ ...LISTED, eTag: '"e1"' });
      // The listed version carried no eTag: read by id first.
      // Another write lands between our read and our PATCH: it puts the same id in and rolls the
      // eTag.
      source.setExternalReference = async (ref, value) => {
        source.calls.push(`PATCH ${ref.id} If-Match ${ref.eTag} externalReferenceId=${value}`);
        source.stored = { ...source.stored, externalReferenceId: value, eTag: '"e7"' };
        throw new ConflictError('partner-center: PATCH referral R1 → 412');
      };
      const verdict = await externalReferenceHandler(source)(row('updated:2026-01-01T00:00:00Z'));
      expect(source.calls).toEqual([
        'GET R1',
        'PATCH R1 If-Match "e1" externalReferenceId=CRM-9',
        'GET R1',
      ]);
      expect(verdict.state).toBe('sent');
      expect(verdict.effects?.audits?.map((entry) => [entry.action, entry.detail])).toEqual([
        [
          'conflict',
          {
            action: 'set-external-reference',
            eTagSent: '"e1"',
            attempt: 1,
            message: 'partner-center: PATCH referral R1 → 412',
          },
        ],
        ['external-reference-written', { alreadySet: true, afterConflict: true }],
      ]);
    },
  );

  it('a second 412 in a row is thrown, for the drain to retry the row later', async () => {
    const source = new FakeSource({ ...LISTED, eTag: '"e1"' });
    source.setExternalReference = async (ref) => {
      source.calls.push(`PATCH ${ref.id} If-Match ${ref.eTag}`);
      throw new ConflictError('partner-center: PATCH referral R1 → 412');
    };
    await expect(
      externalReferenceHandler(source)(row('updated:2026-01-01T00:00:00Z')),
    ).rejects.toThrow('partner-center: PATCH referral R1 → 412');
    expect(source.calls).toEqual([
      'GET R1',
      'PATCH R1 If-Match "e1"',
      'GET R1',
      'PATCH R1 If-Match "e1"',
    ]);
  });

  it(
    'records its intent before the PATCH: a write applied but never recorded still reads as ' +
      'ours',
    async () => {
      const source = new FakeSource({ ...LISTED, eTag: '"e1"', externalReferenceId: 'OLD-1' });
      const recorded: ReferralEcho[] = [];
      const intents = {
        echoesOf: async () => [],
        recordEchoes: async (echoes: ReferralEcho[]) => {
          source.calls.push(`intent ${echoes.map((e) => `${e.path}=${String(e.written)}`).join()}`);
          recorded.push(...echoes);
        },
      };
      // The worker dies right after Partner Center applied the write.
      const original = source.setExternalReference.bind(source);
      source.setExternalReference = async (ref, value) => {
        await original(ref, value);
        throw new Error('worker killed after the write');
      };
      await expect(externalReferenceHandler(source, intents)(row('"e1"'))).rejects.toThrow(
        'killed',
      );
      expect(source.calls).toEqual([
        'GET R1',
        'intent externalReferenceId=CRM-9',
        'PATCH R1 If-Match "e1" externalReferenceId=CRM-9',
      ]);
      expect(recorded).toEqual([
        { referralId: 'R1', path: 'externalReferenceId', written: 'CRM-9', original: 'OLD-1' },
      ]);
      // The next read shows our write; the mappings see the value it had before.
      expect(withoutEchoes(source.stored, recorded).externalReferenceId).toBe('OLD-1');
    },
  );
});
