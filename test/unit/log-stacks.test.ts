// The logger and the CLI's failure report keep stack traces away from operators unless debug logs
// were asked for.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { debugRequested, reportFailure } from '../../src/cli/failure.js';
import { LeadbridgeError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/log.js';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { stream, text: () => text };
}

const PG_TEXT =
  'Acquire connection error: error: database "x" does not exist\n    at parseErrorMessage ' +
  '(/app/node_modules/pg-protocol/src/parser.ts:395:9)\n    at Parser.parse ' +
  '(/app/node_modules/pg-protocol/src/parser.ts:105:30)';

describe('logger: stacks only at debug', () => {
  it('drops stack frames from the message and from fields at warn', async () => {
    const out = capture();
    const logger = createLogger({ level: 'info', format: 'json', stream: out.stream });
    const error = new Error('boom');
    logger.warn(`ledger: ${PG_TEXT}`, { detail: PG_TEXT, error, stack: error.stack });
    await new Promise((resolve) => setImmediate(resolve));
    const line = JSON.parse(out.text()) as Record<string, unknown>;
    expect(line.message).toBe(
      'ledger: Acquire connection error: error: database "x" does not exist',
    );
    expect(line.detail).toBe('Acquire connection error: error: database "x" does not exist');
    expect(line.error).toBe('boom');
    expect(line.stack).toBeUndefined();
  });

  it('keeps them at debug', async () => {
    const out = capture();
    const logger = createLogger({ level: 'debug', format: 'json', stream: out.stream });
    logger.debug(PG_TEXT);
    await new Promise((resolve) => setImmediate(resolve));
    expect((JSON.parse(out.text()) as { message: string }).message).toBe(PG_TEXT);
  });
});

describe('reportFailure', () => {
  it('prints the message of an unexpected error without its stack, and says how to get it', () => {
    const out = capture();
    reportFailure(new TypeError('cannot read properties of undefined'), out.stream);
    expect(out.text()).toBe(
      'leadbridge: unexpected error: cannot read properties of undefined\n' +
        'leadbridge: this looks like a bug; run again with --log-level debug for the stack ' +
        'trace and report it\n',
    );
  });

  it('prints a known error as one line, and with debug its stack and its cause', () => {
    const quiet = capture();
    const error = new LeadbridgeError('LEDGER_ERROR', 'ledger file /x is locked', {
      cause: new Error('SQLITE_BUSY'),
    });
    reportFailure(error, quiet.stream);
    expect(quiet.text()).toBe('leadbridge: ledger file /x is locked\n');
    const loud = capture();
    reportFailure(error, loud.stream, { debug: true });
    expect(loud.text()).toMatch(
      /^leadbridge: ledger file \/x is locked\nLeadbridgeError: ledger file \/x is locked\n\s+at /,
    );
    expect(loud.text()).toContain('caused by: Error: SQLITE_BUSY\n');
  });

  it('reads --log-level debug from argv in both spellings', () => {
    expect(debugRequested(['node', 'cli', '--log-level', 'debug', 'status'])).toBe(true);
    expect(debugRequested(['node', 'cli', '--log-level=debug', 'status'])).toBe(true);
    expect(debugRequested(['node', 'cli', '--log-level', 'info', 'status'])).toBe(false);
  });
});
