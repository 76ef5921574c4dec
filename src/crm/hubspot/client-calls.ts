// The HubSpotCalls port over the official @hubspot/api-client (13.4.0): one client method per
// HubSpot request.
import type { Client } from '@hubspot/api-client';
import type { CrmItemError } from '../adapter.js';
import type { ClientCallOptions } from './budget.js';
import type { HubSpotCalls, HubSpotRow, ItemOutcome, SearchRequest, UpsertedRow } from './calls.js';
import { batchItemError, contextIds, type BatchErrorShape } from './errors.js';
import { DEFAULT_ASSOCIATION_TYPE_IDS, OBJECT_PREFIXES, type HubSpotObject } from './facts.js';

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
 * Batch outcomes in input order. Results are matched by the referral id they hold when every one
 * holds it (the order of batch results is not promised); a result without it is taken by position.
 * A 207's `errors` name their inputs in `context` (the referral id, which is also each create's
 * objectWriteTraceId): those inputs get the error, never a neighbour's record.
 */
function outcomesOf(
  response: { results: readonly ClientRow[]; errors?: readonly BatchErrorShape[] },
  inputs: ReadonlyArray<{ id: string }>,
  referralIdProperty: string,
  prefix: string,
  createdByDefault: boolean,
): Array<ItemOutcome | undefined> {
  const upserted = (row: ClientRow): UpsertedRow => ({
    ...rowOf(row),
    created: row._new ?? createdByDefault,
  });
  const refused = new Map<string, CrmItemError>();
  for (const entry of response.errors ?? []) {
    const error = batchItemError(entry, prefix);
    for (const id of contextIds(entry)) refused.set(id, error);
  }
  const results = response.results;
  const byReferral = new Map<string, ClientRow>();
  for (const row of results) {
    const referralId = row.properties?.[referralIdProperty];
    if (typeof referralId === 'string') byReferral.set(referralId, row);
  }
  const matched = byReferral.size === results.length;
  const open = inputs.filter(({ id }) => !refused.has(id));
  return inputs.map(({ id }) => {
    const error = refused.get(id);
    if (error) return { error };
    const row = matched ? byReferral.get(id) : results[open.findIndex((i) => i.id === id)];
    return row ? upserted(row) : undefined;
  });
}

function prefixOf(object: HubSpotObject): string {
  return OBJECT_PREFIXES.find((o) => o.object === object)?.prefix ?? '';
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
      return outcomesOf(response, inputs, referralIdProperty, prefixOf(object), false);
    },
    async create(object, inputs) {
      if (inputs.length === 0) return [];
      const body = {
        inputs: inputs.map(({ id, properties, associations }) => ({
          properties: { ...properties, [referralIdProperty]: id },
          associations: associations.map((a) => ({
            to: { id: a.id },
            types: [
              {
                associationCategory: 'HUBSPOT_DEFINED',
                associationTypeId: DEFAULT_ASSOCIATION_TYPE_IDS[`${object}/${a.to}`],
              },
            ],
          })),
          // A trace id on every input makes HubSpot answer each one (207) instead of refusing
          // the whole call for one bad input: developers.hubspot.com/docs/api-reference/
          // error-handling ("Multi-status errors").
          objectWriteTraceId: id,
        })),
      };
      const response = await run(`create of ${inputs.length} ${object}`, () =>
        // Each object's client types its own copy of the association category enum.
        objectApi(client, object).batchApi.create(body as never, options),
      );
      return outcomesOf(response, inputs, referralIdProperty, prefixOf(object), true);
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
      const refused = new Map<string, CrmItemError>();
      if (pairs.length === 0) return refused;
      const response = await run(`association of ${pairs.length} ${from} with ${to}`, () =>
        client.crm.associations.v4.batchApi.createDefault(
          from,
          to,
          {
            inputs: pairs.map((p) => ({ _from: { id: p.from }, to: { id: p.to } })),
          },
          options,
        ),
      );
      // A 207 names the refused pairs' ids in each error's context.
      for (const entry of (response as { errors?: BatchErrorShape[] }).errors ?? []) {
        const ids = new Set(contextIds(entry));
        const error = batchItemError(entry, '');
        for (const pair of pairs)
          if (ids.has(pair.from) && ids.has(pair.to)) refused.set(pair.from, error);
      }
      return refused;
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
