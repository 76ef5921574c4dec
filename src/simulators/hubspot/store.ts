// The simulated portal's records: contacts, companies and deals with their property values and
// associations.
import type { SimClock } from '../common/clock.js';
import { HubSpotError, propertyValuesError, type PropertyProblem } from './errors.js';
import {
  DEFAULT_PIPELINE,
  defaultProperties,
  MODIFIED_PROPERTY,
  OBJECT_TYPES,
  type ObjectType,
  type PropertyDefinition,
} from './schema.js';

export interface StoredObject {
  id: string;
  type: ObjectType;
  /** Every value is kept as text, the way HubSpot returns property values. */
  properties: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

/** One association between two records, kept in both directions. */
interface Association {
  from: { type: ObjectType; id: string };
  to: { type: ObjectType; id: string };
}

export class HubSpotStore {
  readonly properties = defaultProperties();
  private readonly objects: Record<ObjectType, Map<string, StoredObject>> = {
    contacts: new Map(),
    companies: new Map(),
    deals: new Map(),
  };
  private readonly associations: Association[] = [];
  private nextId = 1000;
  /**
   * The last stamp handed out, so that two writes in one millisecond still get distinct increasing
   * stamps.
   */
  private lastStampMs = 0;

  constructor(private readonly clock: SimClock) {}

  reset(): void {
    for (const map of Object.values(this.objects)) map.clear();
    this.associations.length = 0;
  }

  list(type: ObjectType): StoredObject[] {
    return [...this.objects[type].values()];
  }

  get(type: ObjectType, id: string): StoredObject | undefined {
    return this.objects[type].get(id);
  }

  definition(type: ObjectType, name: string): PropertyDefinition | undefined {
    return this.properties[type].find((p) => p.name === name);
  }

  /** The record whose `property` holds `value` (unique properties and hs_object_id). */
  findBy(type: ObjectType, property: string, value: string): StoredObject | undefined {
    if (property === 'hs_object_id') return this.objects[type].get(value);
    for (const record of this.objects[type].values())
      if (record.properties[property] === value) return record;
    return undefined;
  }

  /**
   * Checks values against the property definitions; every problem of one input is reported
   * together.
   */
  validate(type: ObjectType, values: Record<string, unknown>): Record<string, string> {
    const problems: PropertyProblem[] = [];
    const clean: Record<string, string> = {};
    for (const [name, raw] of Object.entries(values)) {
      const definition = this.definition(type, name);
      const problem = definition
        ? checkValue(definition, raw)
        : {
            error: 'PROPERTY_DOESNT_EXIST',
            message: `Property "${name}" does not exist`,
          };
      if (problem) problems.push({ name, ...problem });
      else clean[name] = raw === null ? '' : normalised(definition as PropertyDefinition, raw);
    }
    if (type === 'deals') this.checkStage(values, problems);
    if (problems.length > 0) throw propertyValuesError(problems);
    return clean;
  }

  /** A deal stage must belong to the deal's pipeline (the only one here is "default"). */
  private checkStage(values: Record<string, unknown>, problems: PropertyProblem[]): void {
    const stage = values.dealstage;
    if (typeof stage !== 'string' || problems.some((p) => p.name === 'dealstage')) return;
    if (!DEFAULT_PIPELINE.stages.some((s) => s.id === stage)) {
      problems.push({
        name: 'dealstage',
        error: 'INVALID_OPTION',
        message: `${stage} is not a valid deal stage of pipeline ${DEFAULT_PIPELINE.id}`,
      });
    }
  }

  /** A unique value already held by another record: 409 CONFLICT naming the record that has it. */
  checkUnique(type: ObjectType, values: Record<string, string>, selfId: string | null): void {
    for (const [name, value] of Object.entries(values)) {
      const definition = this.definition(type, name);
      const isUnique = definition?.hasUniqueValue || (type === 'contacts' && name === 'email');
      if (!isUnique || value === '') continue;
      const holder = this.findBy(type, name, value);
      if (holder && holder.id !== selfId) {
        throw new HubSpotError(
          409,
          'CONFLICT',
          `${OBJECT_TYPES[type].label} already exists. Existing ID: ${holder.id}`,
        );
      }
    }
  }

  create(type: ObjectType, values: Record<string, string>): StoredObject {
    const stamp = this.stamp();
    const id = String(++this.nextId);
    const record: StoredObject = {
      id,
      type,
      properties: {
        ...values,
        hs_object_id: id,
        createdate: stamp,
        [MODIFIED_PROPERTY[type]]: stamp,
      },
      createdAt: stamp,
      updatedAt: stamp,
    };
    this.objects[type].set(id, record);
    return record;
  }

  update(record: StoredObject, values: Record<string, string>): void {
    const stamp = this.stamp();
    Object.assign(record.properties, values, { [MODIFIED_PROPERTY[record.type]]: stamp });
    record.updatedAt = stamp;
  }

  associate(from: Association['from'], to: Association['to']): boolean {
    const known = this.associations.some(
      (a) =>
        a.from.type === from.type &&
        a.from.id === from.id &&
        a.to.type === to.type &&
        a.to.id === to.id,
    );
    if (!known) this.associations.push({ from, to }, { from: to, to: from });
    return !known;
  }

  associated(type: ObjectType, id: string, toType: ObjectType): string[] {
    return this.associations
      .filter((a) => a.from.type === type && a.from.id === id && a.to.type === toType)
      .map((a) => a.to.id);
  }

  /** ISO-8601 with milliseconds, strictly increasing. */
  private stamp(): string {
    this.lastStampMs = Math.max(this.clock.nowMs(), this.lastStampMs + 1);
    return new Date(this.lastStampMs).toISOString();
  }
}

/**
 * HubSpot property values are sent as strings; numbers and booleans are taken in their JSON form
 * too.
 */
function checkValue(
  definition: PropertyDefinition,
  raw: unknown,
): { error: string; message: string } | null {
  if (definition.readOnlyValue) {
    return {
      error: 'READ_ONLY_VALUE',
      message: `${definition.name} is a read only property; its value cannot be set.`,
    };
  }
  if (raw === null || raw === '') return null;
  if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
    return { error: 'INVALID_VALUE', message: `${JSON.stringify(raw)} is not a property value` };
  }
  const text = String(raw);
  switch (definition.type) {
    case 'number':
      return Number.isFinite(Number(text))
        ? null
        : { error: 'INVALID_NUMBER', message: `${text} was not a valid number.` };
    case 'bool':
      return /^(true|false)$/.test(text)
        ? null
        : { error: 'INVALID_BOOLEAN', message: `${text} was not a valid boolean.` };
    case 'date':
    case 'datetime':
      return dateMs(text, definition.type) !== null
        ? null
        : {
            error: 'INVALID_DATE',
            message: `${text} was not a valid ${definition.type === 'date' ? 'date' : 'datetime'}.`,
          };
    case 'enumeration':
      return definition.options.some((o) => o.value === text)
        ? null
        : {
            error: 'INVALID_OPTION',
            message: `${text} was not one of the allowed options: [${definition.options
              .map((o) => `label: "${o.label}"\nvalue: "${o.value}"`)
              .join(', ')}]`,
          };
    default:
      return text.length > 65_536
        ? { error: 'INVALID_VALUE', message: `${definition.name} is longer than 65536 characters` }
        : null;
  }
}

/**
 * Dates take epoch milliseconds or ISO-8601; a `date` property must fall on midnight UTC.
 * Source: developers.hubspot.com/docs/api/faq ("How should timestamps be formatted").
 */
function dateMs(text: string, type: 'date' | 'datetime'): number | null {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) return null;
  if (type === 'date' && ms % 86_400_000 !== 0) return null;
  return ms;
}

function normalised(definition: PropertyDefinition, raw: unknown): string {
  const text = String(raw);
  if (definition.type === 'date' || definition.type === 'datetime') {
    const ms = dateMs(text, definition.type) as number;
    return definition.type === 'date'
      ? new Date(ms).toISOString().slice(0, 10)
      : new Date(ms).toISOString();
  }
  return text;
}

/** The epoch ms of a stored datetime value, for search comparisons. */
export function stampMs(value: string | undefined): number | null {
  if (value === undefined || value === '') return null;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}
