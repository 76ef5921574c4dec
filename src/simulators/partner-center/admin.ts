// The simulator's own admin routes for referrals (no auth): seed, create (also raw), read, count,
// and edit as another actor.
import {
  SimHttpError,
  type SimRequest,
  type SimResponse,
  type SimRoute,
} from '../common/server.js';
import { isPlainObject } from './json.js';
import { asHttpError, baseUrlOf } from './routes.js';
import { presentReferral, type ReferralStore } from './store.js';

/** More than this in one call would hold the event loop for too long. */
const MAX_SEED_COUNT = 1_000_000;
/** How many of the seeded ids the seed answer lists. */
const LISTED_IDS = 1_000;
const ITEM = /^\/_sim\/referrals\/(?<id>[^/]+)$/;

type AdminHandler = (store: ReferralStore, req: SimRequest) => SimResponse;

export function referralAdminRoutes(store: ReferralStore): SimRoute[] {
  const route = (method: string, pattern: RegExp, handler: AdminHandler): SimRoute => ({
    method,
    pattern,
    handler: (req) => {
      store.expireDue();
      try {
        return handler(store, req);
      } catch (error) {
        throw asHttpError(error);
      }
    },
  });
  return [
    route('POST', /^\/_sim\/seed$/, seedReferrals),
    route('POST', /^\/_sim\/referrals$/, createReferral),
    route('GET', /^\/_sim\/referrals$/, listReferrals),
    route('GET', /^\/_sim\/writes$/, (s) => ({
      status: 200,
      body: { count: s.partnerWrites.length, value: s.partnerWrites },
    })),
    route('GET', ITEM, (s, req) => ({
      status: 200,
      body: presentReferral(slotOf(s, req), baseUrlOf(req)),
    })),
    route('PATCH', ITEM, updateReferral),
  ];
}

/**
 * GET /_sim/referrals → {count}; with ?list=true also every referral as the API presents it
 * (value).
 */
function listReferrals(store: ReferralStore, req: SimRequest): SimResponse {
  if (req.query.get('list') !== 'true') return { status: 200, body: { count: store.size } };
  const value = store
    .all()
    .map((referral) => presentReferral(store.slot(String(referral.id))!, baseUrlOf(req)));
  return { status: 200, body: { count: value.length, value } };
}

/** POST /_sim/seed {count, seed?} → {created, ids (the first 1000)}. */
function seedReferrals(store: ReferralStore, req: SimRequest): SimResponse {
  const body = jsonObject(req);
  const { count, seed } = body;
  if (
    typeof count !== 'number' ||
    !Number.isInteger(count) ||
    count < 1 ||
    count > MAX_SEED_COUNT
  ) {
    throw new SimHttpError(
      400,
      'BadRequest',
      `count must be an integer from 1 to ${MAX_SEED_COUNT} (got ${JSON.stringify(count)})`,
    );
  }
  if (seed !== undefined && (typeof seed !== 'number' || !Number.isInteger(seed))) {
    throw new SimHttpError(
      400,
      'BadRequest',
      `seed must be an integer (got ${JSON.stringify(seed)})`,
    );
  }
  const referrals = store.seed(count, seed);
  return {
    status: 201,
    body: {
      created: referrals.length,
      ids: referrals.slice(0, LISTED_IDS).map((referral) => referral.id),
    },
  };
}

/**
 * POST /_sim/referrals[?raw=true]: a referral from Microsoft or a customer; raw stores the body as
 * given, even malformed.
 */
function createReferral(store: ReferralStore, req: SimRequest): SimResponse {
  const raw = req.query.get('raw') === 'true';
  const referral = store.create(jsonObject(req), { raw });
  return { status: 201, body: presentReferral(store.slot(String(referral.id))!, baseUrlOf(req)) };
}

/**
 * PATCH /_sim/referrals/{id}: deep-merges an object as a customer or vendor edit would; no
 * life-cycle check.
 */
function updateReferral(store: ReferralStore, req: SimRequest): SimResponse {
  const slot = slotOf(store, req);
  store.update(slot.id, jsonObject(req));
  return { status: 200, body: presentReferral(slot, baseUrlOf(req)) };
}

function slotOf(store: ReferralStore, req: SimRequest) {
  const id = decodeURIComponent(req.params.id ?? '');
  const slot = store.slot(id);
  if (!slot) throw new SimHttpError(404, 'NotFound', `referral '${id}' was not found`);
  return slot;
}

function jsonObject(req: SimRequest): Record<string, unknown> {
  if (!isPlainObject(req.body))
    throw new SimHttpError(
      400,
      'BadRequest',
      'send a JSON object with Content-Type: application/json',
    );
  return req.body;
}
