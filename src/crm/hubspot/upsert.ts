// Writes referrals as a company, a contact and a deal (or a deal alone, when the mapping writes
// only deal fields). Records a referral does not have yet are created with their associations
// inline (one call per object and 100 referrals); existing ones are upserted by the referral id
// property and associated only where an association is missing. A batch HubSpot refuses for its
// content (400, 409) is split until the inputs at fault are found; a 207 fails only the inputs it
// names: one bad referral never holds back the others.
import type { CrmItemError, MappedRecord, UpsertItemResult } from '../adapter.js';
import { isRefused, type HubSpotCalls, type UpsertedRow } from './calls.js';
import { createFresh, existingContactId } from './create.js';
import { itemErrorOf, isContentRefusal } from './errors.js';
import { ASSOCIATION_PAIRS, BATCH_MAX, OBJECT_PREFIXES, type HubSpotObject } from './facts.js';

export interface WriteSettings {
  referralIdProperty: string;
  pipeline: string;
  newDealStage: string;
  batchSize: number;
}

type ObjectValues = Partial<Record<HubSpotObject, Record<string, string>>>;

export interface Pending {
  record: MappedRecord;
  values: ObjectValues;
  written: Partial<Record<HubSpotObject, UpsertedRow>>;
  error: CrmItemError | null;
  /** Its deal does not exist yet: its records are created, associations inline. */
  fresh: boolean;
  /** Pairs (`deals/contacts`) associated when a record was created, or left alone on purpose. */
  linked: Set<string>;
}

/** Properties a deal takes only when it is created: a later write never moves its stage back. */
const CREATE_ONLY_DEAL_PROPERTIES = ['pipeline', 'dealstage'];

/** Writes one chunk (at most batchSize records); one result per record, in input order. */
export async function writeReferrals(
  calls: HubSpotCalls,
  records: MappedRecord[],
  settings: WriteSettings,
): Promise<UpsertItemResult[]> {
  const pending = records.map(splitRecord);
  const live = () => pending.filter((p) => p.error === null);
  const existingDeals = await existingDealReferrals(calls, live(), settings);
  for (const p of live()) p.fresh = !existingDeals.has(p.record.referralId);
  for (const { object } of [...OBJECT_PREFIXES].sort(companiesFirst)) {
    const inputs = live().filter((p) => object === 'deals' || p.values[object] !== undefined);
    // Companies are always upserted: nothing needs to be associated from their side.
    const fresh = object === 'companies' ? [] : inputs.filter((p) => p.fresh);
    const conflicted = await createFresh(calls, object, fresh, settings);
    const existing = new Set([...existingDeals, ...conflicted]);
    const prepared = inputs
      .filter((p) => !fresh.includes(p) || conflicted.has(p.record.referralId))
      .map((p) => ({
        pending: p,
        id: p.record.referralId,
        properties: propertiesFor(object, p, existing, settings),
      }));
    await upsertIsolating(calls, object, prepared, settings.batchSize);
  }
  await associateAll(calls, live());
  return pending.map(resultOf);
}

/** Companies, then contacts, then deals: the deal, which carries the outcome, is written last. */
function companiesFirst(a: { object: HubSpotObject }, b: { object: HubSpotObject }): number {
  const order: HubSpotObject[] = ['companies', 'contacts', 'deals'];
  return order.indexOf(a.object) - order.indexOf(b.object);
}

function splitRecord(record: MappedRecord): Pending {
  const values: ObjectValues = {};
  const unknown: string[] = [];
  for (const [field, value] of Object.entries(record.fields)) {
    const owner = OBJECT_PREFIXES.find(({ prefix }) => field.startsWith(prefix));
    if (!owner || field.length === owner.prefix.length) {
      unknown.push(field);
      continue;
    }
    (values[owner.object] ??= {})[field.slice(owner.prefix.length)] = propertyText(value);
  }
  const error: CrmItemError | null =
    unknown.length > 0
      ? {
          code: 'UNKNOWN_FIELD',
          message: `fields must start with contact__, company__ or deal__: ${unknown.join(', ')}`,
          retryable: false,
          fields: unknown,
        }
      : null;
  return { record, values, written: {}, error, fresh: false, linked: new Set() };
}

/** HubSpot takes every property value as text; an empty text clears the property. */
function propertyText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

async function existingDealReferrals(
  calls: HubSpotCalls,
  pending: Pending[],
  settings: WriteSettings,
): Promise<Set<string>> {
  const existing = new Set<string>();
  const ids = pending.map((p) => p.record.referralId);
  for (let i = 0; i < ids.length; i += BATCH_MAX) {
    const rows = await calls.readByReferralIds('deals', ids.slice(i, i + BATCH_MAX), []);
    for (const row of rows) {
      const referralId = row.properties[settings.referralIdProperty];
      if (typeof referralId === 'string') existing.add(referralId);
    }
  }
  return existing;
}

export function propertiesFor(
  object: HubSpotObject,
  pending: Pending,
  existingDeals: Set<string>,
  settings: WriteSettings,
): Record<string, string> {
  const values = { ...(pending.values[object] ?? {}) };
  if (object !== 'deals') return values;
  if (existingDeals.has(pending.record.referralId)) {
    for (const name of CREATE_ONLY_DEAL_PROPERTIES) delete values[name];
    return values;
  }
  return {
    ...values,
    pipeline: values.pipeline || settings.pipeline,
    dealstage: values.dealstage || settings.newDealStage,
  };
}

interface Prepared {
  pending: Pending;
  id: string;
  properties: Record<string, string>;
}

/**
 * Upserts in calls of batchSize; a call refused for its content is halved until the culprits stand
 * alone.
 */
async function upsertIsolating(
  calls: HubSpotCalls,
  object: HubSpotObject,
  inputs: Prepared[],
  batchSize: number,
): Promise<void> {
  for (let i = 0; i < inputs.length; i += batchSize) {
    await upsertPart(calls, object, inputs.slice(i, i + batchSize));
  }
}

async function upsertPart(
  calls: HubSpotCalls,
  object: HubSpotObject,
  part: Prepared[],
): Promise<void> {
  if (part.length === 0) return;
  let rows: Awaited<ReturnType<HubSpotCalls['upsert']>>;
  try {
    rows = await calls.upsert(
      object,
      part.map(({ id, properties }) => ({ id, properties })),
    );
  } catch (error) {
    if (!isContentRefusal(error)) throw error;
    if (part.length === 1)
      refuseOne(object, part[0] as Prepared, itemErrorOf(error, prefixOf(object)));
    if (part.length === 1) return;
    const half = Math.ceil(part.length / 2);
    await upsertPart(calls, object, part.slice(0, half));
    await upsertPart(calls, object, part.slice(half));
    return;
  }
  part.forEach((input, index) => {
    const row = rows[index];
    if (isRefused(row)) refuseOne(object, input, row.error);
    else if (row) input.pending.written[object] = row;
  });
}

/**
 * A lone input HubSpot refused. A contact refused because another contact has its email is that
 * person already
 * in HubSpot (a customer with a second referral): the deal is associated with that contact, which
 * is left as it is.
 */
function refuseOne(object: HubSpotObject, input: Prepared, refusal: CrmItemError): void {
  const existing = existingContactId(refusal);
  if (object === 'contacts' && existing !== null) {
    input.pending.written.contacts = { id: existing, properties: {}, created: false };
    return;
  }
  input.pending.error = refusal;
}

function prefixOf(object: HubSpotObject): string {
  return OBJECT_PREFIXES.find((o) => o.object === object)?.prefix ?? '';
}

/**
 * Associates each referral's records. When all of them already existed, the deal's associations are
 * read first,
 * so that a rerun writes only what a crash left undone.
 */
async function associateAll(calls: HubSpotCalls, pending: Pending[]): Promise<void> {
  const unchanged = pending.filter(
    (p) => p.linked.size === 0 && !Object.values(p.written).some((row) => row?.created),
  );
  const complete = new Set<Pending>(await alreadyAssociated(calls, unchanged));
  for (const { from, to } of ASSOCIATION_PAIRS) {
    const linking = pending.filter(
      (p) => !complete.has(p) && !p.linked.has(`${from}/${to}`) && p.written[from] && p.written[to],
    );
    for (let i = 0; i < linking.length; i += BATCH_MAX) {
      const part = linking.slice(i, i + BATCH_MAX);
      const refused = await calls.associate(
        from,
        to,
        part.map((p) => ({
          from: (p.written[from] as UpsertedRow).id,
          to: (p.written[to] as UpsertedRow).id,
        })),
      );
      // A pair HubSpot refused leaves the referral unlinked: it fails, to be written again.
      for (const p of part) {
        const error = refused.get((p.written[from] as UpsertedRow).id);
        if (error) p.error = { ...error, retryable: true };
      }
    }
  }
}

/** Referrals whose deal is already associated with their contact and company. */
async function alreadyAssociated(calls: HubSpotCalls, pending: Pending[]): Promise<Pending[]> {
  const withDeal = pending.filter((p) => p.written.deals);
  if (withDeal.length === 0) return [];
  const dealIds = withDeal.map((p) => (p.written.deals as UpsertedRow).id);
  const links: Partial<Record<HubSpotObject, Map<string, string[]>>> = {};
  for (const to of ['contacts', 'companies'] as const) {
    if (!withDeal.some((p) => p.written[to])) continue;
    const found = new Map<string, string[]>();
    for (let i = 0; i < dealIds.length; i += BATCH_MAX) {
      const part = await calls.associated('deals', to, dealIds.slice(i, i + BATCH_MAX));
      for (const [id, linked] of part) found.set(id, linked);
    }
    links[to] = found;
  }
  return withDeal.filter((p) => {
    const dealId = (p.written.deals as UpsertedRow).id;
    return (['contacts', 'companies'] as const).every((to) => {
      const target = p.written[to];
      return !target || (links[to]?.get(dealId) ?? []).includes(target.id);
    });
  });
}

function resultOf(pending: Pending): UpsertItemResult {
  const referralId = pending.record.referralId;
  if (pending.error) return { referralId, ok: false, error: pending.error };
  const deal = pending.written.deals;
  if (!deal) {
    return {
      referralId,
      ok: false,
      error: {
        code: 'NOT_WRITTEN',
        message: 'HubSpot returned no deal for this referral',
        retryable: true,
      },
    };
  }
  return { referralId, ok: true, recordId: deal.id, created: deal.created };
}
