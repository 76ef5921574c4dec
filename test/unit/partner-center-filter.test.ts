// The simulator's OData $filter: parsing, typing against the referral schema, evaluation and index
// ranges.
import { describe, expect, it } from 'vitest';
import {
  FilterError,
  compileFilter,
  parseFilter,
  splitKeyRange,
} from '../../src/simulators/partner-center/filter.js';

const referral = {
  id: 'r-1',
  name: "O'Brien \\ Sons - Azure migration",
  status: 'New',
  substatus: 'Received',
  favorite: false,
  updatedDateTime: '2025-03-01T10:00:00.1234567Z',
  createdDateTime: '2025-02-27T08:30:00.0000000Z',
  customerProfile: {
    name: "O'Brien \\ Sons",
    address: { country: 'IE', city: 'Dublin' },
    team: [
      { firstName: 'Seán', email: 'sean.murphy@obrien.ie' },
      { firstName: 'Grace', email: null },
    ],
  },
  details: {
    dealValue: '120000',
    currency: 'EUR',
    customerRequestedContact: true,
    requirements: { industries: [{ id: 'Retail & Consumer Goods' }, { id: 'Manufacturing' }] },
  },
  team: [],
  inviteContext: { invitedBy: { organizationId: 'msft' } },
};

function matches(filter: string, value: unknown = referral): boolean {
  return compileFilter(parseFilter(filter))(value);
}

function refusal(filter: string): string {
  try {
    parseFilter(filter);
  } catch (error) {
    expect(error).toBeInstanceOf(FilterError);
    return (error as Error).message;
  }
  throw new Error(`expected ${filter} to be refused`);
}

describe('$filter evaluation', () => {
  it.each([
    ["status eq 'New'", true],
    ["status eq 'Active'", false],
    ["status ne 'Active'", true],
    ["customerProfile/address/country eq 'IE'", true],
    ["customerProfile/address/country eq 'ie'", false],
    ["customerProfile/name eq 'O''Brien \\ Sons'", true],
    ["customerProfile/team/any(t:t/email eq 'sean.murphy@obrien.ie')", true],
    ["customerProfile/team/any(t: t/email eq 'nobody@obrien.ie')", false],
    ['customerProfile/team/all(t: t/firstName ne null)', true],
    ['customerProfile/team/all(t: t/email ne null)', false],
    ['customerProfile/team/any()', true],
    ['team/any()', false],
    ["details/requirements/industries/any(i: i/id eq 'Manufacturing')", true],
    [
      "customerProfile/team/any(t: t/firstName eq 'Seán' and customerProfile/address/city eq " +
        "'Dublin')",
      true,
    ],
    ['details/dealValue gt 100000', true],
    ['details/dealValue le 100000', false],
    ['details/customerRequestedContact', true],
    ['details/customerRequestedContact eq false', false],
    ['not favorite', true],
    ["not (status eq 'New')", false],
    ["status eq 'Active' or (status eq 'New' and substatus eq 'Received')", true],
    ["status eq 'Active' or status eq 'New' and substatus eq 'Pending'", false],
    ['externalReferenceId eq null', true],
    ['inviteContext/invitedBy/organizationId ne null', true],
    ['campaignId ne null', false],
    ['updatedDateTime ge 2025-03-01T10:00:00.1234567Z', true],
    ['updatedDateTime gt 2025-03-01T10:00:00.1234567Z', false],
    ['updatedDateTime gt 2025-03-01T10:00:00.123Z', true],
    ['updatedDateTime lt 2025-03-01T11:00:00+01:00', false],
    ['updatedDateTime le 2025-03-01T11:00:00.1234567+01:00', true],
    ['updatedDateTime ge 2025-03-01T10:00Z', true],
    ['createdDateTime lt updatedDateTime', true],
  ])('%s → %s', (filter, expected) => {
    expect(matches(filter)).toBe(expected);
  });

  it('treats a missing or wrongly typed value as null', () => {
    expect(matches('details/dealValue gt 0', { details: { dealValue: 'lots' } })).toBe(false);
    expect(matches('details/dealValue eq null', { details: null })).toBe(true);
    expect(
      matches('updatedDateTime ge 2020-01-01T00:00:00Z', { updatedDateTime: 'yesterday' }),
    ).toBe(false);
    expect(
      matches("customerProfile/team/any(t: t/email eq 'x')", { customerProfile: { team: 'x' } }),
    ).toBe(false);
  });
});

describe('$filter refusals', () => {
  it.each([
    [
      "updatedDateTime ge '2025-01-01T00:00:00Z'",
      'updatedDateTime is a date-time: write the literal unquoted, as in updatedDateTime ge ' +
        "2025-01-01T00:00:00Z, not as the string '2025-01-01T00:00:00Z' at character 20",
    ],
    [
      'updatedDateTime ge 2025-01-01',
      'date literal 2025-01-01 at character 20 has no time: write a date-time such as ' +
        '2025-01-01T00:00:00Z',
    ],
    [
      'updatedDateTime ge 2025-01-01T00:00:00',
      'invalid date-time literal 2025-01-01T00:00:00 at character 20: it needs a zone, Z or ' +
        '+hh:mm (e.g. 2025-01-01T00:00:00Z)',
    ],
    [
      'updatedDateTime ge 2025-01-01T00:00:00 01:00',
      "invalid date-time literal 2025-01-01T00:00:00 at character 20: a '+' in a URL query " +
        'decodes as a space, so percent-encode it as %2B',
    ],
    [
      'updatedDateTime ge 2025-02-30T00:00:00Z',
      'invalid date-time literal 2025-02-30T00:00:00Z at character 20: expected a real date ' +
        'and time such as 2025-01-01T00:00:00Z or 2025-01-01T00:00:00.1234567+01:00',
    ],
    [
      "customerProfile/adress/country eq 'US'",
      "unknown property 'customerProfile/adress' at character 17 (did you mean " +
        "'customerProfile/address'?)",
    ],
    ["Status eq 'New'", "unknown property 'Status' at character 1 (did you mean 'status'?)"],
    [
      "customerProfile/whatever eq 'x'",
      "unknown property 'customerProfile/whatever' at character 17; known: name, address, " +
        'size, team, ids',
    ],
    [
      "customerProfile/team/email eq 'x'",
      'customerProfile/team is a collection at character 22: test its items with ' +
        'customerProfile/team/any(x: x/... eq ...)',
    ],
    [
      "contains(name, 'Contoso')",
      "unsupported function 'contains' at character 1; supported: eq, ne, gt, ge, lt, le, and, " +
        'or, not, parentheses and any/all lambdas',
    ],
    [
      "status in ('New', 'Active')",
      "unsupported operator 'in' at character 8; supported: eq, ne, gt, ge, lt, le, and, or, " +
        'not, parentheses and any/all lambdas',
    ],
    [
      "status eq 'New' AND favorite",
      "unexpected 'AND' at character 17: operators are lowercase ('and')",
    ],
    [
      "status eq 'new'",
      "'new' at character 11 is not a valid status; expected one of None, New, Active, Closed",
    ],
    ["status gt 'New'", 'status at character 1 can only be compared with eq or ne, not gt'],
    [
      "not status eq 'New'",
      "'not' at character 1 applies to status alone, which is not a condition: write not " +
        '(status eq ...)',
    ],
    [
      "details/dealValue eq '100'",
      "details/dealValue is a number: write the literal '100' at character 22 unquoted, as in " +
        'details/dealValue eq 10000',
    ],
    ['name eq 5', "name is a string: quote the literal 5 at character 9 ('5')"],
    [
      'engagementId eq 65edc0b5-3485-41b7-a17e-dfa9ef4706e2',
      'malformed literal 65edc0b5-3485-41b7-a17e-dfa9ef4706e2 at character 17: quote strings ' +
        "and GUIDs ('65edc0b5-3485-41b7-a17e-dfa9ef4706e2')",
    ],
    [
      "name eq 'unterminated",
      "unterminated string literal starting at character 9 (write '' for a quote inside a string)",
    ],
    [
      "(status eq 'New'",
      "expected ')' to close the parenthesis opened at character 1, found the end of the " +
        'expression at character 17',
    ],
    [
      'customerProfile eq null',
      'customerProfile at character 1 is an object: compare one of its properties, e.g. ' +
        'customerProfile/name',
    ],
    [
      'name',
      'the $filter needs a condition, but name at character 1 is a value: compare it with eq, ' +
        'ne, gt, ge, lt or le',
    ],
    ["links/self/uri eq 'x'", 'links at character 1 cannot be filtered'],
    ["'New' eq 'New'", "'eq' at character 7 compares two literals; one side must be a property"],
    ['favorite gt true', 'favorite at character 1 can only be compared with eq or ne, not gt'],
    ["status eq 'New' eq true", "unexpected 'eq' at character 17"],
    ['', 'the expression is empty'],
  ])('%s', (filter, message) => {
    expect(refusal(filter)).toBe(message);
  });
});

describe('index ranges from $filter', () => {
  it(
    'turns bounds on the sort field in the top-level and into a key range and keeps the ' + 'rest',
    () => {
      const { range, residual } = splitKeyRange(
        parseFilter(
          "updatedDateTime ge 2025-01-01T00:00:00Z and status eq 'New' and updatedDateTime lt " +
            '2025-02-01T00:00:00+01:00 and updatedDateTime gt 2025-01-01T00:00:00Z',
        ),
        'updatedDateTime',
      );
      expect(range).toEqual({
        lower: { key: '2025-01-01T00:00:00.0000000Z', inclusive: false },
        upper: { key: '2025-01-31T23:00:00.0000000Z', inclusive: false },
      });
      expect(residual && compileFilter(residual)({ status: 'New' })).toBe(true);
      expect(residual && compileFilter(residual)({ status: 'Active' })).toBe(false);
    },
  );

  it('reads a literal on the left and an eq as both bounds, and leaves an or alone', () => {
    expect(
      splitKeyRange(parseFilter('2025-01-01T00:00:00Z le updatedDateTime'), 'updatedDateTime'),
    ).toEqual({
      range: { lower: { key: '2025-01-01T00:00:00.0000000Z', inclusive: true }, upper: null },
      residual: null,
    });
    expect(
      splitKeyRange(parseFilter('createdDateTime eq 2025-01-01T00:00:00Z'), 'createdDateTime')
        .range,
    ).toEqual({
      lower: { key: '2025-01-01T00:00:00.0000000Z', inclusive: true },
      upper: { key: '2025-01-01T00:00:00.0000000Z', inclusive: true },
    });
    const either = splitKeyRange(
      parseFilter("updatedDateTime ge 2025-01-01T00:00:00Z or status eq 'New'"),
      'updatedDateTime',
    );
    expect(either.range).toEqual({ lower: null, upper: null });
    expect(either.residual?.kind).toBe('or');
  });
});
