// retry --quarantined on the outbox: a refused outcome goes back to pending, an incomplete one is
// flagged for a CRM re-read.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  clearRecheckRequests,
  enqueueOutcomes,
  listOutbox,
  listOutboxByState,
  listRecheckRequests,
  markOutbox,
  openLedger,
  retryQuarantinedOutbox,
  type Ledger,
} from '../../src/ledger/index.js';
import { describeWithPg } from './support/pg.js';

let ledger: Ledger;

const row = (referralId: string, target = 'dynamics') => ({
  referralId,
  target,
  action: 'accept',
  payload: { outcome: 'accepted' },
  dedupeKey: `${target}:${referralId}:accept`,
});

describe('retryQuarantinedOutbox on SQLite', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-outbox-retry-'));
    ledger = await openLedger({ client: 'sqlite', filename: path.join(dir, 'ledger.sqlite') });
  });
  afterEach(async () => {
    await ledger.close();
    await rm(dir, { recursive: true, force: true });
  });
  it(
    'sends refused outcomes again with a fresh budget and flags incomplete ones for a re-read, ' +
      'per target and id',
    retryCase,
  );
});

describeWithPg('retryQuarantinedOutbox on PostgreSQL', (url) => {
  const schema = `lb_test_${randomBytes(5).toString('hex')}`;
  beforeEach(async () => {
    ledger = await openLedger({ client: 'pg', connection: url, schema });
  });
  afterEach(async () => {
    await ledger.db.raw('drop schema if exists ?? cascade', [schema]);
    await ledger.close();
  });
  it(
    'sends refused outcomes again with a fresh budget and flags incomplete ones for a re-read, ' +
      'per target and id',
    retryCase,
  );
});

/** Run against each dialect: the queries differ (null handling, returning counts). */
async function retryCase(): Promise<void> {
  await enqueueOutcomes(ledger.db, [
    row('r-refused'),
    row('r-incomplete'),
    row('r-other', 'salesforce'),
  ]);
  const [refused] = await listOutbox(ledger.db, 'r-refused');
  const [incomplete] = await listOutbox(ledger.db, 'r-incomplete');
  const [other] = await listOutbox(ledger.db, 'r-other');
  await markOutbox(ledger.db, refused!.id, 'quarantined', {
    code: 'VALIDATION_FAILED',
    message: 'Partner Center refused accept: closingDateTime is in the past',
  });
  await markOutbox(ledger.db, incomplete!.id, 'quarantined', {
    code: 'OUTCOME_INCOMPLETE',
    message: 'dealValue is missing',
  });
  await markOutbox(ledger.db, other!.id, 'quarantined', {
    code: 'OUTCOME_INCOMPLETE',
    message: 'closingDateTime is missing',
  });
  expect(
    (await listOutboxByState(ledger.db, 'quarantined', { target: 'dynamics', limit: 10 })).map(
      (r) => r.referralId,
    ),
  ).toEqual(['r-refused', 'r-incomplete']);

  expect(
    await retryQuarantinedOutbox(ledger.db, { target: 'dynamics', now: '2026-12-04T10:00:00Z' }),
  ).toEqual({ resend: 1, recheck: 1 });
  expect((await listOutbox(ledger.db, 'r-refused'))[0]).toMatchObject({
    state: 'pending',
    attempts: 0,
  });
  expect((await listOutbox(ledger.db, 'r-incomplete'))[0]).toMatchObject({
    state: 'quarantined',
    lastError: 'dealValue is missing',
  });
  expect((await listRecheckRequests(ledger.db, 'dynamics')).map((r) => r.referralId)).toEqual([
    'r-incomplete',
  ]);
  expect(await listRecheckRequests(ledger.db, 'salesforce')).toEqual([]);

  await clearRecheckRequests(ledger.db, [incomplete!.id]);
  expect(await listRecheckRequests(ledger.db, 'dynamics')).toEqual([]);
  expect(
    await retryQuarantinedOutbox(ledger.db, {
      referralIds: ['r-other'],
      now: '2026-12-04T10:00:00Z',
    }),
  ).toEqual({ resend: 0, recheck: 1 });
}
