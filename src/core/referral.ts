// The Partner Center referral: its schema (validated at the edge), lead kinds and known enum
// values.
import { z } from 'zod';

const REFERRAL_STATUSES = ['None', 'New', 'Active', 'Closed'] as const;
const REFERRAL_SUBSTATUSES = [
  'None',
  'Pending',
  'Received',
  'Accepted',
  'Won',
  'Lost',
  'Declined',
  'Expired',
  'Error',
] as const;
const QUALIFICATIONS = ['None', 'Direct', 'MarketingQualified', 'SalesQualified'] as const;
const REFERRAL_TYPES = ['Independent', 'Shared'] as const;
const DIRECTIONS = ['Incoming', 'Outgoing'] as const;
const SALES_STAGES = ['Qualify', 'Develop', 'Propose', 'Close'] as const;
const CUSTOMER_SIZES = [
  '1to50employees',
  '51to500employees',
  'Morethan500employees',
  '1to9employees',
  '10to50employees',
  '51to250employees',
  '251to1000employees',
  '1001to5000employees',
  '5001to10000employees',
  '10001to20000employees',
  'Morethan20000employees',
] as const;
/** The portal's fixed reason list for declined and lost referrals. */
export const CLOSE_REASONS = [
  "Project budget isn't adequate",
  "Customer didn't respond",
  'Customer chose another vendor',
  'Customer requirement not met',
  'Not a customer',
  'Proposed time line was too short',
  'Report as abuse, spam, or phishing',
  'Others',
] as const;

export type ReferralStatus = (typeof REFERRAL_STATUSES)[number];
export type ReferralSubstatus = (typeof REFERRAL_SUBSTATUSES)[number];

/**
 * inviteContext.assistanceRequestCode (swagger, microsoft/PowerPlatformConnectors
 * PartnerCenterReferrals).
 */
const ASSISTANCE_REQUEST_CODES = [
  'Unknown',
  'GeneralOrOther',
  'CustomerTechnicalArchitecture',
  'ProofOfConceptOrDemo',
  'QuotesOrLicensing',
  'PostSalesCustomerSuccess',
  'WorkloadSpecificValueProposition',
] as const;

/** Known enum sets by field path, so a client can notice (and log once) values it has not seen. */
export const KNOWN_ENUMS: Readonly<Record<string, readonly string[]>> = {
  status: REFERRAL_STATUSES,
  substatus: REFERRAL_SUBSTATUSES,
  qualification: QUALIFICATIONS,
  type: REFERRAL_TYPES,
  direction: DIRECTIONS,
  salesStage: SALES_STAGES,
  'customerProfile.size': CUSTOMER_SIZES,
  'inviteContext.assistanceRequestCode': ASSISTANCE_REQUEST_CODES,
};

/**
 * The only fields the engine cannot do without; a referral missing one of them is refused as a
 * whole.
 * Every other malformed field is dropped with a warning and the referral still flows (see
 * parse.ts).
 */
export const REQUIRED_REFERRAL_FIELDS = [
  'id',
  'status',
  'substatus',
  'updatedDateTime',
  'type',
] as const;

/** UTC ISO-8601 with up to 7 fractional digits, as Partner Center sends it. */
export const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})$/;

const isoDateTime = z.string().regex(ISO_DATETIME, 'expected an ISO-8601 date-time');
// Enums are open: unknown values are kept (and reported once by the client), never fatal.
const openEnum = z.string();
const nullish = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

const memberSchema = z.looseObject({
  firstName: nullish(z.string()),
  lastName: nullish(z.string()),
  phoneNumber: nullish(z.string()),
  email: nullish(z.string()),
  contactPreference: nullish(
    z.looseObject({ locale: nullish(z.string()), disableNotifications: nullish(z.boolean()) }),
  ),
});

const addressSchema = z.looseObject({
  addressLine1: nullish(z.string()),
  addressLine2: nullish(z.string()),
  city: nullish(z.string()),
  state: nullish(z.string()),
  postalCode: nullish(z.string()),
  country: nullish(z.string()),
  region: nullish(z.string()),
});

const profileIdSchema = z.looseObject({ id: z.string(), profileType: nullish(openEnum) });

/**
 * `customerProfile.ids` is an array of `{id, profileType}` (get-a-referral-by-id.md), `{}` in a
 * documented list
 * example (get-a-list-of-referrals.md), and referral-resources.md describes it as an object keyed
 * Duns / External:
 * an object is read as one entry per key.
 */
const profileIdsSchema = z.preprocess(
  (value) =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.entries(value).map(([profileType, id]) => ({ id, profileType }))
      : value,
  z.array(profileIdSchema),
);

const customerProfileSchema = z.looseObject({
  name: nullish(z.string()),
  address: nullish(addressSchema),
  size: nullish(openEnum),
  team: nullish(z.array(memberSchema)),
  ids: nullish(profileIdsSchema),
});

/**
 * A requirement Tag is `{ "id": "Azure" }` on the wire (swagger definition `Tag`); a bare string is
 * tolerated.
 * The parsed referral keeps the id only, so mappings see `Azure`.
 */
const tagIdSchema = z.preprocess(
  (value) =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as { id?: unknown }).id
      : value,
  z.string(),
);

const detailsSchema = z.looseObject({
  notes: nullish(z.string()),
  // Partner Center accepts strings like "10000" for the deal value.
  dealValue: nullish(
    z.union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/, 'expected a number')]),
  ),
  currency: nullish(z.string()),
  closingDateTime: nullish(isoDateTime),
  customerRequestedContact: nullish(z.boolean()),
  customerAction: nullish(z.string()),
  requirements: nullish(
    z.looseObject({
      industries: nullish(z.array(tagIdSchema)),
      products: nullish(z.array(tagIdSchema)),
      services: nullish(z.array(tagIdSchema)),
      solutions: nullish(
        z.array(
          z.looseObject({
            id: nullish(z.string()),
            name: nullish(z.string()),
            type: nullish(z.string()),
          }),
        ),
      ),
    }),
  ),
});

export const referralSchema = z.looseObject({
  id: z.string().min(1),
  engagementId: nullish(z.string()),
  organizationId: nullish(z.string()),
  organizationName: nullish(z.string()),
  name: nullish(z.string()),
  externalReferenceId: nullish(z.string()),
  createdDateTime: nullish(isoDateTime),
  updatedDateTime: isoDateTime,
  expirationDateTime: nullish(isoDateTime),
  acceptedDateTime: nullish(isoDateTime),
  status: openEnum,
  substatus: openEnum,
  statusReason: nullish(z.string()),
  type: openEnum,
  qualification: nullish(openEnum),
  direction: nullish(openEnum),
  referralSource: nullish(z.string()),
  callToAction: nullish(z.string()),
  customerProfile: nullish(customerProfileSchema),
  consent: nullish(z.looseObject({})),
  details: nullish(detailsSchema),
  team: nullish(z.array(memberSchema)),
  inviteContext: nullish(
    z.looseObject({
      notes: nullish(z.string()),
      invitedBy: nullish(
        z.looseObject({
          organizationId: nullish(z.string()),
          organizationName: nullish(z.string()),
        }),
      ),
      assistanceRequestCode: nullish(z.string()),
    }),
  ),
  target: nullish(z.array(z.looseObject({ type: openEnum, id: nullish(z.string()) }))),
  campaignId: nullish(z.string()),
  favorite: nullish(z.boolean()),
  salesStage: nullish(openEnum),
  // Only GET by id documents an eTag; list items come without one (get-a-list-of-referrals.md).
  eTag: nullish(z.string().min(1)),
  links: nullish(z.looseObject({})),
});

export type Referral = z.infer<typeof referralSchema>;
export type ReferralMember = z.infer<typeof memberSchema>;

export type LeadKind =
  'customerInquiry' | 'marketingQualified' | 'salesQualified' | 'coSell' | 'other';
export const LEAD_KINDS: readonly LeadKind[] = [
  'customerInquiry',
  'marketingQualified',
  'salesQualified',
  'coSell',
  'other',
];
/** What is synced when the config says nothing: the three lead kinds, not co-sell opportunities. */
export const DEFAULT_LEAD_KINDS: readonly LeadKind[] = [
  'customerInquiry',
  'marketingQualified',
  'salesQualified',
];

const MICROSOFT_ORG = 'msft';

/**
 * Derives the lead kind from type, qualification and who invited the partner (never from one
 * field).
 */
export function deriveLeadKind(
  referral: Pick<Referral, 'type' | 'qualification' | 'inviteContext'>,
): LeadKind {
  const inviter = referral.inviteContext?.invitedBy?.organizationId?.trim().toLowerCase() || null;
  const byMicrosoft = inviter === null || inviter === MICROSOFT_ORG;
  if (!byMicrosoft) return 'coSell';
  if (referral.type !== 'Independent') return 'other';
  switch (referral.qualification) {
    case 'Direct':
      return 'customerInquiry';
    case 'MarketingQualified':
      return inviter === MICROSOFT_ORG ? 'marketingQualified' : 'other';
    case 'SalesQualified':
      return inviter === MICROSOFT_ORG ? 'salesQualified' : 'other';
    default:
      return 'other';
  }
}

/**
 * The version of a referral as the engine tracks it: the eTag when the service sent one, else its
 * updatedDateTime
 * (documented list items carry no eTag; every write rolls both), so an eTag-less item is still
 * recognised as seen.
 */
export function referralVersion(referral: Pick<Referral, 'eTag' | 'updatedDateTime'>): string {
  return referral.eTag ?? `updated:${referral.updatedDateTime}`;
}

/**
 * Both forms a link may have recorded for this version (from a list item without eTag, or from GET
 * by id).
 */
export function referralVersionForms(
  referral: Pick<Referral, 'eTag' | 'updatedDateTime'>,
): string[] {
  const byTime = `updated:${referral.updatedDateTime}`;
  return referral.eTag ? [referral.eTag, byTime] : [byTime];
}

/** True when the customer asked interested partners to contact them directly (the flame icon). */
export function isHotLead(referral: Pick<Referral, 'details'>): boolean {
  return referral.details?.customerRequestedContact === true;
}

/** Deal value as a number (Partner Center also accepts numeric strings); null when absent. */
export function dealValueOf(referral: Pick<Referral, 'details'>): number | null {
  const raw = referral.details?.dealValue;
  if (raw === null || raw === undefined || raw === '') return null;
  const value = typeof raw === 'number' ? raw : Number(raw);
  return Number.isFinite(value) ? value : null;
}
