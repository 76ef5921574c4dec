// Deterministic seeded referrals: the same seed gives the same leads (timestamps are placed
// relative to the sim clock).
import { createRandom, type Random } from '../common/random.js';
import { addDays, formatInstant } from './instant.js';
import {
  CALLS_TO_ACTION,
  COMPANY_STEMS,
  COMPANY_SUFFIXES,
  CO_SELL_PARTNERS,
  FIRST_NAMES,
  INDUSTRIES,
  INVITE_NOTES,
  LAST_NAMES,
  NEEDS,
  REFERRAL_SOURCES,
  type CustomerNeed,
} from './seed-data.js';
import { LOCATIONS, STREETS, type SeedLocation } from './seed-places.js';
import { ASSISTANCE_REQUEST_CODES, CUSTOMER_SIZES, SOLUTION_TAGS } from './vocabulary.js';

/**
 * Which kind of lead a seeded referral is made to be (the simulator's own notion, for the mix of
 * seeded referrals).
 */
type LeadKind = 'customerInquiry' | 'marketingQualified' | 'salesQualified' | 'coSell';

export interface Organization {
  organizationId: string;
  organizationName: string;
}

/** The partner organisation the simulator serves (the owner of every incoming referral). */
export const SIM_PARTNER: Organization = {
  organizationId: '5d7b2c1e-3f4a-4b6c-9d8e-1a2b3c4d5e6f',
  organizationName: 'Lakeshore Cloud Solutions',
};
const MICROSOFT: Organization = { organizationId: 'msft', organizationName: 'Microsoft' };
const PARTNER_LOCATION_ID = '8c1f6a2d-6b0e-4d8a-a1f3-7e9b2c4d6a10';
const PARTNER_SOLUTION_ID = '2e4a6c8e-0a1b-4c3d-8e5f-6a7b8c9d0e1f';

const DAY_MS = 86_400_000;
/** Seeded referrals were created over the last 13 days, so the oldest are a day from expiring. */
const SEED_WINDOW_MS = 13 * DAY_MS;
export const EXPIRY_DAYS = 14;

const HEX = '0123456789abcdef';
const GUID_DASHES: ReadonlySet<number> = new Set([8, 13, 18, 23]);
const guidBuffer = Buffer.alloc(36);

/**
 * A version-4 GUID drawn from `random`, as one flat string: joined pieces would make V8 rope
 * strings
 * that cost several times their length, which adds up over 100,000 seeded referrals.
 */
function guidFrom(random: Random): string {
  let bits = 0;
  let left = 0;
  for (let i = 0; i < 36; i++) {
    if (GUID_DASHES.has(i)) {
      guidBuffer[i] = 45;
      continue;
    }
    // One draw gives 32 bits: eight hex digits.
    if (left === 0) {
      bits = Math.floor(random.next() * 0x1_0000_0000);
      left = 8;
    }
    const nibble = bits & 15;
    bits >>>= 4;
    left--;
    guidBuffer[i] = HEX.charCodeAt(i === 14 ? 4 : i === 19 ? 8 + (nibble & 3) : nibble);
  }
  return guidBuffer.toString('latin1');
}

/**
 * A quoted GUID-like eTag in the service's form: `"4a00c1d2-0000-0000-0000-67c5e0a20000"` (quotes
 * included).
 */
export function eTagFrom(random: Random): string {
  const guid = guidFrom(random);
  return flat(`"${guid.slice(0, 8)}-0000-0000-0000-${guid.slice(24)}"`);
}

/** A flat copy of a built string (see guidFrom). */
function flat(text: string): string {
  const encoding = [...text].every((char) => char.charCodeAt(0) <= 0xff) ? 'latin1' : 'utf16le';
  return Buffer.from(text, encoding).toString(encoding);
}

/**
 * Immutable pieces that many referrals have in common (consent flags, requirement lists, names...),
 * shared and frozen: the store never mutates a snapshot in place, and sharing keeps 100,000 seeded
 * referrals small. Bounded by the combinations of the word pools.
 */
const sharedPieces = new Map<string, unknown>();
function shared<T>(key: string, make: () => T): T {
  let piece = sharedPieces.get(key) as T | undefined;
  if (piece === undefined) {
    piece = deepFreeze(make());
    sharedPieces.set(key, piece);
  }
  return piece;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * `count` incoming New/Received referrals created over the 13 days before `nowMs`, in ascending
 * createdDateTime and strictly ascending updatedDateTime order.
 */
export function generateSeededReferrals(
  count: number,
  seed: number,
  nowMs: number,
): Record<string, unknown>[] {
  const random = createRandom(seed);
  const windowStart = nowMs - SEED_WINDOW_MS;
  // Each referral owns a slot of the window; created and updated fall in its first and second half.
  const slotMs = (SEED_WINDOW_MS - 60_000) / Math.max(count, 1);
  const referrals: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const createdMs = windowStart + (i + random.next() / 2) * slotMs;
    const created = instantOf(createdMs);
    const updated = random.chance(0.3)
      ? instantOf(windowStart + (i + 0.5 + random.next() / 2) * slotMs)
      : created;
    referrals.push(
      generateReferral(
        random,
        created,
        updated,
        nowMs,
        instantOf(createdMs + EXPIRY_DAYS * DAY_MS),
      ),
    );
  }
  return referrals;
}

function instantOf(ms: number): string {
  const whole = Math.floor(ms);
  return flat(formatInstant(whole, Math.floor((ms - whole) * 10_000)));
}

const NO_ITEMS: readonly never[] = shared('[]', () => []);
const MICROSOFT_INVITER = shared('inviter:msft', () => ({ ...MICROSOFT }));

/** A seeded string as one flat copy, shared by every referral that draws the same text. */
function sharedText(text: string): string {
  return shared(`text:${text}`, () => flat(text));
}

/**
 * One realistic incoming New/Received referral; `createdDateTime` fixes its expiry 14 days later.
 */
export function generateReferral(
  random: Random,
  createdDateTime: string,
  updatedDateTime: string,
  nowMs: number,
  expirationDateTime = addDays(createdDateTime, EXPIRY_DAYS),
): Record<string, unknown> {
  const kind = pickLeadKind(random);
  const location = random.pick(LOCATIONS);
  const stem = random.pick(COMPANY_STEMS);
  const company = sharedText(`${stem}${random.pick(COMPANY_SUFFIXES)}`);
  const need = random.pick(NEEDS);
  const hot = random.chance(0.2);
  const marketplace = kind === 'customerInquiry';
  return {
    id: guidFrom(random),
    engagementId: guidFrom(random),
    organizationId: SIM_PARTNER.organizationId,
    organizationName: SIM_PARTNER.organizationName,
    name: sharedText(`${company} - ${need.title}`),
    externalReferenceId: null,
    createdDateTime,
    updatedDateTime,
    expirationDateTime,
    acceptedDateTime: null,
    status: 'New',
    substatus: 'Received',
    statusReason: null,
    type: kind === 'coSell' ? 'Shared' : 'Independent',
    qualification: QUALIFICATION_OF[kind] ?? random.pick(['SalesQualified', 'None']),
    direction: 'Incoming',
    referralSource: marketplace ? random.pick(REFERRAL_SOURCES) : null,
    callToAction: marketplace ? random.pick(CALLS_TO_ACTION) : null,
    customerProfile: customerProfile(random, company, stem, location),
    consent: consent(random),
    details: details(random, need, location, hot, nowMs),
    team: NO_ITEMS,
    inviteContext: inviteContext(random, kind),
    target: target(random, kind),
    campaignId: null,
    favorite: random.chance(0.05),
    salesStage: null,
    eTag: eTagFrom(random),
  };
}

const QUALIFICATION_OF: Readonly<Partial<Record<LeadKind, string>>> = {
  customerInquiry: 'Direct',
  marketingQualified: 'MarketingQualified',
  salesQualified: 'SalesQualified',
};

/** ~45% customer inquiries, ~25% marketing-qualified, ~25% sales-qualified, ~5% co-sell. */
function pickLeadKind(random: Random): LeadKind {
  const roll = random.next();
  if (roll < 0.45) return 'customerInquiry';
  if (roll < 0.7) return 'marketingQualified';
  if (roll < 0.95) return 'salesQualified';
  return 'coSell';
}

/**
 * Microsoft invites qualified leads and half the inquiries; a co-sell opportunity comes from
 * another partner.
 */
function inviteContext(random: Random, kind: LeadKind): Record<string, unknown> | null {
  if (kind === 'customerInquiry' && random.chance(0.5)) return null;
  const notes = random.pick(INVITE_NOTES);
  if (kind === 'coSell')
    return { notes, invitedBy: random.pick(CO_SELL_PARTNERS), assistanceRequestCode: null };
  if (kind === 'salesQualified')
    return {
      notes,
      invitedBy: MICROSOFT_INVITER,
      assistanceRequestCode: random.pick(ASSISTANCE_REQUEST_CODES),
    };
  return shared(`invite:${notes}`, () => ({
    notes,
    invitedBy: MICROSOFT_INVITER,
    assistanceRequestCode: null,
  }));
}

function target(random: Random, kind: LeadKind): readonly unknown[] {
  if (kind === 'customerInquiry')
    return shared('target:location', () => [
      { type: 'BusinessProfileLocation', id: PARTNER_LOCATION_ID },
    ]);
  return random.chance(0.5)
    ? shared('target:solution', () => [{ type: 'SolutionProfile', id: PARTNER_SOLUTION_ID }])
    : NO_ITEMS;
}

function consent(random: Random): Record<string, boolean> {
  const flags = [
    random.chance(0.3),
    random.chance(0.95),
    random.chance(0.5),
    random.chance(0.6),
  ] as const;
  return shared(`consent:${flags.join()}`, () => ({
    consentToToShareInfoWithOthers: flags[0],
    consentToContact: flags[1],
    consentToMicrosoftToContactSpecificPartners: flags[2],
    consentToShareReferralWithMicrosoftSellers: flags[3],
  }));
}

function customerProfile(
  random: Random,
  company: string,
  stem: string,
  location: SeedLocation,
): Record<string, unknown> {
  const contacts = random.chance(0.3) ? 2 : 1;
  const domain = shared(
    `domain:${stem}:${location.domain}`,
    () => `${asciiWord(stem.split(' ')[0] ?? 'customer')}.${location.domain}`,
  );
  return {
    name: company,
    address: {
      addressLine1: flat(`${random.int(1, 2400)} ${random.pick(STREETS)}`),
      addressLine2: random.chance(0.3) ? flat(`Suite ${random.int(100, 999)}`) : null,
      city: location.city,
      state: location.state,
      postalCode: location.postalCode,
      country: location.country,
      region: location.region,
    },
    size: random.pick(CUSTOMER_SIZES),
    team: Array.from({ length: contacts }, () => contact(random, location, domain)),
    ids: random.chance(0.2)
      ? [{ id: flat(String(random.int(100_000_000, 999_999_999))), profileType: 'Duns' }]
      : NO_ITEMS,
  };
}

function contact(random: Random, location: SeedLocation, domain: string): Record<string, unknown> {
  const firstName = random.pick(FIRST_NAMES);
  const lastName = random.pick(LAST_NAMES);
  return {
    firstName,
    lastName,
    phoneNumber: flat(`${location.dialCode} ${String(random.int(0, 9999)).padStart(4, '0')}`),
    email: flat(`${asciiWord(firstName)}.${asciiWord(lastName)}@${domain}`),
    contactPreference: shared(`preference:${location.locale}`, () => ({
      locale: location.locale,
      disableNotifications: false,
    })),
  };
}

function details(
  random: Random,
  need: CustomerNeed,
  location: SeedLocation,
  hot: boolean,
  nowMs: number,
): Record<string, unknown> {
  const valued = random.chance(0.4);
  const industries = [
    ...new Set([random.pick(INDUSTRIES), random.chance(0.3) ? random.pick(INDUSTRIES) : null]),
  ].filter((i) => i !== null);
  const solution = random.chance(0.2) ? random.pick(SOLUTION_TAGS) : null;
  const closingDay = random.chance(0.3) ? Math.floor(nowMs / DAY_MS) + random.int(30, 180) : null;
  return {
    notes: need.notes,
    dealValue: valued ? random.int(10, 1000) * 500 : null,
    currency: valued ? location.currency : null,
    closingDateTime:
      closingDay === null
        ? null
        : shared(`day:${closingDay}`, () => flat(formatInstant(closingDay * DAY_MS))),
    customerRequestedContact: hot,
    customerAction: hot ? 'Contact me' : null,
    // Tag objects `{id}` and SolutionTag `{id, name, type}` (swagger definitions Tag and
    // SolutionTag).
    requirements: shared(
      `requirements:${need.title}:${industries.join('+')}:${solution?.id}`,
      () => ({
        industries: industries.map((id) => ({ id })),
        products: need.products.map((id) => ({ id })),
        services: need.services.map((id) => ({ id })),
        solutions: solution ? [{ id: solution.id, name: solution.name, type: 'Category' }] : [],
      }),
    ),
  };
}

/**
 * Lower-case ASCII letters and digits only, for e-mail addresses and domains (Müller → muller,
 * O'Connor → oconnor).
 */
function asciiWord(text: string): string {
  const word = text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
  return word || 'contact';
}
