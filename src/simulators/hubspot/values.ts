// Records as the CRM objects API returns them: {id, properties, createdAt, updatedAt, archived}.
import type { StoredObject } from './store.js';

/** The record with the named properties (missing ones as null, as HubSpot returns them). */
export function objectJson(
  record: StoredObject,
  properties: readonly string[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const selected: Record<string, string | null> = {};
  for (const name of properties) selected[name] = record.properties[name] ?? null;
  return {
    id: record.id,
    properties: selected,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    archived: false,
    ...extra,
  };
}
