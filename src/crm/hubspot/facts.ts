// HubSpot's wire facts the adapter relies on, as data (limits, property names, association pairs).
// Sources:
// developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/upsert-contacts (at
// most
// 100 inputs a batch call), developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm
// ("Limitations":
// 200 results a page, 10,000 results per query, five search requests per second per account), and
// developers.hubspot.com/docs/guides/apps/api-usage/usage-details (100 requests per 10 s for
// private apps).

export type HubSpotObject = 'contacts' | 'companies' | 'deals';

/**
 * The three objects a referral becomes, and the prefix of their fields in a mapping
 * (contact__firstname).
 */
export const OBJECT_PREFIXES: ReadonlyArray<{ object: HubSpotObject; prefix: string }> = [
  { object: 'contacts', prefix: 'contact__' },
  { object: 'companies', prefix: 'company__' },
  { object: 'deals', prefix: 'deal__' },
];

/** Inputs a batch upsert / read takes. */
export const BATCH_MAX = 100;
/**
 * Results a search page holds. One query pages at most 10,000 results: each page here is its own
 * query from
 * the last (stamp, id) seen, so no query comes near that cap.
 */
export const SEARCH_PAGE_MAX = 200;
/** Requests a private app may make in HubSpot's rolling window (usage-details, Free/Starter). */
export const TEN_SECOND_LIMIT = 100;
export const RATE_WINDOW_MS = 10_000;
/** Searches are spaced by this much: five a second at most, with a margin. */
export const SEARCH_SPACING_MS = 210;

/**
 * The change stamp each object's search filters and sorts on (contacts keep theirs in
 * lastmodifieddate).
 */
export const MODIFIED_PROPERTY: Record<HubSpotObject, string> = {
  contacts: 'lastmodifieddate',
  companies: 'hs_lastmodifieddate',
  deals: 'hs_lastmodifieddate',
};

/**
 * What reads ask for on each object (the referral id property and the stamp are added): the
 * outcome fields and what the bundled mapping writes, so that a preview can compare them.
 */
export const READ_PROPERTIES: Record<HubSpotObject, readonly string[]> = {
  contacts: [
    'email',
    'firstname',
    'lastname',
    'phone',
    'company',
    'hs_lead_status',
    'leadbridge_decline_reason',
  ],
  companies: ['name', 'domain', 'address', 'city', 'state', 'zip', 'country', 'numberofemployees'],
  deals: [
    'dealname',
    'amount',
    'closedate',
    'pipeline',
    'dealstage',
    'deal_currency_code',
    'description',
    'hs_priority',
    'closed_lost_reason',
    'closed_won_reason',
    'leadbridge_referral_link',
    'leadbridge_lead_kind',
    // The bundled deal-only mapping's decline (mapping-deal-only.yaml).
    'leadbridge_decline_reason',
  ],
};

/**
 * HubSpot-defined default association type ids, by direction, for inline associations on create.
 * Source: developers.hubspot.com/docs/api-reference/crm-associations-v4/guide ("Association type id
 * values": deal→contact 3, deal→company 341, contact→company 279).
 */
export const DEFAULT_ASSOCIATION_TYPE_IDS: Readonly<Record<string, number>> = {
  'deals/contacts': 3,
  'deals/companies': 341,
  'contacts/companies': 279,
};

/** The pairs associated for each referral (default association types). */
export const ASSOCIATION_PAIRS: ReadonlyArray<{ from: HubSpotObject; to: HubSpotObject }> = [
  { from: 'deals', to: 'contacts' },
  { from: 'deals', to: 'companies' },
  { from: 'contacts', to: 'companies' },
];

/** HubSpot text properties hold at most 65,536 characters. */
export const TEXT_MAX_LENGTH = 65_536;
