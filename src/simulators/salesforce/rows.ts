// Rows built for saves: defaults, fields the platform derives, system inputs.
import { LEAD, OPPORTUNITY, findField, type FieldSpec, type SObjectSpec } from './schema.js';
import type { FieldValue, RecordInput, SObjectRow } from './values.js';

const CLOSED_STAGES = new Set(['Closed Won', 'Closed Lost']);

export function withoutNulls(values: Record<string, FieldValue>): Record<string, FieldValue> {
  const kept: Record<string, FieldValue> = {};
  for (const [name, value] of Object.entries(values)) if (value !== null) kept[name] = value;
  return kept;
}

export function defaultsOf(object: SObjectSpec): Record<string, FieldValue> {
  const defaults: Record<string, FieldValue> = {};
  for (const field of object.fields) {
    if (field.picklist?.defaultValue) defaults[field.name] = field.picklist.defaultValue;
    else if (field.type === 'boolean') defaults[field.name] = false;
  }
  return defaults;
}

/** Fields the platform computes: a lead's full name, an opportunity's closed / won flags. */
export function derive(object: SObjectSpec, row: Record<string, FieldValue>): SObjectRow {
  if (object === LEAD) {
    const name = [row.FirstName, row.LastName]
      .filter((part) => typeof part === 'string' && part !== '')
      .join(' ');
    if (name) row.Name = name;
    else delete row.Name;
  }
  if (object === OPPORTUNITY) {
    row.IsClosed = CLOSED_STAGES.has(String(row.StageName));
    row.IsWon = row.StageName === 'Closed Won';
  }
  return row;
}

/** A record input for a system write from already-stored values. */
export function systemInput(
  object: SObjectSpec,
  values: Record<string, FieldValue | undefined>,
): RecordInput {
  const fields: Array<[FieldSpec, FieldValue]> = [];
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const field = findField(object, name);
    if (!field) throw new Error(`${object.name} has no field ${name}`);
    fields.push([field, value]);
  }
  return { fields };
}
