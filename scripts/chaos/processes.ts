// The chaos suite's processes: `leadbridge simulate` (keeps state across kills) and `leadbridge
// run` (killed).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

const BIN = path.resolve(import.meta.dirname, '../../bin/leadbridge.js');

export type SimulatorUrls = Record<'partner-center' | 'dynamics365' | 'salesforce', string>;

export interface SimulatorProcess {
  urls: SimulatorUrls;
  stop(): Promise<void>;
}

/**
 * Env for a child: our own heap flag would skip the CLI's heap-cap re-exec (a SIGKILL must hit the
 * worker itself).
 */
function childEnv(heapCapMb: number | null): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.LEADBRIDGE_CONFIG;
  const others = (env.NODE_OPTIONS ?? '').replace(/--max-old-space-size=\d+/g, '').trim();
  env.NODE_OPTIONS = heapCapMb === null ? others : `${others} --max-old-space-size=${heapCapMb}`;
  return env;
}

function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** Starts `leadbridge simulate --random-ports` and reads its `<name> <url>` lines. */
export async function startSimulators(referrals: number, seed: number): Promise<SimulatorProcess> {
  const child = spawn(
    process.execPath,
    [BIN, 'simulate', '--random-ports', '--referrals', String(referrals), '--seed', String(seed)],
    { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv(null) },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const urls: Record<string, string> = {};
  for await (const line of createInterface({ input: child.stdout! })) {
    const [name, url] = line.trim().split(/\s+/);
    if (name && url) urls[name] = url;
    if (urls['partner-center'] && urls.dynamics365 && urls.salesforce) break;
  }
  if (!urls['partner-center'] || !urls.dynamics365 || !urls.salesforce) {
    child.kill('SIGKILL');
    throw new Error(`leadbridge simulate did not print the simulator URLs: ${stderr}`);
  }
  return {
    urls: urls as SimulatorUrls,
    async stop() {
      child.kill('SIGTERM');
      await exitOf(child);
    },
  };
}

export interface WorkerProcess {
  pid: number;
  /** Resolves when the worker logged "worker started"; rejects if it exits before. */
  started: Promise<void>;
  /** The `message` (and `call`, for API calls) of the last log line seen. */
  lastActivity(): string;
  /** Log lines with level error (kept for the report). */
  errors(): string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

/**
 * `leadbridge --log-format json --log-level debug run` under the worker's heap cap, its logs parsed
 * as they come.
 */
export function startWorker(configFile: string, cwd: string): WorkerProcess {
  const child = spawn(
    process.execPath,
    [BIN, '--config', configFile, '--log-format', 'json', '--log-level', 'debug', 'run'],
    { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: childEnv(256) },
  );
  let last = 'spawned';
  const errors: string[] = [];
  let markStarted: () => void = () => {};
  let failStart: (error: Error) => void = () => {};
  const started = new Promise<void>((resolve, reject) => {
    markStarted = resolve;
    failStart = reject;
  });
  const onLine = (line: string) => {
    let entry: { message?: string; call?: string; level?: string };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return;
    }
    if (!entry.message) return;
    last = entry.call
      ? `${entry.message}: ${entry.call.replace(/ [0-9a-f-]{36}$/, '')}`
      : entry.message;
    if (entry.level === 'error') errors.push(line);
    if (entry.message === 'worker started') markStarted();
  };
  createInterface({ input: child.stderr! }).on('line', onLine);
  createInterface({ input: child.stdout! }).on('line', onLine);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      failStart(new Error(`the worker exited (${code ?? signal}) before it started: ${last}`));
      resolve({ code, signal });
    }),
  );
  return {
    pid: child.pid!,
    started,
    lastActivity: () => last,
    errors: () => errors,
    exited,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
