// The simulators own their rules: no file under src/simulators/ may import client code (anything else under src/).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SIMULATORS = path.join(ROOT, 'src/simulators');
const SRC = path.join(ROOT, 'src');
/** Static imports and re-exports (`import x from`, `import type`, `export ... from`, bare `import '...'`) and import(). */
const SPECIFIERS = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.(ts|js|mjs|cjs)$/.test(entry.name) ? [full] : [];
  });
}

/** Each import of a file under src/ but outside src/simulators/, as `file → specifier`. */
function clientImports(file: string, text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(SPECIFIERS)) {
    const specifier = match[1]!;
    if (!specifier.startsWith('.') && !specifier.startsWith('/')) continue;
    const target = path.resolve(path.dirname(file), specifier);
    const inSrc = target.startsWith(`${SRC}${path.sep}`);
    const inSimulators = target === SIMULATORS || target.startsWith(`${SIMULATORS}${path.sep}`);
    if (inSrc && !inSimulators) found.push(`${path.relative(ROOT, file)} → ${specifier}`);
  }
  return found;
}

describe('simulator imports', () => {
  const files = sourceFiles(SIMULATORS);

  it('scans every simulator (Partner Center, Dynamics 365, Salesforce, Graph, Entra ID)', () => {
    const folders = new Set(files.map((file) => path.relative(SIMULATORS, file).split(path.sep)[0]));
    expect([...folders].filter((name) => !name!.endsWith('.ts')).sort()).toEqual(['common', 'dynamics365', 'entra', 'graph', 'partner-center', 'salesforce']);
  });

  it('finds no import of client code (src/core, src/source, src/sync, src/crm, ...) under src/simulators/', () => {
    const offending = files.flatMap((file) => clientImports(file, readFileSync(file, 'utf8')));
    expect(offending).toEqual([]);
  });

  it('recognises every form of import it must refuse', () => {
    const file = path.join(SIMULATORS, 'partner-center/example.ts');
    const text = [
      "import { x } from '../../core/referral.js';",
      "import type { Y } from '../../sync/types.js';",
      "export { z } from '../../source/partner-center/facts.js';",
      "const m = await import('../../crm/index.js');",
      "import '../../mapping/index.js';",
      "import { ok } from './vocabulary.js';",
      "import { also } from '../common/server.js';",
      "import http from 'node:http';",
    ].join('\n');
    expect(clientImports(file, text)).toEqual([
      'src/simulators/partner-center/example.ts → ../../core/referral.js',
      'src/simulators/partner-center/example.ts → ../../sync/types.js',
      'src/simulators/partner-center/example.ts → ../../source/partner-center/facts.js',
      'src/simulators/partner-center/example.ts → ../../crm/index.js',
      'src/simulators/partner-center/example.ts → ../../mapping/index.js',
    ]);
  });
});
