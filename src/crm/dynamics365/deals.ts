// Co-sell deals in Dataverse: flagged opportunities without a referral yet, and the link written
// back.
import type { SharedDeal } from '../adapter.js';
import { ENTITY_SETS, PRIMARY_KEYS } from './facts.js';
import { queryString } from './odata.js';

/**
 * `opportunities?$select&$filter=<share> eq true and <key> eq null&$orderby=createdon asc,<id>
 * asc`.
 */
export function sharedDealsUrl(shareField: string, keyColumn: string, fields: readonly string[]) {
  const id = PRIMARY_KEYS.opportunity;
  return `${ENTITY_SETS.opportunity}${queryString({
    $select: [...new Set([id, ...fields])].join(','),
    $filter: `${shareField} eq true and ${keyColumn} eq null`,
    $orderby: `createdon asc,${id} asc`,
  })}`;
}

export function toSharedDeal(row: Record<string, unknown>): SharedDeal {
  return { recordId: String(row[PRIMARY_KEYS.opportunity]), fields: row };
}
