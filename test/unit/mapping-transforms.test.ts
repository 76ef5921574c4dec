// Unit tests for every mapping transform: how it is written, what it gives, and its exact error
// messages.
import { describe, expect, it } from 'vitest';
import type { LookupTable, TransformStep } from '../../src/mapping/definition.js';
import { BUILT_IN_LOOKUPS } from '../../src/mapping/tables.js';
import {
  parseLookupTable,
  parseTransform,
  type StepProblem,
} from '../../src/mapping/transform-parse.js';
import { applyTransform, describeTransform } from '../../src/mapping/transforms.js';

const leadSource = parseLookupTable(
  { customerInquiry: 8, marketingQualified: 3 },
  'leadSource',
) as LookupTable;
const withDefault = parseLookupTable(
  { values: { a: 'A' }, default: 'other' },
  'withDefault',
) as LookupTable;
const plainDefault = parseLookupTable({ a: 'A', default: 'other' }, 'plainDefault') as LookupTable;
const defaultKey = parseLookupTable({ values: { default: 'D' } }, 'defaultKey') as LookupTable;
const lookups = { ...BUILT_IN_LOOKUPS, leadSource, withDefault, plainDefault, defaultKey };

function step(raw: unknown): TransformStep {
  const parsed = parseTransform(raw, lookups);
  if (Array.isArray(parsed)) throw new Error(`unexpected problems: ${JSON.stringify(parsed)}`);
  return parsed;
}

function run(raw: unknown, value: unknown): unknown {
  return applyTransform(value, step(raw), 'details.x');
}

function problems(raw: unknown): StepProblem[] {
  const parsed = parseTransform(raw, lookups);
  if (!Array.isArray(parsed)) throw new Error(`expected problems, got ${JSON.stringify(parsed)}`);
  return parsed;
}

describe('text transforms', () => {
  it('trim, upper and lower work on text and stringify numbers', () => {
    expect(run('trim', '  Contoso \n')).toBe('Contoso');
    expect(run('upper', 'us')).toBe('US');
    expect(run('lower', 'MiXeD')).toBe('mixed');
    expect(run('trim', 42)).toBe('42');
  });

  it('pass empty values through and apply to each item of a list', () => {
    expect(run('trim', undefined)).toBeUndefined();
    expect(run('upper', null)).toBeNull();
    expect(run('trim', '')).toBe('');
    expect(run('upper', ['a', ' b', null])).toEqual(['A', ' B', null]);
  });

  it('refuse objects', () => {
    expect(() => run('trim', { a: 1 })).toThrow('trim expects text, got an object {"a":1}');
  });

  it('truncate cuts to N code units without splitting a surrogate pair', () => {
    expect(run({ truncate: 5 }, 'Contoso Ltd')).toBe('Conto');
    expect(run({ truncate: 20 }, 'short')).toBe('short');
    // "ab😀" is 4 code units; cutting at 3 would leave half of the emoji.
    expect(run({ truncate: 3 }, 'ab😀')).toBe('ab');
    expect(run({ truncate: 4 }, 'ab😀c')).toBe('ab😀');
    expect(run({ truncate: 2 }, 'éèà')).toBe('éè');
  });

  it('replace uses a global regular expression with $n references', () => {
    expect(run({ replace: { pattern: '\\s+', with: ' ' } }, 'a   b \t c')).toBe('a b c');
    expect(run({ replace: { pattern: '(\\d{3})(\\d{4})', with: '$1-$2' } }, '5550100')).toBe(
      '555-0100',
    );
    expect(run({ replace: { pattern: '-' } }, 'a-b-c')).toBe('abc');
  });

  it('prefix and suffix leave empty values alone', () => {
    expect(run({ prefix: 'PC-' }, '123')).toBe('PC-123');
    expect(run({ suffix: ' (PC)' }, 'Deal')).toBe('Deal (PC)');
    expect(run({ prefix: 'PC-' }, '')).toBe('');
    expect(run({ suffix: '!' }, undefined)).toBeUndefined();
  });

  it('join turns a list into text, skipping empty items; a single value passes', () => {
    expect(run('join', ['Azure', 'Microsoft 365'])).toBe('Azure, Microsoft 365');
    expect(run({ join: ' / ' }, ['a', '', null, 'b', 3])).toBe('a / b / 3');
    expect(run({ join: ';' }, [])).toBe('');
    expect(run({ join: ';' }, 'already text')).toBe('already text');
    expect(() => run('join', [{ id: 1 }])).toThrow('join expects text, got an object {"id":1}');
  });
});

describe('default and required', () => {
  it('default fills undefined, null, empty text and empty lists only', () => {
    expect(run({ default: '(unknown)' }, undefined)).toBe('(unknown)');
    expect(run({ default: '(unknown)' }, null)).toBe('(unknown)');
    expect(run({ default: '(unknown)' }, '')).toBe('(unknown)');
    expect(run({ default: 0 }, [])).toBe(0);
    expect(run({ default: '(unknown)' }, ' ')).toBe(' ');
    expect(run({ default: false }, 0)).toBe(0);
  });

  it('required names the source when the value is empty', () => {
    expect(run('required', 'x')).toBe('x');
    expect(run('required', 0)).toBe(0);
    expect(() => run('required', '')).toThrow('value is required but details.x is empty');
    expect(() => run('required', null)).toThrow('value is required but details.x is empty');
    expect(() => applyTransform(undefined, step('required'))).toThrow(
      'value is required but the source is empty',
    );
  });
});

describe('number, integer, boolean', () => {
  it('number accepts numbers and numeric texts with thousands separators', () => {
    expect(run('number', 10000)).toBe(10000);
    expect(run('number', '10000')).toBe(10000);
    expect(run('number', '1,250.50')).toBe(1250.5);
    expect(run('number', ' -3.5 ')).toBe(-3.5);
    expect(run('number', '.5')).toBe(0.5);
  });

  it('number refuses everything else', () => {
    expect(() => run('number', 'lots')).toThrow('"lots" is not a number');
    expect(() => run('number', '1,25')).toThrow('"1,25" is not a number');
    expect(() => run('number', '12abc')).toThrow('"12abc" is not a number');
    expect(() => run('number', '-')).toThrow('"-" is not a number');
    expect(() => run('number', true)).toThrow('true is not a number');
  });

  it('integer wants a whole number', () => {
    expect(run('integer', '1,000')).toBe(1000);
    expect(run('integer', 7)).toBe(7);
    expect(() => run('integer', 12.5)).toThrow('12.5 is not an integer');
    expect(() => run('integer', 'ten')).toThrow('"ten" is not an integer');
  });

  it('boolean reads common spellings', () => {
    expect(run('boolean', true)).toBe(true);
    expect(run('boolean', 'Yes')).toBe(true);
    expect(run('boolean', '0')).toBe(false);
    expect(run('boolean', 1)).toBe(true);
    expect(run('boolean', 'off')).toBe(false);
    expect(() => run('boolean', 'maybe')).toThrow('"maybe" is not a boolean');
    expect(() => run('boolean', 2)).toThrow('2 is not a boolean');
  });
});

describe('date', () => {
  it('reads Partner Center date-times with 7 fractional digits and offsets', () => {
    expect(run({ date: 'YYYY-MM-DD' }, '2018-10-30T21:03:42.4579542Z')).toBe('2018-10-30');
    expect(run({ date: 'iso' }, '2018-10-30T21:03:42.4579542Z')).toBe('2018-10-30T21:03:42.457Z');
    expect(run({ date: 'YYYY-MM-DD' }, '2025-03-01T23:30:00-05:00')).toBe('2025-03-02');
    expect(run({ date: 'iso' }, '2025-03-01T01:00:00+02:00')).toBe('2025-02-28T23:00:00.000Z');
  });

  it('reads plain dates (as CRMs return them) without moving the day', () => {
    expect(run({ date: 'YYYY-MM-DD' }, '2025-06-30')).toBe('2025-06-30');
    expect(run({ date: 'iso' }, '2025-06-30')).toBe('2025-06-30T00:00:00.000Z');
    expect(run({ date: 'iso' }, '2025-06-30T08:15')).toBe('2025-06-30T08:15:00.000Z');
  });

  it('refuses other forms and impossible dates', () => {
    expect(() => run({ date: 'iso' }, 'tomorrow')).toThrow('"tomorrow" is not an ISO-8601 date');
    expect(() => run({ date: 'iso' }, '2025-02-30')).toThrow(
      '"2025-02-30" is not an ISO-8601 date',
    );
    expect(() => run({ date: 'iso' }, '2025-01-01T24:00:00Z')).toThrow(
      '"2025-01-01T24:00:00Z" is not an ISO-8601 date',
    );
    expect(() => run({ date: 'iso' }, '2025-01-01T10:00:00.12345678Z')).toThrow(
      '"2025-01-01T10:00:00.12345678Z" is not an ISO-8601 date',
    );
    expect(() => run({ date: 'YYYY-MM-DD' }, 20250101)).toThrow('20250101 is not an ISO-8601 date');
  });
});

describe('lookup', () => {
  it('compares keys as strings and reads named, inline and built-in tables', () => {
    expect(run({ lookup: 'leadSource' }, 'customerInquiry')).toBe(8);
    expect(run({ lookup: { true: 1, false: 2 } }, true)).toBe(1);
    expect(run({ lookup: { true: 1, false: 2 } }, false)).toBe(2);
    expect(run({ lookup: { 4: 'Lost' } }, 4)).toBe('Lost');
    expect(run({ lookup: 'iso3166' }, 'DE')).toBe('Germany');
    expect(run({ lookup: 'customerSize' }, '1to50employees')).toBe(25);
  });

  it('a miss is an error naming the value and the table', () => {
    expect(() => run({ lookup: 'leadSource' }, 'coSell')).toThrow(
      '"coSell" is not in lookup leadSource (known: customerInquiry, marketingQualified)',
    );
    expect(() => run({ lookup: { true: 1 } }, false)).toThrow(
      'false is not in the inline lookup (known: true)',
    );
    expect(() => run({ lookup: 'iso3166' }, 'ZZ')).toThrow('"ZZ" is not in lookup iso3166');
  });

  it('a miss gives the table default, or the step fallback (keep, null or a value)', () => {
    expect(run({ lookup: 'withDefault' }, 'zzz')).toBe('other');
    expect(run({ lookup: 'plainDefault' }, 'a')).toBe('A');
    expect(run({ lookup: 'plainDefault' }, 'zzz')).toBe('other');
    expect(run({ lookup: 'plainDefault' }, 'default')).toBe('other');
    expect(run({ lookup: 'defaultKey' }, 'default')).toBe('D');
    expect(() => run({ lookup: 'defaultKey' }, 'x')).toThrow(
      '"x" is not in lookup defaultKey (known: default)',
    );
    expect(run({ lookup: 'leadSource', fallback: 'keep' }, 'coSell')).toBe('coSell');
    expect(run({ lookup: 'leadSource', fallback: null }, 'coSell')).toBeNull();
    expect(run({ lookup: 'withDefault', fallback: 10 }, 'zzz')).toBe(10);
  });

  it('applies to each item of a list', () => {
    expect(run({ lookup: 'iso3166' }, ['US', 'FR'])).toEqual(['United States', 'France']);
  });
});

describe('email, phone, country', () => {
  it('email trims and validates', () => {
    expect(run('email', ' ann.lee+pc@contoso.co.uk ')).toBe('ann.lee+pc@contoso.co.uk');
    expect(run('email', 'jürgen@müller.de')).toBe('jürgen@müller.de');
    expect(() => run('email', 'ann@')).toThrow('"ann@" is not a valid email address');
    expect(() => run('email', 'ann lee@contoso.com')).toThrow(
      '"ann lee@contoso.com" is not a valid email address',
    );
    expect(() => run('email', 'ann@contoso')).toThrow('"ann@contoso" is not a valid email address');
  });

  it('phone normalises spaces and needs a digit', () => {
    expect(run('phone', '  +1   (555)\t0100 ')).toBe('+1 (555) 0100');
    expect(run('phone', '+49\u00a030\u00a012345')).toBe('+49 30 12345');
    expect(() => run('phone', 'n/a')).toThrow('"n/a" is not a phone number');
  });

  it('country upper-cases 2-letter ISO codes and refuses anything else', () => {
    expect(run('country', 'us')).toBe('US');
    expect(run('country', ' de ')).toBe('DE');
    expect(() => run('country', 'USA')).toThrow('"USA" is not a 2-letter ISO 3166 country code');
    expect(() => run('country', 'United States')).toThrow(
      '"United States" is not a 2-letter ISO 3166 country code',
    );
    expect(() => run('country', 'ZZ')).toThrow('"ZZ" is not a known ISO 3166 country code');
  });
});

describe('how steps are written', () => {
  it('reports unknown names, missing and unexpected arguments', () => {
    expect(problems('nubmer')).toEqual([
      { at: [], message: 'unknown transform "nubmer" (did you mean "number"?)' },
    ]);
    expect(problems({ frobnicate: 1 })).toEqual([
      { at: [], message: 'unknown transform "frobnicate"' },
    ]);
    expect(problems('truncate')).toEqual([
      { at: [], message: 'transform "truncate" needs an argument, e.g. { truncate: 100 }' },
    ]);
    expect(problems({ trim: true })).toEqual([
      { at: ['trim'], message: 'transform "trim" takes no argument: write it as trim' },
    ]);
    expect(problems({ truncate: 10, upper: null })).toEqual([
      { at: ['upper'], message: 'unexpected key "upper" in transform "truncate"' },
    ]);
    expect(problems(42)).toEqual([
      {
        at: [],
        message: 'a transform is a name (trim) or a one-key mapping ({ truncate: 300 }), got 42',
      },
    ]);
  });

  it('checks each argument', () => {
    expect(problems({ truncate: '300' })).toEqual([
      { at: ['truncate'], message: 'truncate needs a positive whole number, got "300"' },
    ]);
    expect(problems({ truncate: 2.5 })).toEqual([
      { at: ['truncate'], message: 'truncate needs a positive whole number, got 2.5' },
    ]);
    expect(problems({ default: null })).toEqual([
      { at: ['default'], message: 'default needs a text, number or boolean value, got null' },
    ]);
    expect(problems({ date: 'DD/MM/YYYY' })).toEqual([
      { at: ['date'], message: 'date format must be "YYYY-MM-DD" or "iso", got "DD/MM/YYYY"' },
    ]);
    expect(problems({ join: 1 })).toEqual([
      { at: ['join'], message: 'join needs a separator text, got 1' },
    ]);
    expect(problems({ prefix: '' })).toEqual([
      { at: ['prefix'], message: 'prefix needs a non-empty text, got ""' },
    ]);
    expect(problems({ replace: { pattern: '(', with: 1, flags: 'i' } })).toEqual([
      {
        at: ['replace', 'flags'],
        message: 'unexpected key "flags" in replace (use pattern and with)',
      },
      // The tail of this message is the JavaScript engine's own wording.
      {
        at: ['replace', 'pattern'],
        message: expect.stringMatching(
          /^replace pattern \/\(\/ is not a valid regular expression: .*Unterminated group/,
        ),
      },
      { at: ['replace', 'with'], message: 'replace "with" must be a text, got 1' },
    ]);
  });

  it('checks lookup names, inline tables and fallbacks', () => {
    expect(problems({ lookup: 'leadSorce' })).toEqual([
      {
        at: ['lookup'],
        message:
          'unknown lookup "leadSorce" (did you mean "leadSource"?) (known: customerSize, ' +
          'defaultKey, iso3166, leadSource, plainDefault, withDefault)',
      },
    ]);
    expect(problems({ lookup: { a: [1] } })).toEqual([
      {
        at: ['lookup', 'a'],
        message: 'lookup result must be a text, number, boolean or null, got a list [1]',
      },
    ]);
    expect(problems({ lookup: 'leadSource', fallback: [1] })).toEqual([
      {
        at: ['fallback'],
        message:
          'lookup fallback must be keep, null or a text, number or boolean value, got a list [1]',
      },
    ]);
  });

  it('describes steps for traces', () => {
    expect(describeTransform(step({ truncate: 300 }))).toBe('truncate 300');
    expect(describeTransform(step({ lookup: 'leadSource', fallback: 'keep' }))).toBe(
      'lookup leadSource fallback keep',
    );
    expect(describeTransform(step({ lookup: { true: 1 } }))).toBe('lookup (inline)');
    expect(describeTransform(step('join'))).toBe('join ", "');
    expect(describeTransform(step({ default: '(unknown)' }))).toBe('default "(unknown)"');
  });
});

describe('built-in tables', () => {
  it('iso3166 is complete and customerSize covers every Partner Center size', () => {
    expect(Object.keys(BUILT_IN_LOOKUPS['iso3166']!.entries)).toHaveLength(250);
    expect(BUILT_IN_LOOKUPS['customerSize']!.entries).toEqual({
      '1to9employees': 5,
      '10to50employees': 30,
      '1to50employees': 25,
      '51to250employees': 150,
      '51to500employees': 275,
      '251to1000employees': 625,
      Morethan500employees: 1000,
      '1001to5000employees': 3000,
      '5001to10000employees': 7500,
      '10001to20000employees': 15000,
      Morethan20000employees: 30000,
    });
  });
});
