// The documented save errors a write to one Salesforce lead can meet, for the /_sim/refusals rules.
//
// Codes from the StatusCode enumeration of Salesforce's SOAP API Developer Guide ("Core Data Types
// Used in API Calls"), which the REST collection save results share (`{statusCode, message,
// fields}`, "sObject Collections" in the REST API Developer Guide). Messages follow the platform's
// wording for each code. Source:
// developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm
import type { RefusalFactory } from '../common/refusals.js';
import { recordError, type RecordError } from './errors.js';

const field = (given: string | undefined, fallback: string) => given ?? fallback;

export const SALESFORCE_REFUSALS: Readonly<Record<string, RefusalFactory<RecordError>>> = {
  tooLong: (r) =>
    recordError(
      'STRING_TOO_LONG',
      `${field(r.field, 'Company')}: data value too large: (max length=255)`,
      [field(r.field, 'Company')],
    ),
  picklist: (r) =>
    recordError(
      'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
      `${field(r.field, 'LeadSource')}: bad value for restricted picklist field: Partner Center`,
      [field(r.field, 'LeadSource')],
    ),
  required: (r) =>
    recordError(
      'REQUIRED_FIELD_MISSING',
      `Required fields are missing: [${field(r.field, 'Company')}]`,
      [field(r.field, 'Company')],
    ),
  duplicate: (r) =>
    recordError(
      'DUPLICATE_VALUE',
      `duplicate value found: ${field(r.field, 'Email')} duplicates value on record with id: ` +
        `00Q000000000001AAA`,
      [field(r.field, 'Email')],
    ),
  duplicateRule: () => recordError('DUPLICATES_DETECTED', 'Use one of these records?'),
  validationRule: (r) =>
    recordError(
      'FIELD_CUSTOM_VALIDATION_EXCEPTION',
      `${field(r.field, 'Phone')} must be in international format`,
      [field(r.field, 'Phone')],
    ),
  badEmail: (r) =>
    recordError('INVALID_EMAIL_ADDRESS', `Email: invalid email address: ${r.key}@@example`, [
      field(r.field, 'Email'),
    ]),
  fieldIntegrity: (r) =>
    recordError(
      'FIELD_INTEGRITY_EXCEPTION',
      `${field(r.field, 'Country')}: invalid country/territory code`,
      [field(r.field, 'Country')],
    ),
  fieldSecurity: (r) =>
    recordError(
      'INVALID_FIELD_FOR_INSERT_UPDATE',
      `Unable to create/update fields: ${field(r.field, 'Rating')}. Please check the security ` +
        `settings of this field and verify that it is read/write for your profile or ` +
        `permission set.`,
      [field(r.field, 'Rating')],
    ),
  numberRange: (r) =>
    recordError(
      'NUMBER_OUTSIDE_VALID_RANGE',
      `${field(r.field, 'AnnualRevenue')}: value outside of valid range on numeric field: 1.0E20`,
      [field(r.field, 'AnnualRevenue')],
    ),
  insufficientAccess: () =>
    recordError('INSUFFICIENT_ACCESS_OR_READONLY', 'insufficient access rights on object id'),
  crossReferenceAccess: () =>
    recordError(
      'INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY',
      'insufficient access rights on cross-reference id',
    ),
  trigger: () =>
    recordError(
      'CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY',
      'LeadTrigger: execution of BeforeUpdate caused by: System.NullPointerException',
    ),
  storage: () => recordError('STORAGE_LIMIT_EXCEEDED', 'storage limit exceeded'),
  deleted: () => recordError('ENTITY_IS_DELETED', 'entity is deleted'),
  converted: () => recordError('CANNOT_UPDATE_CONVERTED_LEAD', 'cannot reference converted lead'),
  lockedRow: () =>
    recordError(
      'UNABLE_TO_LOCK_ROW',
      'unable to obtain exclusive access to this record or 1 records',
    ),
  unavailable: () => recordError('SERVER_UNAVAILABLE', 'server temporarily unavailable'),
  tooLongRunning: () =>
    recordError('REQUEST_RUNNING_TOO_LONG', 'Your request was running for too long'),
};
