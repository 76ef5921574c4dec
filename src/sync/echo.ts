// Echo suppression: what leadbridge wrote into a referral on accept is not mapped back into the CRM
// fields it came from.
//
// An accept writes the deal name and notes (and value, currency, close date) that the CRM holds
// into the referral;
// those CRM fields were themselves mapped from the referral (the Dynamics subject is "company –
// deal name"), so
// mapping them again would nest them ("Litware GmbH – Litware GmbH – ..."). The inbound side
// therefore maps a
// referral field that still holds exactly what leadbridge wrote as the value it had before; a later
// change by
// someone else (a value that differs) is mapped as usual.
import type { Referral } from '../core/referral.js';
import { instantKey } from '../core/time.js';
import type { ReferralEcho } from '../ledger/index.js';

/**
 * The referral field each accept field is written to (see acceptPatch in
 * source/partner-center/actions.ts).
 */
const ACCEPT_FIELD_PATHS: Readonly<Record<string, string>> = {
  dealName: 'name',
  dealValue: 'details.dealValue',
  currency: 'details.currency',
  closingDateTime: 'details.closingDateTime',
  notes: 'details.notes',
};

/**
 * Echoes of an accept about to be sent with `fields`, against the referral as read just before
 * (`before`).
 */
export function acceptEchoes(
  before: Referral,
  fields: Readonly<Record<string, unknown>>,
  recorded: readonly ReferralEcho[] = [],
): ReferralEcho[] {
  return Object.entries(ACCEPT_FIELD_PATHS).flatMap(([field, path]) => {
    const written =
      field === 'currency' && typeof fields[field] === 'string'
        ? (fields[field] as string).toUpperCase()
        : fields[field];
    if (written === undefined) return [];
    const current = valueAt(before, path);
    // A field that still holds our earlier write keeps the value it had before that write.
    const earlier = recorded.find((echo) => echo.path === path && sameValue(echo.written, current));
    const original = earlier ? earlier.original : (current ?? null);
    return sameValue(written, original) ? [] : [{ referralId: before.id, path, written, original }];
  });
}

/**
 * The echo of a write-back about to put `recordId` into externalReferenceId, recorded before the
 * send so that a
 * crash after Partner Center applied it still leaves the write known as ours (none when nothing
 * changes).
 */
export function externalReferenceEcho(
  before: Referral,
  recordId: string,
  recorded: readonly ReferralEcho[] = [],
): ReferralEcho[] {
  const path = 'externalReferenceId';
  const current = before.externalReferenceId ?? null;
  if (current === recordId) return [];
  const earlier = recorded.find((echo) => echo.path === path && sameValue(echo.written, current));
  return [
    {
      referralId: before.id,
      path,
      written: recordId,
      original: earlier ? earlier.original : current,
    },
  ];
}

/**
 * The referral as the mappings should see it: each field that still holds our write shows its
 * earlier value.
 */
export function withoutEchoes(
  referral: Referral,
  echoes: readonly ReferralEcho[] | undefined,
): Referral {
  const live = (echoes ?? []).filter((echo) =>
    sameValue(valueAt(referral, echo.path), echo.written),
  );
  if (live.length === 0) return referral;
  const copy = structuredClone(referral) as unknown as Record<string, unknown>;
  for (const echo of live) setAt(copy, echo.path, echo.original);
  return copy as unknown as Referral;
}

/**
 * Equal as Partner Center stores them: instants to the tick, numbers by value ("10000" is 10000).
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if ((a ?? null) === null || (b ?? null) === null) return (a ?? null) === (b ?? null);
  if (typeof a === 'number' || typeof b === 'number') return Number(a) === Number(b);
  if (typeof a === 'string' && typeof b === 'string') return a === b || sameInstant(a, b);
  return JSON.stringify(a) === JSON.stringify(b);
}

function sameInstant(a: string, b: string): boolean {
  try {
    return instantKey(a) === instantKey(b);
  } catch {
    return false;
  }
}

function valueAt(referral: Referral, path: string): unknown {
  let node: unknown = referral;
  for (const key of path.split('.'))
    node =
      node !== null && typeof node === 'object'
        ? (node as Record<string, unknown>)[key]
        : undefined;
  return node;
}

function setAt(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object') node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
}
