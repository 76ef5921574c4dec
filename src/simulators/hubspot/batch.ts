// Pieces every batch route shares: the input list (at most 100), the batch answer (200, or 207 with
// `errors`), the object type in the path, HubSpot's default association type ids.
import type { SimRequest, SimResponse } from '../common/server.js';
import { HubSpotError, validationError } from './errors.js';
import { isObjectType, type ObjectType } from './schema.js';

const BATCH_MAX = 100;

/** Runs a handler, answering HubSpot errors in HubSpot's envelope. */
export function handle(run: (req: SimRequest) => SimResponse): (req: SimRequest) => SimResponse {
  return (req) => {
    try {
      return run(req);
    } catch (error) {
      if (error instanceof HubSpotError) return error.toResponse();
      throw error;
    }
  };
}

export function objectType(req: SimRequest): ObjectType {
  const name = req.params.objectType ?? '';
  if (!isObjectType(name))
    throw new HubSpotError(400, 'VALIDATION_ERROR', `Unable to infer object type from: ${name}`);
  return name;
}

export function inputsOf(req: SimRequest): unknown[] {
  const inputs = (req.body as { inputs?: unknown } | undefined)?.inputs;
  if (!Array.isArray(inputs)) throw validationError('Invalid input JSON: inputs is required');
  if (inputs.length > BATCH_MAX) {
    throw validationError(
      `Batch input cannot be larger than ${BATCH_MAX} items (got ${inputs.length})`,
    );
  }
  return inputs;
}

export const now = () => new Date().toISOString();

/** A batch answer: 207 Multi-Status when some inputs failed, else `okStatus` (create: 201). */
export function batchResponse(
  results: unknown[],
  startedAt: string,
  errors: unknown[] = [],
  okStatus = 200,
): SimResponse {
  return {
    status: errors.length > 0 ? 207 : okStatus,
    body: {
      status: 'COMPLETE',
      results,
      ...(errors.length > 0 ? { numErrors: errors.length, errors } : {}),
      startedAt,
      completedAt: now(),
    },
  };
}

/**
 * HubSpot-defined default association type ids, by direction. Source:
 * developers.hubspot.com/docs/api-reference/
 * crm-associations-v4/guide ("Association type id values": contact→company 279, company→contact
 * 280,
 * deal→contact 3, contact→deal 4, deal→company 341, company→deal 342).
 */
export const DEFAULT_TYPE_IDS: Record<string, number> = {
  'contacts/companies': 279,
  'companies/contacts': 280,
  'deals/contacts': 3,
  'contacts/deals': 4,
  'deals/companies': 341,
  'companies/deals': 342,
};
