// The org's State and Country/Territory Picklists read from a Lead describe, and address values
// moved into the code fields.
import { describe, expect, it } from 'vitest';
import { addressPicklistsOf, withAddressCodes } from '../../src/crm/salesforce/address.js';
import { entityMetadataOf } from '../../src/crm/salesforce/metadata.js';

// CountryCode values in describe order: index 0 AU, 1 DE, 2 US. validFor bit i (most significant
// first) = country i.
const leadDescribe = {
  name: 'Lead',
  fields: [
    {
      name: 'Country',
      type: 'string',
      length: 80,
      createable: true,
      updateable: true,
      nillable: true,
    },
    {
      name: 'State',
      type: 'string',
      length: 80,
      createable: true,
      updateable: true,
      nillable: true,
    },
    {
      name: 'CountryCode',
      type: 'picklist',
      createable: true,
      updateable: true,
      nillable: true,
      picklistValues: [
        { value: 'AU', label: 'Australia', active: true, validFor: null },
        { value: 'DE', label: 'Germany', active: true, validFor: null },
        { value: 'US', label: 'United States', active: true, validFor: null },
      ],
    },
    {
      name: 'StateCode',
      type: 'picklist',
      createable: true,
      updateable: true,
      nillable: true,
      controllerName: 'CountryCode',
      picklistValues: [
        { value: 'WA', label: 'Western Australia', active: true, validFor: 'gA==' }, // 0x80: AU
        { value: 'WA', label: 'Washington', active: true, validFor: 'IA==' }, // 0x20: US
        { value: 'NY', label: 'New York', active: true, validFor: 'IA==' },
      ],
    },
  ],
};

describe('Salesforce State and Country/Territory Picklists', () => {
  const picklists = addressPicklistsOf(leadDescribe)!;

  it(
    'reads the countries and, from the validFor bits, which states belong to which ' + 'country',
    () => {
      expect([...picklists.countries]).toEqual([
        ['AU', 'Australia'],
        ['DE', 'Germany'],
        ['US', 'United States'],
      ]);
      expect([...picklists.states.get('US')!]).toEqual([
        ['WA', 'Washington'],
        ['NY', 'New York'],
      ]);
      expect([...picklists.states.get('AU')!]).toEqual([['WA', 'Western Australia']]);
      expect(picklists.states.get('DE')).toBeUndefined();
    },
  );

  it('is off (null) for an org whose Lead has no CountryCode field', () => {
    expect(addressPicklistsOf({ fields: leadDescribe.fields.slice(0, 2) })).toBeNull();
  });

  it(
    'moves codes and labels into the code fields, and leaves out values the org does not ' + 'list',
    () => {
      expect(withAddressCodes({ LastName: 'A', Country: 'us', State: 'wa' }, picklists)).toEqual({
        fields: { LastName: 'A', CountryCode: 'US', StateCode: 'WA' },
        dropped: [],
      });
      expect(
        withAddressCodes({ Country: 'Australia', State: 'Western Australia' }, picklists).fields,
      ).toEqual({ CountryCode: 'AU', StateCode: 'WA' });
      expect(withAddressCodes({ Country: 'DE', State: 'BY' }, picklists)).toEqual({
        fields: { CountryCode: 'DE' },
        dropped: [{ field: 'State', value: 'BY' }],
      });
      expect(withAddressCodes({ Country: 'Deutschland', State: 'NY' }, picklists)).toEqual({
        fields: {},
        dropped: [
          { field: 'Country', value: 'Deutschland' },
          { field: 'State', value: 'NY' },
        ],
      });
      // A mapping that writes the code fields itself is left alone.
      expect(withAddressCodes({ CountryCode: 'US', StateCode: 'NY' }, picklists).fields).toEqual({
        CountryCode: 'US',
        StateCode: 'NY',
      });
    },
  );

  it('marks Country and State as backed by their code picklists in the field metadata', () => {
    const fields = entityMetadataOf('Lead', leadDescribe).fields;
    expect(
      fields.filter((field) => field.codeField).map((field) => [field.name, field.codeField]),
    ).toEqual([
      ['Country', 'CountryCode'],
      ['State', 'StateCode'],
    ]);
  });
});
