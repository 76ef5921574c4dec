// The chaos suite's verdict, read from outside: the simulators' records and the ledger's own
// tables.
import knex, { type Knex } from 'knex';
import type { PlannedOutcome } from './outcomes.js';
import type { SimulatorUrls } from './processes.js';
import { dynamicsLeads, listReferrals, partnerWrites, salesforceLeads } from './sim.js';

export interface CrmFigures {
  /** Referrals with more than one CRM record, per target. */
  duplicates: Record<string, number>;
  /** Expected referrals with no CRM record, per target. */
  missing: Record<string, number>;
  /** externalReferenceId absent, or not the Dynamics lead's id. */
  externalReferenceMissing: number;
  externalReferenceWrong: number;
  /** Outcomes not (yet) in Partner Center; outcomes in another state than the CRM's. */
  outcomesMissing: number;
  outcomesWrong: number;
  /** Status moves that Partner Center applied more than once to one referral. */
  transitionsTwice: number;
  /** Status moves on referrals that had no outcome recorded in a CRM. */
  unexpectedTransitions: number;
}

/** Reads every record through the simulators' admin routes and counts what is off. */
export async function checkCrms(
  urls: SimulatorUrls,
  expectedIds: ReadonlySet<string>,
  outcomes: readonly PlannedOutcome[],
): Promise<CrmFigures> {
  const [referrals, writes, dLeads, sLeads] = await Promise.all([
    listReferrals(urls),
    partnerWrites(urls),
    dynamicsLeads(urls),
    salesforceLeads(urls),
  ]);
  const dynamics = countByKey(dLeads.map((l) => [l.lb_referralid, l.leadid]));
  const salesforce = countByKey(sLeads.map((l) => [l.PartnerReferralId__c, l.Id]));
  const figures = noCrmFigures();
  for (const [name, records] of [
    ['dynamics', dynamics],
    ['salesforce', salesforce],
  ] as const) {
    for (const [, ids] of records) if (ids.length > 1) figures.duplicates[name]!++;
    for (const id of expectedIds) if (!records.has(id)) figures.missing[name]!++;
  }
  const byId = new Map(referrals.map((r) => [r.id, r]));
  for (const id of expectedIds) {
    const reference = byId.get(id)?.externalReferenceId;
    const leadIds = dynamics.get(id) ?? [];
    if (!reference) figures.externalReferenceMissing++;
    else if (!leadIds.includes(reference)) figures.externalReferenceWrong++;
  }
  for (const outcome of outcomes) {
    const referral = byId.get(outcome.referralId);
    const now = referral ? `${referral.status}/${referral.substatus}` : 'absent';
    if (now === outcome.expected) continue;
    if (now.startsWith('Closed/')) figures.outcomesWrong++;
    else figures.outcomesMissing++;
  }
  const moved = new Set<string>();
  const withOutcome = new Set(outcomes.map((o) => o.referralId));
  for (const write of writes) {
    if (write.from === write.to) continue;
    const key = `${write.referralId} ${write.from}>${write.to}`;
    if (moved.has(key)) figures.transitionsTwice++;
    moved.add(key);
    if (!withOutcome.has(write.referralId)) figures.unexpectedTransitions++;
  }
  return figures;
}

function countByKey(pairs: Array<[string | null, string]>): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const [key, id] of pairs) {
    if (!key) continue;
    map.set(key, [...(map.get(key) ?? []), id]);
  }
  return map;
}

export function crmClean(f: CrmFigures): boolean {
  return (
    Object.values(f.duplicates).every((n) => n === 0) &&
    Object.values(f.missing).every((n) => n === 0) &&
    f.externalReferenceMissing + f.externalReferenceWrong === 0 &&
    f.outcomesMissing + f.outcomesWrong + f.transitionsTwice + f.unexpectedTransitions === 0
  );
}

export type LedgerLocation =
  { client: 'sqlite'; filename: string } | { client: 'pg'; connection: string; schema: string };

export interface LedgerFigures {
  /** Outbox rows pending, sending or failed; referral states pending or failed. */
  outboxWaiting: number;
  syncWaiting: number;
  quarantined: { referrals: number; outbox: number };
  /** Cycles still marked running once the worker has stopped. */
  runsLeftRunning: number;
  /** "ok" from PRAGMA integrity_check (SQLite); "n/a" on PostgreSQL. */
  integrity: string;
}

function openLedgerDb(location: LedgerLocation): Knex {
  return location.client === 'sqlite'
    ? knex({
        client: 'sqlite3',
        connection: { filename: location.filename },
        useNullAsDefault: true,
      })
    : knex({
        client: 'pg',
        connection: location.connection,
        searchPath: [location.schema],
        pool: { min: 0, max: 1 },
      });
}

/** Counts by state straight from the ledger's tables (no leadbridge code in between). */
export async function checkLedger(location: LedgerLocation): Promise<LedgerFigures> {
  const db = openLedgerDb(location);
  try {
    const count = async (table: string, column: string, values: string[]) => {
      const [row] = await db(table).whereIn(column, values).count({ n: '*' });
      return Number(row?.n ?? 0);
    };
    let integrity = 'n/a';
    if (location.client === 'sqlite') {
      const rows = (await db.raw('PRAGMA integrity_check')) as Array<Record<string, string>>;
      integrity = rows.map((row) => Object.values(row).join(' ')).join('; ');
    }
    return {
      outboxWaiting: await count('lb_outbox', 'state', ['pending', 'sending', 'failed']),
      syncWaiting: await count('lb_sync_states', 'state', ['pending', 'failed']),
      quarantined: {
        referrals: await count('lb_sync_states', 'state', ['quarantined']),
        outbox: await count('lb_outbox', 'state', ['quarantined']),
      },
      runsLeftRunning: await count('lb_runs', 'status', ['running']),
      integrity,
    };
  } finally {
    await db.destroy();
  }
}

/** Drops the PostgreSQL schema the run used. */
export async function dropPgSchema(connection: string, schema: string): Promise<void> {
  const db = knex({ client: 'pg', connection, pool: { min: 0, max: 1 } });
  try {
    await db.raw('drop schema if exists ?? cascade', [schema]);
  } finally {
    await db.destroy();
  }
}

/** Figures with nothing counted yet, to add to. */
export function noCrmFigures(): CrmFigures {
  return {
    duplicates: { dynamics: 0, salesforce: 0 },
    missing: { dynamics: 0, salesforce: 0 },
    externalReferenceMissing: 0,
    externalReferenceWrong: 0,
    outcomesMissing: 0,
    outcomesWrong: 0,
    transitionsTwice: 0,
    unexpectedTransitions: 0,
  };
}
