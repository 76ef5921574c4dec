// The Partner Center simulator in documented mode and the client against it: nextLinks as the
// vendor documents them.
import { randomUUID } from 'node:crypto';
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticToken } from '../../src/core/auth.js';
import {
  createPartnerCenterSimulator,
  type PartnerCenterSimulator,
} from '../../src/simulators/partner-center/index.js';
import {
  INDUSTRY_TAGS,
  PRODUCT_TAGS,
  SERVICE_TAGS,
} from '../../src/simulators/partner-center/vocabulary.js';
import { PartnerCenterClient } from '../../src/source/partner-center/index.js';

const REFERRALS = '/v1.0/engagements/referrals';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
let sim: PartnerCenterSimulator;
let base: string;

async function get(
  path: string,
  headers: Record<string, string> = { 'client-request-id': randomUUID() },
): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(`${base}${path}`, {
    headers: { Authorization: 'Bearer t', ...headers },
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

beforeAll(async () => {
  sim = createPartnerCenterSimulator({ seed: 11, referrals: 1_000, documentedLinks: true });
  base = await sim.start();
});
afterAll(async () => {
  nock.enableNetConnect();
  await sim.stop();
});

describe('documented list pages', () => {
  it(
    'serves the nextLink as the documented examples show it, without eTag on list items, with ' +
      'Tag objects',
    async () => {
      const first = await get(`${REFERRALS}?$orderby=${encodeURIComponent('updatedDateTime asc')}`);
      expect(first.status).toBe(200);
      expect(first.body['@odata.context']).toBe(
        'http://api.partner.microsoft.com/v1.0/$metadata#Referrals',
      );
      expect(first.body['@odata.count']).toBe(1_000);
      expect(first.body['@odata.nextLink']).toMatch(
        /^http:\/\/api\.partner\.microsoft\.com\/v1\.0\/referrals\?\$skiptoken=[^&]+$/,
      );
      expect(first.body.value).toHaveLength(100);
      expect(first.body.value.filter((item: Record<string, unknown>) => 'eTag' in item)).toEqual(
        [],
      );
      const requirements = first.body.value.map((item: any) => item.details.requirements);
      const tags = (name: string) => requirements.flatMap((r: any) => r[name]);
      expect(
        tags('products').every(
          (tag: any) => PRODUCT_TAGS.includes(tag.id) && Object.keys(tag).length === 1,
        ),
      ).toBe(true);
      expect(tags('services').every((tag: any) => SERVICE_TAGS.includes(tag.id))).toBe(true);
      expect(tags('industries').every((tag: any) => INDUSTRY_TAGS.includes(tag.id))).toBe(true);
      expect(
        tags('solutions').every(
          (tag: any) => tag.type === 'Category' && typeof tag.name === 'string',
        ),
      ).toBe(true);

      // The skiptoken alone continues the same query on the real list path.
      const query = new URL(first.body['@odata.nextLink']).search;
      const second = await get(`${REFERRALS}${query}`);
      expect(second.status).toBe(200);
      expect(second.body.value[0].updatedDateTime >= first.body.value[99].updatedDateTime).toBe(
        true,
      );
      const byId = await get(`${REFERRALS}/${first.body.value[0].id}`);
      expect(byId.body.eTag).toMatch(/^"[0-9a-f]{8}-0000-0000-0000-[0-9a-f]{12}"$/);
    },
  );

  it('keeps $filter across documented pages', async () => {
    const filter = encodeURIComponent("qualification eq 'Direct'");
    let page = await get(`${REFERRALS}?$filter=${filter}`);
    const seen: string[] = [];
    for (;;) {
      seen.push(...page.body.value.map((item: any) => item.qualification));
      const next = page.body['@odata.nextLink'];
      if (!next) break;
      page = await get(`${REFERRALS}${new URL(next).search}`);
    }
    expect(seen.length).toBe(page.body['@odata.count']);
    expect(new Set(seen)).toEqual(new Set(['Direct']));
  });

  it('requires client-request-id (a GUID), echoes it, and answers with a request-id', async () => {
    const missing = await get(REFERRALS, {});
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({
      error: {
        code: 'invalidRequest',
        message:
          'client-request-id is required: send a new GUID with every call (Partner REST headers)',
      },
    });
    const notGuid = await get(REFERRALS, { 'client-request-id': 'abc' });
    expect(notGuid.body).toEqual({
      error: { code: 'invalidRequest', message: "client-request-id must be a GUID (got 'abc')" },
    });
    const id = randomUUID();
    const ok = await get(`${REFERRALS}?$top=1`, { 'client-request-id': id });
    expect(ok.headers.get('client-request-id')).toBe(id);
    expect(ok.headers.get('request-id')).toMatch(GUID);
    const unknown = await get(`${REFERRALS}/00000000-0000-4000-8000-000000000000`);
    expect(unknown.body).toEqual({
      error: {
        code: 'itemNotFound',
        message: "referral '00000000-0000-4000-8000-000000000000' was not found",
      },
    });
  });
});

describe('the client against documented pages', () => {
  it(
    'pages 1,000 referrals through documented nextLinks; every request goes to the configured ' +
      'base, no token leaves',
    async () => {
      // Any connection to another host (api.partner.microsoft.com over http included) fails the
      // listing.
      nock.disableNetConnect();
      nock.enableNetConnect('127.0.0.1');
      const client = new PartnerCenterClient({
        baseUrl: base,
        credential: staticToken('sim-token'),
      });
      const since = sim.server.requests().at(-1)?.seq ?? 0;
      const ids: string[] = [];
      let pages = 0;
      for await (const page of client.listChanged(null)) {
        pages++;
        expect(page.invalid).toEqual([]);
        ids.push(...page.referrals.map((r) => r.id));
      }
      nock.enableNetConnect();
      expect(pages).toBe(10);
      expect(ids).toHaveLength(1_000);
      expect(new Set(ids).size).toBe(1_000);
      const calls = sim.server.requests(since);
      expect(calls).toHaveLength(10);
      expect(
        calls.filter((call) => call.path.split('?')[0] !== REFERRALS || call.status !== 200),
      ).toEqual([]);
      expect(
        calls
          .slice(1)
          .every((call) => /^\/v1\.0\/engagements\/referrals\?\$skiptoken=[^&]+$/.test(call.path)),
      ).toBe(true);
    },
  );
});
