// Shows an expired referral on its HubSpot records: the mapping's status.expiredReflection (fields
// prefixed like the mapping's, e.g. deal__dealstage: closedlost) written while the deal is open.
// "Open" is HubSpot's own: the deal's stage is not a closed stage of its pipeline (stage metadata
// isClosed). Sources: developers.hubspot.com/docs/guides/api/crm/pipelines (GET
// /crm/v3/pipelines/deals; each stage's metadata.isClosed "true"/"false") and
// developers.hubspot.com/docs/api-reference/legacy/crm/objects/deals/basic/update-deal.
import type { Client } from '@hubspot/api-client';
import { LeadbridgeError } from '../../core/errors.js';
import type { CrmRecordState } from '../adapter.js';
import type { RunCall } from './client-calls.js';
import type { ClientCallOptions } from './budget.js';
import { updateObject, type ClientContext } from './deals.js';
import { OBJECT_PREFIXES, type HubSpotObject } from './facts.js';

/** Pipeline id → its closed stage ids, read once per adapter and again for an unknown stage. */
export class ClosedStages {
  private known: Map<string, { all: Set<string>; closed: Set<string> }> | null = null;

  constructor(
    private readonly client: Client,
    private readonly run: RunCall,
    private readonly options: ClientCallOptions,
  ) {}

  async isClosed(pipeline: string, stage: string): Promise<boolean> {
    if (!this.known?.get(pipeline)?.all.has(stage)) await this.read();
    return this.known?.get(pipeline)?.closed.has(stage) ?? false;
  }

  private async read(): Promise<void> {
    const response = await this.run('read of the deal pipelines', () =>
      this.client.crm.pipelines.pipelinesApi.getAll('deals', this.options),
    );
    const known = new Map<string, { all: Set<string>; closed: Set<string> }>();
    for (const pipeline of response.results) {
      const stages = pipeline.stages ?? [];
      known.set(pipeline.id, {
        all: new Set(stages.map((s) => s.id)),
        closed: new Set(stages.filter((s) => s.metadata?.isClosed === 'true').map((s) => s.id)),
      });
    }
    this.known = known;
  }
}

/** The reflection's fields per object, as HubSpot's texts; a field without a prefix is refused. */
function reflectionByObject(
  fields: Readonly<Record<string, unknown>>,
  target: string,
): Map<HubSpotObject, Record<string, string>> {
  const byObject = new Map<HubSpotObject, Record<string, string>>();
  for (const [name, value] of Object.entries(fields)) {
    const owner = OBJECT_PREFIXES.find(({ prefix }) => name.startsWith(prefix));
    if (!owner || name.length === owner.prefix.length) {
      throw new LeadbridgeError(
        'CONFIG_INVALID',
        `hubspot target "${target}": status.expiredReflection.${name} names no object: write ` +
          'deal__<property>, contact__<property> or company__<property>',
        { api: 'hubspot' },
      );
    }
    const properties = byObject.get(owner.object) ?? {};
    properties[name.slice(owner.prefix.length)] = value === null ? '' : String(value);
    byObject.set(owner.object, properties);
  }
  return byObject;
}

export interface ExpiryContext extends ClientContext {
  stages: ClosedStages;
  target: string;
}

/**
 * Writes the reflection onto the referral's records while its deal is open; false (nothing
 * written) when there is no deal or it is in a closed stage. Writing the same values twice
 * changes nothing, so a repeat after a lost response is harmless.
 */
export async function reflectExpired(
  context: ExpiryContext,
  record: CrmRecordState,
  fields: Readonly<Record<string, unknown>>,
): Promise<boolean> {
  const byObject = reflectionByObject(fields, context.target);
  const dealId = record.fields.deal__hs_object_id;
  const stage = record.fields.deal__dealstage;
  const pipeline = record.fields.deal__pipeline;
  if (typeof dealId !== 'string' || dealId === '' || typeof stage !== 'string') return false;
  if (await context.stages.isClosed(typeof pipeline === 'string' ? pipeline : 'default', stage))
    return false;
  // The deal first: it is what says "expired"; the contact and company follow.
  for (const { object, prefix } of [...OBJECT_PREFIXES].reverse()) {
    const properties = byObject.get(object);
    if (!properties) continue;
    const id = record.fields[`${prefix}hs_object_id`];
    if (typeof id !== 'string' || id === '') {
      throw new LeadbridgeError(
        'NOT_FOUND',
        `hubspot target "${context.target}": referral ${record.referralId} has no ${object} ` +
          'record to mark expired',
        { api: 'hubspot' },
      );
    }
    await updateObject(context, object, id, properties);
  }
  return true;
}
