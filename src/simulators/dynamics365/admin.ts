// /_sim/ routes of the Dataverse simulator: read every row, and act as a CRM user (change state,
// qualify, win, lose, edit).
import type { SimRequest, SimRoute } from '../common/server.js';
import { invalidArgument, keyNotFound } from './errors.js';
import { LEAD, OPPORTUNITY, type TableSpec } from './schema.js';
import type { DataverseStore } from './store.js';
import { readColumnValue, readRecordBody, type RowValue } from './values.js';

const ID = '(?<id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})';

export function adminRoutes(store: DataverseStore): SimRoute[] {
  const rowsOf = (table: TableSpec) => () => {
    const value = [...store.rowsOf(table).values()];
    return { status: 200, body: { count: value.length, value } };
  };
  return [
    { method: 'GET', pattern: /^\/_sim\/leads$/, handler: rowsOf(LEAD) },
    { method: 'GET', pattern: /^\/_sim\/opportunities$/, handler: rowsOf(OPPORTUNITY) },
    {
      method: 'GET',
      pattern: /^\/_sim\/leads\/by-referral\/(?<referralId>[^/]+)$/,
      handler: (req) => {
        const lead = store.findLeadByKey(decodeURIComponent(req.params.referralId ?? ''));
        if (!lead) throw keyNotFound(LEAD);
        return { status: 200, body: lead };
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/_sim/leads/${ID}/state$`),
      handler: (req) => setLeadState(store, req),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/_sim/leads/${ID}/qualify$`),
      handler: (req) => qualifyLead(store, req),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/_sim/opportunities/${ID}/win$`),
      handler: (req) => closeOpportunity(store, req, 'won'),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/_sim/opportunities/${ID}/lose$`),
      handler: (req) => closeOpportunity(store, req, 'lost'),
    },
    {
      method: 'PATCH',
      pattern: new RegExp(`^/_sim/leads/${ID}$`),
      handler: (req) => editRecord(store, LEAD, req),
    },
    {
      method: 'PATCH',
      pattern: new RegExp(`^/_sim/opportunities/${ID}$`),
      handler: (req) => editRecord(store, OPPORTUNITY, req),
    },
  ];
}

function objectBody(req: SimRequest): Record<string, unknown> {
  const body = req.body ?? {};
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalidArgument(`${req.method} ${req.path} takes a JSON object body.`);
  return body as Record<string, unknown>;
}

function idOf(req: SimRequest): string {
  return (req.params.id ?? '').toLowerCase();
}

/** `{statecode, statuscode}`: any valid pair, as a user changing the status in the CRM. */
function setLeadState(store: DataverseStore, req: SimRequest) {
  const body = objectBody(req);
  const values: Record<string, RowValue> = {};
  for (const name of ['statecode', 'statuscode'] as const) {
    const column = LEAD.columns[name];
    if (body[name] !== undefined && column)
      values[name] = readColumnValue(LEAD, name, column, body[name]);
  }
  if (Object.keys(values).length === 0)
    throw invalidArgument('POST /_sim/leads/{id}/state needs statecode and/or statuscode.');
  const row = store.transaction(() => store.update(LEAD, idOf(req), values, 'user'));
  return { status: 200, body: row };
}

/**
 * `{createAccount?, createContact?, createOpportunity? (default true), status? (default 3)}`, like
 * QualifyLead.
 */
function qualifyLead(store: DataverseStore, req: SimRequest) {
  const body = objectBody(req);
  const flag = (name: string, fallback: boolean): boolean => {
    const value = body[name] ?? fallback;
    if (typeof value !== 'boolean') throw invalidArgument(`'${name}' must be true or false.`);
    return value;
  };
  const status = body.status ?? 3;
  if (!Number.isInteger(status))
    throw invalidArgument("'status' must be an integer statuscode of LeadState.Qualified.");
  const created = store.qualifyLead(idOf(req), {
    createAccount: flag('createAccount', false),
    createContact: flag('createContact', false),
    createOpportunity: flag('createOpportunity', true),
    status: status as number,
  });
  return {
    status: 200,
    body: { value: created.map(({ table, row }) => ({ entity: table.logicalName, ...row })) },
  };
}

/**
 * Win `{actualvalue?, actualclosedate?, description?}` or lose `{statuscode? (4 Canceled, 5
 * Out-Sold), ...}`.
 */
function closeOpportunity(store: DataverseStore, req: SimRequest, outcome: 'won' | 'lost') {
  const body = objectBody(req);
  const money = OPPORTUNITY.columns.actualvalue;
  const date = OPPORTUNITY.columns.actualclosedate;
  const description = OPPORTUNITY.columns.description;
  const statuscode = body.statuscode ?? (outcome === 'won' ? 3 : 4);
  if (!Number.isInteger(statuscode)) throw invalidArgument("'statuscode' must be an integer.");
  const row = store.closeOpportunity(idOf(req), outcome, statuscode as number, {
    actualrevenue:
      body.actualvalue === undefined || !money
        ? undefined
        : (readColumnValue(OPPORTUNITY, 'actualvalue', money, body.actualvalue) as number | null),
    actualend:
      body.actualclosedate === undefined || !date
        ? undefined
        : (readColumnValue(OPPORTUNITY, 'actualclosedate', date, body.actualclosedate) as
            string | null),
    description:
      body.description === undefined || !description
        ? undefined
        : (readColumnValue(OPPORTUNITY, 'description', description, body.description) as
            string | null),
  });
  return { status: 200, body: row };
}

/**
 * Sets columns as a user editing the form would (the same checks as the Web API; any valid state
 * pair).
 */
function editRecord(store: DataverseStore, table: TableSpec, req: SimRequest) {
  const values = readRecordBody(table, objectBody(req), store.resolveBind);
  const row = store.transaction(() => store.update(table, idOf(req), values, 'user'));
  return { status: 200, body: row };
}
