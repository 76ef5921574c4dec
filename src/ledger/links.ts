// Links between a referral and the CRM record it became, per target, with what was last written
// (eTag, payload hash).
import type { Knex } from 'knex';
import {
  chunk,
  distinct,
  idsPerQuery,
  ledgerOperation,
  nowIso,
  rowsPerInsert,
  toNumber,
} from './dialect.js';
import { TABLE } from './migrations.js';
import { instantKey } from '../core/time.js';

export interface Link {
  referralId: string;
  target: string;
  crmRecordId: string | null;
  referralETag: string | null;
  payloadHash: string | null;
  mappingVersion: string | null;
  /** As the source sent it (provider text, not normalised). */
  referralUpdatedAt: string | null;
  leadKind: string | null;
  referralStatus: string | null;
  /** As the CRM sent it (provider text, not normalised). */
  crmModifiedAt: string | null;
  /**
   * The record the CRM lead became once converted / qualified ('' unnamed); null while it is a
   * lead.
   */
  crmConvertedInto?: string | null;
  createdAt: string;
  updatedAt: string;
}

export type LinkUpdate = Partial<Link> & { referralId: string; target: string };

interface LinkRow {
  referral_id: string;
  target: string;
  crm_record_id: string | null;
  referral_etag: string | null;
  payload_hash: string | null;
  mapping_version: string | null;
  referral_updated_at: string | null;
  lead_kind: string | null;
  referral_status: string | null;
  crm_modified_at: string | null;
  crm_converted_into: string | null;
  created_at: string;
  updated_at: string;
}

/** The columns an upsert may set; createdAt/updatedAt are the ledger's own. */
const WRITABLE_FIELDS = {
  crmRecordId: 'crm_record_id',
  referralETag: 'referral_etag',
  payloadHash: 'payload_hash',
  mappingVersion: 'mapping_version',
  referralUpdatedAt: 'referral_updated_at',
  leadKind: 'lead_kind',
  referralStatus: 'referral_status',
  crmModifiedAt: 'crm_modified_at',
  crmConvertedInto: 'crm_converted_into',
} as const satisfies Partial<Record<keyof Link, keyof LinkRow>>;

type WritableField = keyof typeof WRITABLE_FIELDS;
const WRITABLE_KEYS = Object.keys(WRITABLE_FIELDS) as WritableField[];

function fromLinkRow(row: LinkRow): Link {
  return {
    referralId: row.referral_id,
    target: row.target,
    crmRecordId: row.crm_record_id,
    referralETag: row.referral_etag,
    payloadHash: row.payload_hash,
    mappingVersion: row.mapping_version,
    referralUpdatedAt: row.referral_updated_at,
    leadKind: row.lead_kind,
    referralStatus: row.referral_status,
    crmModifiedAt: row.crm_modified_at,
    crmConvertedInto: row.crm_converted_into ?? null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Only the fields the caller gave (undefined means "leave as is"; null clears). */
function toLinkRow(
  link: LinkUpdate,
  now: string,
): Partial<LinkRow> & Pick<LinkRow, 'referral_id' | 'target'> {
  const row: Partial<LinkRow> & Pick<LinkRow, 'referral_id' | 'target'> = {
    referral_id: link.referralId,
    target: link.target,
  };
  for (const field of WRITABLE_KEYS) {
    const value = link[field];
    if (value !== undefined) row[WRITABLE_FIELDS[field]] = value;
  }
  row.created_at = now;
  row.updated_at = now;
  return row;
}

export async function getLinks(
  db: Knex,
  target: string,
  referralIds: string[],
): Promise<Map<string, Link>> {
  return ledgerOperation(`getLinks(target "${target}")`, async () => {
    const links = new Map<string, Link>();
    for (const ids of chunk(distinct(referralIds), idsPerQuery(db))) {
      const rows = (await db<LinkRow>(TABLE.links)
        .where({ target })
        .whereIn('referral_id', ids)) as LinkRow[];
      for (const row of rows) links.set(row.referral_id, fromLinkRow(row));
    }
    return links;
  });
}

/**
 * The link whose CRM record is `crmRecordId` (the lowest referral id if, unexpectedly, several
 * share it).
 */
export async function getLinkByRecordId(
  db: Knex,
  target: string,
  crmRecordId: string,
): Promise<Link | null> {
  return ledgerOperation(
    `getLinkByRecordId(target "${target}", record "${crmRecordId}")`,
    async () => {
      const row = (await db<LinkRow>(TABLE.links)
        .where({ target, crm_record_id: crmRecordId })
        .orderBy('referral_id')
        .first()) as LinkRow | undefined;
      return row ? fromLinkRow(row) : null;
    },
  );
}

/**
 * Inserts or updates links in batches; on an existing link only the given fields (and updated_at)
 * change.
 * Several updates of one link in the same call are folded into one, later fields winning.
 */
export async function upsertLinks(db: Knex, links: LinkUpdate[]): Promise<void> {
  if (links.length === 0) return;
  await ledgerOperation('upsertLinks', async () => {
    const now = nowIso();
    for (const group of groupByGivenFields(foldByKey(links))) {
      const rows = group.map((link) => toLinkRow(link, now));
      const mergeColumns = [
        ...givenFields(group[0]!).map((f) => WRITABLE_FIELDS[f]),
        'updated_at' as const,
      ];
      const columnsPerRow = mergeColumns.length + 3;
      for (const batch of chunk(rows, rowsPerInsert(db, columnsPerRow))) {
        await db(TABLE.links)
          .insert(batch)
          .onConflict(['referral_id', 'target'])
          .merge(mergeColumns);
      }
    }
  });
}

/** A referral version that leadbridge itself replaced by writing to the referral. */
export interface LinkETagMove {
  referralId: string;
  fromETag: string;
  toETag: string;
  updatedAt: string;
}

/**
 * After leadbridge's own write to a referral: every link (any target) that had recorded the version
 * written
 * over moves to the new one, so the next poll sees nothing new. A link that recorded another
 * version keeps it.
 */
export async function moveLinkETags(db: Knex, moves: LinkETagMove[]): Promise<void> {
  if (moves.length === 0) return;
  await ledgerOperation('moveLinkETags', async () => {
    const now = nowIso();
    for (const move of moves) {
      await db(TABLE.links)
        .where({ referral_id: move.referralId, referral_etag: move.fromETag })
        .update({
          referral_etag: move.toETag,
          referral_updated_at: move.updatedAt,
          updated_at: now,
        });
    }
  });
}

/** Links of a target in referral-id order, a page at a time (keyset paging). */
export async function listLinks(
  db: Knex,
  target: string,
  options: { afterReferralId?: string; limit: number },
): Promise<Link[]> {
  return ledgerOperation(`listLinks(target "${target}")`, async () => {
    const query = db<LinkRow>(TABLE.links).where({ target });
    if (options.afterReferralId !== undefined)
      query.andWhere('referral_id', '>', options.afterReferralId);
    const rows = (await query.orderBy('referral_id').limit(options.limit)) as LinkRow[];
    return rows.map(fromLinkRow);
  });
}

function givenFields(link: LinkUpdate): WritableField[] {
  return WRITABLE_KEYS.filter((field) => link[field] !== undefined);
}

/** One update per (referral, target): PostgreSQL refuses to touch a row twice in one upsert. */
function foldByKey(links: LinkUpdate[]): LinkUpdate[] {
  const folded = new Map<string, LinkUpdate>();
  for (const link of links) {
    const key = JSON.stringify([link.referralId, link.target]);
    const given = Object.fromEntries(givenFields(link).map((field) => [field, link[field]]));
    folded.set(key, {
      ...folded.get(key),
      ...given,
      referralId: link.referralId,
      target: link.target,
    });
  }
  return [...folded.values()];
}

/**
 * A multi-row upsert sets the same columns on every row, so links are grouped by which fields they
 * carry.
 */
function groupByGivenFields(links: LinkUpdate[]): LinkUpdate[][] {
  const groups = new Map<string, LinkUpdate[]>();
  for (const link of links) {
    const signature = givenFields(link).join(',');
    const group = groups.get(signature);
    if (group) group.push(link);
    else groups.set(signature, [link]);
  }
  return [...groups.values()];
}

/**
 * Resync: forgets which referral version and payload each link last wrote (of one target, or all;
 * only
 * referrals updated since `since` when given), so the next pass maps and writes every one of them
 * again.
 */
export async function forgetLinkVersions(
  db: Knex,
  options: { target?: string; since?: string },
): Promise<number> {
  return ledgerOperation('forgetLinkVersions', async () => {
    const query = db(TABLE.links);
    if (options.target !== undefined) query.where({ target: options.target });
    // Stored timestamps keep Partner Center's form; 7 fractional digits sort at or before any of
    // them in that second.
    if (options.since !== undefined)
      query.andWhere('referral_updated_at', '>=', instantKey(options.since));
    return toNumber(
      await query.update({ referral_etag: null, payload_hash: null, updated_at: nowIso() }),
    );
  });
}

/**
 * Whether any link of the target was written by another mapping version (an admin edited the
 * mapping).
 */
export async function hasOtherMappingVersion(
  db: Knex,
  target: string,
  version: string,
): Promise<boolean> {
  return ledgerOperation('hasOtherMappingVersion', async () => {
    const row = await db(TABLE.links)
      .where({ target })
      .whereNotNull('mapping_version')
      .whereNot({ mapping_version: version })
      .first('referral_id');
    return row !== undefined;
  });
}
