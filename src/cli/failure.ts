// How a failed command ends: the error's message on stderr (no stack for known errors) and an exit
// code.
import { isLeadbridgeError } from '../core/errors.js';

/** Config and mapping problems exit 2 (fix the file); every other failure exits 1. */
const EXIT_CONFIG = 2;
const EXIT_FAILURE = 1;

export function exitCodeFor(error: unknown): number {
  if (
    isLeadbridgeError(error) &&
    (error.code === 'CONFIG_INVALID' || error.code === 'MAPPING_INVALID')
  )
    return EXIT_CONFIG;
  return EXIT_FAILURE;
}

/**
 * An operator sees one message; stack traces (ours and every cause's) only with `--log-level
 * debug`,
 * where a developer asked for them.
 */
export function reportFailure(
  error: unknown,
  stderr: NodeJS.WritableStream,
  options: { debug?: boolean } = {},
): void {
  const message = error instanceof Error ? error.message : String(error);
  stderr.write(
    isLeadbridgeError(error)
      ? `leadbridge: ${message}\n`
      : `leadbridge: unexpected error: ${message}\n`,
  );
  if (options.debug) {
    for (
      let cause: unknown = error, depth = 0;
      cause instanceof Error && depth < 5;
      cause = cause.cause, depth++
    ) {
      stderr.write(`${depth === 0 ? '' : 'caused by: '}${cause.stack ?? cause.message}\n`);
    }
  } else if (!isLeadbridgeError(error)) {
    stderr.write(
      'leadbridge: this looks like a bug; run again with --log-level debug for the stack trace ' +
        'and report it\n',
    );
  }
}

/**
 * Whether the command line asked for debug logs (read from argv: a failure may come before the
 * options are parsed).
 */
export function debugRequested(argv: readonly string[]): boolean {
  return argv.some(
    (arg, i) => arg === '--log-level=debug' || (arg === '--log-level' && argv[i + 1] === 'debug'),
  );
}
