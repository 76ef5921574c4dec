// Spawns the leadbridge CLI (or the demo) as a child process, the way an operator runs it, and
// collects its output.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = path.join(ROOT, 'bin/leadbridge.js');
/**
 * tsx's loader, for `node --import <it> file.ts` (no tsx CLI in between, so the child's pid is the
 * script's).
 */
export const TSX_LOADER = path.join(ROOT, 'node_modules/tsx/dist/loader.mjs');

export interface ChildRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
}

/** `node <args...>` with a clean LEADBRIDGE_CONFIG / NODE_OPTIONS unless the test sets them. */
export function startNode(args: string[], options: StartOptions = {}): ChildRun {
  const env: Record<string, string | undefined> = { ...process.env };
  delete env.LEADBRIDGE_CONFIG;
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...env, ...options.env },
    stdio: 'pipe',
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Runs `node bin/leadbridge.js <args...>` to the end. */
export async function runCli(
  args: string[],
  options: StartOptions = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = startNode([BIN, ...args], options);
  const { code } = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** Resolves once `predicate` holds for stdout; rejects if the process exits first. */
export function waitForStdout(
  run: ChildRun,
  predicate: (stdout: string) => boolean,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (predicate(run.stdout())) resolve(run.stdout());
    };
    run.child.stdout!.on('data', check);
    check();
    void run.exited.then(({ code }) =>
      reject(new Error(`exited early (${code}): ${run.stderr()}`)),
    );
  });
}
