// Lead conversion as a CRM user does it: an Account and an Opportunity, then the lead is locked.
import { dateOnlyAfter } from './dates.js';
import { SalesforceApiError, notFound, recordError, type RecordError } from './errors.js';
import { systemInput } from './rows.js';
import { ACCOUNT, LEAD, OPPORTUNITY } from './schema.js';
import type { SalesforceStore, SaveResult } from './store.js';
import type { FieldValue, SObjectRow } from './values.js';

export interface ConvertLeadOptions {
  opportunityName?: string;
  amount?: number;
  /** `YYYY-MM-DD`; defaults to 30 days after today. */
  closeDate?: string;
}

export interface LeadConversion {
  leadId: string;
  accountId: string;
  opportunityId: string;
}

/**
 * Converts a lead as a CRM user would: an Account and an Opportunity are created and the lead is
 * locked.
 */
export function convertLead(
  store: SalesforceStore,
  leadId: string,
  options: ConvertLeadOptions,
): LeadConversion {
  const lead = store.get(LEAD, leadId);
  if (!lead) throw notFound(`No Lead with id ${leadId}`);
  if (lead.IsConverted === true)
    throw new SalesforceApiError(
      400,
      'CANNOT_UPDATE_CONVERTED_LEAD',
      'cannot reference converted lead',
    );
  let failed: RecordError | undefined;
  let conversion: LeadConversion | undefined;
  const step = (result: SaveResult): string | undefined => {
    if (!result.ok) failed ??= result.error;
    return result.ok ? result.id : undefined;
  };
  store.atomically(() => {
    const accountId = step(
      store.create(ACCOUNT, systemInput(ACCOUNT, accountFromLead(lead)), { asSystem: true }),
    );
    if (!accountId) return false;
    const opportunity = opportunityFromLead(lead, accountId, options, store.clock.nowMs());
    const opportunityId = step(
      store.create(OPPORTUNITY, systemInput(OPPORTUNITY, opportunity), { asSystem: true }),
    );
    if (!opportunityId) return false;
    const lock = {
      IsConverted: true,
      Status: 'Closed - Converted',
      ConvertedDate: dateOnlyAfter(store.clock.nowMs(), 0),
      ConvertedAccountId: accountId,
      ConvertedOpportunityId: opportunityId,
    };
    if (!step(store.update(LEAD, String(lead.Id), systemInput(LEAD, lock), { asSystem: true })))
      return false;
    conversion = { leadId: String(lead.Id), accountId, opportunityId };
    return true;
  });
  if (!conversion)
    throw SalesforceApiError.fromRecordError(
      400,
      failed ?? recordError('UNKNOWN_EXCEPTION', 'conversion failed'),
    );
  return conversion;
}

function accountFromLead(lead: SObjectRow): Record<string, FieldValue | undefined> {
  return {
    Name: lead.Company,
    Phone: lead.Phone,
    BillingStreet: lead.Street,
    BillingCity: lead.City,
    BillingState: lead.State,
    BillingStateCode: lead.StateCode,
    BillingPostalCode: lead.PostalCode,
    BillingCountry: lead.Country,
    BillingCountryCode: lead.CountryCode,
    AnnualRevenue: lead.AnnualRevenue,
    NumberOfEmployees: lead.NumberOfEmployees,
  };
}

function opportunityFromLead(
  lead: SObjectRow,
  accountId: string,
  options: ConvertLeadOptions,
  nowMs: number,
): Record<string, FieldValue | undefined> {
  return {
    Name: options.opportunityName ?? lead.Company,
    StageName: 'Prospecting',
    CloseDate: options.closeDate ?? dateOnlyAfter(nowMs, 30),
    Amount: options.amount ?? lead.AnnualRevenue,
    AccountId: accountId,
    LeadSource: lead.LeadSource,
    Description: lead.Description,
    PartnerReferralId__c: lead.PartnerReferralId__c,
  };
}
