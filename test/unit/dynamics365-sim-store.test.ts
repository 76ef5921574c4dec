// The Dataverse simulator's pure parts: $filter semantics, resource paths, and the store's keys,
// stamps and atomicity.
import { describe, expect, it } from 'vitest';
import { SimClock } from '../../src/simulators/common/clock.js';
import { compileFilter } from '../../src/simulators/dynamics365/filter.js';
import { parseResourcePath } from '../../src/simulators/dynamics365/paths.js';
import { LEAD, OPPORTUNITY } from '../../src/simulators/dynamics365/schema.js';
import { DataverseStore } from '../../src/simulators/dynamics365/store.js';
import type { Row } from '../../src/simulators/dynamics365/values.js';

const row = (values: Record<string, string | number | boolean | null>): Row => values;

describe('compileFilter', () => {
  const rows = [
    row({
      leadid: '1',
      subject: 'Alpha',
      leadqualitycode: 1,
      modifiedon: '2025-01-01T10:00:00.000Z',
      estimatedclosedate: '2025-03-01',
    }),
    row({
      leadid: '2',
      subject: "O'Hara",
      leadqualitycode: null,
      modifiedon: '2025-01-02T10:00:00.000Z',
      estimatedclosedate: null,
    }),
    row({
      leadid: '3',
      subject: null,
      leadqualitycode: 3,
      modifiedon: '2025-01-03T10:00:00.000Z',
      estimatedclosedate: '2025-04-01',
    }),
  ];
  const ids = (expression: string) =>
    rows.filter(compileFilter(LEAD, expression)).map((r) => r.leadid);

  it('compares strings case-insensitively and reads doubled quotes', () => {
    expect(ids("subject eq 'alpha'")).toEqual(['1']);
    expect(ids("subject eq 'o''hara'")).toEqual(['2']);
    expect(ids("contains(subject,'HAR')")).toEqual(['2']);
  });

  it('gives null SQL semantics: only eq null / ne null match a null column', () => {
    expect(ids('leadqualitycode eq null')).toEqual(['2']);
    expect(ids('leadqualitycode ne null')).toEqual(['1', '3']);
    expect(ids('leadqualitycode ne 1')).toEqual(['3']);
  });

  it('compares unquoted date-times by instant, and dates as days', () => {
    expect(ids('modifiedon gt 2025-01-02T10:00:00Z')).toEqual(['3']);
    expect(ids('modifiedon ge 2025-01-02T11:00:00+01:00')).toEqual(['2', '3']);
    expect(ids('estimatedclosedate lt 2025-04-01')).toEqual(['1']);
  });

  it('binds and tighter than or, and honours parentheses and not', () => {
    expect(ids("subject eq 'Alpha' or leadqualitycode eq 3 and subject eq null")).toEqual([
      '1',
      '3',
    ]);
    expect(ids("(subject eq 'Alpha' or leadqualitycode eq 3) and subject eq null")).toEqual(['3']);
    expect(ids("not (subject eq 'Alpha')")).toEqual(['2', '3']);
    expect(ids('3 eq leadqualitycode')).toEqual(['3']);
  });

  it('names syntax errors, unknown columns and literal types that do not fit', () => {
    expect(() => compileFilter(LEAD, 'subject eq')).toThrow(
      "Syntax error at position 10 in 'subject eq'.",
    );
    expect(() => compileFilter(LEAD, "emial eq 'x'")).toThrow(
      "Could not find a property named 'emial' on type 'Microsoft.Dynamics.CRM.lead'.",
    );
    expect(() => compileFilter(LEAD, 'leadid eq 12')).toThrow(
      "A binary operator with incompatible types was detected. Found operand types 'Edm.Guid' " +
        "and 'Edm.Decimal' for operator kind 'Equal'.",
    );
    expect(() => compileFilter(LEAD, "subject eq 'open")).toThrow(
      "Syntax error: the string literal at position 11 in 'subject eq 'open' is not closed.",
    );
  });
});

describe('parseResourcePath', () => {
  it('reads ids, alternate keys with doubled quotes, and the segments after them', () => {
    expect(parseResourcePath('leads')).toEqual({ head: 'leads', rest: [] });
    expect(
      parseResourcePath(
        'leads(0A0B0C0D-0000-0000-0000-000000000001)/Microsoft.Dynamics.CRM.QualifyLead',
      ),
    ).toEqual({
      head: 'leads',
      key: { kind: 'id', id: '0a0b0c0d-0000-0000-0000-000000000001' },
      rest: ['Microsoft.Dynamics.CRM.QualifyLead'],
    });
    expect(parseResourcePath("leads(lb_referralid='a''b/c)')")).toEqual({
      head: 'leads',
      key: { kind: 'alternate', values: { lb_referralid: "a'b/c)" } },
      rest: [],
    });
  });

  it('refuses keys that are neither a GUID nor name=value pairs', () => {
    expect(() => parseResourcePath('leads(abc)')).toThrow(
      "Bad Request - Error in query syntax: 'abc' in 'leads(abc)' is neither a GUID nor " +
        "name='value' pairs.",
    );
    expect(() => parseResourcePath("leads(lb_referralid='x'")).toThrow(
      "Bad Request - Error in query syntax: the key in 'leads(lb_referralid='x'' is not closed.",
    );
  });
});

describe('DataverseStore', () => {
  it(
    'indexes leads by referral id case-insensitively and refuses a second record with the ' +
      'same key',
    () => {
      const store = new DataverseStore(new SimClock());
      const lead = store.create(LEAD, { lb_referralid: 'Ref-1', subject: 'x' });
      expect(store.findLeadByKey('REF-1')?.leadid).toBe(lead.leadid);
      expect(() => store.create(LEAD, { lb_referralid: 'ref-1' })).toThrow(
        'A record with matching key values already exists.',
      );
      store.update(LEAD, String(lead.leadid), { lb_referralid: 'ref-2' });
      expect(store.findLeadByKey('ref-1')).toBeUndefined();
      expect(store.findLeadByKey('ref-2')?.leadid).toBe(lead.leadid);
    },
  );

  it(
    'stamps writes to the whole second, as Dataverse keeps modifiedon, so writes in one ' +
      'second share a stamp',
    () => {
      const start = Date.parse('2026-12-04T10:00:00.250Z');
      const clock = new (class extends SimClock {
        override nowMs(): number {
          return start + this.offset; // stands still unless advanced
        }
      })();
      const store = new DataverseStore(clock);
      const stamps = Array.from(
        { length: 5 },
        (_, index) => store.create(LEAD, { subject: String(index) }).modifiedon as string,
      );
      expect(new Set(stamps).size).toBe(1);
      expect(stamps[0]).toBe('2026-12-04T10:00:00.000Z');
      clock.advance(1000);
      expect(store.create(LEAD, { subject: 'later' }).modifiedon).toBe('2026-12-04T10:00:01.000Z');
    },
  );

  it('undoes every write of a failed transaction, the key index included', () => {
    const store = new DataverseStore(new SimClock());
    const kept = store.create(LEAD, { lb_referralid: 'kept', subject: 'before' });
    expect(() =>
      store.transaction(() => {
        store.update(LEAD, String(kept.leadid), { subject: 'after', lb_referralid: 'renamed' });
        store.create(LEAD, { lb_referralid: 'new' });
        store.create(OPPORTUNITY, { name: 'o' });
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(store.leads.size).toBe(1);
    expect(store.opportunities.size).toBe(0);
    expect(store.findLeadByKey('kept')?.subject).toBe('before');
    expect(store.findLeadByKey('renamed')).toBeUndefined();
    expect(store.findLeadByKey('new')).toBeUndefined();
  });

  it(
    'lets the Web API disqualify a lead but not qualify it or close an opportunity by a plain ' +
      'write',
    () => {
      const store = new DataverseStore(new SimClock());
      const lead = store.create(LEAD, { subject: 'x' });
      const id = String(lead.leadid);
      expect(() => store.update(LEAD, id, { statecode: 1, statuscode: 3 })).toThrow(
        'A lead is qualified through the QualifyLead action, not by setting statecode 1 ' +
          '(Qualified).',
      );
      expect(store.update(LEAD, id, { statuscode: 7 })).toMatchObject({
        statecode: 2,
        statuscode: 7,
      });
      expect(store.update(LEAD, id, { statecode: 0 })).toMatchObject({
        statecode: 0,
        statuscode: 1,
      });
      const opportunity = store.create(OPPORTUNITY, { name: 'o' });
      expect(() =>
        store.update(OPPORTUNITY, String(opportunity.opportunityid), {
          statecode: 1,
          statuscode: 3,
        }),
      ).toThrow(
        'An opportunity is closed through the WinOpportunity or LoseOpportunity action, not by ' +
          'setting statecode 1 (Won).',
      );
      expect(
        store.update(
          OPPORTUNITY,
          String(opportunity.opportunityid),
          { statecode: 1, statuscode: 3 },
          'user',
        ),
      ).toMatchObject({ statecode: 1 });
    },
  );
});
