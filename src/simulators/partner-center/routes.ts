// The referrals API routes (api-facts.md §1): list, get, create, JSON Patch update, obsolete PUT,
// refused DELETE.
import {
  SimHttpError,
  type SimRequest,
  type SimResponse,
  type SimRoute,
} from '../common/server.js';
import { CreateError, buildPartnerReferral } from './create.js';
import { FilterError } from './filter.js';
import { isPlainObject } from './json.js';
import { PatchError, applyReferralPatch } from './patch.js';
import { QueryError, parseListQuery, type ListQuery, type ReferralLister } from './query.js';
import { READ_ONLY_FIELDS, REFERRAL_SPEC, TOP_LEVEL_FIELDS, conformObject } from './schema.js';
import type { SkipTokenCodec, SkipToken } from './skiptoken.js';
import { StoreError, presentReferral, type ReferralSlot, type ReferralStore } from './store.js';
import { TransitionError, checkPartnerTransition } from './transitions.js';
import { isArchived } from './vocabulary.js';

const REFERRALS_PATH = '/v1.0/engagements/referrals';
const COLLECTION = /^\/v1\.0\/engagements\/referrals$/;
const ITEM = /^\/v1\.0\/engagements\/referrals\/(?<id>[^/]+)$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TRACKING_HEADERS = {
  'ms-correlationid': 'MS-CorrelationId',
  'ms-requestid': 'MS-RequestId',
} as const;
/** headers.md: "client-request-id ... Required ... All operations should include this header." */
const CLIENT_REQUEST_ID = 'client-request-id';
/**
 * The host and path every documented list example gives in `@odata.nextLink`
 * (get-a-list-of-referrals.md).
 */
const DOCUMENTED_NEXT_LINK = 'http://api.partner.microsoft.com/v1.0/referrals';
const DOCUMENTED_CONTEXT = 'http://api.partner.microsoft.com/v1.0/$metadata#Referrals';

/** What the route handlers share. */
export interface PartnerCenterState {
  store: ReferralStore;
  lister: ReferralLister;
  tokens: SkipTokenCodec;
  /**
   * Serve list pages exactly as the documented examples show them: `@odata.nextLink` as
   * `http://api.partner.microsoft.com/v1.0/referrals?$skiptoken=...` and no `eTag` on list items.
   */
  documentedLinks: boolean;
}

type ApiHandler = (state: PartnerCenterState, req: SimRequest) => SimResponse;

export function referralApiRoutes(state: PartnerCenterState): SimRoute[] {
  const route = (method: string, pattern: RegExp, handler: ApiHandler): SimRoute => ({
    method,
    pattern,
    handler: serve(state, handler),
  });
  return [
    route('GET', COLLECTION, listReferrals),
    route('POST', COLLECTION, createReferral),
    route('GET', ITEM, getReferral),
    route('PATCH', ITEM, patchReferral),
    route('PUT', ITEM, putReferral),
    route('DELETE', ITEM, () => {
      throw new SimHttpError(
        405,
        'MethodNotAllowed',
        'referrals cannot be deleted: close one with PATCH (Closed/Declined or Closed/Lost) ' +
          'instead',
      );
    }),
  ];
}

/**
 * Runs the expiry due on the simulator clock before serving, and maps domain errors to the API's
 * 4xx answers.
 */
function serve(state: PartnerCenterState, handler: ApiHandler): (req: SimRequest) => SimResponse {
  return (req) => {
    state.store.expireDue();
    try {
      checkTrackingHeaders(req);
      return handler(state, req);
    } catch (error) {
      throw asHttpError(error);
    }
  };
}

export function asHttpError(error: unknown): unknown {
  if (
    error instanceof QueryError ||
    error instanceof FilterError ||
    error instanceof PatchError ||
    error instanceof TransitionError ||
    error instanceof CreateError
  ) {
    return new SimHttpError(400, 'BadRequest', error.message);
  }
  if (error instanceof StoreError) {
    const status = { NotFound: 404, Conflict: 409, BadRequest: 400 }[error.reason];
    return new SimHttpError(status, error.reason, error.message);
  }
  return error;
}

function listReferrals(state: PartnerCenterState, req: SimRequest): SimResponse {
  const query = parseListQuery(req.query, state.tokens);
  const page = state.lister.page(query);
  const base = baseUrlOf(req);
  const documented = state.documentedLinks;
  const selected = query.select ? `(${query.select.join(',')})` : '';
  const body: Record<string, unknown> = {
    '@odata.context': documented
      ? `${DOCUMENTED_CONTEXT}${selected}`
      : `${base}/v1.0/$metadata#referrals${selected}`,
    // A number, as in the documented example ("@odata.count": 100): the matches over all pages.
    '@odata.count': page.count,
    value: page.slots.map((slot) =>
      listItem(project(presentReferral(slot, base), query.select), documented),
    ),
  };
  if (page.next) body['@odata.nextLink'] = nextLink(base, query, page.next, state);
  return { status: 200, body };
}

/**
 * No documented list example carries an eTag (only GET by id does): documented mode leaves it out.
 */
function listItem(referral: Record<string, unknown>, documented: boolean): Record<string, unknown> {
  if (!documented || !('eTag' in referral)) return referral;
  const { eTag: _omitted, ...rest } = referral;
  return rest;
}

function nextLink(
  base: string,
  query: ListQuery,
  next: SkipToken,
  state: PartnerCenterState,
): string {
  const token = ['$skiptoken', state.tokens.encode(next)] as const;
  if (state.documentedLinks)
    return `${DOCUMENTED_NEXT_LINK}?${token[0]}=${encodeURIComponent(token[1])}`;
  const options = [...query.options, token];
  return `${base}${REFERRALS_PATH}?${options
    .map(([name, value]) => `${name}=` + `${encodeURIComponent(value)}`)
    .join('&')}`;
}

function project(
  referral: Record<string, unknown>,
  select: string[] | null,
): Record<string, unknown> {
  if (!select) return referral;
  return Object.fromEntries(select.map((field) => [field, referral[field] ?? null]));
}

function getReferral(state: PartnerCenterState, req: SimRequest): SimResponse {
  return { status: 200, body: presentReferral(findSlot(state, req), baseUrlOf(req)) };
}

function createReferral(state: PartnerCenterState, req: SimRequest): SimResponse {
  requireJson(req, ['application/json']);
  const { store } = state;
  const referral = buildPartnerReferral(req.body, {
    id: store.newId(),
    engagementId: store.newId(),
    stamp: store.nextStamp(),
    eTag: store.nextETag(),
  });
  store.put(referral);
  const served = presentReferral(store.slot(String(referral.id))!, baseUrlOf(req));
  return {
    status: 201,
    headers: {
      Location: `${baseUrlOf(req)}${REFERRALS_PATH}/${encodeURIComponent(String(referral.id))}`,
    },
    body: served,
  };
}

function patchReferral(state: PartnerCenterState, req: SimRequest): SimResponse {
  requireJson(req, ['application/json', 'application/json-patch+json']);
  if (!Array.isArray(req.body))
    throw new PatchError(
      'the body must be a JSON Patch array of operations, e.g. ' +
        '[{"op":"replace","path":"/details/notes","value":"..."}]',
    );
  const slot = findSlot(state, req);
  checkIfMatch(req, slot);
  refuseIfClosed(slot);
  // Written values are checked at their paths by applyReferralPatch; the rest stays as the service
  // stored it.
  return commitPartnerWrite(state, req, slot, applyReferralPatch(slot.referral, req.body), {
    wholeChecked: false,
  });
}

/**
 * The obsolete full replace: only with If-Match; read-only fields keep their values, absent
 * writable ones become null.
 */
function putReferral(state: PartnerCenterState, req: SimRequest): SimResponse {
  if (req.headers['if-match'] === undefined) {
    throw new SimHttpError(
      400,
      'BadRequest',
      'PUT (full replace) is obsolete and requires If-Match with the current eTag; update ' +
        'referrals with PATCH and a JSON Patch body',
    );
  }
  requireJson(req, ['application/json']);
  if (!isPlainObject(req.body))
    throw new SimHttpError(400, 'BadRequest', 'the PUT body must be a whole referral object');
  const slot = findSlot(state, req);
  checkIfMatch(req, slot);
  refuseIfClosed(slot);
  const body = req.body;
  const replacement = Object.fromEntries(
    TOP_LEVEL_FIELDS.map((field) => [
      field,
      READ_ONLY_FIELDS.has(field) ? slot.referral[field] : body[field],
    ]),
  );
  return commitPartnerWrite(state, req, slot, replacement, { wholeChecked: true });
}

/**
 * Validates the whole result and the life-cycle move, then stores it with a new eTag and
 * updatedDateTime.
 */
function commitPartnerWrite(
  state: PartnerCenterState,
  req: SimRequest,
  slot: ReferralSlot,
  written: Record<string, unknown>,
  check: { wholeChecked: boolean },
): SimResponse {
  const problems: string[] = [];
  const after = check.wholeChecked ? conformObject(written, REFERRAL_SPEC, '', problems) : written;
  if (problems.length > 0)
    throw new SimHttpError(
      400,
      'BadRequest',
      `invalid referral after the update: ${problems.join('; ')}`,
    );
  delete after.links;
  const { accepted } = checkPartnerTransition(slot.referral, after);
  const stamp = state.store.nextStamp();
  state.store.partnerWrites.push({
    referralId: slot.id,
    from: `${String(slot.referral.status)}/${String(slot.referral.substatus)}`,
    to: `${String(after.status)}/${String(after.substatus)}`,
    at: stamp,
  });
  state.store.put({
    ...after,
    updatedDateTime: stamp,
    eTag: state.store.nextETag(),
    ...(accepted ? { acceptedDateTime: stamp } : {}),
  });
  if (!prefersRepresentation(req)) return { status: 204 };
  return {
    status: 200,
    headers: { 'Preference-Applied': 'return=representation' },
    body: presentReferral(slot, baseUrlOf(req)),
  };
}

function findSlot(state: PartnerCenterState, req: SimRequest): ReferralSlot {
  const raw = req.params.id ?? '';
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    throw new SimHttpError(
      400,
      'BadRequest',
      `the referral id '${raw}' is not validly percent-encoded`,
    );
  }
  const slot = state.store.slot(id);
  if (!slot) throw new SimHttpError(404, 'NotFound', `referral '${id}' was not found`);
  return slot;
}

/**
 * If-Match must be the eTag exactly as served, quotes included; no If-Match means an unconditional
 * write.
 */
function checkIfMatch(req: SimRequest, slot: ReferralSlot): void {
  const header = req.headers['if-match'];
  if (header === undefined) return;
  const given = Array.isArray(header) ? header.join(', ') : header;
  const current = String(slot.referral.eTag);
  if (given === current) return;
  const hint =
    `"${given}"` === current
      ? 'send the eTag exactly as received, quotes included'
      : given.trim() === '*'
        ? 'this API compares eTags exactly and does not accept *'
        : 'the referral has changed since it was read: read it again and retry';
  throw new SimHttpError(
    412,
    'PreconditionFailed',
    `If-Match ${given} does not match the current eTag of referral ${slot.id}: ${hint}`,
  );
}

function refuseIfClosed(slot: ReferralSlot): void {
  const { status, substatus } = slot.referral;
  if (isArchived(status)) {
    throw new SimHttpError(
      409,
      'ReferralClosed',
      `referral ${slot.id} is ${status}/${String(substatus)}: archived referrals cannot be changed`,
    );
  }
}

function requireJson(req: SimRequest, mediaTypes: string[]): void {
  const given = String(req.headers['content-type'] ?? '');
  const mediaType = given.split(';')[0]!.trim().toLowerCase();
  if (!mediaTypes.includes(mediaType)) {
    throw new SimHttpError(
      415,
      'UnsupportedMediaType',
      `Content-Type must be ${mediaTypes.join(' or ')} (got '${given || 'none'}')`,
    );
  }
  if (req.rawBody.trim() === '')
    throw new SimHttpError(400, 'BadRequest', 'the request has no body');
}

function prefersRepresentation(req: SimRequest): boolean {
  return String(req.headers.prefer ?? '')
    .split(/[,;]/)
    .some((preference) => preference.trim().toLowerCase() === 'return=representation');
}

function checkTrackingHeaders(req: SimRequest): void {
  const clientRequestId = req.headers[CLIENT_REQUEST_ID];
  if (clientRequestId === undefined) {
    throw new SimHttpError(
      400,
      'invalidRequest',
      'client-request-id is required: send a new GUID with every call (Partner REST headers)',
    );
  }
  if (!GUID.test(String(clientRequestId)))
    throw new SimHttpError(
      400,
      'invalidRequest',
      `client-request-id must be a GUID (got '${String(clientRequestId)}')`,
    );
  for (const [header, display] of Object.entries(TRACKING_HEADERS)) {
    const value = req.headers[header];
    if (value !== undefined && !GUID.test(String(value)))
      throw new SimHttpError(
        400,
        'BadRequest',
        `${display} must be a GUID (got '${String(value)}')`,
      );
  }
}

/** The origin the client used (links and nextLinks point back to it). */
export function baseUrlOf(req: SimRequest): string {
  const host = req.headers.host;
  return host && /^[A-Za-z0-9.:[\]-]+$/.test(host) ? `http://${host}` : req.url.origin;
}
