// The simulators own their rules: no file under src/simulators/ may import client code (anything
// else under src/).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { localImports, sourceFiles } from './support/imports.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SIMULATORS = path.join(ROOT, 'src/simulators');
const SRC = path.join(ROOT, 'src');

/** Each import of a file under src/ but outside src/simulators/, as `file → specifier`. */
function clientImports(file: string, text: string): string[] {
  const found: string[] = [];
  for (const { specifier, target } of localImports(file, text)) {
    const inSrc = target.startsWith(`${SRC}${path.sep}`);
    const inSimulators = target === SIMULATORS || target.startsWith(`${SIMULATORS}${path.sep}`);
    if (inSrc && !inSimulators) found.push(`${path.relative(ROOT, file)} → ${specifier}`);
  }
  return found;
}

describe('simulator imports', () => {
  const files = sourceFiles(SIMULATORS);

  it(
    'scans every simulator (Partner Center, Dynamics 365, Salesforce, Graph, Entra ID, ' +
      'HubSpot)',
    () => {
      const folders = new Set(
        files.map((file) => path.relative(SIMULATORS, file).split(path.sep)[0]),
      );
      expect([...folders].filter((name) => !name!.endsWith('.ts')).sort()).toEqual([
        'common',
        'dynamics365',
        'entra',
        'graph',
        'hubspot',
        'partner-center',
        'salesforce',
      ]);
    },
  );

  it(
    'finds no import of client code (src/core, src/source, src/sync, src/crm, ...) under ' +
      'src/simulators/',
    () => {
      const offending = files.flatMap((file) => clientImports(file, readFileSync(file, 'utf8')));
      expect(offending).toEqual([]);
    },
  );

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
