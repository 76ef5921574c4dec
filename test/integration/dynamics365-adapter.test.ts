// Integration tests of the Dynamics 365 adapter against the Dataverse simulator over loopback HTTP.
import PQueue from 'p-queue';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY } from '../../src/core/retry.js';
import type { CrmChangePage, CrmRecordState, MappedRecord } from '../../src/crm/adapter.js';
import { dynamics365Module } from '../../src/crm/dynamics365/module.js';
import { DynamicsAdapter } from '../../src/crm/dynamics365/adapter.js';
import {
  createDynamicsSimulator,
  type DynamicsSimulator,
} from '../../src/simulators/dynamics365/index.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const fastRetries = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1, maxDelayMs: 5 };

let sim: DynamicsSimulator;
let crm: DynamicsAdapter;

beforeEach(async () => {
  sim = createDynamicsSimulator({ port: 0 });
  await sim.start();
  crm = new DynamicsAdapter({
    target: 'd365',
    retryPolicy: fastRetries,
    settings: { url: sim.url, auth: { kind: 'static', token: 'sim-token' } },
  });
});

afterEach(async () => {
  await crm.close();
  await sim.stop();
});

const leadRecord = (n: number, extra: Record<string, unknown> = {}): MappedRecord => ({
  referralId: `ref-${String(n).padStart(5, '0')}`,
  fields: {
    subject: `Referral ${n}`,
    lastname: `Customer ${n}`,
    companyname: `Company ${n}`,
    estimatedvalue: 1000 + n,
    ...extra,
  },
});

async function admin(path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path} → ${response.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Drains readChanges, returning every page. */
async function changesSince(since: string | null): Promise<CrmChangePage[]> {
  const pages: CrmChangePage[] = [];
  for await (const page of crm.readChanges(since)) pages.push(page);
  return pages;
}

/** Moves the simulator's clock to the next second: Dataverse stamps modifiedon in whole seconds. */
const nextSecond = () => sim.server.clock.advance(1000);

const batchCalls = () =>
  sim.server.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/$batch'));

describe('DynamicsAdapter against the Dataverse simulator', () => {
  it('is registered as the dynamics365 kind', async () => {
    const made = await dynamics365Module.createAdapter({
      target: 'x',
      settings: { url: sim.url, auth: { kind: 'static', token: 't' } },
    });
    expect(made).toBeInstanceOf(DynamicsAdapter);
    expect(made.maxBatchSize).toBe(500);
    await made.close?.();
  });

  it('creates 1,200 leads in 3 $batch calls, then updates them all by referral id', async () => {
    const records = Array.from({ length: 1200 }, (_, i) => leadRecord(i));
    const created = await crm.upsertLeads(records);
    expect(batchCalls().map((r) => r.status)).toEqual([200, 200, 200]);
    expect(created.map((r) => r.referralId)).toEqual(records.map((r) => r.referralId));
    expect(created.every((r) => r.ok && r.created && GUID.test(r.recordId))).toBe(true);
    expect(sim.store.leads.size).toBe(1200);
    const stored = sim.store.findLeadByKey('ref-00007');
    const seventh = created[7];
    expect(seventh?.ok && stored?.leadid === seventh.recordId).toBe(true);
    expect(stored).toMatchObject({
      subject: 'Referral 7',
      lastname: 'Customer 7',
      estimatedvalue: 1007,
      lb_referralid: 'ref-00007',
    });

    const updated = await crm.upsertLeads(
      records.map((r) => ({
        ...r,
        fields: { ...r.fields, subject: `${String(r.fields.subject)} (updated)` },
      })),
    );
    expect(batchCalls()).toHaveLength(6);
    expect(updated.every((r) => r.ok && !r.created)).toBe(true);
    expect(updated.map((r) => (r.ok ? r.recordId : null))).toEqual(
      created.map((r) => (r.ok ? r.recordId : null)),
    );
    expect(sim.store.leads.size).toBe(1200);
    expect(sim.store.findLeadByKey('ref-00007')?.subject).toBe('Referral 7 (updated)');
    expect(crm.callCount).toBe(6);
  });

  it(
    'fails only the record with an unknown column, with the simulator message ' + 'verbatim',
    async () => {
      const records = Array.from({ length: 10 }, (_, i) =>
        leadRecord(i, i === 3 ? { lb_bogus: 'x' } : {}),
      );
      const results = await crm.upsertLeads(records);
      expect(results.filter((r) => r.ok)).toHaveLength(9);
      expect(results[3]).toEqual({
        referralId: 'ref-00003',
        ok: false,
        error: {
          code: '0x80060888',
          message: "The property 'lb_bogus' does not exist on type 'Microsoft.Dynamics.CRM.lead'.",
          retryable: false,
          status: 400,
          fields: ['lb_bogus'],
        },
      });
      expect(sim.store.leads.size).toBe(9);
      expect(sim.store.findLeadByKey('ref-00003')).toBeUndefined();
      expect(batchCalls()).toHaveLength(1);
    },
  );

  it('rides out a storm of three 429s on the $batch call', async () => {
    sim.server.faults.configure({ rules: [{ kind: '429', count: 3, retryAfterSeconds: 0 }] });
    const results = await crm.upsertLeads(Array.from({ length: 5 }, (_, i) => leadRecord(i)));
    expect(results.every((r) => r.ok && r.created)).toBe(true);
    expect(batchCalls().map((r) => r.status)).toEqual([429, 429, 429, 200]);
    expect(sim.server.counters().faultsInjected).toBe(3);
    expect(crm.callCount).toBe(4);
  });

  it('reads back exactly the leads whose state changed after the cursor', async () => {
    const written = await crm.upsertLeads(Array.from({ length: 6 }, (_, i) => leadRecord(i)));
    const first = await changesSince(null);
    expect(first.flatMap((p) => p.records.map((r) => r.referralId)).sort()).toEqual([
      'ref-00000',
      'ref-00001',
      'ref-00002',
      'ref-00003',
      'ref-00004',
      'ref-00005',
    ]);
    const cursor = first.at(-1)?.cursor ?? null;
    expect(cursor).toBe(sim.store.findLeadByKey('ref-00005')?.modifiedon);

    const idOf = (i: number) => (written[i]?.ok ? written[i].recordId : '');
    nextSecond();
    await admin(`/_sim/leads/${idOf(4)}/state`, { statecode: 2, statuscode: 4 });
    nextSecond();
    await admin(`/_sim/leads/${idOf(1)}/state`, { statecode: 0, statuscode: 2 });
    const pages = await changesSince(cursor);
    expect(pages).toHaveLength(1);
    const records = pages[0]?.records ?? [];
    expect(
      records.map((r) => [
        r.referralId,
        r.recordId,
        r.fields.statecode,
        r.fields.statuscode,
        r.opportunity,
      ]),
    ).toEqual([
      ['ref-00004', idOf(4), 2, 4, null],
      ['ref-00001', idOf(1), 0, 2, null],
    ]);
    expect(pages[0]?.cursor).toBe(sim.store.findLeadByKey('ref-00001')?.modifiedon);
    expect(await changesSince(pages[0]?.cursor ?? null)).toEqual([]);
  });

  it('reads a qualified lead together with its won opportunity', async () => {
    const [written] = await crm.upsertLeads([leadRecord(42)]);
    const leadId = written?.ok ? written.recordId : '';
    const cursor = (await changesSince(null)).at(-1)?.cursor ?? null;
    nextSecond();

    const qualified = (await admin(`/_sim/leads/${leadId}/qualify`, {})) as {
      value: { entity: string; opportunityid?: string }[];
    };
    const opportunityId =
      qualified.value.find((r) => r.entity === 'opportunity')?.opportunityid ?? '';
    expect(opportunityId).toMatch(GUID);
    await admin(`/_sim/opportunities/${opportunityId}/win`, {
      actualvalue: 5000,
      actualclosedate: '2025-06-30',
    });

    const records = (await changesSince(cursor)).flatMap((p) => p.records);
    expect(records).toHaveLength(1);
    const state = records[0] as CrmRecordState;
    expect(state).toMatchObject({
      referralId: 'ref-00042',
      recordId: leadId,
      entity: 'lead',
      fields: { statecode: 1, statuscode: 3, _qualifyingopportunityid_value: opportunityId },
      opportunity: {
        recordId: opportunityId,
        fields: {
          statecode: 1,
          statuscode: 3,
          actualvalue: 5000,
          actualclosedate: '2025-06-30',
          _originatingleadid_value: leadId,
        },
      },
    });
    expect(state.modifiedAt).toBe(state.opportunity?.modifiedAt);

    expect(await crm.getByReferralId('ref-00042')).toEqual(state);

    // Only the opportunity changes now: its lead is looked up by referral id so that the state is
    // complete.
    const since = sim.store.opportunities.get(opportunityId)?.modifiedon as string;
    nextSecond();
    const edited = await fetch(`${sim.url}/_sim/opportunities/${opportunityId}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Renamed deal' }),
    });
    expect(edited.status).toBe(200);
    const before = sim.server.requests().at(-1)?.seq ?? 0;
    const later = await changesSince(since);
    expect(
      later.map((p) =>
        p.records.map((r) => [r.recordId, r.fields.statecode, r.opportunity?.fields.name]),
      ),
    ).toEqual([[[leadId, 1, 'Renamed deal']]]);
    expect(later[0]?.cursor).toBe(sim.store.opportunities.get(opportunityId)?.modifiedon);
    const lookups = sim.server
      .requests(before)
      .map((r) => decodeURIComponent(r.path))
      .filter((path) => path.includes(" eq '"));
    expect(lookups).toEqual([
      expect.stringMatching(/\/leads\?.*\$filter=lb_referralid eq 'ref-00042'$/),
    ]);
  });

  it('finds one lead by referral id, and null for an unknown one', async () => {
    const [written] = await crm.upsertLeads(
      [leadRecord(7, { subject: "O'Brien's deal" }), leadRecord(8)].map((r, i) =>
        i === 0 ? { ...r, referralId: "O'Brien" } : r,
      ),
    );
    const found = await crm.getByReferralId("O'Brien");
    expect(found).toMatchObject({
      referralId: "O'Brien",
      recordId: written?.ok ? written.recordId : 'missing',
      entity: 'lead',
      fields: { subject: "O'Brien's deal", statecode: 0, statuscode: 1, lb_referralid: "O'Brien" },
      opportunity: null,
    });
    expect(await crm.getByReferralId('no-such-referral')).toBeNull();
  });
});

describe('DynamicsAdapter and Dataverse service protection', () => {
  it(
    'holds every request of the user for a 429’s Retry-After, then finishes the work; the ' +
      'simulator sends both budget headers',
    async () => {
      const limited = createDynamicsSimulator({
        port: 0,
        limits: { requestsPerWindow: 4, windowMs: 1_000 },
      });
      await limited.start();
      const queue = new PQueue({ concurrency: 2 });
      const adapter = new DynamicsAdapter({
        target: 'd365',
        retryPolicy: fastRetries,
        limiter: queue,
        settings: { url: limited.url, auth: { kind: 'static', token: 't' } },
      });
      try {
        // Each lookup is two GETs (the lead by key, then opportunities by referral id): six
        // requests
        // against four a second.
        expect(await Promise.all(['a', 'b', 'c'].map((id) => adapter.getByReferralId(id)))).toEqual(
          [null, null, null],
        );
        const log = limited.server.requests();
        const refused = log.filter((entry) => entry.status === 429);
        expect(refused.length).toBeGreaterThan(0);
        const holdEnds = Date.parse(refused[0]!.at) + 1_000;
        // Requests in flight arrived before the first 429; none may arrive after it until its
        // Retry-After has passed.
        const duringHold = log.filter(
          (entry) => entry.seq > refused[0]!.seq && Date.parse(entry.at) < holdEnds - 50,
        );
        expect(duringHold).toEqual([]);
        expect(queue.isPaused).toBe(false);
        const answer = await fetch(`${limited.apiUrl}WhoAmI`, {
          headers: {
            Authorization: 'Bearer other',
            'OData-Version': '4.0',
            'OData-MaxVersion': '4.0',
          },
        });
        expect(answer.headers.get('x-ms-ratelimit-burst-remaining-xrm-requests')).toBe('3');
        expect(answer.headers.get('x-ms-ratelimit-time-remaining-xrm-requests')).toBe('1200.00');
      } finally {
        await adapter.close();
        await limited.stop();
      }
    },
  );
});
