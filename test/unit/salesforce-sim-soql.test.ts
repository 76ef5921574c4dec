// The Salesforce simulator's SOQL parser and planner: syntax, escaping, typed filters and the
// platform's errors.
import { describe, expect, it } from 'vitest';
import { makeRecordId } from '../../src/simulators/salesforce/ids.js';
import { LEAD, OPPORTUNITY } from '../../src/simulators/salesforce/schema.js';
import { SoqlError, parseSoql } from '../../src/simulators/salesforce/soql.js';
import {
  likeToRegExp,
  planQuery,
  projectRow,
  type RowLookup,
} from '../../src/simulators/salesforce/soql-plan.js';
import type { SObjectRow } from '../../src/simulators/salesforce/values.js';

function refusal(run: () => unknown): { errorCode: string; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof SoqlError) return { errorCode: error.errorCode, message: error.message };
    throw error;
  }
  throw new Error('expected the query to be refused');
}

const noRelated: RowLookup = { get: () => undefined };

describe('parseSoql', () => {
  it('parses fields, relationship paths, nested conditions, ordering, limit and offset', () => {
    const query = parseSoql(
      "select Id, ConvertedOpportunity.StageName FROM Lead WHERE (Status = 'Working - " +
        "Contacted' OR Rating IN ('Hot', 'Warm')) " +
        'AND NOT Email = null AND SystemModstamp >= 2025-01-01T00:00:00.000+00:00 ORDER BY ' +
        'LastName DESC NULLS FIRST, Id LIMIT 10 OFFSET 5',
    );
    expect(query.select).toEqual({
      kind: 'fields',
      fields: [
        { parts: ['Id'], text: 'Id', offset: 7 },
        {
          parts: ['ConvertedOpportunity', 'StageName'],
          text: 'ConvertedOpportunity.StageName',
          offset: 11,
        },
      ],
    });
    expect(query.from).toEqual({ name: 'Lead', offset: 47 });
    expect(query.where?.kind).toBe('and');
    const [group, negation, since] = (query.where as { operands: unknown[] }).operands as Array<
      Record<string, unknown>
    >;
    expect(group).toMatchObject({
      kind: 'or',
      operands: [
        { kind: 'compare', operator: '=' },
        { kind: 'in', negated: false },
      ],
    });
    expect(negation).toMatchObject({
      kind: 'not',
      operand: { kind: 'compare', value: { kind: 'null' } },
    });
    expect(since).toMatchObject({
      kind: 'compare',
      operator: '>=',
      value: { kind: 'datetime', value: Date.UTC(2025, 0, 1) },
    });
    expect(query.orderBy).toEqual([
      { field: expect.objectContaining({ text: 'LastName' }), descending: true, nullsLast: false },
      { field: expect.objectContaining({ text: 'Id' }), descending: false, nullsLast: false },
    ]);
    expect([query.limit, query.offset]).toEqual([10, 5]);
  });

  it('unescapes string literals and keeps the raw text for LIKE', () => {
    const query = parseSoql(
      "SELECT Id FROM Lead WHERE Company = 'O\\'Brien \\\\ Sons\\n\\t\\\"x\\\" 100\\%'",
    );
    expect(query.where).toMatchObject({
      kind: 'compare',
      value: {
        kind: 'string',
        value: 'O\'Brien \\ Sons\n\t"x" 100%',
        raw: 'O\\\'Brien \\\\ Sons\\n\\t\\"x\\" 100\\%',
      },
    });
  });

  it('reads datetime literals with Z, milliseconds and offsets, and date literals', () => {
    const values = [
      '2025-01-01T00:00:00Z',
      '2025-01-01T00:00:00.000Z',
      '2025-01-01T01:30:00+01:30',
      '2024-12-31T19:00:00-05:00',
    ].map(
      (literal) =>
        (
          parseSoql(`SELECT Id FROM Lead WHERE CreatedDate > ${literal}`).where as {
            value: { value: number };
          }
        ).value.value,
    );
    expect(values).toEqual(Array(4).fill(Date.UTC(2025, 0, 1)));
    expect(
      parseSoql('SELECT Id FROM Opportunity WHERE CloseDate <= 2025-02-28').where,
    ).toMatchObject({ value: { kind: 'date', value: '2025-02-28' } });
    expect(parseSoql('SELECT count() FROM Lead').select).toEqual({ kind: 'count' });
    expect(parseSoql("SELECT Id FROM Lead WHERE Email <> 'a@b.co'").where).toMatchObject({
      operator: '!=',
    });
    expect(
      parseSoql("SELECT Id FROM Lead WHERE Status NOT IN ('Open - Not Contacted')").where,
    ).toMatchObject({ kind: 'in', negated: true });
  });

  it('points at an injected quote instead of matching more rows', () => {
    expect(refusal(() => parseSoql("SELECT Id FROM Lead WHERE Company = '' OR '1'='1'"))).toEqual({
      errorCode: 'MALFORMED_QUERY',
      message:
        "SELECT Id FROM Lead WHERE Company = '' OR '1'='1'\n                                   " +
        "       ^\nERROR at Row:1:Column:43\nunexpected token: ''1''",
    });
  });

  it('refuses syntax problems with MALFORMED_QUERY and the row and column of the problem', () => {
    const cases: Array<[string, string]> = [
      [
        "SELECT Id FROM Lead WHERE Company = 'Acme",
        'ERROR at Row:1:Column:37\nunterminated string literal: a closing quote is missing',
      ],
      [
        "SELECT Id FROM Lead WHERE Company = 'A\\qB'",
        "ERROR at Row:1:Column:37\nInvalid string literal 'A\\q... Illegal character sequence " +
          "'\\q' in string literal.",
      ],
      [
        "SELECT Id FROM Lead WHERE Rating = 'Hot' AND Status = 'x' OR Email = null",
        "ERROR at Row:1:Column:59\nunexpected token: 'OR'",
      ],
      ['SELECT Id Lead', "ERROR at Row:1:Column:11\nunexpected token: 'Lead'"],
      ['SELECT Id FROM Lead WHERE', 'ERROR at Row:1:Column:26\nunexpected token: <EOF>'],
      ['SELECT Id FROM Lead WHERE Id = :leadId', "ERROR at Row:1:Column:32\nunexpected token: ':'"],
      [
        'SELECT Id FROM Lead LIMIT -1',
        "ERROR at Row:1:Column:27\nLIMIT must be a non-negative integer, found: '-1'",
      ],
      [
        'SELECT Id FROM Lead WHERE CreatedDate > 2025-13-01T00:00:00Z',
        'ERROR at Row:1:Column:41\ninvalid date time literal: 2025-13-01T00:00:00Z',
      ],
      [
        'SELECT Id FROM Lead WHERE CreatedDate > 2025-01-01T00:00:00',
        'ERROR at Row:1:Column:41\ninvalid date time literal: 2025-01-01T00:00:00',
      ],
      ['SELECT Id FROM Lead GROUP BY Id', "ERROR at Row:1:Column:21\nunexpected token: 'GROUP'"],
      [
        'SELECT COUNT(Id) FROM Lead',
        'ERROR at Row:1:Column:14\nonly COUNT() is supported: aggregate functions are not',
      ],
      [
        'SELECT Id FROM Lead WHERE Company LIKE 5',
        'ERROR at Row:1:Column:40\nLIKE needs a string literal in single quotes',
      ],
    ];
    for (const [soql, tail] of cases) {
      const problem = refusal(() => parseSoql(soql));
      expect(problem.errorCode).toBe('MALFORMED_QUERY');
      expect(problem.message.split('\n').slice(2).join('\n'), soql).toBe(tail);
    }
  });

  it('reports the row and column of a problem on a later line', () => {
    expect(refusal(() => parseSoql('SELECT Id\nFROM Lead\nWHERE Company = = 1')).message).toBe(
      "WHERE Company = = 1\n                ^\nERROR at Row:3:Column:17\nunexpected token: '='",
    );
  });
});

describe('planQuery', () => {
  it('refuses unknown objects, fields and relationships as the platform does', () => {
    expect(refusal(() => planQuery('SELECT Id FROM Leads'))).toMatchObject({
      errorCode: 'INVALID_TYPE',
      message: expect.stringMatching(
        /ERROR at Row:1:Column:16\nsObject type 'Leads' is not supported\./,
      ),
    });
    expect(refusal(() => planQuery('SELECT Id, Emial FROM Lead'))).toEqual({
      errorCode: 'INVALID_FIELD',
      message:
        'SELECT Id, Emial FROM Lead\n           ^\nERROR at Row:1:Column:12\n' +
        "No such column 'Emial' on entity 'Lead'. If you are attempting to use a custom field, " +
        "be sure to append the '__c' after the custom field name. Please reference your WSDL " +
        'or the describe call for the appropriate names.',
    });
    expect(refusal(() => planQuery('SELECT Owner.Name FROM Lead'))).toMatchObject({
      errorCode: 'INVALID_FIELD',
      message: expect.stringContaining("Didn't understand relationship 'Owner' in field path."),
    });
    expect(refusal(() => planQuery('SELECT ConvertedOpportunity.Nme FROM Lead')).message).toContain(
      "No such column 'Nme' on entity 'Opportunity'.",
    );
    expect(refusal(() => planQuery('SELECT Id, id FROM Lead')).message).toMatch(
      /duplicate field selected: Id$/,
    );
    expect(refusal(() => planQuery('SELECT Id FROM Lead OFFSET 2001'))).toMatchObject({
      errorCode: 'NUMBER_OUTSIDE_VALID_RANGE',
    });
  });

  it('refuses literals of the wrong type for the field', () => {
    const cases: Array<[string, string, string]> = [
      [
        'SELECT Id FROM Lead WHERE Company = 5',
        'INVALID_FIELD',
        "value of filter criterion for field 'Company' must be of type string and should be " +
          'enclosed in quotes',
      ],
      [
        "SELECT Id FROM Lead WHERE AnnualRevenue > '5'",
        'INVALID_FIELD',
        "value of filter criterion for field 'AnnualRevenue' must be of type double and should " +
          'not be enclosed in quotes',
      ],
      [
        'SELECT Id FROM Lead WHERE SystemModstamp > 2025-01-01',
        'INVALID_FIELD',
        "value of filter criterion for field 'SystemModstamp' must be of type dateTime and " +
          'should not be enclosed in quotes',
      ],
      [
        "SELECT Id FROM Lead WHERE IsConverted = 'true'",
        'INVALID_FIELD',
        "value of filter criterion for field 'IsConverted' must be of type boolean and should " +
          'not be enclosed in quotes',
      ],
      [
        "SELECT Id FROM Lead WHERE Id = 'not-an-id'",
        'INVALID_QUERY_FILTER_OPERATOR',
        'invalid ID field: not-an-id',
      ],
      [
        'SELECT Id FROM Lead WHERE IsConverted > false',
        'INVALID_QUERY_FILTER_OPERATOR',
        'invalid operator on boolean field: IsConverted',
      ],
      [
        "SELECT Id FROM Lead WHERE AnnualRevenue LIKE '5%'",
        'INVALID_QUERY_FILTER_OPERATOR',
        'invalid operator on field: LIKE cannot filter AnnualRevenue',
      ],
    ];
    for (const [soql, errorCode, detail] of cases) {
      const problem = refusal(() => planQuery(soql));
      expect([problem.errorCode, problem.message.split('\n').at(-1)], soql).toEqual([
        errorCode,
        detail,
      ]);
    }
  });

  it(
    'matches text without regard to case, counts nulls as different, and uses indexes for Id ' +
      'and unique keys',
    () => {
      const rows: SObjectRow[] = [
        { Id: makeRecordId('00Q', 1), Company: 'Acme', Email: null, PartnerReferralId__c: 'REF-1' },
        { Id: makeRecordId('00Q', 2), Company: 'ACME corp', Email: 'a@acme.io' },
        { Id: makeRecordId('00Q', 3), Company: '100% Acme_Labs', Email: 'b@acme.io' },
      ];
      const ids = (soql: string) =>
        rows
          .filter((row) => planQuery(soql).matches(row, noRelated))
          .map((row) => String(row.Id).slice(-6));
      expect(ids("SELECT Id FROM Lead WHERE Company = 'acme'")).toEqual(
        [rows[0]?.Id].map((id) => String(id).slice(-6)),
      );
      expect(ids("SELECT Id FROM Lead WHERE Email != 'a@acme.io'")).toHaveLength(2);
      expect(ids("SELECT Id FROM Lead WHERE Company LIKE 'acme%'")).toHaveLength(2);
      expect(ids("SELECT Id FROM Lead WHERE Company LIKE '100\\% Acme\\_%'")).toHaveLength(1);
      expect(ids("SELECT Id FROM Lead WHERE Company LIKE '100% Acme_Lab_'")).toHaveLength(1);
      expect(
        ids("SELECT Id FROM Lead WHERE NOT (Email = null OR Company IN ('ACME CORP'))"),
      ).toHaveLength(1);
      const id15 = String(rows[1]?.Id).slice(0, 15);
      expect(ids(`SELECT Id FROM Lead WHERE Id = '${id15}'`)).toHaveLength(1);
      expect(
        planQuery(`SELECT Id FROM Lead WHERE Id IN ('${id15}') AND Company != null`).indexHint,
      ).toEqual({
        field: expect.objectContaining({ name: 'Id' }),
        values: [rows[1]?.Id],
      });
      expect(
        planQuery("SELECT Id FROM Lead WHERE PartnerReferralId__c = 'Ref-1'").indexHint?.values,
      ).toEqual(['ref-1']);
      expect(
        planQuery("SELECT Id FROM Lead WHERE Company = 'x' OR PartnerReferralId__c = 'a'")
          .indexHint,
      ).toBeUndefined();
    },
  );

  it('orders with nulls first ascending and last descending unless told otherwise', () => {
    const rows: SObjectRow[] = [
      { Id: 'a', Rating: 'warm' },
      { Id: 'b' },
      { Id: 'c', Rating: 'Cold' },
    ];
    const order = (soql: string) => {
      const plan = planQuery(soql);
      return [...rows].sort((x, y) => plan.order?.(x, y, noRelated) ?? 0).map((row) => row.Id);
    };
    expect(order('SELECT Id FROM Lead ORDER BY Rating')).toEqual(['b', 'c', 'a']);
    expect(order('SELECT Id FROM Lead ORDER BY Rating DESC')).toEqual(['a', 'c', 'b']);
    expect(order('SELECT Id FROM Lead ORDER BY Rating ASC NULLS LAST')).toEqual(['c', 'a', 'b']);
  });

  it('projects related fields as nested records and an empty reference as null', () => {
    const opportunity: SObjectRow = { Id: makeRecordId('006', 7), StageName: 'Prospecting' };
    const lookup: RowLookup = {
      get: (object, id) =>
        object === OPPORTUNITY && id === opportunity.Id ? opportunity : undefined,
    };
    const plan = planQuery(
      'SELECT Id, ConvertedOpportunity.StageName, ConvertedOpportunity.Id FROM Lead',
    );
    const leadId = makeRecordId(LEAD.keyPrefix, 1);
    const lead: SObjectRow = { Id: leadId, ConvertedOpportunityId: opportunity.Id as string };
    expect(projectRow(plan, lead, lookup, '60.0')).toEqual({
      attributes: { type: 'Lead', url: `/services/data/v60.0/sobjects/Lead/${lead.Id}` },
      Id: lead.Id,
      ConvertedOpportunity: {
        attributes: {
          type: 'Opportunity',
          url: `/services/data/v60.0/sobjects/Opportunity/${opportunity.Id}`,
        },
        StageName: 'Prospecting',
        Id: opportunity.Id,
      },
    });
    expect(projectRow(plan, { Id: leadId }, lookup, '60.0').ConvertedOpportunity).toBeNull();
  });

  it('turns LIKE patterns into anchored case-insensitive expressions', () => {
    expect(likeToRegExp('a%b_c').source).toBe('^a.*b.c$');
    expect(likeToRegExp('50\\%\\_x.y').test('50%_X.Y')).toBe(true);
    expect(likeToRegExp('50\\%\\_x.y').test('50%_xzy')).toBe(false);
  });
});
