// The HubSpot adapter's write and read steps against a fake HubSpotCalls port (no I/O).
import { describe, expect, it } from 'vitest';
import type { CrmItemError } from '../../src/crm/adapter.js';
import type { HubSpotCalls, SearchRequest, UpsertedRow } from '../../src/crm/hubspot/calls.js';
import { readChangePages } from '../../src/crm/hubspot/changes.js';
import { writeReferrals } from '../../src/crm/hubspot/upsert.js';

type Call = { kind: string; object: string; size: number };

/**
 * A portal in memory; inputs whose properties hold `bad` make their whole call fail with a 400, as
 * HubSpot does.
 */
function fakePortal(existingDeals: string[] = [], taken: string[] = []) {
  const calls: Call[] = [];
  const links: string[] = [];
  let nextId = 100;
  const refusal = () =>
    Object.assign(new Error('400'), {
      code: 400,
      headers: {},
      body: {
        status: 'error',
        message: 'Property values were not valid',
        category: 'VALIDATION_ERROR',
        errors: [{ message: 'bad', context: { propertyName: ['amount'] } }],
      },
    });
  const port: HubSpotCalls = {
    async upsert(object, inputs) {
      calls.push({ kind: 'upsert', object, size: inputs.length });
      if (inputs.some((i) => Object.values(i.properties).includes('bad'))) throw refusal();
      return inputs.map((i): UpsertedRow => ({
        id: String(nextId++),
        properties: { leadbridge_referral_id: i.id, ...i.properties },
        created: !(object === 'deals' && existingDeals.includes(i.id)),
      }));
    },
    async create(object, inputs) {
      calls.push({ kind: 'create', object, size: inputs.length });
      links.push(...inputs.map((i) => `${object} ${i.id} → ${i.associations.map((a) => a.to)}`));
      return inputs.map((i): UpsertedRow | { error: CrmItemError } =>
        taken.includes(`${object}:${i.id}`)
          ? { error: { code: 'CONFLICT', message: 'exists', retryable: false } }
          : Object.values(i.properties).includes('bad')
            ? { error: { code: 'VALIDATION_ERROR', message: 'bad value', retryable: false } }
            : {
                id: String(nextId++),
                properties: { leadbridge_referral_id: i.id, ...i.properties },
                created: true,
              },
      );
    },
    async readByReferralIds(object, ids) {
      calls.push({ kind: 'read', object, size: ids.length });
      return object === 'deals'
        ? ids
            .filter((id) => existingDeals.includes(id))
            .map((id) => ({ id: `d-${id}`, properties: { leadbridge_referral_id: id } }))
        : [];
    },
    async search() {
      throw new Error('not used');
    },
    async associate(from, to, pairs) {
      calls.push({ kind: `associate ${from}→${to}`, object: from, size: pairs.length });
      return new Map();
    },
    async associated() {
      calls.push({ kind: 'associated', object: 'deals', size: 0 });
      return new Map();
    },
  };
  return { port, calls, links };
}

const settings = {
  referralIdProperty: 'leadbridge_referral_id',
  pipeline: 'default',
  newDealStage: 'appointmentscheduled',
  batchSize: 100,
};

const record = (n: number, amount: unknown = 10) => ({
  referralId: `r${n}`,
  fields: {
    contact__lastname: `L${n}`,
    company__name: `C${n}`,
    deal__dealname: `D${n}`,
    deal__amount: amount,
  },
});

describe('HubSpot writes', () => {
  it(
    'creates 100 new referrals with one read, one company upsert and two creates carrying ' +
      'their associations, and no association call',
    async () => {
      const { port, calls, links } = fakePortal();
      const results = await writeReferrals(
        port,
        Array.from({ length: 100 }, (_, i) => record(i)),
        settings,
      );
      expect(results.every((r) => r.ok && r.created)).toBe(true);
      expect(calls.map((c) => `${c.kind} ${c.object} ${c.size}`)).toEqual([
        'read deals 100',
        'upsert companies 100',
        'create contacts 100',
        'create deals 100',
      ]);
      expect(links.slice(0, 1)).toEqual(['contacts r0 → companies']);
      expect(links.slice(100, 101)).toEqual(['deals r0 → contacts,companies']);
    },
  );

  it('splits a refused upsert batch until the one bad referral stands alone', async () => {
    const ids = Array.from({ length: 8 }, (_, i) => `r${i}`);
    const { port, calls } = fakePortal(ids);
    const records = Array.from({ length: 8 }, (_, i) => record(i, i === 5 ? 'bad' : 10));
    const results = await writeReferrals(port, records, settings);
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true, true, false, true, true]);
    expect(results[5]).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_ERROR', fields: ['deal__amount'], retryable: false },
    });
    // 8 refused → 4 written, 4 refused → 2 refused → 1 written, 1 refused alone → 2 written.
    expect(
      calls.filter((c) => c.kind === 'upsert' && c.object === 'deals').map((c) => c.size),
    ).toEqual([8, 4, 4, 2, 1, 1, 2]);
  });

  it('fails only the new referral a create refuses (207), in the same one call', async () => {
    const { port, calls } = fakePortal();
    const records = [record(1), record(2, 'bad'), record(3)];
    const results = await writeReferrals(port, records, settings);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(results[1]).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } });
    expect(calls.filter((c) => c.object === 'deals').map((c) => `${c.kind} ${c.size}`)).toEqual([
      'read 3',
      'create 3',
    ]);
  });

  it(
    'writes a deal whose create HubSpot refused as already existing through the upsert, ' +
      'without moving its stage, and associates it',
    async () => {
      const seen: Array<Record<string, string>> = [];
      const { port, calls } = fakePortal([], ['deals:r2']);
      const upsert = port.upsert.bind(port);
      port.upsert = async (object, inputs) => {
        if (object === 'deals') seen.push(...inputs.map((i) => i.properties));
        return upsert(object, inputs);
      };
      const results = await writeReferrals(port, [record(1), record(2)], settings);
      expect(results.map((r) => r.ok)).toEqual([true, true]);
      expect(calls.map((c) => `${c.kind} ${c.object} ${c.size}`)).toEqual([
        'read deals 2',
        'upsert companies 2',
        'create contacts 2',
        'create deals 2',
        'upsert deals 1',
        'associate deals→contacts deals 1',
        'associate deals→companies deals 1',
      ]);
      expect(seen).toEqual([{ dealname: 'D2', amount: '10' }]);
    },
  );

  it(
    'takes the contact a create names as existing (CONFLICT "Existing ID") as it is: no ' +
      'upsert, no association call, the deal created with it',
    async () => {
      const { port, calls, links } = fakePortal();
      const create = port.create.bind(port);
      port.create = async (object, inputs) => {
        if (object !== 'contacts') return create(object, inputs);
        calls.push({ kind: 'create', object, size: inputs.length });
        return inputs.map((i) =>
          i.id === 'r2'
            ? {
                error: {
                  code: 'CONFLICT',
                  message: 'Contact already exists. Existing ID: 4242',
                  retryable: false,
                },
              }
            : { id: `c-${i.id}`, properties: {}, created: true },
        );
      };
      const results = await writeReferrals(port, [record(1), record(2)], settings);
      expect(results.map((r) => r.ok && r.created)).toEqual([true, true]);
      expect(calls.map((c) => `${c.kind} ${c.object} ${c.size}`)).toEqual([
        'read deals 2',
        'upsert companies 2',
        'create contacts 2',
        'create deals 2',
      ]);
      expect(links.slice(-2)).toEqual([
        'deals r1 → contacts,companies',
        'deals r2 → contacts,companies',
      ]);
    },
  );

  it('upserts a contact whose create CONFLICT names no existing id, then links it', async () => {
    const { port, calls } = fakePortal([], ['contacts:r2']);
    const results = await writeReferrals(port, [record(1), record(2)], settings);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    // "exists" without an id: the upsert path writes it (by its referral id), then associates.
    expect(calls.map((c) => `${c.kind} ${c.object} ${c.size}`)).toEqual([
      'read deals 2',
      'upsert companies 2',
      'create contacts 2',
      'upsert contacts 1',
      'create deals 2',
      'associate contacts→companies contacts 1',
    ]);
  });

  it('sends the pipeline and stage only for new deals', async () => {
    const seen: Array<Record<string, string>> = [];
    const { port } = fakePortal(['r1']);
    const upsert = port.upsert.bind(port);
    const create = port.create.bind(port);
    port.upsert = async (object, inputs) => {
      if (object === 'deals') seen.push(...inputs.map((i) => i.properties));
      return upsert(object, inputs);
    };
    port.create = async (object, inputs) => {
      if (object === 'deals') seen.push(...inputs.map((i) => i.properties));
      return create(object, inputs);
    };
    await writeReferrals(port, [record(1), record(2)], settings);
    expect(seen.find((p) => p.dealname === 'D1')).not.toHaveProperty('dealstage');
    expect(seen.find((p) => p.dealname === 'D2')).toMatchObject({
      pipeline: 'default',
      dealstage: 'appointmentscheduled',
    });
  });
});

describe('HubSpot outcome reads', () => {
  it('asks each page from the last (stamp, id) seen, never with an after offset', async () => {
    const requests: SearchRequest[] = [];
    const rows = [1, 2, 3].map((n) => ({
      id: String(n),
      properties: {
        leadbridge_referral_id: `r${n}`,
        hs_lastmodifieddate: '2026-01-01T00:00:00.000Z',
      },
    }));
    const port = {
      async search(object: string, request: SearchRequest) {
        requests.push(request);
        if (object !== 'deals') return { results: [], after: null };
        const page = requests.filter((r) => r.filterGroups.length === 2).length;
        return {
          results: page === 0 ? rows.slice(0, 2) : page === 1 ? rows.slice(2) : [],
          after: null,
        };
      },
      async readByReferralIds() {
        return [];
      },
    } as unknown as HubSpotCalls;
    const pages = [];
    for await (const page of readChangePages(
      { calls: port, referralIdProperty: 'leadbridge_referral_id', pageSize: 2 },
      '2025-12-31T00:00:00.000Z',
    ))
      pages.push(page);
    expect(pages.flatMap((p) => p.records.map((r) => r.referralId))).toEqual(['r1', 'r2', 'r3']);
    const deals = requests.filter((r) => r.sorts[0]?.propertyName === 'hs_lastmodifieddate');
    expect(deals[0]?.filterGroups).toEqual([
      {
        filters: [
          { propertyName: 'leadbridge_referral_id', operator: 'HAS_PROPERTY' },
          { propertyName: 'hs_lastmodifieddate', operator: 'GT', value: '1767139200000' },
        ],
      },
    ]);
    expect(deals[1]?.filterGroups[0]?.filters).toContainEqual({
      propertyName: 'hs_object_id',
      operator: 'GT',
      value: '2',
    });
    expect(requests.every((r) => r.after === undefined)).toBe(true);
  });
});
