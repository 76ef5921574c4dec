// The Salesforce simulator's records in memory: ids, deserialisation, field checks, unique keys,
// undo and conversion.
import { describe, expect, it } from 'vitest';
import { SimClock } from '../../src/simulators/common/clock.js';
import { SalesforceApiError } from '../../src/simulators/salesforce/errors.js';
import {
  caseSafeSuffix,
  makeRecordId,
  normaliseRecordId,
} from '../../src/simulators/salesforce/ids.js';
import { ACCOUNT, LEAD, OPPORTUNITY, findField } from '../../src/simulators/salesforce/schema.js';
import {
  SalesforceStore,
  systemInput,
  type SaveResult,
} from '../../src/simulators/salesforce/store.js';
import { deserializeRecord } from '../../src/simulators/salesforce/values.js';

/** A clock that stands still, so that SystemModstamp must advance by itself. */
class FrozenClock extends SimClock {
  override nowMs(): number {
    return Date.UTC(2025, 5, 1);
  }
}

function okId(result: SaveResult): string {
  if (!result.ok) throw new Error(`save failed: ${result.error.message}`);
  return result.id;
}

const lead = (values: Record<string, unknown>) => deserializeRecord(LEAD, values);

describe('record ids', () => {
  it('issues 18-character ids whose suffix encodes the case of the first 15', () => {
    const id = makeRecordId('00Q', 62 * 62 + 11);
    // Sequence 3855 is "10B" in base 62; Q (3rd) and B (15th) are the upper-case letters.
    expect(id).toBe('00Q5g000000010BEAQ');
    expect(caseSafeSuffix('00Q5g0000000Ab1')).toBe('EAE');
    expect(normaliseRecordId('00Q5g0000000Ab1')).toBe('00Q5g0000000Ab1EAE');
    expect(normaliseRecordId('00q5G0000000aB1eae')).toBe('00Q5g0000000Ab1EAE');
    expect(normaliseRecordId('00Q5g0000000Ab')).toBeNull();
    expect(normaliseRecordId("00Q5g0000000Ab1'x")).toBeNull();
  });
});

describe('deserializeRecord', () => {
  it('resolves field names without regard to case and reads JSON into stored values', () => {
    const input = deserializeRecord(OPPORTUNITY, {
      attributes: { type: 'Opportunity' },
      name: 'Deal',
      closedate: '2025-02-28',
      AMOUNT: 10.555,
      Description: '',
    });
    expect(input.attributesType).toBe('Opportunity');
    expect(input.fields.map(([field, value]) => [field.name, value])).toEqual([
      ['Name', 'Deal'],
      ['CloseDate', '2025-02-28'],
      ['Amount', 10.56],
      ['Description', null],
    ]);
  });

  it('refuses unknown fields and wrongly typed JSON for the whole request', () => {
    const refusal = (values: Record<string, unknown>) => {
      try {
        lead(values);
      } catch (error) {
        if (error instanceof SalesforceApiError) return error.toBody();
      }
      throw new Error('expected a refusal');
    };
    expect(refusal({ Emial: 'x' })).toEqual([
      { message: "No such column 'Emial' on sobject of type Lead", errorCode: 'INVALID_FIELD' },
    ]);
    expect(refusal({ AnnualRevenue: '1000' })).toEqual([
      {
        message:
          'Cannot deserialize instance of double from VALUE_STRING value 1000 or request may ' +
          'be missing a required field',
        errorCode: 'JSON_PARSER_ERROR',
      },
    ]);
    expect(refusal({ NumberOfEmployees: 1.5 })[0]?.message).toBe(
      'Cannot deserialize instance of int from VALUE_NUMBER_FLOAT value 1.5 or request may be ' +
        'missing a required field',
    );
    expect(refusal({ Company: 5 })[0]?.errorCode).toBe('JSON_PARSER_ERROR');
    expect(deserializeRecord(OPPORTUNITY, { CloseDate: '2025-02-28' }).fields).toHaveLength(1);
    expect(() => deserializeRecord(OPPORTUNITY, { CloseDate: '2025-02-30' })).toThrow(
      'Cannot deserialize instance of date from VALUE_STRING value 2025-02-30 or request may ' +
        'be missing a required field',
    );
  });
});

describe('SalesforceStore', () => {
  it(
    'applies defaults and derived fields, and keeps SystemModstamp strictly increasing on a ' +
      'still clock',
    () => {
      const store = new SalesforceStore(new FrozenClock());
      const id = okId(
        store.create(LEAD, lead({ FirstName: 'Ada', LastName: 'Lovelace', Company: 'Engines' })),
      );
      const created = store.get(LEAD, id);
      expect(created).toMatchObject({
        Name: 'Ada Lovelace',
        Status: 'Open - Not Contacted',
        IsConverted: false,
        IsDeleted: false,
      });
      const stamps = [created?.SystemModstamp];
      for (let i = 0; i < 3; i++) {
        okId(store.update(LEAD, id, lead({ Title: `T${i}` })));
        stamps.push(store.get(LEAD, id)?.SystemModstamp);
      }
      expect(stamps).toEqual([0, 1, 2, 3].map((n) => Date.UTC(2025, 5, 1) + n));
      expect(store.get(LEAD, id)?.CreatedDate).toBe(Date.UTC(2025, 5, 1));
    },
  );

  it('reports the first problem of a record with the platform codes', () => {
    const store = new SalesforceStore(new SimClock());
    const errorOf = (result: SaveResult) => (result.ok ? null : result.error);
    expect(errorOf(store.create(LEAD, lead({ Company: 'X', LastName: 'y'.repeat(81) })))).toEqual({
      statusCode: 'STRING_TOO_LONG',
      message: `Last Name: data value too large: ${'y'.repeat(81)} (max length=80)`,
      fields: ['LastName'],
    });
    expect(
      errorOf(store.create(LEAD, lead({ Company: 'X', LastName: 'Y', AnnualRevenue: 1e18 })))
        ?.statusCode,
    ).toBe('NUMBER_OUTSIDE_VALID_RANGE');
    expect(
      errorOf(
        store.create(
          OPPORTUNITY,
          deserializeRecord(OPPORTUNITY, { Name: 'D', StageName: 'Won', CloseDate: '2025-01-01' }),
        ),
      ),
    ).toEqual({
      statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
      message: 'Stage: bad value for restricted picklist field: Won',
      fields: ['StageName'],
    });
    const id = okId(store.create(LEAD, lead({ Company: 'X', LastName: 'Y' })));
    expect(errorOf(store.update(LEAD, id, lead({ Company: null })))?.message).toBe(
      'Required fields are missing: [Company]',
    );
    expect(
      errorOf(store.update(LEAD, id, lead({ ConvertedOpportunityId: null })))?.statusCode,
    ).toBe('INVALID_FIELD_FOR_INSERT_UPDATE');
    const badRef = deserializeRecord(OPPORTUNITY, {
      Name: 'D',
      StageName: 'Prospecting',
      CloseDate: '2025-01-01',
      AccountId: id,
    });
    expect(errorOf(store.create(OPPORTUNITY, badRef))).toEqual({
      statusCode: 'MALFORMED_ID',
      message: `Account ID: id value of incorrect type: ${id}`,
      fields: ['AccountId'],
    });
  });

  it('keeps external ids unique without regard to case and frees them on delete', () => {
    const store = new SalesforceStore(new SimClock());
    const key = findField(LEAD, 'PartnerReferralId__c');
    if (!key) throw new Error('no key field');
    const first = okId(
      store.create(LEAD, lead({ Company: 'A', LastName: 'B', PartnerReferralId__c: 'Ref-1' })),
    );
    const duplicate = store.create(
      LEAD,
      lead({ Company: 'C', LastName: 'D', PartnerReferralId__c: 'REF-1' }),
    );
    expect(duplicate.ok ? null : duplicate.error.statusCode).toBe('DUPLICATE_VALUE');
    expect(store.upsert(LEAD, key, 'ref-1', lead({ Title: 'CEO' }))).toEqual({
      ok: true,
      id: first,
      created: false,
    });
    expect(store.findByExternalId(LEAD, key, 'REF-1').map((row) => row.Title)).toEqual(['CEO']);
    okId(store.delete(LEAD, first));
    expect(store.findByExternalId(LEAD, key, 'ref-1')).toEqual([]);
    expect(store.delete(LEAD, first)).toEqual({
      ok: false,
      error: { statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] },
      id: first,
    });
    const recreated = store.upsert(LEAD, key, 'ref-1', lead({ Company: 'E', LastName: 'F' }));
    expect(recreated).toMatchObject({ ok: true, created: true });
    expect(store.count(LEAD)).toBe(1);
  });

  it('undoes every save of an atomic unit that does not commit, indexes included', () => {
    const store = new SalesforceStore(new SimClock());
    const key = findField(LEAD, 'PartnerReferralId__c');
    if (!key) throw new Error('no key field');
    const kept = okId(
      store.create(LEAD, lead({ Company: 'A', LastName: 'B', PartnerReferralId__c: 'k1' })),
    );
    const committed = store.atomically(() => {
      okId(store.update(LEAD, kept, lead({ PartnerReferralId__c: 'k2' })));
      okId(store.create(LEAD, lead({ Company: 'C', LastName: 'D', PartnerReferralId__c: 'k1' })));
      return false;
    });
    expect(committed).toBe(false);
    expect(store.count(LEAD)).toBe(1);
    expect(store.findByExternalId(LEAD, key, 'k1').map((row) => row.Id)).toEqual([kept]);
    expect(store.findByExternalId(LEAD, key, 'k2')).toEqual([]);
  });

  it('converts a lead once, copying the referral id, and locks it against API updates', () => {
    const clock = new FrozenClock();
    const store = new SalesforceStore(clock);
    const leadId = okId(
      store.create(
        LEAD,
        lead({
          Company: 'Bletchley',
          LastName: 'Turing',
          AnnualRevenue: 900,
          PartnerReferralId__c: 'r-9',
        }),
      ),
    );
    const conversion = store.convertLead(leadId, {});
    expect(store.get(OPPORTUNITY, conversion.opportunityId)).toMatchObject({
      Name: 'Bletchley',
      StageName: 'Prospecting',
      CloseDate: '2025-07-01',
      Amount: 900,
      PartnerReferralId__c: 'r-9',
      AccountId: conversion.accountId,
    });
    expect(store.get(LEAD, leadId)).toMatchObject({
      IsConverted: true,
      Status: 'Closed - Converted',
      ConvertedDate: '2025-06-01',
    });
    expect(store.update(LEAD, leadId, lead({ Title: 'Dr' }))).toMatchObject({
      ok: false,
      error: { statusCode: 'CANNOT_UPDATE_CONVERTED_LEAD' },
    });
    expect(() => store.convertLead(leadId)).toThrow('cannot reference converted lead');
  });

  it('leaves nothing behind when a conversion fails part-way', () => {
    const store = new SalesforceStore(new SimClock());
    const leadId = okId(
      store.create(LEAD, lead({ Company: 'A', LastName: 'B', PartnerReferralId__c: 'dup' })),
    );
    okId(
      store.create(
        OPPORTUNITY,
        systemInput(OPPORTUNITY, {
          Name: 'Existing',
          StageName: 'Prospecting',
          CloseDate: '2025-01-01',
          PartnerReferralId__c: 'dup',
        }),
      ),
    );
    expect(() => store.convertLead(leadId)).toThrow(
      /^duplicate value found: PartnerReferralId__c duplicates value on record with id: 006/,
    );
    expect(store.count(OPPORTUNITY)).toBe(1);
    expect(store.count(ACCOUNT)).toBe(0);
    expect([...store.rows(LEAD)].map((row) => row.IsConverted)).toEqual([false]);
  });
});
