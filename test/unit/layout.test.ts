// The tree's size rules: no line over the formatter's width, no file over 400 lines but the
// simulators' parsers.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// .prettierrc.json printWidth
const WIDTH = 100;
/**
 * A line may go over WIDTH only when it holds a single whitespace-free token longer than 60
 * characters: a URL or a regex that cannot be broken (nor moved onto a shorter line) without
 * changing it.
 */
const UNBREAKABLE = /\S{61,}/g;
const allowedLong = (line: string) => (line.match(UNBREAKABLE) ?? []).length === 1;
const MAX_LINES = 400;
/** Grammar parsers inside simulators: one grammar per file reads better than a split one. */
const PARSERS = new Set([
  'src/simulators/partner-center/filter.ts',
  'src/simulators/salesforce/soql.ts',
  'src/simulators/salesforce/soql-plan.ts',
]);

const files = execFileSync('git', ['ls-files', '*.ts', '*.js'], { encoding: 'utf8' })
  .split('\n')
  .filter(Boolean);

describe('layout', () => {
  it('has no line over the formatter width', () => {
    const long = files.flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, index) =>
          line.length > WIDTH && !allowedLong(line) ? [`${file}:${index + 1}`] : [],
        ),
    );
    expect(long).toEqual([]);
  });

  it('has no file over 400 lines outside the simulators parsers', () => {
    const big = files
      .filter((file) => file.startsWith('src/') && !PARSERS.has(file))
      .flatMap((file) => {
        const lines = readFileSync(file, 'utf8').replace(/\n$/, '').split('\n').length;
        return lines > MAX_LINES ? [`${file}: ${lines}`] : [];
      });
    expect(big).toEqual([]);
  });
});
