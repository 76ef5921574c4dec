// ledger.retention in the config: how long old audit entries, settled outbox rows and finished runs
// are kept.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { parseConfig } from '../../src/config/index.js';
import { CRM_MODULES } from '../../src/crm/modules.js';

const parse = (ledger: string) =>
  parseConfig(
    [
      'source:',
      '  partnerCenter:',
      '    auth: { kind: static, token: t }',
      `ledger: ${ledger}`,
      '',
    ].join('\n'),
    { env: {}, file: 'leadbridge.yaml', cwd: '/srv', kinds: CRM_MODULES },
  );

describe('ledger.retention', () => {
  it('is optional (the prune keeps 180 days) and takes whole days on SQLite and PostgreSQL', () => {
    expect(parse('{ filename: l.sqlite }').ledger.retention).toBeUndefined();
    expect(parse('{ filename: l.sqlite, retention: { days: 30 } }').ledger.retention).toEqual({
      days: 30,
    });
    expect(
      parse('{ client: pg, connection: "postgres://h/db", retention: { days: 365 } }').ledger
        .retention,
    ).toEqual({ days: 365 });
  });

  it('refuses zero, fractions and unknown keys, naming the path and line', () => {
    for (const [retention, path, message] of [
      ['{ days: 0 }', 'ledger.retention.days', 'must be at least 1'],
      ['{ days: 1.5 }', 'ledger.retention.days', 'expected a whole number, got 1.5'],
      ['{ weeks: 2 }', 'ledger.retention.weeks', 'unknown key (allowed keys: days)'],
    ] as const) {
      try {
        parse(`{ filename: l.sqlite, retention: ${retention} }`);
        throw new Error(`accepted ${retention}`);
      } catch (error) {
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).issues).toEqual([
          { path, message, file: 'leadbridge.yaml', line: 4 },
        ]);
      }
    }
  });
});
