// The commands that stream run under a V8 heap cap: the CLI re-executes itself with
// --max-old-space-size when none is set.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/**
 * A streaming cycle's live heap is a few tens of MB; without a cap V8 lets garbage grow to several
 * hundred before collecting.
 */
const HEAP_CAP_MB = 256;
/**
 * run, sync, resync and retry stream referrals; simulate holds every record in memory, so it keeps
 * Node's default heap.
 */
const STREAMING_COMMANDS: ReadonlySet<string> = new Set(['run', 'sync', 'resync', 'retry']);
/** Global options that take a value (so the value is not taken for the command's name). */
const VALUE_OPTIONS = new Set(['--config', '--log-level', '--log-format']);
const HEAP_FLAG = /--max[-_]old[-_]space[-_]size/;

/**
 * The command word of `leadbridge [global options] <command> ...` (args without node and the
 * script).
 */
export function commandOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (VALUE_OPTIONS.has(arg)) i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/**
 * Whether to re-execute: a streaming command, and no heap size chosen by the user (NODE_OPTIONS or
 * node's own flags).
 */
export function needsHeapCap(
  args: readonly string[],
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): boolean {
  const command = commandOf(args);
  if (command === undefined || !STREAMING_COMMANDS.has(command)) return false;
  return !execArgv.some((flag) => HEAP_FLAG.test(flag)) && !HEAP_FLAG.test(nodeOptions ?? '');
}

/**
 * Runs this same command line again in a child node with the cap (keeping node's flags, e.g. tsx's
 * loader),
 * forwards SIGINT / SIGTERM to it and resolves with its exit code. Resolves null when no cap is
 * needed.
 */
export async function reexecWithHeapCap(
  argv: readonly string[] = process.argv,
): Promise<number | null> {
  if (!needsHeapCap(argv.slice(2), process.execArgv, process.env.NODE_OPTIONS)) return null;
  const child = spawn(
    process.execPath,
    [...process.execArgv, `--max-old-space-size=${HEAP_CAP_MB}`, ...argv.slice(1)],
    { stdio: 'inherit' },
  );
  // A signal sent to this pid alone (a supervisor, kill) must reach the worker; the child ignores a
  // duplicate.
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  process.on('SIGHUP', forward);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      process.off('SIGHUP', forward);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 1));
    });
  });
}
