// One demo per folder: a lock file with the demo's pid and URLs; a lock whose pid is dead is stale
// and taken over.
import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { readFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';

export interface DemoLockInfo {
  pid: number;
  startedAt: string;
  /** Simulator name → base URL, once they listen. */
  urls?: Record<string, string>;
  config?: string;
}

/** A second demo in the same folder would delete the first one's ledger and rewrite its config. */
export class DemoAlreadyRunningError extends Error {
  readonly code = 'DEMO_RUNNING';
  constructor(
    readonly lockFile: string,
    readonly holder: DemoLockInfo,
  ) {
    const urls = Object.entries(holder.urls ?? {}).map(([name, url]) => `${name} ${url}`);
    super(
      [
        `another demo already runs from this folder: pid ${holder.pid}, started ` +
          `${holder.startedAt}`,
        ...(urls.length > 0 ? [`  its simulators: ${urls.join(', ')}`] : []),
        ...(holder.config ? [`  its config: ${holder.config}`] : []),
        `Use that one (its banner lists the commands), stop it (Ctrl+C in its terminal, or ` +
          `kill ${holder.pid}), or start another demo from a different folder.`,
        `(lock file: ${lockFile}; it is removed when that demo stops, and ignored if its ` +
          `process is gone)`,
      ].join('\n'),
    );
    this.name = 'DemoAlreadyRunningError';
  }
}

/** Signal 0 checks that the process exists; EPERM means it exists but belongs to someone else. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class DemoLock {
  private constructor(
    readonly file: string,
    private info: DemoLockInfo,
  ) {}

  /** Takes the lock, or throws DemoAlreadyRunningError naming the demo that holds it. */
  static async acquire(
    file: string,
    isAlive: (pid: number) => boolean = processAlive,
  ): Promise<DemoLock> {
    await mkdir(path.dirname(file), { recursive: true });
    const info: DemoLockInfo = { pid: process.pid, startedAt: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await createExclusive(file, info)) return new DemoLock(file, info);
      const holder = await readHolder(file);
      if (holder === 'gone') continue;
      if (holder !== 'unreadable' && isAlive(holder.pid))
        throw new DemoAlreadyRunningError(file, holder);
      // A dead pid (the demo was killed) or a file we did not write: stale, so take it over.
      await unlink(file).catch(() => undefined);
    }
    throw new Error(
      `could not take the demo lock ${file}; another demo is starting at the same moment, try ` +
        `again`,
    );
  }

  /** Adds the URLs and config, so that a second demo can say where this one runs. */
  async describe(details: Pick<DemoLockInfo, 'urls' | 'config'>): Promise<void> {
    this.info = { ...this.info, ...details };
    const temporary = `${this.file}.${randomUUID()}.tmp`;
    await writeFile(temporary, `${JSON.stringify(this.info)}\n`);
    await rename(temporary, this.file);
  }

  /**
   * Synchronous, so it also runs from process.on('exit'); leaves a lock that another process has
   * taken over.
   */
  release(): void {
    try {
      const holder = JSON.parse(readFileSync(this.file, 'utf8')) as DemoLockInfo;
      if (holder.pid === this.info.pid) unlinkSync(this.file);
    } catch {
      // already gone or replaced: nothing of ours to remove
    }
  }
}

/**
 * Writes the whole file under a temporary name, then links it into place: the lock never appears
 * half-written.
 */
async function createExclusive(file: string, info: DemoLockInfo): Promise<boolean> {
  const temporary = `${file}.${randomUUID()}.tmp`;
  await writeFile(temporary, `${JSON.stringify(info)}\n`);
  try {
    await link(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}

async function readHolder(file: string): Promise<DemoLockInfo | 'gone' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as DemoLockInfo;
    return Number.isInteger(parsed.pid) && parsed.pid > 0 ? parsed : 'unreadable';
  } catch {
    return 'unreadable';
  }
}
