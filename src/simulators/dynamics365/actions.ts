// Parameters of the QualifyLead, WinOpportunity and LoseOpportunity actions, checked as strictly as
// entity bodies.
import { cannotConvert, invalidArgument, unknownBodyProperty } from './errors.js';
import { ACCOUNT, OPPORTUNITY, type ColumnSpec, type TableSpec } from './schema.js';
import type { QualifyOptions } from './qualify.js';
import type { OpportunityCloseDetails } from './store.js';
import { isDateOnly, readColumnValue, type BindResolver } from './values.js';

/** The activity a close action writes; only the columns a close needs. */
const OPPORTUNITY_CLOSE: TableSpec = {
  entitySet: 'opportunitycloses',
  logicalName: 'opportunityclose',
  primaryKey: 'activityid',
  stateEnum: 'OpportunityClose',
  columns: {
    subject: { type: 'string', maxLength: 200 },
    description: { type: 'string', maxLength: 2000 },
    actualrevenue: { type: 'money' },
  },
  states: [],
};

const OPPORTUNITY_BIND: ColumnSpec = {
  type: 'lookup',
  target: OPPORTUNITY.entitySet,
  bind: 'opportunityid',
};
const QUALIFY_FLAGS = ['CreateAccount', 'CreateContact', 'CreateOpportunity'] as const;
const QUALIFY_OPTIONAL = new Set([
  'OpportunityCurrencyId@odata.bind',
  'OpportunityCustomerId@odata.bind',
  'SourceCampaignId@odata.bind',
  'SuppressDuplicateDetection',
  'ProcessInstanceId@odata.bind',
]);

export function qualifyActionBody(body: unknown, resolveBind: BindResolver): QualifyOptions {
  const parameters = actionParameters('QualifyLead', body);
  for (const name of Object.keys(parameters)) {
    if (
      name !== 'Status' &&
      !(QUALIFY_FLAGS as readonly string[]).includes(name) &&
      !QUALIFY_OPTIONAL.has(name)
    )
      throw unknownParameter('QualifyLead', name);
  }
  const [createAccount, createContact, createOpportunity] = QUALIFY_FLAGS.map((name) => {
    const value = parameters[name];
    if (typeof value !== 'boolean')
      throw invalidArgument(`QualifyLead needs the boolean parameter '${name}'.`);
    return value;
  }) as [boolean, boolean, boolean];
  const customer = parameters['OpportunityCustomerId@odata.bind'];
  if (typeof customer === 'string')
    resolveBind(
      { type: 'lookup', target: ACCOUNT.entitySet, bind: 'OpportunityCustomerId' },
      customer,
    );
  return {
    createAccount,
    createContact,
    createOpportunity,
    status: statusParameter('QualifyLead', parameters.Status),
  };
}

export interface CloseAction {
  opportunityId: string;
  status: number;
  details: OpportunityCloseDetails;
}

export function closeActionBody(
  action: 'WinOpportunity' | 'LoseOpportunity',
  body: unknown,
  resolveBind: BindResolver,
): CloseAction {
  const parameters = actionParameters(action, body);
  for (const name of Object.keys(parameters)) {
    if (name !== 'Status' && name !== 'OpportunityClose') throw unknownParameter(action, name);
  }
  const close = parameters.OpportunityClose;
  if (close === null || typeof close !== 'object' || Array.isArray(close)) {
    throw invalidArgument(
      `${action} needs the parameter 'OpportunityClose': an object with ` +
        `'opportunityid@odata.bind'.`,
    );
  }
  const record = close as Record<string, unknown>;
  const reference = record['opportunityid@odata.bind'];
  if (typeof reference !== 'string')
    throw invalidArgument(
      `${action}: OpportunityClose needs 'opportunityid@odata.bind' such as ` +
        `'/opportunities(<id>)'.`,
    );
  return {
    opportunityId: resolveBind(OPPORTUNITY_BIND, reference),
    status: statusParameter(action, parameters.Status),
    details: closeDetails(record),
  };
}

function closeDetails(record: Record<string, unknown>): OpportunityCloseDetails {
  const details: OpportunityCloseDetails = {};
  for (const [name, value] of Object.entries(record)) {
    if (name === 'opportunityid@odata.bind') continue;
    if (name === '@odata.type') {
      if (
        value !== 'Microsoft.Dynamics.CRM.opportunityclose' &&
        value !== '#Microsoft.Dynamics.CRM.opportunityclose'
      ) {
        throw invalidArgument(
          `OpportunityClose has @odata.type '${String(value)}'; expected ` +
            `'Microsoft.Dynamics.CRM.opportunityclose'.`,
        );
      }
    } else if (name === 'actualend') {
      details.actualend = closeDate(value);
    } else {
      const column = OPPORTUNITY_CLOSE.columns[name];
      if (!column) throw unknownBodyProperty(OPPORTUNITY_CLOSE, name);
      Object.assign(details, { [name]: readColumnValue(OPPORTUNITY_CLOSE, name, column, value) });
    }
  }
  return details;
}

/** `actualend` may be a date or a date-time; the opportunity keeps the day. */
function closeDate(value: unknown): string | null {
  if (value === null) return null;
  if (
    typeof value === 'string' &&
    isDateOnly(value.slice(0, 10)) &&
    (value.length === 10 || !Number.isNaN(Date.parse(value)))
  ) {
    return value.length === 10 ? value : new Date(value).toISOString().slice(0, 10);
  }
  throw cannotConvert(
    typeof value === 'string' ? value : JSON.stringify(value),
    'Edm.DateTimeOffset',
    'actualend',
  );
}

function actionParameters(action: string, body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw invalidArgument(`The body of ${action} must be a JSON object of its parameters.`);
  return body as Record<string, unknown>;
}

function statusParameter(action: string, value: unknown): number {
  if (!Number.isInteger(value))
    throw invalidArgument(`${action} needs the integer parameter 'Status'.`);
  return value as number;
}

function unknownParameter(action: string, name: string): Error {
  return invalidArgument(
    `The parameter '${name}' in the request payload is not a valid parameter for the ` +
      `operation '${action}'.`,
  );
}
