// The HubSpotCalls port over the official @hubspot/api-client (13.4.0): one client method per
// HubSpot request.
import type { Client } from '@hubspot/api-client';
import type { HubSpotCalls, HubSpotRow, SearchRequest, UpsertedRow } from './calls.js';
import type { ClientCallOptions } from './budget.js';
import type { HubSpotObject } from './facts.js';

/** Runs one request (the adapter adds the limiter, retries, token renewal and counting). */
export type RunCall = <T>(what: string, request: () => Promise<T>, search?: boolean) => Promise<T>;

interface ClientRow {
  id: string;
  properties: Record<string, string | null>;
  _new?: boolean;
}

function rowOf(row: ClientRow): HubSpotRow {
  return { id: String(row.id), properties: { ...(row.properties ?? {}) } };
}

function objectApi(client: Client, object: HubSpotObject) {
  return client.crm[object];
}

/**
 * Batch results in input order. They are matched by the referral id they hold when every one holds
 * it (the order
 * of batch results is not promised); a result without it is taken by position.
 */
function matchedToInputs(
  results: readonly ClientRow[],
  inputs: ReadonlyArray<{ id: string }>,
  referralIdProperty: string,
): Array<UpsertedRow | undefined> {
  const upserted = (row: ClientRow): UpsertedRow => ({ ...rowOf(row), created: row._new === true });
  const byReferral = new Map<string, ClientRow>();
  for (const row of results) {
    const referralId = row.properties?.[referralIdProperty];
    if (typeof referralId === 'string') byReferral.set(referralId, row);
  }
  if (byReferral.size === results.length)
    return inputs
      .map(({ id }) => byReferral.get(id))
      .map((row) => (row ? upserted(row) : (row as never)));
  return inputs
    .map((_, index) => results[index])
    .map((row) => (row ? upserted(row) : (row as never)));
}

export function clientCalls(
  client: Client,
  referralIdProperty: string,
  run: RunCall,
  /** Passed last to every client method (the budget's header-reading middleware). */
  options?: ClientCallOptions,
): HubSpotCalls {
  return {
    async upsert(object, inputs) {
      const response = await run(`upsert of ${inputs.length} ${object}`, () =>
        objectApi(client, object).batchApi.upsert(
          {
            inputs: inputs.map(({ id, properties }) => ({
              idProperty: referralIdProperty,
              id,
              properties,
            })),
          },
          options,
        ),
      );
      return matchedToInputs(response.results as ClientRow[], inputs, referralIdProperty);
    },
    async readByReferralIds(object, referralIds, properties) {
      if (referralIds.length === 0) return [];
      const response = await run(`read of ${referralIds.length} ${object} by referral id`, () =>
        objectApi(client, object).batchApi.read(
          {
            idProperty: referralIdProperty,
            inputs: referralIds.map((id) => ({ id })),
            properties: [...new Set([referralIdProperty, ...properties])],
            propertiesWithHistory: [],
          },
          undefined,
          options,
        ),
      );
      return (response.results as ClientRow[]).map(rowOf);
    },
    async search(object, request: SearchRequest) {
      const response = await run(
        `search of ${object}`,
        // The client types `sorts` as texts; HubSpot documents {propertyName, direction} objects,
        // sent as given.
        () => objectApi(client, object).searchApi.doSearch(request as never, options),
        true,
      );
      return {
        results: (response.results as ClientRow[]).map(rowOf),
        after: response.paging?.next?.after ?? null,
      };
    },
    async associate(from, to, pairs) {
      if (pairs.length === 0) return;
      await run(`association of ${pairs.length} ${from} with ${to}`, () =>
        client.crm.associations.v4.batchApi.createDefault(
          from,
          to,
          {
            inputs: pairs.map((p) => ({ _from: { id: p.from }, to: { id: p.to } })),
          },
          options,
        ),
      );
    },
    async associated(from, to, ids) {
      const found = new Map<string, string[]>();
      if (ids.length === 0) return found;
      const response = await run(`read of ${from} → ${to} associations`, () =>
        client.crm.associations.v4.batchApi.getPage(
          from,
          to,
          {
            inputs: ids.map((id) => ({ id })),
          },
          options,
        ),
      );
      for (const result of response.results) {
        found.set(
          String(result._from.id),
          result.to.map((t) => String(t.toObjectId)),
        );
      }
      return found;
    },
  };
}
