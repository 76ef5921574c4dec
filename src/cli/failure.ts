// How a failed command ends: the error's message on stderr (no stack for known errors) and an exit code.
import { isLeadbridgeError } from '../core/errors.js';

/** Config and mapping problems exit 2 (fix the file); every other failure exits 1. */
export const EXIT_CONFIG = 2;
export const EXIT_FAILURE = 1;

export function exitCodeFor(error: unknown): number {
  if (isLeadbridgeError(error) && (error.code === 'CONFIG_INVALID' || error.code === 'MAPPING_INVALID')) return EXIT_CONFIG;
  return EXIT_FAILURE;
}

export function reportFailure(error: unknown, stderr: NodeJS.WritableStream): void {
  if (isLeadbridgeError(error)) {
    stderr.write(`leadbridge: ${error.message}\n`);
    return;
  }
  // Anything else is a bug, so the stack is worth having.
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  stderr.write(`leadbridge: unexpected error: ${text}\n`);
}
