// The pure echo rules: what an accept records, how a later accept keeps the first original, what
// counts as the same value.
import { describe, expect, it } from 'vitest';
import type { Referral } from '../../src/core/referral.js';
import { acceptEchoes, sameValue, withoutEchoes } from '../../src/sync/echo.js';

const referral = (name: string, notes: string | null, closing: string | null = null) =>
  ({
    id: 'R1',
    name,
    details: { notes, dealValue: 20000, currency: 'EUR', closingDateTime: closing },
  }) as unknown as Referral;
const fields = {
  dealName: 'Litware GmbH – Security assessment',
  dealValue: 35000,
  currency: 'eur',
  closingDateTime: '2027-02-28T00:00:00.000Z',
  notes: 'Pentest',
};

describe('accept echoes', () => {
  it('records each written field that differs from the referral, with the value it had', () => {
    expect(acceptEchoes(referral('Security assessment', null), fields)).toEqual([
      {
        referralId: 'R1',
        path: 'name',
        written: 'Litware GmbH – Security assessment',
        original: 'Security assessment',
      },
      { referralId: 'R1', path: 'details.dealValue', written: 35000, original: 20000 },
      {
        referralId: 'R1',
        path: 'details.closingDateTime',
        written: '2027-02-28T00:00:00.000Z',
        original: null,
      },
      { referralId: 'R1', path: 'details.notes', written: 'Pentest', original: null },
    ]);
  });

  it('a second accept over our own first write keeps the first original', () => {
    const first = acceptEchoes(referral('Security assessment', null), fields);
    const second = acceptEchoes(
      referral('Litware GmbH – Security assessment', 'Pentest'),
      { ...fields, notes: 'Pentest and SOC' },
      first,
    );
    expect(second.find((e) => e.path === 'details.notes')).toEqual({
      referralId: 'R1',
      path: 'details.notes',
      written: 'Pentest and SOC',
      original: null,
    });
  });

  it(
    'maps a field that still holds our write as its original, and leaves one changed since ' +
      'alone',
    () => {
      const echoes = acceptEchoes(referral('Security assessment', 'Customer text'), fields);
      const accepted = referral(
        'Litware GmbH – Security assessment',
        'Pentest',
        '2027-02-28T00:00:00.0000000Z',
      );
      expect(withoutEchoes(accepted, echoes)).toMatchObject({
        name: 'Security assessment',
        details: { notes: 'Customer text', closingDateTime: null, dealValue: 20000 },
      });
      const renamed = referral('Renamed by Microsoft', 'Pentest');
      expect(withoutEchoes(renamed, echoes)).toMatchObject({
        name: 'Renamed by Microsoft',
        details: { notes: 'Customer text' },
      });
    },
  );

  it('compares instants to the tick and numbers by value', () => {
    expect(sameValue('2027-02-28T00:00:00Z', '2027-02-28T00:00:00.0000000Z')).toBe(true);
    expect(sameValue('10000', 10000)).toBe(true);
    expect(sameValue(null, undefined)).toBe(true);
    expect(sameValue('a', 'b')).toBe(false);
    expect(sameValue(null, '')).toBe(false);
  });
});
