// `template:` values: `{{path}}` placeholders in text; a line whose placeholders are all empty is
// left out.
import type { Template, ValuePath } from './definition.js';
import { parsePath } from './paths.js';

/**
 * Parses a template and lists every problem in it (unclosed or stray braces, empty or bad
 * placeholders); the
 * template holds the placeholders that did parse, so the caller can check those too.
 */
export function parseTemplate(
  text: string,
  parse: (path: string) => ValuePath | string = parsePath,
): { template: Template; problems: string[] } {
  const problems: string[] = [];
  const lines = text.split('\n').map((line) => parseLine(line, parse, problems));
  if (
    problems.length === 0 &&
    !lines.some((line) => line.some((part) => typeof part !== 'string'))
  ) {
    problems.push('template has no {{placeholder}}: use const for a fixed value');
  }
  return { template: { text, lines }, problems };
}

function parseLine(
  line: string,
  parse: (path: string) => ValuePath | string,
  problems: string[],
): Array<string | ValuePath> {
  const parts: Array<string | ValuePath> = [];
  let rest = line;
  while (rest.length > 0) {
    const open = rest.indexOf('{{');
    const stray = rest.indexOf('}}');
    if (stray !== -1 && (open === -1 || stray < open)) {
      problems.push(`template has "}}" without a matching "{{" in "${line}"`);
      return parts;
    }
    if (open === -1) {
      parts.push(rest);
      break;
    }
    if (open > 0) parts.push(rest.slice(0, open));
    const close = rest.indexOf('}}', open + 2);
    if (close === -1) {
      problems.push(`template has "{{" without a closing "}}" in "${line}"`);
      return parts;
    }
    parts.push(...placeholder(rest.slice(open + 2, close), parse, problems));
    rest = rest.slice(close + 2);
  }
  return parts;
}

function placeholder(
  inner: string,
  parse: (path: string) => ValuePath | string,
  problems: string[],
): ValuePath[] {
  if (inner.includes('{{')) {
    problems.push(`template placeholder "{{${inner}}}" contains "{{"`);
    return [];
  }
  if (inner.trim() === '') {
    problems.push('template has an empty placeholder "{{}}"');
    return [];
  }
  const path = parse(inner);
  if (typeof path === 'string') {
    problems.push(`template placeholder {{${inner}}}: ${path}`);
    return [];
  }
  return [path];
}

/**
 * Fills a template; lists are joined with ", "; a line with placeholders that all came out empty is
 * dropped.
 */
export function renderTemplate(template: Template, read: (path: ValuePath) => unknown): string {
  const lines: string[] = [];
  for (const line of template.lines) {
    let text = '';
    let placeholders = 0;
    let filled = 0;
    for (const part of line) {
      if (typeof part === 'string') {
        text += part;
        continue;
      }
      placeholders += 1;
      const value = templateText(read(part));
      if (value !== '') filled += 1;
      text += value;
    }
    if (placeholders === 0 || filled > 0) lines.push(text);
  }
  return lines.join('\n');
}

function templateText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value))
    return value
      .map(templateText)
      .filter((item) => item !== '')
      .join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
