// How a mapping writes its transforms in YAML: each step and lookup table parsed and checked.
import type {
  DateFormat,
  LookupFallback,
  LookupTable,
  Scalar,
  SimpleTransformName,
  TransformName,
  TransformStep,
} from './definition.js';
import { suggest } from './paths.js';
import { isScalar, show } from './transforms.js';

/**
 * A problem in how a step is written; `at` continues the step's own path (e.g. ['lookup', 'US']).
 */
export interface StepProblem {
  at: Array<string | number>;
  message: string;
}

const SIMPLE: readonly SimpleTransformName[] = [
  'trim',
  'upper',
  'lower',
  'required',
  'number',
  'integer',
  'boolean',
  'email',
  'phone',
  'country',
];
const WITH_ARGUMENT = [
  'truncate',
  'default',
  'date',
  'lookup',
  'join',
  'replace',
  'prefix',
  'suffix',
] as const;
const TRANSFORM_NAMES: readonly TransformName[] = [...SIMPLE, ...WITH_ARGUMENT];
const DEFAULT_JOIN_SEPARATOR = ', ';

// ---------------------------------------------------------------- parsing

/**
 * Reads one step as written: `trim`, `{ truncate: 300 }`, `{ lookup: leadSource, fallback: keep }`,
 * `join`
 * (separator ", "). `lookups` holds the named tables the step may use (the file's and the built-in
 * ones).
 */
export function parseTransform(
  raw: unknown,
  lookups: Readonly<Record<string, LookupTable>>,
): TransformStep | StepProblem[] {
  if (typeof raw === 'string') return parseBareStep(raw);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return [
      problem(
        [],
        `a transform is a name (trim) or a one-key mapping ({ truncate: 300 }), got ${show(raw)}`,
      ),
    ];
  }
  const keys = Object.keys(raw);
  const name = keys.find((key) => (TRANSFORM_NAMES as readonly string[]).includes(key));
  if (name === undefined) {
    const first = keys[0] ?? '';
    return [problem([], keys.length === 0 ? 'empty transform {}' : unknownTransform(first))];
  }
  const allowed = name === 'lookup' ? ['lookup', 'fallback'] : [name];
  const extra = keys.filter((key) => !allowed.includes(key));
  if (extra.length > 0)
    return extra.map((key) => problem([key], `unexpected key "${key}" in transform "${name}"`));
  const argument = (raw as Record<string, unknown>)[name];
  if ((SIMPLE as readonly string[]).includes(name)) {
    return [problem([name], `transform "${name}" takes no argument: write it as ${name}`)];
  }
  return parseArgument(
    name as (typeof WITH_ARGUMENT)[number],
    argument,
    raw as Record<string, unknown>,
    lookups,
  );
}

function parseBareStep(name: string): TransformStep | StepProblem[] {
  if ((SIMPLE as readonly string[]).includes(name))
    return { transform: name as SimpleTransformName };
  if (name === 'join') return { transform: 'join', separator: DEFAULT_JOIN_SEPARATOR };
  if ((WITH_ARGUMENT as readonly string[]).includes(name)) {
    return [
      problem(
        [],
        `transform "${name}" needs an argument, e.g. ` +
          `${EXAMPLES[name as (typeof WITH_ARGUMENT)[number]]}`,
      ),
    ];
  }
  return [problem([], unknownTransform(name))];
}

const EXAMPLES: Readonly<Record<(typeof WITH_ARGUMENT)[number], string>> = {
  truncate: '{ truncate: 100 }',
  default: '{ default: "(unknown)" }',
  date: '{ date: YYYY-MM-DD }',
  lookup: '{ lookup: leadSource }',
  join: '{ join: ", " }',
  replace: '{ replace: { pattern: "\\\\s+", with: " " } }',
  prefix: '{ prefix: "PC-" }',
  suffix: '{ suffix: " (Partner Center)" }',
};

function unknownTransform(name: string): string {
  return `unknown transform "${name}"${suggest(name, TRANSFORM_NAMES)}`;
}

function parseArgument(
  name: (typeof WITH_ARGUMENT)[number],
  argument: unknown,
  step: Record<string, unknown>,
  lookups: Readonly<Record<string, LookupTable>>,
): TransformStep | StepProblem[] {
  switch (name) {
    case 'truncate':
      return Number.isInteger(argument) && (argument as number) > 0
        ? { transform: 'truncate', length: argument as number }
        : [problem([name], `truncate needs a positive whole number, got ${show(argument)}`)];
    case 'default':
      return isScalar(argument) && argument !== null
        ? { transform: 'default', value: argument }
        : [problem([name], `default needs a text, number or boolean value, got ${show(argument)}`)];
    case 'date':
      return argument === 'YYYY-MM-DD' || argument === 'iso'
        ? { transform: 'date', format: argument as DateFormat }
        : [problem([name], `date format must be "YYYY-MM-DD" or "iso", got ${show(argument)}`)];
    case 'lookup':
      return parseLookupStep(argument, step, lookups);
    case 'join':
      return typeof argument === 'string'
        ? { transform: 'join', separator: argument }
        : [problem([name], `join needs a separator text, got ${show(argument)}`)];
    case 'replace':
      return parseReplace(argument);
    case 'prefix':
    case 'suffix':
      return typeof argument === 'string' && argument !== ''
        ? { transform: name, text: argument }
        : [problem([name], `${name} needs a non-empty text, got ${show(argument)}`)];
  }
}

function parseReplace(argument: unknown): TransformStep | StepProblem[] {
  if (argument === null || typeof argument !== 'object' || Array.isArray(argument)) {
    return [problem(['replace'], `replace needs { pattern, with }, got ${show(argument)}`)];
  }
  const { pattern, with: replacement, ...rest } = argument as Record<string, unknown>;
  const problems = Object.keys(rest).map((key) =>
    problem(['replace', key], `unexpected key "${key}" in replace (use pattern and with)`),
  );
  if (typeof pattern !== 'string' || pattern === '') {
    problems.push(
      problem(
        ['replace', 'pattern'],
        `replace needs a pattern (a regular expression text), got ${show(pattern)}`,
      ),
    );
  } else {
    const invalid = regexProblem(pattern);
    if (invalid)
      problems.push(
        problem(
          ['replace', 'pattern'],
          `replace pattern /${pattern}/ is not a valid regular expression: ${invalid}`,
        ),
      );
  }
  if (replacement !== undefined && typeof replacement !== 'string') {
    problems.push(
      problem(['replace', 'with'], `replace "with" must be a text, got ${show(replacement)}`),
    );
  }
  if (problems.length > 0 || typeof pattern !== 'string') return problems;
  return {
    transform: 'replace',
    pattern,
    with: typeof replacement === 'string' ? replacement : '',
  };
}

function regexProblem(pattern: string): string | null {
  try {
    new RegExp(pattern, 'g');
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function parseLookupStep(
  argument: unknown,
  step: Record<string, unknown>,
  lookups: Readonly<Record<string, LookupTable>>,
): TransformStep | StepProblem[] {
  const table = typeof argument === 'string' ? lookups[argument] : undefined;
  const problems: StepProblem[] = [];
  let resolved: LookupTable | null = table ?? null;
  if (typeof argument === 'string' && !table) {
    const known = Object.keys(lookups).sort();
    problems.push(
      problem(
        ['lookup'],
        `unknown lookup "${argument}"${suggest(argument, known)} (known: ${known.join(', ')})`,
      ),
    );
  } else if (typeof argument !== 'string') {
    const inline = parseLookupTable(argument, null);
    if (Array.isArray(inline))
      problems.push(...inline.map((p) => ({ at: ['lookup', ...p.at], message: p.message })));
    else resolved = inline;
  }
  const fallback = parseFallback(step);
  if (!isFallback(fallback)) problems.push(fallback);
  if (problems.length > 0 || resolved === null || !isFallback(fallback)) return problems;
  return { transform: 'lookup', table: resolved, fallback };
}

function isFallback(
  fallback: LookupFallback | null | StepProblem,
): fallback is LookupFallback | null {
  return fallback === null || fallback === 'keep' || !('message' in fallback);
}

/**
 * `fallback: keep` keeps the input on a miss; any other scalar (null included) is the value a miss
 * gives.
 */
function parseFallback(step: Record<string, unknown>): LookupFallback | null | StepProblem {
  if (!Object.hasOwn(step, 'fallback')) return null;
  const fallback = step['fallback'];
  if (fallback === 'keep') return 'keep';
  if (isScalar(fallback)) return { value: fallback };
  return problem(
    ['fallback'],
    `lookup fallback must be keep, null or a text, number or boolean value, got ${show(fallback)}`,
  );
}

/**
 * A lookup table: a mapping of key → scalar, where a `default` key is what a miss gives; or, when
 * `default` must be
 * an ordinary key, `{ values: {...}, default: V }`. Results are scalars, so a `values:` key holding
 * a mapping is
 * unambiguous.
 */
export function parseLookupTable(raw: unknown, name: string | null): LookupTable | StepProblem[] {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return [problem([], `a lookup table is a mapping of value → result, got ${show(raw)}`)];
  }
  const record = raw as Record<string, unknown>;
  const structured =
    record['values'] !== null &&
    typeof record['values'] === 'object' &&
    !Array.isArray(record['values']);
  const { default: fallback, ...plain } = record;
  const entries = (structured ? record['values'] : plain) as Record<string, unknown>;
  const prefix = structured ? ['values'] : [];
  const problems: StepProblem[] = structured
    ? Object.keys(record)
        .filter((key) => key !== 'values' && key !== 'default')
        .map((key) =>
          problem([key], `unexpected key "${key}" in lookup table (use values and default)`),
        )
    : [];
  for (const [key, value] of Object.entries(entries)) {
    if (!isScalar(value))
      problems.push(
        problem(
          [...prefix, key],
          `lookup result must be a text, number, boolean or null, got ${show(value)}`,
        ),
      );
  }
  const hasDefault = Object.hasOwn(record, 'default');
  if (hasDefault && !isScalar(fallback))
    problems.push(
      problem(
        ['default'],
        `lookup default must be a text, number, boolean or null, got ${show(fallback)}`,
      ),
    );
  if (Object.keys(entries).length === 0 && !hasDefault)
    problems.push(problem(prefix, 'lookup table is empty'));
  if (problems.length > 0) return problems;
  return {
    name,
    entries: entries as Record<string, Scalar>,
    miss: hasDefault ? { value: fallback as Scalar } : null,
    builtIn: false,
  };
}

function problem(at: Array<string | number>, message: string): StepProblem {
  return { at, message };
}
