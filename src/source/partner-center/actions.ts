// The partner's life-cycle answers as JSON Patch bodies, with their required fields checked before
// any request.
import { LeadbridgeError, ValidationError, type Issue } from '../../core/errors.js';
import { OUTCOME_ACTIONS, type OutcomeAction } from '../../core/lifecycle.js';
import { ISO_DATETIME, type ReferralMember } from '../../core/referral.js';
import type { PatchOperation } from './facts.js';

/** Which referral version a write is based on: the eTag exactly as received (quotes included). */
export interface ReferralRef {
  id: string;
  eTag: string;
}

export interface AcceptFields {
  dealName: string;
  dealValue: number;
  /** ISO 4217, three letters. */
  currency: string;
  /** ISO-8601 date-time of the expected purchase. */
  closingDateTime: string;
  /** What the customer is looking for. */
  notes: string;
  /** The partner's CRM record id (reference only). */
  externalReferenceId?: string;
  campaignId?: string;
  /** Partner-side contacts added to the referral's team. */
  team?: ReferralMember[];
}

export interface CloseFields {
  /** Free text on the wire; the portal offers CLOSE_REASONS. */
  reason: string;
  notes?: string;
}

export interface WonFields {
  notes?: string;
}

type Fields = Record<string, unknown>;

export function acceptPatch(ref: ReferralRef, fields: AcceptFields): PatchOperation[] {
  const given = fields as unknown as Fields;
  ensureValid('accept', ref, [
    ...requiredText(given, ['dealName', 'notes']),
    ...dealIssues(given),
    ...optionalAcceptIssues(given),
  ]);
  const ops = [
    ...statusOps('accept'),
    replace('/name', fields.dealName),
    replace('/details/dealValue', fields.dealValue),
    replace('/details/currency', fields.currency.toUpperCase()),
    replace('/details/closingDateTime', fields.closingDateTime),
    replace('/details/notes', fields.notes),
  ];
  if (fields.externalReferenceId !== undefined)
    ops.push(replace('/externalReferenceId', fields.externalReferenceId));
  if (fields.campaignId !== undefined) ops.push(replace('/campaignId', fields.campaignId));
  for (const member of fields.team ?? []) ops.push({ op: 'add', path: '/team/-', value: member });
  return ops;
}

export function declinePatch(ref: ReferralRef, fields: CloseFields): PatchOperation[] {
  return closePatch('decline', ref, fields);
}

export function lostPatch(ref: ReferralRef, fields: CloseFields): PatchOperation[] {
  return closePatch('lose', ref, fields);
}

export function wonPatch(ref: ReferralRef, fields: WonFields = {}): PatchOperation[] {
  const given = (fields ?? {}) as Fields;
  ensureValid('win', ref, optionalText(given, ['notes']));
  return [...statusOps('win'), ...notesOps(fields?.notes)];
}

export function externalReferencePatch(
  ref: ReferralRef,
  externalReferenceId: string,
): PatchOperation[] {
  ensureValid(
    'set the external reference of',
    ref,
    requiredText({ externalReferenceId }, ['externalReferenceId']),
  );
  return [replace('/externalReferenceId', externalReferenceId)];
}

function closePatch(
  action: 'decline' | 'lose',
  ref: ReferralRef,
  fields: CloseFields,
): PatchOperation[] {
  const given = (fields ?? {}) as unknown as Fields;
  ensureValid(action, ref, [...requiredText(given, ['reason']), ...optionalText(given, ['notes'])]);
  return [...statusOps(action), replace('/statusReason', fields.reason), ...notesOps(fields.notes)];
}

/** Status and substatus come from the life-cycle table, not from literals repeated here. */
function statusOps(action: OutcomeAction): PatchOperation[] {
  const { to, substatus } = OUTCOME_ACTIONS[action];
  return [replace('/status', to), replace('/substatus', substatus)];
}

function notesOps(notes: string | undefined): PatchOperation[] {
  return notes === undefined ? [] : [replace('/details/notes', notes)];
}

function replace(path: string, value: unknown): PatchOperation {
  return { op: 'replace', path, value };
}

/** Throws one ValidationError naming every problem, before anything is sent. */
function ensureValid(action: string, ref: ReferralRef, fieldIssues: Issue[]): void {
  const issues = [...refIssues(ref), ...fieldIssues];
  if (issues.length === 0) return;
  const which = typeof ref?.id === 'string' && ref.id ? `referral ${ref.id}` : 'a referral';
  throw new ValidationError(
    'VALIDATION_FAILED',
    `partner-center: cannot ${action} ${which}`,
    issues,
  );
}

function refIssues(ref: ReferralRef): Issue[] {
  const given = (ref ?? {}) as unknown as Fields;
  const issues = requiredText(given, ['id']);
  if (!isText(given.eTag))
    issues.push({ path: 'eTag', message: 'is required (the eTag as received, quotes included)' });
  return issues;
}

function requiredText(fields: Fields, names: string[]): Issue[] {
  return names
    .filter((name) => !isText(fields[name]))
    .map((name) => ({ path: name, message: 'is required' }));
}

function optionalText(fields: Fields, names: string[]): Issue[] {
  return names
    .filter((name) => fields[name] !== undefined && typeof fields[name] !== 'string')
    .map((name) => ({ path: name, message: `must be text${received(fields[name])}` }));
}

function dealIssues(fields: Fields): Issue[] {
  const issues: Issue[] = [];
  const { dealValue, currency, closingDateTime } = fields;
  if (dealValue === undefined || dealValue === null)
    issues.push({ path: 'dealValue', message: 'is required' });
  else if (typeof dealValue !== 'number' || !Number.isFinite(dealValue)) {
    issues.push({ path: 'dealValue', message: `must be a finite number${received(dealValue)}` });
  } else if (dealValue < 0)
    issues.push({ path: 'dealValue', message: `must not be negative${received(dealValue)}` });
  if (!isText(currency)) issues.push({ path: 'currency', message: 'is required' });
  else if (!/^[A-Za-z]{3}$/.test(currency)) {
    issues.push({
      path: 'currency',
      message: `must be a 3-letter ISO 4217 code${received(currency)}`,
    });
  }
  if (!isText(closingDateTime)) issues.push({ path: 'closingDateTime', message: 'is required' });
  else if (!ISO_DATETIME.test(closingDateTime) || Number.isNaN(Date.parse(closingDateTime))) {
    issues.push({
      path: 'closingDateTime',
      message:
        `must be an ISO-8601 date-time such as 2025-06-30T00:00:00Z` +
        `${received(closingDateTime)}`,
    });
  }
  return issues;
}

function optionalAcceptIssues(fields: Fields): Issue[] {
  const issues = optionalText(fields, ['externalReferenceId', 'campaignId']);
  const { team } = fields;
  if (team === undefined) return issues;
  if (!Array.isArray(team))
    return [...issues, { path: 'team', message: 'must be a list of team members' }];
  team.forEach((member, index) => {
    if (member === null || typeof member !== 'object' || Array.isArray(member)) {
      issues.push({ path: `team.${index}`, message: 'must be a team member object' });
    }
  });
  return issues;
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0;
}

function received(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return ` (got ${String(value)})`;
  const shown = JSON.stringify(value);
  return shown === undefined
    ? ` (got ${typeof value})`
    : ` (got ${shown.length > 60 ? `${shown.slice(0, 57)}...` : shown})`;
}

/**
 * The write reference of a referral just read by id. No write goes out without a fresh If-Match
 * eTag: a GET by id
 * that carried none (the service documents one there) fails the write for a later retry instead.
 */
export function freshRef(referral: { id: string; eTag?: string | null }): ReferralRef {
  if (typeof referral.eTag !== 'string' || referral.eTag === '') {
    throw new LeadbridgeError(
      'CONFLICT',
      `partner-center: GET referral ${referral.id} returned no eTag; no write is sent without ` +
        `a fresh If-Match eTag`,
      {
        api: 'partner-center',
        retryable: true,
      },
    );
  }
  return { id: referral.id, eTag: referral.eTag };
}
