// State and Country/Territory Picklists, on by default as in new orgs: the code picklists,
// integration values and their sync.
// Sources: help.salesforce.com "Integration Values for State and Country/Territory Picklists"
// (xcloud.admin_state_country_picklists_integ_values.htm), "State and Country/Territory Picklist
// Field-Syncing Logic"
// (xcloud.admin_state_country_picklists_field_syncing.htm); the error texts as the platform answers
// them
// (github.com/verbb/formie/issues/963: FIELD_INTEGRITY_EXCEPTION "There's a problem with this
// country ...: Country").
import { recordError, type RecordError } from './errors.js';
import type { FieldValue, SObjectRow } from './values.js';
import { COUNTRIES } from './countries.js';

export { COUNTRIES } from './countries.js';

/**
 * Code → integration value of the states a new org ships with, per country. Salesforce ships states
 * for a handful of
 * countries only (United States, Canada, Australia, Brazil, China, India, Ireland, Italy, Japan,
 * Mexico); here the
 * complete lists for US, CA and AU and a few entries for the others. Every other country takes no
 * state at all.
 */
const STATES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  US: {
    AL: 'Alabama',
    AK: 'Alaska',
    AZ: 'Arizona',
    AR: 'Arkansas',
    CA: 'California',
    CO: 'Colorado',
    CT: 'Connecticut',
    DE: 'Delaware',
    DC: 'District of Columbia',
    FL: 'Florida',
    GA: 'Georgia',
    HI: 'Hawaii',
    ID: 'Idaho',
    IL: 'Illinois',
    IN: 'Indiana',
    IA: 'Iowa',
    KS: 'Kansas',
    KY: 'Kentucky',
    LA: 'Louisiana',
    ME: 'Maine',
    MD: 'Maryland',
    MA: 'Massachusetts',
    MI: 'Michigan',
    MN: 'Minnesota',
    MS: 'Mississippi',
    MO: 'Missouri',
    MT: 'Montana',
    NE: 'Nebraska',
    NV: 'Nevada',
    NH: 'New Hampshire',
    NJ: 'New Jersey',
    NM: 'New Mexico',
    NY: 'New York',
    NC: 'North Carolina',
    ND: 'North Dakota',
    OH: 'Ohio',
    OK: 'Oklahoma',
    OR: 'Oregon',
    PA: 'Pennsylvania',
    RI: 'Rhode Island',
    SC: 'South Carolina',
    SD: 'South Dakota',
    TN: 'Tennessee',
    TX: 'Texas',
    UT: 'Utah',
    VT: 'Vermont',
    VA: 'Virginia',
    WA: 'Washington',
    WV: 'West Virginia',
    WI: 'Wisconsin',
    WY: 'Wyoming',
  },
  CA: {
    AB: 'Alberta',
    BC: 'British Columbia',
    MB: 'Manitoba',
    NB: 'New Brunswick',
    NL: 'Newfoundland and Labrador',
    NS: 'Nova Scotia',
    NT: 'Northwest Territories',
    NU: 'Nunavut',
    ON: 'Ontario',
    PE: 'Prince Edward Island',
    QC: 'Quebec',
    SK: 'Saskatchewan',
    YT: 'Yukon Territories',
  },
  AU: {
    ACT: 'Australian Capital Territory',
    NSW: 'New South Wales',
    NT: 'Northern Territory',
    QLD: 'Queensland',
    SA: 'South Australia',
    TAS: 'Tasmania',
    VIC: 'Victoria',
    WA: 'Western Australia',
  },
  BR: { RJ: 'Rio de Janeiro', SP: 'São Paulo', MG: 'Minas Gerais' },
  CN: { '11': 'Beijing', '31': 'Shanghai', '44': 'Guangdong' },
  IN: { KA: 'Karnataka', MH: 'Maharashtra', DL: 'Delhi', TN: 'Tamil Nadu' },
  IE: { D: 'Dublin', CO: 'Cork', G: 'Galway' },
  IT: { MI: 'Milano', RM: 'Roma', TO: 'Torino' },
  JP: { '13': 'Tokyo', '27': 'Osaka', '23': 'Aichi' },
  MX: { CMX: 'Ciudad de México', JAL: 'Jalisco', NLE: 'Nuevo León' },
};

/** The four fields of one address: the text-only integration values and their code picklists. */
export interface AddressFields {
  country: string;
  countryCode: string;
  state: string;
  stateCode: string;
  /** The state code field's label, as the platform's messages name it. */
  stateCodeLabel: string;
}

/** The addresses of each object that has them. */
export const ADDRESSES: Readonly<Record<string, readonly AddressFields[]>> = {
  Lead: [
    {
      country: 'Country',
      countryCode: 'CountryCode',
      state: 'State',
      stateCode: 'StateCode',
      stateCodeLabel: 'State/Province Code',
    },
  ],
  Account: [
    {
      country: 'BillingCountry',
      countryCode: 'BillingCountryCode',
      state: 'BillingState',
      stateCode: 'BillingStateCode',
      stateCodeLabel: 'Billing State/Province Code',
    },
  ],
};

export const COUNTRY_CODES: readonly string[] = Object.keys(COUNTRIES);

/**
 * The StateCode picklist entries: each state, valid for its country (a bit per CountryCode value,
 * as describe writes).
 */
export function stateEntries(): Array<{ value: string; label: string; validFor: string }> {
  return Object.entries(STATES).flatMap(([country, states]) =>
    Object.entries(states).map(([code, name]) => ({
      value: code,
      label: name,
      validFor: validForBits(COUNTRY_CODES.indexOf(country)),
    })),
  );
}

/**
 * Base64 of a bitmap with bit `index` set, most significant bit first (the describe `validFor`
 * encoding).
 */
function validForBits(index: number): string {
  const bytes = new Uint8Array(Math.ceil(COUNTRY_CODES.length / 8));
  bytes[index >> 3] = 0x80 >> (index % 8);
  return Buffer.from(bytes).toString('base64');
}

function codeOfName(names: Readonly<Record<string, string>>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  return Object.keys(names).find((code) => (names[code] as string).toLowerCase() === wanted);
}

function integrity(message: string, field: string): RecordError {
  return recordError('FIELD_INTEGRITY_EXCEPTION', message, [field]);
}

type Resolved = { error: RecordError } | { code: string | null };

/**
 * Syncs and checks one address of a save: a code sets its integration value, a valid integration
 * value sets its code,
 * anything else is refused. `values` holds the fields this save sets (null: cleared) and is
 * completed in place;
 * `previous` is the stored record. Returns the error that refuses the record, if any.
 */
export function syncAddress(
  fields: AddressFields,
  values: Record<string, FieldValue>,
  previous: SObjectRow | undefined,
): RecordError | undefined {
  const country = resolveCountry(fields, values, previous);
  if ('error' in country) return country.error;
  return resolveState(fields, values, previous, country.code);
}

function resolveCountry(
  fields: AddressFields,
  values: Record<string, FieldValue>,
  previous: SObjectRow | undefined,
): Resolved {
  const code = values[fields.countryCode];
  const text = values[fields.country];
  if (typeof code === 'string') {
    const upper = code.toUpperCase();
    if (!COUNTRIES[upper])
      return {
        error: integrity(
          `The ${fields.countryCode} field contains ${code}, which isn't an available ` +
            `country/territory.`,
          fields.countryCode,
        ),
      };
    // A code and a different integration value in one update are refused; on create the code wins.
    if (typeof text === 'string' && previous && codeOfName(COUNTRIES, text) !== upper)
      return { error: countryProblem(fields) };
    Object.assign(values, {
      [fields.countryCode]: upper,
      [fields.country]: COUNTRIES[upper] as string,
    });
    return { code: upper };
  }
  if (typeof text === 'string') {
    const matched = codeOfName(COUNTRIES, text);
    if (!matched) return { error: countryProblem(fields) };
    Object.assign(values, {
      [fields.countryCode]: matched,
      [fields.country]: COUNTRIES[matched] as string,
    });
    return { code: matched };
  }
  if (code === null || text === null) {
    // Removing the country removes the state with it.
    Object.assign(values, {
      [fields.country]: null,
      [fields.countryCode]: null,
      [fields.state]: null,
      [fields.stateCode]: null,
    });
    return { code: null };
  }
  const kept = previous?.[fields.countryCode];
  return { code: typeof kept === 'string' ? kept : null };
}

function countryProblem(fields: AddressFields): RecordError {
  return integrity(
    `There's a problem with this country, even though it may appear correct. Please select a ` +
      `country/territory from the list of valid countries.: ${fields.country}`,
    fields.country,
  );
}

function resolveState(
  fields: AddressFields,
  values: Record<string, FieldValue>,
  previous: SObjectRow | undefined,
  country: string | null,
): RecordError | undefined {
  const code = values[fields.stateCode];
  const text = values[fields.state];
  const states = country === null ? undefined : STATES[country];
  const unrecognised = () =>
    integrity(
      `The existing country/territory doesn't recognize the state value for field: ` +
        `${fields.stateCodeLabel}`,
      fields.stateCode,
    );
  if (typeof code === 'string' || typeof text === 'string') {
    if (country === null) {
      return integrity(
        `A country/territory must be specified before specifying a state value for field: ` +
          `${fields.stateCodeLabel}`,
        fields.stateCode,
      );
    }
    const upper = typeof code === 'string' ? code.toUpperCase() : undefined;
    const matched =
      upper !== undefined
        ? states?.[upper]
          ? upper
          : undefined
        : codeOfName(states ?? {}, text as string);
    if (!matched && upper !== undefined) return unrecognised();
    if (!matched) {
      return integrity(
        `There's a problem with this state, even though it may appear correct. Please select a ` +
          `state from the list of valid states.: ${fields.state}`,
        fields.state,
      );
    }
    Object.assign(values, {
      [fields.stateCode]: matched,
      [fields.state]: (states as Record<string, string>)[matched] as string,
    });
    return undefined;
  }
  // The country changed under a stored state: that state must belong to the new country.
  const kept = previous?.[fields.stateCode];
  if (
    code === undefined &&
    typeof kept === 'string' &&
    values[fields.countryCode] !== undefined &&
    !states?.[kept]
  )
    return unrecognised();
  return undefined;
}
