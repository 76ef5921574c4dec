// QualifyLead in the store: closes a lead as qualified, creates account, contact and opportunity.
import { invalidArgument, invalidStatus } from './errors.js';
import { ACCOUNT, CONTACT, LEAD, OPPORTUNITY, stateOf, type TableSpec } from './schema.js';
import type { DataverseStore } from './store.js';
import type { Row, RowValue } from './values.js';

export interface QualifyOptions {
  createAccount: boolean;
  createContact: boolean;
  createOpportunity: boolean;
  /** A statuscode of LeadState.Qualified. */
  status: number;
}

/** A record QualifyLead created, with its table. */
export interface CreatedRecord {
  table: TableSpec;
  row: Row;
}

/**
 * QualifyLead: closes the lead as qualified and creates the account, contact and opportunity asked
 * for.
 */
export function qualifyLead(
  store: DataverseStore,
  leadId: string,
  options: QualifyOptions,
): CreatedRecord[] {
  return store.transaction(() => {
    const lead = store.get(LEAD, { kind: 'id', id: leadId });
    if (lead.statecode !== 0) {
      throw invalidArgument(
        `The lead ${leadId} is not open (LeadState.` +
          `${stateOf(LEAD, Number(lead.statecode))?.name}); only an open lead can be qualified.`,
      );
    }
    if (!stateOf(LEAD, 1)?.statuses.includes(options.status))
      throw invalidStatus(LEAD, options.status, 1, leadId);
    const created: CreatedRecord[] = [];
    // An account needs a name: a lead without a company name gets no account.
    const account =
      options.createAccount && lead.companyname
        ? store.create(ACCOUNT, accountFromLead(lead))
        : undefined;
    if (account) created.push({ table: ACCOUNT, row: account });
    const contact = options.createContact
      ? store.create(CONTACT, contactFromLead(lead, account))
      : undefined;
    if (contact) created.push({ table: CONTACT, row: contact });
    const opportunity = options.createOpportunity
      ? store.create(OPPORTUNITY, opportunityFromLead(lead, account, contact))
      : undefined;
    if (opportunity) created.push({ table: OPPORTUNITY, row: opportunity });
    const closing = {
      statecode: 1,
      statuscode: options.status,
      ...(opportunity ? { _qualifyingopportunityid_value: opportunity.opportunityid ?? null } : {}),
    };
    store.update(LEAD, leadId, closing, 'user');
    return created;
  });
}

function accountFromLead(lead: Row): Record<string, RowValue> {
  return {
    name: lead.companyname ?? null,
    telephone1: lead.telephone1 ?? null,
    emailaddress1: lead.emailaddress1 ?? null,
    address1_line1: lead.address1_line1 ?? null,
    address1_city: lead.address1_city ?? null,
    address1_stateorprovince: lead.address1_stateorprovince ?? null,
    address1_postalcode: lead.address1_postalcode ?? null,
    address1_country: lead.address1_country ?? null,
    _originatingleadid_value: lead.leadid ?? null,
  };
}

function contactFromLead(lead: Row, account: Row | undefined): Record<string, RowValue> {
  return {
    firstname: lead.firstname ?? null,
    lastname: lead.lastname ?? null,
    emailaddress1: lead.emailaddress1 ?? null,
    telephone1: lead.telephone1 ?? null,
    jobtitle: lead.jobtitle ?? null,
    _parentcustomerid_value: account?.accountid ?? null,
    _originatingleadid_value: lead.leadid ?? null,
  };
}

function opportunityFromLead(
  lead: Row,
  account: Row | undefined,
  contact: Row | undefined,
): Record<string, RowValue> {
  return {
    name: lead.subject ?? null,
    description: lead.description ?? null,
    estimatedvalue: lead.estimatedvalue ?? null,
    estimatedclosedate: lead.estimatedclosedate ?? null,
    lb_referralid: lead.lb_referralid ?? null,
    _originatingleadid_value: lead.leadid ?? null,
    _parentaccountid_value: account?.accountid ?? null,
    _parentcontactid_value: contact?.contactid ?? null,
  };
}
