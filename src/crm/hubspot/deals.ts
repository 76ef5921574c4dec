// Co-sell deals in HubSpot: deals flagged "share with Microsoft" without a referral id yet (CRM
// search), the referral id written back onto the deal, and the deal's properties as the
// `opportunity` entity that a mapping's coSell section names (unprefixed: opportunity.amount).
// Sources: developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm (EQ and
// NOT_HAS_PROPERTY filters, sorts, `after` paging, 200 results a page, 10,000 per query) and
// developers.hubspot.com/docs/api-reference/legacy/crm/objects/deals/basic/update-deal
// (PATCH /crm/v3/objects/deals/{dealId} with {properties}).
import type { Client } from '@hubspot/api-client';
import type { CrmEntityMetadata, SharedDeal } from '../adapter.js';
import type { ClientCallOptions } from './budget.js';
import type { HubSpotCalls, SearchRequest } from './calls.js';
import type { RunCall } from './client-calls.js';
import type { HubSpotObject } from './facts.js';
import { entityMetadataOf, type PropertyDefinitionShape } from './metadata.js';

export interface DealContext {
  calls: HubSpotCalls;
  referralIdProperty: string;
  pageSize: number;
}

/**
 * Flagged deals with an empty referral id property, oldest id first. Each page is its own query
 * from the last id seen (hs_object_id GT), so no query comes near the 10,000-result cap.
 */
export async function readSharedDeals(
  context: DealContext,
  shareField: string,
  fields: readonly string[],
): Promise<SharedDeal[]> {
  const deals: SharedDeal[] = [];
  let lastId: string | null = null;
  for (;;) {
    const request: SearchRequest = {
      filterGroups: [
        {
          filters: [
            { propertyName: shareField, operator: 'EQ', value: 'true' },
            { propertyName: context.referralIdProperty, operator: 'NOT_HAS_PROPERTY' },
            ...(lastId === null
              ? []
              : [{ propertyName: 'hs_object_id', operator: 'GT', value: lastId }]),
          ],
        },
      ],
      sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }],
      properties: [...new Set(['hs_object_id', ...fields])],
      limit: context.pageSize,
    };
    const { results } = await context.calls.search('deals', request);
    for (const row of results) deals.push({ recordId: row.id, fields: { ...row.properties } });
    if (results.length < context.pageSize) return deals;
    lastId = results.at(-1)?.id ?? null;
  }
}

/** PATCH one record's properties by its HubSpot id (values are sent as HubSpot's texts). */
export async function updateObject(
  { client, run, options }: ClientContext,
  object: HubSpotObject,
  id: string,
  properties: Record<string, string>,
): Promise<void> {
  await run(`update of ${object} ${id}`, () =>
    client.crm[object].basicApi.update(id, { properties }, undefined, options),
  );
}

/** The official client, the adapter's call wrapper, and the options every client call takes. */
export interface ClientContext {
  client: Client;
  run: RunCall;
  options: ClientCallOptions;
}

/** The deal's properties under their own names: what `opportunity.<property>` refers to. */
export function opportunityMetadata(definitions: PropertyDefinitionShape[]): CrmEntityMetadata {
  const { fields } = entityMetadataOf('opportunity', {
    contacts: [],
    companies: [],
    deals: definitions,
  });
  return {
    entity: 'opportunity',
    fields: fields.map((field) => ({ ...field, name: field.name.replace(/^deal__/, '') })),
  };
}
