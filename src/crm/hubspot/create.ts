// Creates the records of referrals HubSpot does not have yet, each with its associations inline:
// one batch create per object and 100 referrals, no association calls. Source:
// developers.hubspot.com/docs/api-reference/legacy/crm/objects/objects/batch/create-objects
// (inputs of {properties, associations: [{to: {id}, types: [{associationCategory,
// associationTypeId}]}], objectWriteTraceId}; 201, or 207 with the inputs refused in `errors`).
import type { CrmItemError } from '../adapter.js';
import { isRefused, type HubSpotCalls } from './calls.js';
import { isContentRefusal } from './errors.js';
import type { HubSpotObject } from './facts.js';
import { propertiesFor, type Pending, type WriteSettings } from './upsert.js';

/** What a new record of each object is associated with when it is created. */
const INLINE_ASSOCIATIONS: Record<HubSpotObject, HubSpotObject[]> = {
  companies: [],
  contacts: ['companies'],
  deals: ['contacts', 'companies'],
};

/**
 * Creates `fresh` referrals' records of `object`. Returns the referral ids to write through the
 * upsert path instead: those HubSpot refused because the record exists after all (CONFLICT: a
 * crash after an earlier create, a concurrent writer, a contact's email already taken), and all
 * of a call HubSpot refused whole. Never a duplicate: the referral id property is unique.
 */
export async function createFresh(
  calls: HubSpotCalls,
  object: HubSpotObject,
  fresh: Pending[],
  settings: WriteSettings,
): Promise<Set<string>> {
  const fallback = new Set<string>();
  for (let i = 0; i < fresh.length; i += settings.batchSize) {
    const part = fresh.slice(i, i + settings.batchSize);
    const inputs = part.map((p) => ({
      id: p.record.referralId,
      properties: propertiesFor(object, p, new Set(), settings),
      associations: INLINE_ASSOCIATIONS[object].flatMap((to) => {
        const row = p.written[to];
        return row ? [{ to, id: row.id }] : [];
      }),
    }));
    let outcomes: Awaited<ReturnType<HubSpotCalls['create']>>;
    try {
      outcomes = await calls.create(object, inputs);
    } catch (error) {
      if (!isContentRefusal(error)) throw error;
      for (const p of part) fallback.add(p.record.referralId);
      continue;
    }
    part.forEach((p, index) => {
      const outcome = outcomes[index];
      if (isRefused(outcome)) {
        if (object === 'contacts' && reuseContact(p, outcome.error)) return;
        if (outcome.error.code === 'CONFLICT') fallback.add(p.record.referralId);
        else p.error = outcome.error;
        return;
      }
      // No answer for it: the upsert path writes it without risking a duplicate.
      if (!outcome) return void fallback.add(p.record.referralId);
      p.written[object] = outcome;
      for (const { to } of inputs[index]?.associations ?? []) p.linked.add(`${object}/${to}`);
    });
  }
  return fallback;
}

/**
 * A contact create refused as "Contact already exists. Existing ID: N" (its email, or its referral
 * id after a crash, is held by contact N) takes contact N as it is: no upsert, which would be
 * refused for the same email and split its whole batch to find it. Neither its properties nor its
 * associations are touched (the deal is associated with it when created). Source of the answer:
 * github.com/HubSpot/hubspot-api-python/issues/51 and hubspot-api-nodejs/issues/545 (409 CONFLICT
 * with that message on contact creates).
 */
function reuseContact(pending: Pending, refusal: CrmItemError): boolean {
  const existing = existingContactId(refusal);
  if (existing === null) return false;
  pending.written.contacts = { id: existing, properties: {}, created: false };
  pending.linked.add('contacts/companies');
  return true;
}

/** The id a CONFLICT names in "Contact already exists. Existing ID: N", or null. */
export function existingContactId(refusal: CrmItemError): string | null {
  if (refusal.code !== 'CONFLICT') return null;
  return /^Contact already exists\. Existing ID: (\d+)$/.exec(refusal.message)?.[1] ?? null;
}
