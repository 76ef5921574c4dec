// The house's import direction: cli → worker, console → sync → … → config → core, never up.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { localImports, sourceFiles } from './support/imports.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = path.join(ROOT, 'src');

/**
 * Higher may import lower; equal ranks are peers (the parts sync drives may use each other).
 * Written out, not derived.
 */
const RANK: Record<string, number> = {
  cli: 6,
  worker: 5,
  console: 5,
  /** The cluster worker: a peer of the loop in worker/ (both run cycles that sync/ defines). */
  cluster: 5,
  sync: 4,
  source: 3,
  crm: 3,
  mapping: 3,
  ledger: 3,
  alerts: 3,
  config: 2,
  core: 1,
};

/** The layer of a file under src/: its first folder, and src/cli.ts belongs to cli. */
function layerOf(file: string): string {
  const relative = path.relative(SRC, file).split(path.sep);
  if (relative.length === 1) return relative[0]!.replace(/\.(ts|js)$/, '');
  return relative[0]!;
}

/**
 * Each import that points to a higher layer (or to a layer with no rank), as `file → specifier`.
 */
function upwardImports(file: string, text: string): string[] {
  const from = layerOf(file);
  const found: string[] = [];
  for (const { specifier, target } of localImports(file, text)) {
    const to = layerOf(target);
    if (to === from || (from === 'cli' && to === 'simulators')) continue;
    const fromRank = RANK[from];
    const toRank = RANK[to];
    if (fromRank === undefined || toRank === undefined || toRank > fromRank)
      found.push(`${path.relative(ROOT, file)} → ${specifier}`);
  }
  return found;
}

describe('layer imports', () => {
  const files = sourceFiles(SRC).filter((file) => layerOf(file) !== 'simulators');

  it('finds no import that points up the house', () => {
    const offending = files.flatMap((file) => upwardImports(file, readFileSync(file, 'utf8')));
    expect(offending).toEqual([]);
  });

  it('keeps only the loop, health (and its problems) and metrics in src/worker/', () => {
    expect(readdirSync(path.join(SRC, 'worker')).sort()).toEqual([
      'health.ts',
      'metrics.ts',
      'problems.ts',
      'worker.ts',
    ]);
  });

  it('refuses an import up the house and accepts one down or between peers', () => {
    const file = path.join(SRC, 'sync/example.ts');
    const text = [
      "import type { Runtime } from '../worker/worker.js';",
      "const m = await import('../cli/compose.js');",
      "export { x } from '../cli.js';",
      "import { ledger } from '../ledger/index.js';",
      "import { notifier } from '../alerts/notifier.js';",
      "import { y } from './types.js';",
      "import PQueue from 'p-queue';",
    ].join('\n');
    expect(upwardImports(file, text)).toEqual([
      'src/sync/example.ts → ../worker/worker.js',
      'src/sync/example.ts → ../cli/compose.js',
      'src/sync/example.ts → ../cli.js',
    ]);
  });
});
