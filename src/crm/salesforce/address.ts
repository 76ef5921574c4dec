// State and Country/Territory Picklists: read from describe, and address values moved into the code
// fields before a write.
// In such orgs (the default for new orgs) Country / State take only the integration value of a
// listed country or state,
// or the ISO code goes into CountryCode / StateCode; anything else is refused with
// FIELD_INTEGRITY_EXCEPTION.
// Sources: help.salesforce.com xcloud.admin_state_country_picklists_integ_values.htm and
// xcloud.admin_state_country_picklists_field_syncing.htm; the describe `validFor` bitmap:
// Salesforce SOAP API Developer
// Guide, DescribeSObjectResult > PicklistEntry ("validFor": one bit per controlling value, most
// significant bit first).

/** The describe properties read here. */
interface DescribedPicklistField {
  name?: unknown;
  picklistValues?: Array<{
    value?: unknown;
    label?: unknown;
    active?: unknown;
    validFor?: unknown;
  }> | null;
}

export interface AddressPicklists {
  /** Country code (upper case) → label (the default integration value). */
  countries: Map<string, string>;
  /** Country code → its states: state code (upper case) → label. */
  states: Map<string, Map<string, string>>;
}

/**
 * The org's address picklists from the Lead describe, or null when the org has them off (no
 * CountryCode field).
 */
export function addressPicklistsOf(describe: unknown): AddressPicklists | null {
  const fields = ((describe as { fields?: unknown } | null)?.fields ??
    []) as DescribedPicklistField[];
  if (!Array.isArray(fields)) return null;
  const countryField = fields.find((field) => field.name === 'CountryCode');
  if (!countryField) return null;
  const countryEntries = (countryField.picklistValues ?? []).filter(
    (entry) => typeof entry.value === 'string',
  );
  const countries = new Map<string, string>();
  for (const entry of countryEntries) {
    if (entry.active !== false)
      countries.set(
        String(entry.value).toUpperCase(),
        typeof entry.label === 'string' ? entry.label : String(entry.value),
      );
  }
  const states = new Map<string, Map<string, string>>();
  const stateField = fields.find((field) => field.name === 'StateCode');
  for (const entry of stateField?.picklistValues ?? []) {
    if (
      typeof entry.value !== 'string' ||
      entry.active === false ||
      typeof entry.validFor !== 'string'
    )
      continue;
    for (const index of setBits(entry.validFor)) {
      const country = countryEntries[index]?.value;
      if (typeof country !== 'string') continue;
      const byCode = states.get(country.toUpperCase()) ?? new Map<string, string>();
      byCode.set(
        entry.value.toUpperCase(),
        typeof entry.label === 'string' ? entry.label : entry.value,
      );
      states.set(country.toUpperCase(), byCode);
    }
  }
  return { countries, states };
}

/**
 * Indexes of the bits set in a base64 bitmap, most significant bit of the first byte being index 0.
 */
function setBits(base64: string): number[] {
  const indexes: number[] = [];
  Buffer.from(base64, 'base64').forEach((byte, at) => {
    for (let bit = 0; bit < 8; bit++) if (byte & (0x80 >> bit)) indexes.push(at * 8 + bit);
  });
  return indexes;
}

/**
 * An address value the org's picklists do not know, left out so that the rest of the lead is still
 * written.
 */
export interface DroppedAddressValue {
  field: string;
  value: string;
}

/**
 * The Lead fields as the org takes them: a country / state given as a code moves to CountryCode /
 * StateCode; one given
 * as its label (integration value) stays; one the picklists do not know is left out and reported.
 */
export function withAddressCodes(
  fields: Record<string, unknown>,
  picklists: AddressPicklists,
): { fields: Record<string, unknown>; dropped: DroppedAddressValue[] } {
  const out = { ...fields };
  const dropped: DroppedAddressValue[] = [];
  let country = typeof out.CountryCode === 'string' ? out.CountryCode.toUpperCase() : undefined;
  if (typeof out.Country === 'string' && out.CountryCode === undefined) {
    country = codeOf(out.Country, picklists.countries);
    moveToCode(out, 'Country', 'CountryCode', country, dropped);
  }
  if (typeof out.State === 'string' && out.StateCode === undefined) {
    const states = country === undefined ? undefined : picklists.states.get(country);
    moveToCode(out, 'State', 'StateCode', states ? codeOf(out.State, states) : undefined, dropped);
  }
  return { fields: out, dropped };
}

/** The code whose code or label is `text` (case-insensitive). */
function codeOf(text: string, entries: ReadonlyMap<string, string>): string | undefined {
  const wanted = text.trim().toUpperCase();
  if (entries.has(wanted)) return wanted;
  for (const [code, label] of entries) if (label.toUpperCase() === wanted) return code;
  return undefined;
}

function moveToCode(
  fields: Record<string, unknown>,
  textField: string,
  codeField: string,
  code: string | undefined,
  dropped: DroppedAddressValue[],
): void {
  const value = String(fields[textField]);
  delete fields[textField];
  if (code === undefined) dropped.push({ field: textField, value });
  else fields[codeField] = code;
}
