// Whether a mapping file is written for the CRM kind of the target that uses it.
import type { Issue } from '../core/errors.js';
import type { CompiledMapping } from './index.js';

/** The problem, at the file's `target:` line, when the mapping is for another kind; else null. */
export function targetKindIssue(
  mapping: CompiledMapping,
  target: { name: string; kind: string },
): Issue | null {
  if (mapping.target === target.kind) return null;
  const line = mapping.lineOf?.(['target']);
  return {
    path: 'target',
    message: `the mapping is for ${mapping.target}, but target "${target.name}" is ${target.kind}`,
    ...(line ? { line } : {}),
  };
}
