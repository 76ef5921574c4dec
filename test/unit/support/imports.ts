// Reading a source tree's local imports as text, for the tests that check which folder may import
// which.
import { readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Static imports and re-exports (`import x from`, `import type`, `export ... from`, bare `import
 * '...'`) and import().
 */
const SPECIFIERS = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g;

/** Every script file below `dir` (TypeScript and JavaScript). */
export function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.(ts|js|mjs|cjs)$/.test(entry.name) ? [full] : [];
  });
}

/**
 * Each relative or absolute-path import of `text` (the file at `file`), with the path it resolves
 * to; packages are left out.
 */
export function localImports(
  file: string,
  text: string,
): Array<{ specifier: string; target: string }> {
  const found: Array<{ specifier: string; target: string }> = [];
  for (const match of text.matchAll(SPECIFIERS)) {
    const specifier = match[1]!;
    if (specifier.startsWith('.') || specifier.startsWith('/'))
      found.push({ specifier, target: path.resolve(path.dirname(file), specifier) });
  }
  return found;
}
