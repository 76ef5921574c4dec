// Bad input, Partner Center: malformed referrals through the tolerant reader; the page-mates always
// land.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime } from '../../../src/cli/compose.js';
import type { LogFields, Logger } from '../../../src/core/log.js';
import { auditTrail } from '../../../src/ledger/index.js';
import type { Runtime } from '../../../src/sync/cycle.js';
import { startHarness, type Harness } from '../support/harness.js';
import { newCustomerInquiry } from '../support/referrals.js';
import { ClockedInbound, goodPair } from './support.js';

let harness: Harness;
let runtime: Runtime;
let inbound: ClockedInbound;
let template: Record<string, unknown>;
const warnings: Array<{ message: string; fields: LogFields }> = [];

const logger: Logger = {
  debug: () => {},
  info: () => {},
  error: () => {},
  warn: (message, fields) => void warnings.push({ message, fields: fields ?? {} }),
  child: () => logger,
};

beforeAll(async () => {
  harness = await startHarness();
  runtime = await createRuntime(harness.config, { logger });
  inbound = new ClockedInbound(runtime);
  // A complete, valid referral to spoil one field at a time (it lands too, like any other).
  template = structuredClone(
    newCustomerInquiry(harness.pc.store, {
      name: 'Template deal',
      customerProfile: {
        name: 'Template GmbH',
        address: { city: 'Berlin', country: 'DE' },
        team: [{ firstName: 'Eva', lastName: 'Brandt', email: 'eva@example.com' }],
      },
      details: { notes: 'Template notes', dealValue: 1000, currency: 'EUR' },
    }),
  ) as unknown as Record<string, unknown>;
  await inbound.cycle();
});
afterAll(async () => {
  await runtime?.close();
  await harness?.close();
});

type Outcome =
  /** Flows on without the malformed field, with a warning naming its path. */
  | { kind: 'dropped'; path: string }
  /**
   * Tolerated as is (unknown enum values, extra fields, numeric strings, huge texts truncated by
   * the mapping).
   */
  | { kind: 'lands'; check?: (lead: Record<string, unknown>) => void; warning?: string }
  /**
   * A field the engine needs is unusable: refused as a whole, recorded with the path (and never
   * retried).
   */
  | { kind: 'invalid'; path: string }
  /** The mapping cannot build the CRM record: quarantined naming the CRM field. */
  | { kind: 'quarantined'; field: string }
  /**
   * Not a lead kind this target syncs, or archived before it was ever synced: skipped with the
   * reason.
   */
  | { kind: 'skipped'; action: 'skipped-kind' | 'skipped-closed' };

type Mutation = (raw: Record<string, any>) => void;

const set =
  (path: string, value: unknown): Mutation =>
  (raw) => {
    const keys = path.split('.');
    let node = raw;
    for (const key of keys.slice(0, -1)) node = node[key] ??= {};
    if (value === undefined) delete node[keys.at(-1)!];
    else node[keys.at(-1)!] = value;
  };

const dropped = (path: string, value: unknown): [Mutation, Outcome] => [
  set(path, value),
  { kind: 'dropped', path },
];

const HUGE = 'x'.repeat(100_000);

const CASES: Array<[string, Mutation, Outcome]> = [
  ['deal value not a number', ...dropped('details.dealValue', 'lots')],
  ['deal value an object', ...dropped('details.dealValue', {})],
  ['closing date in a local format', ...dropped('details.closingDateTime', '31/03/2027')],
  ['closing date a number', ...dropped('details.closingDateTime', 12345)],
  ['created date not a date', ...dropped('createdDateTime', 'yesterday')],
  ['expiration date not a date', ...dropped('expirationDateTime', 'never')],
  ['accepted date a boolean', ...dropped('acceptedDateTime', true)],
  ['customer team a string', ...dropped('customerProfile.team', 'Eva')],
  ['team member e-mail a number', ...dropped('customerProfile.team.0.email', 7)],
  ['team member phone an object', ...dropped('customerProfile.team.0.phoneNumber', {})],
  ['team member null', ...dropped('customerProfile.team.0', null)],
  ['address a list', ...dropped('customerProfile.address', [])],
  ['country a number', ...dropped('customerProfile.address.country', 276)],
  ['customer ids a string', ...dropped('customerProfile.ids', 'x')],
  [
    'product tag without an id',
    set('details.requirements.products', [{ name: 'x' }]),
    { kind: 'dropped', path: 'details.requirements.products.0' },
  ],
  ['requirements a string', ...dropped('details.requirements', 'Azure')],
  ['hot-lead flag a string', ...dropped('details.customerRequestedContact', 'yes')],
  ['notes a list', ...dropped('details.notes', ['a'])],
  ['currency a number', ...dropped('details.currency', 978)],
  ['consent a string', ...dropped('consent', 'yes')],
  ['partner team an object', ...dropped('team', {})],
  ['deal name a number', ...dropped('name', 42)],
  [
    'unknown customer size kept',
    set('customerProfile.size', 'Huge'),
    { kind: 'lands', warning: 'unknown enum value kept' },
  ],
  ['unknown extra field kept', set('futureField', { nested: [1, 2] }), { kind: 'lands' }],
  [
    'deal value as a numeric string',
    set('details.dealValue', '10000'),
    { kind: 'lands', check: (lead) => expect(lead.estimatedvalue).toBe(10000) },
  ],
  [
    'deal name null',
    set('name', null),
    { kind: 'lands', check: (lead) => expect(lead.subject).toBe('Template GmbH') },
  ],
  [
    'huge company name (100,000 characters)',
    set('customerProfile.name', HUGE),
    { kind: 'lands', check: (lead) => expect(lead.companyname).toBe('x'.repeat(100)) },
  ],
  [
    'huge notes',
    set('details.notes', HUGE),
    { kind: 'lands', check: (lead) => expect(String(lead.description)).toHaveLength(2000) },
  ],
  [
    'huge deal name',
    set('name', HUGE),
    { kind: 'lands', check: (lead) => expect(String(lead.subject)).toHaveLength(300) },
  ],
  ['type missing', set('type', undefined), { kind: 'invalid', path: 'type' }],
  ['status null', set('status', null), { kind: 'invalid', path: 'status' }],
  ['substatus a number', set('substatus', 42), { kind: 'invalid', path: 'substatus' }],
  ['type a number', set('type', 7), { kind: 'invalid', path: 'type' }],
  [
    'customer name missing',
    set('customerProfile.name', null),
    { kind: 'quarantined', field: 'companyname' },
  ],
  [
    'country not a 2-letter code',
    set('customerProfile.address.country', 'Germany'),
    { kind: 'quarantined', field: 'address1_country' },
  ],
  [
    'unknown qualification',
    set('qualification', 'SuperQualified'),
    { kind: 'skipped', action: 'skipped-kind' },
  ],
  [
    'archived before it was ever synced',
    (raw) => Object.assign(raw, { status: 'Closed', substatus: 'Declined' }),
    { kind: 'skipped', action: 'skipped-closed' },
  ],
];

/**
 * The template with a fresh id and version, spoilt by `mutate`, stored as Partner Center would
 * serve it.
 */
function spoilt(mutate: Mutation): string {
  const raw = structuredClone(template);
  const id = randomUUID();
  Object.assign(raw, { id, eTag: undefined, updatedDateTime: undefined });
  delete raw.eTag;
  delete raw.updatedDateTime;
  mutate(raw);
  harness.pc.store.create(raw, { raw: true });
  return id;
}

async function expectOutcome(outcome: Outcome, id: string): Promise<void> {
  const lead = harness.dynamics.store.findLeadByKey(id);
  const trail = await auditTrail(runtime.ledger.db, id);
  switch (outcome.kind) {
    case 'dropped':
      expect(lead).toBeDefined();
      expect(warnings).toContainEqual({
        message: 'malformed referral field dropped',
        fields: expect.objectContaining({ referralId: id, path: outcome.path }),
      });
      return;
    case 'lands':
      expect(lead).toBeDefined();
      outcome.check?.(lead!);
      if (outcome.warning) expect(warnings.map((w) => w.message)).toContain(outcome.warning);
      return;
    case 'invalid': {
      expect(lead).toBeUndefined();
      const invalid = trail.find((entry) => entry.action === 'invalid');
      expect(invalid?.detail?.issues).toEqual([
        expect.stringMatching(new RegExp(`^${outcome.path}: `)),
      ]);
      return;
    }
    case 'quarantined':
      expect(lead).toBeUndefined();
      expect((await inbound.state('dynamics', id))?.quarantineReason).toMatch(
        new RegExp(`^mapping failed: ${outcome.field}: `),
      );
      return;
    case 'skipped':
      expect(lead).toBeUndefined();
      expect(trail.map((entry) => entry.action)).toContain(outcome.action);
  }
}

describe('bad input: malformed Partner Center referrals (one per page among good ones)', () => {
  it('has at least 30 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(30));

  it.each(CASES.map(([name, mutate, outcome], i) => [i + 1, name, mutate, outcome] as const))(
    '%i. %s',
    async (_n, name, mutate, outcome) => {
      const before = goodPair(harness, `${name} (before)`);
      const id = spoilt(mutate);
      const after = goodPair(harness, `${name} (after)`);
      const stats = await inbound.cycle();
      expect(stats.byTarget.dynamics?.failed).toBe(0);
      if (outcome.kind === 'invalid') expect(stats.invalid).toBe(1);
      await expectOutcome(outcome, id);
      for (const referral of [...before, ...after])
        expect(harness.dynamics.store.findLeadByKey(referral.id)?.companyname).toBe(
          referral.customerProfile?.name,
        );
    },
  );
});
