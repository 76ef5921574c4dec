// The Partner Center client against the real simulator over loopback HTTP: paging, polling, eTags,
// faults, expiry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticToken } from '../../src/core/auth.js';
import { ConflictError, LeadbridgeError } from '../../src/core/errors.js';
import type { Referral } from '../../src/core/referral.js';
import type { RetryPolicy } from '../../src/core/retry.js';
import { createPartnerCenterSimulator } from '../../src/simulators/partner-center/index.js';
import {
  PartnerCenterClient,
  parsePartnerCenterError,
  type ReferralPage,
} from '../../src/source/partner-center/index.js';

const FAST_RETRIES: RetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 1,
  maxDelayMs: 5,
  maxRetryAfterMs: 10,
  retryableStatuses: [408, 429, 500, 502, 503, 504],
};
const SEEDED = 1_050;
const ACCEPT_FIELDS = {
  dealName: 'Contoso rollout',
  dealValue: 50_000,
  currency: 'USD',
  closingDateTime: '2026-06-30T00:00:00Z',
  notes: 'Wants 200 seats',
};

type Simulator = ReturnType<typeof createPartnerCenterSimulator>;
let sim: Simulator;
let baseUrl: string;

function newClient(): PartnerCenterClient {
  return new PartnerCenterClient({
    baseUrl,
    credential: staticToken('sim-token'),
    retryPolicy: FAST_RETRIES,
  });
}

interface Pass {
  pages: ReferralPage[];
  referrals: Referral[];
  highWatermark: string | null;
}

/**
 * Runs one listing pass, keeping only what the assertions need (this suite is small enough to hold
 * it).
 */
async function listPass(client: PartnerCenterClient, since: string | null): Promise<Pass> {
  const pass: Pass = { pages: [], referrals: [], highWatermark: null };
  for await (const page of client.listChanged(since)) {
    pass.pages.push(page);
    pass.referrals.push(...page.referrals);
    if (page.highWatermark !== null) pass.highWatermark = page.highWatermark;
  }
  return pass;
}

/** Incoming referrals still waiting for an answer: the ones accept, decline and expiry apply to. */
async function newIncomingReferrals(client: PartnerCenterClient): Promise<Referral[]> {
  const all = await listPass(client, null);
  return all.referrals.filter(
    (r) => r.status === 'New' && r.direction === 'Incoming' && r.expirationDateTime,
  );
}

beforeAll(async () => {
  sim = createPartnerCenterSimulator({ port: 0, seed: 7, referrals: SEEDED });
  baseUrl = await sim.start();
});

afterAll(async () => {
  await sim.stop();
});

describe('PartnerCenterClient against the simulator', () => {
  it('pages across every seeded referral, each seen once, in updatedDateTime order', async () => {
    const client = newClient();
    const pass = await listPass(client, null);
    expect(pass.pages).toHaveLength(Math.ceil(SEEDED / 100));
    expect(
      pass.pages.every((page) => page.referrals.length <= 100 && page.invalid.length === 0),
    ).toBe(true);
    expect(pass.referrals).toHaveLength(SEEDED);
    expect(new Set(pass.referrals.map((r) => r.id)).size).toBe(SEEDED);
    const stamps = pass.referrals.map((r) => Date.parse(r.updatedDateTime));
    expect(stamps).toEqual([...stamps].sort((a, b) => a - b));
    expect(client.callCount).toBe(pass.pages.length);
  });

  it('an incremental poll returns exactly the three changed referrals', async () => {
    const client = newClient();
    const full = await listPass(client, null);
    const changed = [full.referrals[10], full.referrals[500], full.referrals[900]].map(
      (r) => r!.id,
    );
    for (const id of changed) sim.store.update(id, { favorite: true });

    const poll = await listPass(client, full.highWatermark);
    expect(poll.referrals.map((r) => r.id).sort()).toEqual([...changed].sort());
    expect(poll.referrals.every((r) => r.favorite === true)).toBe(true);

    const quiet = await listPass(client, poll.highWatermark);
    expect(quiet.referrals).toEqual([]);
  });

  it(
    'accepts a New referral, then refuses a write based on the stale eTag with ' + 'ConflictError',
    async () => {
      const client = newClient();
      const [target] = await newIncomingReferrals(client);
      const stale = { id: target!.id, eTag: target!.eTag! };
      const accepted = await client.accept(stale, {
        ...ACCEPT_FIELDS,
        externalReferenceId: 'crm-1',
      });
      expect(accepted).toMatchObject({
        id: target!.id,
        status: 'Active',
        substatus: 'Accepted',
        name: 'Contoso rollout',
        externalReferenceId: 'crm-1',
        details: expect.objectContaining({
          dealValue: 50_000,
          currency: 'USD',
          notes: 'Wants 200 seats',
        }),
      });
      expect(accepted.eTag).not.toBe(stale.eTag);

      const conflict = client.setExternalReference(stale, 'crm-2');
      await expect(conflict).rejects.toBeInstanceOf(ConflictError);
      await expect(conflict).rejects.toMatchObject({ code: 'CONFLICT', status: 412 });

      const won = await client.markWon(
        { id: accepted.id, eTag: accepted.eTag! },
        { notes: 'signed' },
      );
      expect(won).toMatchObject({ status: 'Closed', substatus: 'Won' });
    },
  );

  it('rides out a storm of injected 429s on reads and 503s on a write', async () => {
    const client = newClient();
    sim.server.faults.configure({ rules: [{ kind: '429', count: 5, retryAfterSeconds: 0 }] });
    const before = sim.server.counters().faultsInjected;
    const throttled = await listPass(client, null);
    expect(throttled.referrals).toHaveLength(SEEDED);
    expect(sim.server.counters().faultsInjected - before).toBe(5);

    sim.server.faults.clear();
    const [target] = await newIncomingReferrals(client);
    sim.server.faults.configure({
      rules: [{ kind: '5xx', status: 503, count: 5, retryAfterSeconds: 0, method: 'PATCH' }],
    });
    const declined = await client.decline(
      { id: target!.id, eTag: target!.eTag! },
      { reason: 'Not a customer' },
    );
    expect(declined).toMatchObject({
      status: 'Closed',
      substatus: 'Declined',
      statusReason: 'Not a customer',
    });
    expect(sim.server.counters().faultsInjected - before).toBe(10);
    sim.server.faults.clear();
  });

  it(
    'surfaces an illegal transition (win a New referral) with the server message, without ' +
      'retrying',
    async () => {
      const client = newClient();
      const [target] = await newIncomingReferrals(client);
      const calls = client.callCount;
      const error = await client.markWon({ id: target!.id, eTag: target!.eTag! }).then(
        () => null,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(LeadbridgeError);
      const failure = error as LeadbridgeError;
      expect(failure).toMatchObject({ code: 'HTTP_ERROR', status: 400, api: 'partner-center' });
      const serverMessage = parsePartnerCenterError(failure.provider).message;
      expect(serverMessage).toBeTruthy();
      expect(failure.message).toContain(serverMessage);
      expect(client.callCount).toBe(calls + 1);
      await expect(client.get(target!.id)).resolves.toMatchObject({
        status: 'New',
        eTag: target!.eTag!,
      });
    },
  );

  it(
    'lets a referral with a malformed optional field flow without it, and reports one missing ' +
      'a required field',
    async () => {
      const client = newClient();
      const [template] = await newIncomingReferrals(client);
      const malformedId = 'f0000000-0000-4000-8000-00000000bad1';
      const brokenId = 'f0000000-0000-4000-8000-00000000bad2';
      const stamp = new Date(sim.server.clock.nowMs()).toISOString();
      const base = { ...template, createdDateTime: stamp, updatedDateTime: stamp };
      sim.store.create(
        {
          ...base,
          id: malformedId,
          eTag: '"bad1"',
          details: { ...(template!.details ?? {}), dealValue: 'lots' },
        },
        { raw: true },
      );
      sim.store.create(
        { ...base, id: brokenId, eTag: '"bad2"', substatus: undefined },
        { raw: true },
      );
      const pass = await listPass(client, null);
      const invalid = pass.pages.flatMap((page) => page.invalid);
      expect(invalid).toHaveLength(1);
      expect(invalid[0]).toMatchObject({
        id: brokenId,
        issues: [
          { path: 'substatus', message: 'Invalid input: expected string, received undefined' },
        ],
      });
      const flowed = pass.referrals.find((r) => r.id === malformedId);
      expect(flowed?.details?.dealValue).toBeUndefined();
      expect(flowed?.details?.notes).toBe(template!.details?.notes);
      expect(pass.referrals).toHaveLength(SEEDED + 1);
    },
  );

  it(
    'shows an unanswered referral as Expired once the simulator clock passes 15 ' + 'days',
    async () => {
      const client = newClient();
      const [target] = await newIncomingReferrals(client);
      sim.server.clock.advance(15 * 86_400_000);
      await expect(client.get(target!.id)).resolves.toMatchObject({
        id: target!.id,
        status: 'Closed',
        substatus: 'Expired',
      });
    },
  );

  it('answers NOT_FOUND for an unknown referral', async () => {
    const client = newClient();
    await expect(client.get('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      status: 404,
    });
  });
});
