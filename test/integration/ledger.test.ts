// The ledger's repositories against a real SQLite file and a real PostgreSQL schema: one suite,
// both databases.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import sqlite3 from 'sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeadbridgeError } from '../../src/core/errors.js';
import { idsPerQuery, rowsPerInsert } from '../../src/ledger/dialect.js';
import {
  appendAudit,
  auditTrail,
  claimDueRetries,
  claimOutbox,
  countByState,
  enqueueOutcomes,
  expiredClaims,
  finishRun,
  forgetAlert,
  getCursor,
  getLinkByRecordId,
  getLinks,
  getSyncStates,
  lastRuns,
  listByState,
  listLinks,
  listOutbox,
  markOutbox,
  nextDueAt,
  openLedger,
  recordAlertOnce,
  resetToPending,
  setCursor,
  startRun,
  transitionSyncStates,
  upsertLinks,
  type Ledger,
  type LedgerConfig,
  type SyncStateChange,
} from '../../src/ledger/index.js';
import { describeWithPg } from './support/pg.js';

/**
 * How a suite reaches its database: the ledger it shares, and fresh places for tests that need
 * their own.
 */
interface LedgerHarness {
  ledger(): Ledger;
  config(): LedgerConfig;
  /** A brand-new, empty place (file or schema), dropped by the harness at the end. */
  freshConfig(): LedgerConfig;
}

const NOW = '2026-11-24T10:00:00.000Z';

async function ledgerError(promise: Promise<unknown>): Promise<LeadbridgeError> {
  const error = await promise.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(LeadbridgeError);
  expect((error as LeadbridgeError).code).toBe('LEDGER_ERROR');
  return error as LeadbridgeError;
}

function outcome(referralId: string, action: string, target: string) {
  return {
    referralId,
    target,
    action,
    payload: { action, dealValue: 1200 },
    dedupeKey: `${action}:${referralId}:${target}`,
  };
}

/** Polls PostgreSQL until another session of this database is blocked on a row lock. */
async function untilSomeoneWaitsOnALock(ledger: Ledger): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const result = (await ledger.db.raw(
      'select count(*)::int as waiting from pg_stat_activity where datname = ' +
        "current_database() and wait_event_type = 'Lock'",
    )) as { rows: Array<{ waiting: number }> };
    if ((result.rows[0]?.waiting ?? 0) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('no session started waiting on a lock');
}

/** Counts the statements a knex instance sends while `work` runs. */
async function countQueries(ledger: Ledger, work: () => Promise<unknown>): Promise<number> {
  let queries = 0;
  const onQuery = () => {
    queries++;
  };
  ledger.db.on('query', onQuery);
  try {
    await work();
  } finally {
    ledger.db.removeListener('query', onQuery);
  }
  return queries;
}

async function migrationNames(ledger: Ledger): Promise<string[]> {
  const rows = (await ledger.db('lb_migrations').orderBy('id').select('name')) as Array<{
    name: string;
  }>;
  return rows.map((row) => row.name);
}

function defineLedgerSuite(harness: LedgerHarness): void {
  let targetSeq = 0;
  const freshTarget = () => `crm:t${++targetSeq}`;
  const db = () => harness.ledger().db;

  describe('migrations', () => {
    it('are applied once and are a no-op on reopen', async () => {
      await setCursor(db(), 'reopen-check', 'kept');
      const again = await openLedger(harness.config());
      try {
        expect(await migrationNames(again)).toEqual([
          '0001_initial',
          '0002_referral_echoes',
          '0003_claim_leases',
          '0004_link_conversion',
          '0005_console_facts',
          '0006_tenant_column',
        ]);
        expect(await getCursor(again.db, 'reopen-check')).toBe('kept');
      } finally {
        await again.close();
      }
    });

    it('survive several workers opening a new ledger at the same time', async () => {
      const config = harness.freshConfig();
      const ledgers = await Promise.all([
        openLedger(config),
        openLedger(config),
        openLedger(config),
      ]);
      try {
        expect(await migrationNames(ledgers[0]!)).toEqual([
          '0001_initial',
          '0002_referral_echoes',
          '0003_claim_leases',
          '0004_link_conversion',
          '0005_console_facts',
          '0006_tenant_column',
        ]);
        await setCursor(ledgers[1]!.db, 'partner-center', 'c1');
        expect(await getCursor(ledgers[2]!.db, 'partner-center')).toBe('c1');
      } finally {
        await Promise.all(ledgers.map((l) => l.close()));
      }
    });
  });

  describe('cursors', () => {
    it('are null until set, then hold the last value', async () => {
      expect(await getCursor(db(), 'crm:dynamics')).toBeNull();
      await setCursor(db(), 'crm:dynamics', '2026-11-24T09:00:00Z');
      await setCursor(db(), 'crm:dynamics', '2026-11-24T09:05:00Z');
      await setCursor(db(), 'partner-center', 'page-7');
      expect(await getCursor(db(), 'crm:dynamics')).toBe('2026-11-24T09:05:00Z');
      expect(await getCursor(db(), 'partner-center')).toBe('page-7');
    });
  });

  describe('links', () => {
    const ids = Array.from({ length: 2500 }, (_, i) => `R-${String(i).padStart(5, '0')}`);
    const fullLink = (id: string, i: number, target: string) => ({
      referralId: id,
      target,
      crmRecordId: `crm-${i}`,
      referralETag: `"etag-${i}"`,
      payloadHash: `hash-${i}`,
      mappingVersion: 'v1',
      referralUpdatedAt: '2026-11-01T10:00:00.1234567Z',
      leadKind: 'marketplace',
      referralStatus: 'New',
      crmModifiedAt: null,
    });

    it('upsert and read 2,500 links in one call each, in batches', async () => {
      const target = freshTarget();
      const writes = await countQueries(harness.ledger(), () =>
        upsertLinks(
          db(),
          ids.map((id, i) => fullLink(id, i, target)),
        ),
      );
      // 8 link fields + referral_id, target, created_at, updated_at per row
      expect(writes).toBe(Math.ceil(2500 / rowsPerInsert(db(), 12)));
      let links = new Map();
      const reads = await countQueries(harness.ledger(), async () => {
        links = await getLinks(db(), target, ids);
      });
      expect(reads).toBe(Math.ceil(2500 / idsPerQuery(db())));
      expect(links.size).toBe(2500);
      expect(links.get('R-01234')).toEqual({
        ...fullLink('R-01234', 1234, target),
        crmConvertedInto: null,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
    });

    it(
      'update only the columns given, fold repeated links, and find links by CRM ' + 'record id',
      async () => {
        const target = freshTarget();
        await upsertLinks(db(), [
          fullLink('A', 1, target),
          fullLink('B', 2, target),
          fullLink('A', 1, 'crm:other'),
        ]);
        await upsertLinks(db(), [
          { referralId: 'A', target, referralETag: '"etag-new"' },
          { referralId: 'B', target, crmRecordId: null },
          { referralId: 'A', target, payloadHash: 'hash-new' },
          { referralId: 'C', target, leadKind: 'sales-qualified' },
        ]);
        const links = await getLinks(db(), target, ['A', 'B', 'C', 'missing', 'A']);
        expect([...links.keys()].sort()).toEqual(['A', 'B', 'C']);
        expect(links.get('A')).toMatchObject({
          ...fullLink('A', 1, target),
          referralETag: '"etag-new"',
          payloadHash: 'hash-new',
        });
        expect(links.get('B')).toMatchObject({ ...fullLink('B', 2, target), crmRecordId: null });
        expect(links.get('C')).toMatchObject({
          referralId: 'C',
          crmRecordId: null,
          referralETag: null,
          leadKind: 'sales-qualified',
        });
        expect((await getLinks(db(), 'crm:other', ['A'])).get('A')?.referralETag).toBe('"etag-1"');
        expect((await getLinkByRecordId(db(), target, 'crm-1'))?.referralId).toBe('A');
        expect(await getLinkByRecordId(db(), target, 'crm-2')).toBeNull();
        expect(await getLinkByRecordId(db(), 'crm:nowhere', 'crm-1')).toBeNull();
      },
    );

    it('list a target page by page in referral-id order', async () => {
      const target = freshTarget();
      await upsertLinks(
        db(),
        ids.slice(0, 25).map((id, i) => fullLink(id, i, target)),
      );
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await listLinks(db(), target, {
          limit: 10,
          ...(after ? { afterReferralId: after } : {}),
        });
        if (page.length === 0) break;
        seen.push(...page.map((link) => link.referralId));
        after = page[page.length - 1]!.referralId;
      }
      expect(seen).toEqual(ids.slice(0, 25));
    });
  });

  describe('sync states', () => {
    it(
      'reject an illegal move naming referral and target, and write nothing of that ' + 'batch',
      async () => {
        const target = freshTarget();
        await transitionSyncStates(db(), target, [
          { referralId: 'R1', to: 'applied', runId: 'run-1' },
        ]);
        const error = await ledgerError(
          transitionSyncStates(db(), target, [
            { referralId: 'R2', to: 'failed', error: { code: 'HTTP_ERROR', message: 'boom' } },
            { referralId: 'R1', to: 'failed', error: { code: 'HTTP_ERROR', message: 'boom' } },
          ]),
        );
        expect(error.message).toBe(
          `illegal sync-state move applied → failed for referral "R1" on target "${target}" ` +
            `(applied may move to: pending)`,
        );
        const states = await getSyncStates(db(), target, ['R1', 'R2']);
        expect([...states.keys()]).toEqual(['R1']);
        expect(states.get('R1')?.state).toBe('applied');
      },
    );

    it(
      'count attempts up on failure, keep the retry time, and reset them once ' + 'applied',
      async () => {
        const target = freshTarget();
        const move = async (change: Omit<SyncStateChange, 'referralId'>) => {
          await transitionSyncStates(db(), target, [{ referralId: 'R1', ...change }]);
          return (await getSyncStates(db(), target, ['R1'])).get('R1');
        };
        const failure = { code: 'HTTP_ERROR', message: 'Dataverse said 500' };
        expect(await move({ to: 'pending', runId: 'run-1' })).toEqual({
          referralId: 'R1',
          target,
          state: 'pending',
          attempts: 0,
          nextRetryAt: null,
          lastError: null,
          lastErrorCode: null,
          quarantineReason: null,
          updatedAt: expect.any(String),
          runId: 'run-1',
        });
        expect(
          await move({ to: 'failed', error: failure, nextRetryAt: '2026-11-24T10:05:00Z' }),
        ).toMatchObject({
          state: 'failed',
          attempts: 1,
          nextRetryAt: '2026-11-24T10:05:00.000Z',
          lastError: 'Dataverse said 500',
          lastErrorCode: 'HTTP_ERROR',
          runId: 'run-1',
        });
        expect(
          await move({
            to: 'failed',
            error: failure,
            nextRetryAt: '2026-11-24T10:15:00.000Z',
            runId: 'run-2',
          }),
        ).toMatchObject({
          attempts: 2,
          nextRetryAt: '2026-11-24T10:15:00.000Z',
          runId: 'run-2',
        });
        expect(await move({ to: 'pending' })).toMatchObject({
          state: 'pending',
          attempts: 2,
          nextRetryAt: null,
          lastError: 'Dataverse said 500',
        });
        expect(await move({ to: 'applied' })).toMatchObject({
          state: 'applied',
          attempts: 0,
          nextRetryAt: null,
          lastError: null,
          lastErrorCode: null,
        });
      },
    );

    it('apply several moves of one referral in order within one call', async () => {
      const target = freshTarget();
      await transitionSyncStates(db(), target, [{ referralId: 'R1', to: 'applied' }]);
      await transitionSyncStates(db(), target, [
        { referralId: 'R1', to: 'pending' },
        { referralId: 'R1', to: 'quarantined', quarantineReason: 'mapping: email is not an email' },
      ]);
      expect((await getSyncStates(db(), target, ['R1'])).get('R1')).toMatchObject({
        state: 'quarantined',
        quarantineReason: 'mapping: email is not an email',
      });
    });

    it('claim due retries only, oldest first, and only once', async () => {
      const target = freshTarget();
      const failed = (referralId: string, nextRetryAt: string | null): SyncStateChange => ({
        referralId,
        to: 'failed',
        error: { code: 'HTTP_ERROR', message: 'boom' },
        nextRetryAt,
      });
      await transitionSyncStates(db(), target, [
        failed('F3', '2026-11-24T09:58:00Z'),
        failed('F1', '2026-11-24T09:50:00Z'),
        failed('F2', '2026-11-24T09:55:00Z'),
        failed('LATER', '2026-11-24T12:00:00Z'),
        failed('NEVER', null),
        { referralId: 'P', to: 'pending' },
      ]);
      expect(await claimDueRetries(db(), target, NOW, 2, 'run-r1')).toEqual(['F1', 'F2']);
      expect(await claimDueRetries(db(), target, NOW, 10, 'run-r2')).toEqual(['F3']);
      expect(await claimDueRetries(db(), target, NOW, 10, 'run-r3')).toEqual([]);
      expect(
        await claimDueRetries(db(), 'crm:elsewhere', '2026-12-31T00:00:00Z', 10, 'run-r4'),
      ).toEqual([]);
      const states = await getSyncStates(db(), target, ['F1', 'F3', 'LATER']);
      expect(states.get('F1')).toMatchObject({
        state: 'pending',
        runId: 'run-r1',
        attempts: 1,
        nextRetryAt: null,
      });
      expect(states.get('F3')).toMatchObject({ state: 'pending', runId: 'run-r2' });
      expect(states.get('LATER')).toMatchObject({
        state: 'failed',
        nextRetryAt: '2026-11-24T12:00:00.000Z',
      });
    });

    it('never hand the same due retry to two concurrent claimers', async () => {
      const target = freshTarget();
      const ids = Array.from({ length: 60 }, (_, i) => `C-${String(i).padStart(2, '0')}`);
      await transitionSyncStates(
        db(),
        target,
        ids.map((referralId) => ({
          referralId,
          to: 'failed',
          error: { code: 'HTTP_ERROR', message: 'boom' },
          nextRetryAt: '2026-11-24T09:00:00Z',
        })),
      );
      const others = await Promise.all([
        openLedger(harness.config()),
        openLedger(harness.config()),
      ]);
      try {
        const claimers = [harness.ledger(), ...others, harness.ledger(), ...others];
        const claims = await Promise.all(
          claimers.map((ledger, i) => claimDueRetries(ledger.db, target, NOW, 12, `run-c${i}`)),
        );
        const all = claims.flat();
        expect(all.length).toBe(60);
        expect([...new Set(all)].sort()).toEqual(ids);
      } finally {
        await Promise.all(others.map((l) => l.close()));
      }
    });

    it('count, list and reset rows for an operator retry', async () => {
      const target = freshTarget();
      await transitionSyncStates(db(), target, [
        { referralId: 'A', to: 'applied' },
        { referralId: 'F', to: 'failed', error: { code: 'HTTP_ERROR', message: 'boom' } },
        { referralId: 'F', to: 'failed', error: { code: 'HTTP_ERROR', message: 'boom again' } },
        { referralId: 'Q', to: 'quarantined', quarantineReason: 'CRM rejected it 5 times' },
      ]);
      const counts = (await countByState(db())).filter((c) => c.target === target);
      expect(counts).toEqual([
        { target, state: 'applied', count: 1 },
        { target, state: 'failed', count: 1 },
        { target, state: 'quarantined', count: 1 },
      ]);
      expect(
        (await listByState(db(), 'failed', { target, limit: 10 })).map((r) => [
          r.referralId,
          r.attempts,
          r.lastError,
        ]),
      ).toEqual([['F', 2, 'boom again']]);
      expect(
        await resetToPending(db(), {
          target,
          states: ['failed', 'quarantined'],
          since: '2999-01-01T00:00:00Z',
        }),
      ).toBe(0);
      expect(
        await resetToPending(db(), {
          target,
          states: ['failed', 'quarantined'],
          since: '2020-01-01T00:00:00Z',
        }),
      ).toBe(2);
      const states = await getSyncStates(db(), target, ['A', 'F', 'Q']);
      expect(states.get('A')?.state).toBe('applied');
      expect(states.get('F')).toMatchObject({ state: 'pending', attempts: 0, nextRetryAt: null });
      expect(states.get('Q')).toMatchObject({ state: 'pending', quarantineReason: null });
      const error = await ledgerError(resetToPending(db(), { target, states: ['pending'] }));
      expect(error.message).toBe(
        `illegal sync-state move pending → pending when resetting pending rows on target "` +
          `${target}" (pending may move to: applied, failed, quarantined)`,
      );
    });
  });

  describe('audit trail', () => {
    it('keeps every entry in the order it was appended, detail included', async () => {
      const referralId = `AUD-${targetSeq}`;
      await appendAudit(db(), [
        {
          runId: 'run-a',
          referralId,
          target: 'crm:dynamics',
          action: 'created',
          crmRecordId: 'lead-1',
          detail: { fields: 12 },
        },
        { runId: 'run-a', referralId: 'someone-else', target: 'crm:dynamics', action: 'created' },
        {
          runId: 'run-a',
          referralId,
          target: 'crm:salesforce',
          action: 'failed',
          detail: { code: 'HTTP_ERROR', nested: { list: [1, 2] } },
        },
      ]);
      await appendAudit(db(), [
        { runId: 'run-b', referralId, target: 'crm:dynamics', action: 'skipped-unchanged' },
        {
          runId: 'run-b',
          referralId,
          target: null,
          action: 'outcome-sent',
          detail: { action: 'accept' },
        },
      ]);
      const trail = await auditTrail(db(), referralId);
      expect(trail.map((e) => [e.runId, e.target, e.action, e.crmRecordId, e.detail])).toEqual([
        ['run-a', 'crm:dynamics', 'created', 'lead-1', { fields: 12 }],
        [
          'run-a',
          'crm:salesforce',
          'failed',
          null,
          { code: 'HTTP_ERROR', nested: { list: [1, 2] } },
        ],
        ['run-b', 'crm:dynamics', 'skipped-unchanged', null, null],
        ['run-b', null, 'outcome-sent', null, { action: 'accept' }],
      ]);
      const ids = trail.map((e) => e.id as number);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect((await auditTrail(db(), referralId, { limit: 2 })).map((e) => e.action)).toEqual([
        'skipped-unchanged',
        'outcome-sent',
      ]);
    });
  });

  describe('runs', () => {
    it('start once, finish once, newest first', async () => {
      const first = `run-${randomBytes(4).toString('hex')}`;
      const second = `run-${randomBytes(4).toString('hex')}`;
      await startRun(db(), { runId: first, kind: 'sync' });
      await startRun(db(), { runId: second, kind: 'worker' });
      expect((await ledgerError(startRun(db(), { runId: first, kind: 'sync' }))).message).toBe(
        `run "${first}" already exists; run ids must be unique`,
      );
      await finishRun(db(), first, { status: 'ok', stats: { created: 3, failed: 1 } });
      expect(
        (await ledgerError(finishRun(db(), first, { status: 'failed', stats: {} }))).message,
      ).toBe(
        `illegal run move ok → failed for run "${first}" (ok may move to: nothing (terminal))`,
      );
      expect(
        (await ledgerError(finishRun(db(), 'run-unknown', { status: 'ok', stats: {} }))).message,
      ).toBe('run "run-unknown" does not exist; start it before finishing it');
      const [newest, older] = await lastRuns(db(), 2);
      expect(newest).toMatchObject({
        runId: second,
        kind: 'worker',
        status: 'running',
        finishedAt: null,
        stats: null,
        error: null,
      });
      expect(older).toMatchObject({
        runId: first,
        kind: 'sync',
        status: 'ok',
        stats: { created: 3, failed: 1 },
        error: null,
      });
      expect(older?.finishedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    });
  });

  describe('outbox', () => {
    it("enqueues each outcome once and sends a referral's outcomes in order", async () => {
      const target = freshTarget();
      expect(
        await enqueueOutcomes(db(), [
          outcome('O-1', 'accept', target),
          outcome('O-1', 'win', target),
        ]),
      ).toBe(2);
      expect(
        await enqueueOutcomes(db(), [
          outcome('O-1', 'accept', target),
          outcome('O-2', 'lose', target),
          outcome('O-2', 'lose', target),
        ]),
      ).toBe(1);
      const firstClaim = await claimOutbox(db(), 10, 'run-o1', { target });
      expect(firstClaim.map((r) => [r.referralId, r.action, r.state, r.attempts, r.runId])).toEqual(
        [
          ['O-1', 'accept', 'sending', 1, 'run-o1'],
          ['O-2', 'lose', 'sending', 1, 'run-o1'],
        ],
      );
      expect(firstClaim[0]?.payload).toEqual({ action: 'accept', dealValue: 1200 });
      expect(await claimOutbox(db(), 10, 'run-o1', { target })).toEqual([]);
      const [accept, lose] = firstClaim as [
        (typeof firstClaim)[0] & object,
        (typeof firstClaim)[0] & object,
      ];
      await markOutbox(db(), accept.id, 'sent');
      await markOutbox(db(), lose.id, 'failed', 'Partner Center answered 409');
      const secondClaim = await claimOutbox(db(), 10, 'run-o1', { target });
      expect(secondClaim.map((r) => r.action)).toEqual(['win']);
      await markOutbox(
        db(),
        secondClaim[0]!.id,
        'failed',
        { code: 'HTTP_ERROR', message: 'boom' },
        { nextAttemptAt: '2026-01-01T00:00:00Z' },
      );
      expect(
        (await claimOutbox(db(), 10, 'run-o1', { target })).map((r) => [r.action, r.attempts]),
      ).toEqual([['win', 2]]);
      expect(
        (await claimOutbox(db(), 10, 'run-o2', { target })).map((r) => [
          r.action,
          r.attempts,
          r.lastError,
        ]),
      ).toEqual([['lose', 2, 'Partner Center answered 409']]);
      const rows = await listOutbox(db(), 'O-1');
      expect(
        rows.filter((r) => r.target === target).map((r) => [r.action, r.state, r.sentAt === null]),
      ).toEqual([
        ['accept', 'sent', false],
        ['win', 'sending', true],
      ]);
      expect((await ledgerError(markOutbox(db(), accept.id, 'pending'))).message).toBe(
        `illegal outbox move sent → pending for outbox row ${accept.id} (accept of referral ` +
          `"O-1") (sent may move to: nothing (terminal))`,
      );
      expect((await ledgerError(markOutbox(db(), 987_654, 'sent'))).message).toBe(
        'outbox row 987654 does not exist',
      );
    });

    it('never hands one outcome to two concurrent claimers', async () => {
      const target = freshTarget();
      const referralIds = Array.from({ length: 30 }, (_, i) => `OC-${String(i).padStart(2, '0')}`);
      expect(
        await enqueueOutcomes(
          db(),
          referralIds.map((id) => outcome(id, 'accept', target)),
        ),
      ).toBe(30);
      const others = await Promise.all([
        openLedger(harness.config()),
        openLedger(harness.config()),
      ]);
      try {
        const claimers = [harness.ledger(), ...others, harness.ledger(), ...others];
        const claims = await Promise.all(
          claimers.map((ledger, i) => claimOutbox(ledger.db, 7, `run-oc${i}`, { target })),
        );
        const claimed = claims.flat().map((row) => row.referralId);
        expect(claimed.length).toBe(30);
        expect([...new Set(claimed)].sort()).toEqual(referralIds);
      } finally {
        await Promise.all(others.map((l) => l.close()));
      }
    });
  });

  describe('due work', () => {
    it('finds the next retry, attempt or lease after now, and which leases ran out', async () => {
      const failure = { code: 'HTTP_ERROR', message: 'Partner Center said 503' };
      const ledger = await openLedger(harness.freshConfig());
      try {
        const db = ledger.db;
        expect(await nextDueAt(db, NOW)).toBeNull();
        await transitionSyncStates(db, 'crm:due', [
          { referralId: 'PAST', to: 'failed', error: failure, nextRetryAt: '2026-11-24T09:00:00Z' },
          { referralId: 'SOON', to: 'failed', error: failure, nextRetryAt: '2026-11-24T10:00:40Z' },
        ]);
        expect(await nextDueAt(db, NOW)).toEqual({
          at: '2026-11-24T10:00:40.000Z',
          leaseOnly: false,
        });
        await enqueueOutcomes(db, [outcome('D-1', 'accept', 'crm:due')]);
        const [row] = await claimOutbox(db, 1, 'run-d1', { target: 'crm:due' });
        await markOutbox(db, row!.id, 'failed', failure, {
          nextAttemptAt: '2026-11-24T10:00:20Z',
        });
        expect(await nextDueAt(db, NOW)).toEqual({
          at: '2026-11-24T10:00:20.000Z',
          leaseOnly: false,
        });
        await enqueueOutcomes(db, [outcome('D-2', 'accept', 'crm:due')]);
        await claimOutbox(db, 1, 'run-d2', {
          target: 'crm:due',
          now: '2026-11-24T09:59:00Z',
          lease: { owner: 'killed-worker', until: '2026-11-24T10:00:10Z' },
        });
        expect(await nextDueAt(db, NOW)).toEqual({
          at: '2026-11-24T10:00:10.000Z',
          leaseOnly: true,
        });
        expect(await expiredClaims(db, NOW)).toBe(0);
        expect(await expiredClaims(db, '2026-11-24T10:00:10Z')).toBe(1);
        expect(await nextDueAt(db, '2026-11-24T10:00:30Z')).toEqual({
          at: '2026-11-24T10:00:40.000Z',
          leaseOnly: false,
        });
      } finally {
        await ledger.close();
      }
    });
  });

  describe('alerts', () => {
    it('are recorded once per key', async () => {
      const key = `hot-lead:R-${randomBytes(4).toString('hex')}`;
      expect(await recordAlertOnce(db(), { key, kind: 'hot-lead', referralId: 'R-1' })).toBe(true);
      expect(await recordAlertOnce(db(), { key, kind: 'hot-lead', referralId: 'R-1' })).toBe(false);
      await forgetAlert(db(), key);
      expect(await recordAlertOnce(db(), { key, kind: 'hot-lead' })).toBe(true);
    });
  });

  describe('transactions', () => {
    it('keep all writes of a page or none', async () => {
      const target = freshTarget();
      const writePage = async (trx: Knex.Transaction, referralId: string) => {
        await upsertLinks(trx, [{ referralId, target, crmRecordId: `crm-${referralId}` }]);
        await transitionSyncStates(trx, target, [{ referralId, to: 'applied' }]);
        await appendAudit(trx, [{ runId: 'run-t', referralId, target, action: 'created' }]);
        await enqueueOutcomes(trx, [outcome(referralId, 'accept', target)]);
        await setCursor(trx, `cursor-${target}`, referralId);
      };
      await expect(
        harness.ledger().transaction(async (trx) => {
          await writePage(trx, 'LOST');
          throw new Error('the page failed half-way');
        }),
      ).rejects.toThrow('the page failed half-way');
      await harness.ledger().transaction((trx) => writePage(trx, 'KEPT'));
      expect([...(await getLinks(db(), target, ['LOST', 'KEPT'])).keys()]).toEqual(['KEPT']);
      expect([...(await getSyncStates(db(), target, ['LOST', 'KEPT'])).keys()]).toEqual(['KEPT']);
      expect(await auditTrail(db(), 'LOST')).toEqual([]);
      expect(await listOutbox(db(), 'LOST')).toEqual([]);
      expect(await getCursor(db(), `cursor-${target}`)).toBe('KEPT');
    });
  });
}

describe('ledger on SQLite', () => {
  let dir = '';
  let ledger: Ledger;
  let fresh = 0;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-ledger-'));
    ledger = await openLedger({
      client: 'sqlite',
      filename: path.join(dir, 'nested', 'ledger.db'),
    });
  });
  afterAll(async () => {
    await ledger?.close();
    await rm(dir, { recursive: true, force: true });
  });
  defineLedgerSuite({
    ledger: () => ledger,
    config: () => ({ client: 'sqlite', filename: path.join(dir, 'nested', 'ledger.db') }),
    freshConfig: () => ({ client: 'sqlite', filename: path.join(dir, `fresh-${++fresh}.db`) }),
  });

  it('creates the directory and runs with WAL, foreign keys and a busy timeout', async () => {
    expect(await readdir(path.join(dir, 'nested'))).toContain('ledger.db');
    expect(await ledger.db.raw('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    expect(await ledger.db.raw('PRAGMA foreign_keys')).toEqual([{ foreign_keys: 1 }]);
    expect(await ledger.db.raw('PRAGMA busy_timeout')).toEqual([{ timeout: 5000 }]);
  });

  it('refuses a file that is not a SQLite database and leaves it untouched', async () => {
    const file = path.join(dir, 'not-a-ledger.db');
    const garbage = Buffer.from('this is a spreadsheet export, not a database\n'.repeat(200));
    await writeFile(file, garbage);
    const error = await ledgerError(openLedger({ client: 'sqlite', filename: file }));
    expect(error.message).toBe(
      `ledger file ${file} is not a SQLite database (its header is not "SQLite format 3"); it ` +
        `was left untouched — move it away or point ledger.filename elsewhere`,
    );
    expect((await readFile(file)).equals(garbage)).toBe(true);
    expect((await readdir(dir)).filter((name) => name.startsWith('not-a-ledger'))).toEqual([
      'not-a-ledger.db',
    ]);
  });

  it('reports a file locked by another process', async () => {
    const file = path.join(dir, 'locked.db');
    const holder = new sqlite3.Database(file);
    const exec = (sql: string) =>
      new Promise<void>((resolve, reject) =>
        holder.exec(sql, (error) => (error ? reject(error) : resolve())),
      );
    try {
      await exec('CREATE TABLE held (x); BEGIN EXCLUSIVE; INSERT INTO held VALUES (1);');
      const error = await ledgerError(
        openLedger({ client: 'sqlite', filename: file, busyTimeoutMs: 50 }),
      );
      expect(error.message).toBe(
        `ledger file ${file} is locked by another process (SQLITE_BUSY); stop it or wait, then ` +
          `retry`,
      );
      expect(error.retryable).toBe(true);
      await exec('COMMIT;');
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
    const opened = await openLedger({ client: 'sqlite', filename: file });
    expect(await migrationNames(opened)).toEqual([
      '0001_initial',
      '0002_referral_echoes',
      '0003_claim_leases',
      '0004_link_conversion',
      '0005_console_facts',
      '0006_tenant_column',
    ]);
    await opened.close();
  });
});

describeWithPg('ledger on PostgreSQL', (url) => {
  const schemas: string[] = [];
  const newSchema = () => {
    const schema = `lb_test_${randomBytes(5).toString('hex')}`;
    schemas.push(schema);
    return schema;
  };
  const mainSchema = newSchema();
  const config = (schema: string): LedgerConfig => ({ client: 'pg', connection: url, schema });
  let ledger: Ledger;
  beforeAll(async () => {
    ledger = await openLedger(config(mainSchema));
  });
  afterAll(async () => {
    if (!ledger) return;
    for (const schema of schemas) await ledger.db.raw('drop schema if exists ?? cascade', [schema]);
    await ledger.close();
  });
  defineLedgerSuite({
    ledger: () => ledger,
    config: () => config(mainSchema),
    freshConfig: () => config(newSchema()),
  });

  it('lives in its own schema', async () => {
    const result = (await ledger.db.raw('select current_schema() as schema')) as {
      rows: Array<{ schema: string }>;
    };
    expect(result.rows).toEqual([{ schema: mainSchema }]);
  });

  it('skips rows another transaction has claimed instead of waiting for them', async () => {
    const target = 'crm:skip-locked';
    const ids = Array.from({ length: 10 }, (_, i) => `S-${i}`);
    await transitionSyncStates(
      ledger.db,
      target,
      ids.map((referralId) => ({
        referralId,
        to: 'failed',
        error: { code: 'HTTP_ERROR', message: 'boom' },
        nextRetryAt: '2026-11-24T09:00:00Z',
      })),
    );
    await ledger.transaction(async (trx) => {
      const held = await claimDueRetries(trx, target, NOW, 5, 'run-held');
      const meanwhile = await claimDueRetries(ledger.db, target, NOW, 10, 'run-meanwhile');
      expect(held).toEqual(ids.slice(0, 5));
      expect(meanwhile).toEqual(ids.slice(5));
    });
    const outboxTarget = 'crm:skip-locked-outbox';
    await enqueueOutcomes(
      ledger.db,
      ids.map((id) => outcome(id, 'accept', outboxTarget)),
    );
    await ledger.transaction(async (trx) => {
      const held = await claimOutbox(trx, 4, 'run-held', { target: outboxTarget });
      const meanwhile = await claimOutbox(ledger.db, 10, 'run-meanwhile', { target: outboxTarget });
      expect(held.map((row) => row.referralId)).toEqual(ids.slice(0, 4));
      expect(meanwhile.map((row) => row.referralId)).toEqual(ids.slice(4));
    });
  });

  it('checks a move against the row another worker created while it waited', async () => {
    const target = 'crm:race';
    let waiting: Promise<unknown> = Promise.resolve();
    await ledger.transaction(async (trx) => {
      await transitionSyncStates(trx, target, [
        { referralId: 'R', to: 'applied', runId: 'run-first' },
      ]);
      waiting = transitionSyncStates(ledger.db, target, [
        { referralId: 'R', to: 'failed', error: { code: 'HTTP_ERROR', message: 'boom' } },
      ]).then(
        () => null,
        (error: unknown) => error,
      );
      await untilSomeoneWaitsOnALock(ledger);
    });
    const error = await waiting;
    expect(error).toBeInstanceOf(LeadbridgeError);
    expect((error as Error).message).toBe(
      `illegal sync-state move applied → failed for referral "R" on target "${target}" ` +
        `(applied may move to: pending)`,
    );
    expect((await getSyncStates(ledger.db, target, ['R'])).get('R')).toMatchObject({
      state: 'applied',
      runId: 'run-first',
    });
  });
});
