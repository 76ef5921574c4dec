// The documented Dataverse errors a write to one lead can meet, for the /_sim/refusals rules
// (record-level faults).
//
// Codes and messages from Microsoft's pages: "Troubleshoot Dataverse client errors"
// (learn.microsoft.com/troubleshoot/power-platform/power-apps/dataverse/client-errors: missing
// privilege
// -2147220960 = 0x80040220, access check -2147187962 = 0x80048306, duplicate key -2147220937 =
// 0x80040237,
// record does not exist -2147220969 = 0x80040217), "Troubleshoot Dataverse bulk operation errors"
// (.../dataverse/bulk-operation-errors: Generic SQL error 1205 (deadlock on a row updated
// concurrently)
// -2147204784 = 0x80044150, SQL timeout -2147204783 = 0x80044151, transaction rolled back after a
// swallowed
// deadlock -2147220907 = 0x80040255) and the Web service error codes reference
// (learn.microsoft.com/power-apps/developer/data-platform/org-service/web-service-error-codes:
// ISVAborted
// 0x80040265 for a plug-in / business rule that refuses the record). HTTP statuses for the SQL
// errors are not
// documented (UNCONFIRMED): 500, which a client must treat as transient.
import { SimHttpError } from '../common/server.js';
import type { RefusalFactory } from '../common/refusals.js';
import { CODES, duplicateKey, outOfRange, stringTooLong } from './errors.js';
import { LEAD } from './schema.js';

/** The identity the simulator answers WhoAmI with. */
const CALLER = '7c6d5e4f-3b2a-4190-8f7e-6d5c4b3a2918';

function columnOf(field: string | undefined, fallback: string): string {
  return field ?? fallback;
}

export const DATAVERSE_REFUSALS: Readonly<Record<string, RefusalFactory<SimHttpError>>> = {
  privilege: () =>
    new SimHttpError(
      403,
      '0x80040220',
      `Principal user (Id=${CALLER}, type=8) is missing prvWriteLead privilege on OTC=4 for ` +
        `entity 'lead'.`,
    ),
  accessCheck: ({ key }) =>
    new SimHttpError(
      403,
      '0x80048306',
      `Principal with ID ${CALLER} does not have WriteAccess right(s) for record with key ` +
        `${key} of entity lead.`,
    ),
  duplicate: () => duplicateKey(),
  tooLong: ({ field }) => {
    const column = columnOf(field, 'subject');
    return stringTooLong(LEAD, column, LEAD.columns[column]?.maxLength ?? 100);
  },
  picklist: ({ field }) => {
    const column = columnOf(field, 'leadsourcecode');
    return outOfRange(LEAD, column, 100_000, LEAD.columns[column]?.options ?? []);
  },
  required: ({ field }) =>
    new SimHttpError(
      400,
      '0x80040265',
      `Business Process Error: ${columnOf(field, 'companyname')} is required on a lead.`,
    ),
  notFound: ({ key }) =>
    new SimHttpError(404, CODES.notFound, `lead With Ids = ${key} Do Not Exist`),
  deadlock: () =>
    new SimHttpError(
      500,
      '0x80044150',
      'Generic SQL error. CRM ErrorCode: -2147204784 Sql ErrorCode: -2146232060 Sql Number: 1205',
    ),
  sqlTimeout: () =>
    new SimHttpError(
      500,
      '0x80044151',
      'SQL timeout expired. CRM ErrorCode: -2147204783 Sql ErrorCode: -2146232060 Sql Number: -2',
    ),
  rolledBack: () =>
    new SimHttpError(
      500,
      '0x80040255',
      'The transaction of the SQL command has already been rolled back or committed; ' +
        'this is usually caused by a swallowed SQL deadlock exception.',
    ),
};
