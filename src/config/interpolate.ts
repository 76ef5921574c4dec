// `${VAR}` / `${VAR:-default}` substitution in config string values, from an env map the caller
// passes in.

/** The environment as the CLI hands it over (process.env has this shape). */
export type EnvMap = Readonly<Record<string, string | undefined>>;

/** A key path inside the config document, e.g. ['targets', 1, 'settings', 'url']. */
export type ConfigPath = ReadonlyArray<string | number>;

// `$${` escapes a literal `${`; a name follows shell rules; `:-` supplies a default for unset or
// empty values.
const PLACEHOLDER = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface InterpolationResult {
  value: unknown;
  /** Where an unset variable without a default was used. */
  missing: Array<{ path: ConfigPath; variable: string }>;
}

/**
 * Substitutes placeholders in every string value (keys are left alone); a missing variable becomes
 * ''.
 */
export function interpolateEnv(value: unknown, env: EnvMap): InterpolationResult {
  const missing: InterpolationResult['missing'] = [];
  const walk = (node: unknown, path: ConfigPath): unknown => {
    if (typeof node === 'string')
      return substitute(node, env, (variable) => missing.push({ path, variable }));
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]));
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(
        Object.entries(node).map(([key, item]) => [key, walk(item, [...path, key])]),
      );
    }
    return node;
  };
  return { value: walk(value, []), missing };
}

function substitute(text: string, env: EnvMap, onMissing: (variable: string) => void): string {
  return text.replace(
    PLACEHOLDER,
    (whole, name: string | undefined, fallback: string | undefined) => {
      if (name === undefined) return '${';
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      if (found === '') return '';
      onMissing(name);
      return '';
    },
  );
}
