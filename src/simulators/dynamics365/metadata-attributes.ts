// The table schema seen as attribute metadata: attribute types, metadata ids, schema names.
import { createHash } from 'node:crypto';
import type { ColumnSpec, TableSpec } from './schema.js';

/** A String column holds at most 4000 characters; longer text is a Memo column. */
export const STRING_MAX = 4000;

type AttributeType =
  | 'String'
  | 'Memo'
  | 'Money'
  | 'DateTime'
  | 'Picklist'
  | 'State'
  | 'Status'
  | 'Boolean'
  | 'Uniqueidentifier'
  | 'Lookup'
  | 'BigInt';

/**
 * The metadata type that each attribute type is served as (`@odata.type`, and what a cast segment
 * names).
 */
export const DERIVED_TYPE: Readonly<Record<AttributeType, string>> = {
  String: 'StringAttributeMetadata',
  Memo: 'MemoAttributeMetadata',
  Money: 'MoneyAttributeMetadata',
  DateTime: 'DateTimeAttributeMetadata',
  Picklist: 'PicklistAttributeMetadata',
  State: 'StateAttributeMetadata',
  Status: 'StatusAttributeMetadata',
  Boolean: 'BooleanAttributeMetadata',
  Uniqueidentifier: 'UniqueIdentifierAttributeMetadata',
  Lookup: 'LookupAttributeMetadata',
  BigInt: 'BigIntAttributeMetadata',
};

export interface Attribute {
  table: TableSpec;
  /** The Web API property (`_originatingleadid_value` for a lookup). */
  column: string;
  spec: ColumnSpec;
  logicalName: string;
  type: AttributeType;
}

export function attributesOf(table: TableSpec): Attribute[] {
  return Object.entries(table.columns).map(([column, spec]) => {
    const lookup = /^_(.+)_value$/.exec(column);
    const logicalName = spec.type === 'lookup' && lookup ? (lookup[1] as string) : column;
    return { table, column, spec, logicalName, type: attributeType(spec) };
  });
}

function attributeType(spec: ColumnSpec): AttributeType {
  switch (spec.type) {
    case 'guid':
      return 'Uniqueidentifier';
    case 'string':
      return (spec.maxLength ?? 0) > STRING_MAX ? 'Memo' : 'String';
    case 'money':
      return 'Money';
    case 'date':
    case 'datetime':
      return 'DateTime';
    case 'picklist':
      return 'Picklist';
    case 'boolean':
      return 'Boolean';
    case 'lookup':
      return 'Lookup';
    case 'state':
      return 'State';
    case 'status':
      return 'Status';
    case 'bigint':
      return 'BigInt';
  }
}

/** A stable GUID per definition, so that ids survive restarts. */
export function metadataId(name: string): string {
  const hex = createHash('sha1').update(`leadbridge-sim:${name}`).digest('hex');
  return (
    `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-` +
    `${hex.slice(20, 32)}`
  );
}

export function schemaName(logicalName: string): string {
  return logicalName.replace(
    /(^|_)([a-z])/g,
    (_match, separator: string, letter: string) => `${separator}${letter.toUpperCase()}`,
  );
}
