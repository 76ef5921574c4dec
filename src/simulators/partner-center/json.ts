// Plain-JSON helpers shared by the store, JSON Patch and the admin routes.

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Objects merge key by key; arrays, scalars and null replace. New objects only along the merged
 * paths.
 */
export function deepMerge(target: unknown, changes: unknown): unknown {
  if (!isPlainObject(changes) || !isPlainObject(target)) return changes;
  const result: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(changes)) {
    if (value !== undefined) result[key] = deepMerge(result[key], value);
  }
  return result;
}
