// A partner-created referral (POST): the body checked as the service would, then completed with the
// server-set fields.
import { REFERRAL_SPEC, SERVER_SET_ON_CREATE, conformObject } from './schema.js';
import { SIM_PARTNER } from './seed.js';
import { isPlainObject } from './json.js';
import { isLegalSubstatus } from './transitions.js';
import { SUBSTATUSES_OF } from './vocabulary.js';

/** A create body the service would refuse; the message lists every problem. */
export class CreateError extends Error {
  override name = 'CreateError';
}

export interface ServerFields {
  id: string;
  engagementId: string;
  /** createdDateTime and updatedDateTime of the new referral. */
  stamp: string;
  eTag: string;
}

/**
 * The status a partner-created deal starts in unless the body says otherwise (it is the partner's
 * own, so accepted).
 */
const DEFAULT_STATUS = { status: 'Active', substatus: 'Accepted' } as const;
const DEFAULT_SUBSTATUS: Readonly<Record<string, string>> = { New: 'Pending', Active: 'Accepted' };

/**
 * Validates a create body and returns the stored referral; throws CreateError naming every problem.
 */
export function buildPartnerReferral(body: unknown, server: ServerFields): Record<string, unknown> {
  if (!isPlainObject(body)) throw new CreateError('the body must be a referral object');
  const problems = [...serverSetProblems(body), ...requiredProblems(body)];
  const referral = conformObject(body, REFERRAL_SPEC, '', problems);
  const { status, substatus } = initialStatus(body, problems);
  if (problems.length > 0) throw new CreateError(`invalid referral: ${problems.join('; ')}`);
  delete referral.links;
  return {
    ...referral,
    id: server.id,
    engagementId: server.engagementId,
    organizationId: SIM_PARTNER.organizationId,
    organizationName: SIM_PARTNER.organizationName,
    createdDateTime: server.stamp,
    updatedDateTime: server.stamp,
    // Only incoming referrals expire; the partner's own deals do not.
    expirationDateTime: null,
    acceptedDateTime: status === 'Active' ? server.stamp : null,
    status,
    substatus,
    direction: 'Outgoing',
    team: referral.team ?? [],
    eTag: server.eTag,
  };
}

function serverSetProblems(body: Record<string, unknown>): string[] {
  return SERVER_SET_ON_CREATE.filter(
    (field) => body[field] !== undefined && body[field] !== null,
  ).map((field) => `${field} is set by the service and cannot be given on create`);
}

/**
 * The fields the create documentation marks as required (type, customerProfile, consent, details)
 * and the names.
 */
function requiredProblems(body: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const profile = body.customerProfile;
  if (!isText(body.name)) problems.push('name is required');
  if (body.type === undefined || body.type === null)
    problems.push('type is required (Independent or Shared)');
  if (profile === undefined || profile === null) problems.push('customerProfile is required');
  else if (isPlainObject(profile) && !isText(profile.name))
    problems.push('customerProfile.name is required');
  if (body.consent === undefined || body.consent === null) problems.push('consent is required');
  if (body.details === undefined || body.details === null) problems.push('details is required');
  return problems;
}

function initialStatus(
  body: Record<string, unknown>,
  problems: string[],
): { status: string; substatus: string } {
  if (body.status === undefined || body.status === null) return { ...DEFAULT_STATUS };
  const status = String(body.status);
  if (status !== 'New' && status !== 'Active') {
    problems.push(`status: a referral is created New or Active, not ${status}`);
    return { ...DEFAULT_STATUS };
  }
  const substatus =
    body.substatus === undefined || body.substatus === null
      ? DEFAULT_SUBSTATUS[status]!
      : String(body.substatus);
  if (!isLegalSubstatus(status, substatus)) {
    problems.push(
      `substatus: ${substatus} does not go with status ${status} (allowed: ` +
        `${SUBSTATUSES_OF[status]!.join(', ')})`,
    );
  }
  return { status, substatus };
}

function isText(value: unknown): boolean {
  return typeof value === 'string' && value.trim().length > 0;
}
