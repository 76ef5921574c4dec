// What each alert says (pure): hot lead, nearing expiry, quarantine digest; rendered as plain text
// (mail) or an Adaptive Card (Teams).
import type { LeadKind, Referral, ReferralMember } from '../core/referral.js';
import { dealValueOf } from '../core/referral.js';

export type AlertKind =
  'hot-lead' | 'expiry-warning' | 'quarantine-digest' | 'sign-in-required' | 'webhooks-silent';

export interface AlertContent {
  subject: string;
  paragraphs: string[];
  fields: Array<{ label: string; value: string }>;
  /** Bulleted lines after the fields (the digest's referrals). */
  items: string[];
}

interface CrmLink {
  target: string;
  crmRecordId: string;
}

/** A referral the sync saw this cycle, with what it knows about it. */
export interface AlertReferral {
  referral: Referral;
  leadKind: LeadKind;
  crmLinks?: CrmLink[];
}

export interface QuarantinedReferral {
  referralId: string;
  target: string;
  reason: string;
  since: string;
}

/** The portal's hot-lead flag urges contact for this long after the lead arrives (domain.md). */
const HOT_LEAD_WINDOW_HOURS = 72;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** A digest longer than this lists the first ones and counts the rest. */
export const DIGEST_MAX_LINES = 200;

const LEAD_KIND_LABELS: Record<LeadKind, string> = {
  customerInquiry: 'customer inquiry (marketplace lead)',
  marketingQualified: 'marketing-qualified lead',
  salesQualified: 'sales-qualified lead',
  coSell: 'co-sell opportunity',
  other: 'other referral',
};

export function hotLeadContent(item: AlertReferral, portalLink: string): AlertContent {
  const { referral } = item;
  const contactBy = shiftIso(
    referral.createdDateTime ?? referral.updatedDateTime,
    HOT_LEAD_WINDOW_HOURS * HOUR_MS,
  );
  return {
    subject: `Hot lead: ${customerOf(referral)} asks to be contacted — ${dealNameOf(referral)}`,
    paragraphs: [
      'The customer asked interested partners to contact them directly. Reach out as soon as ' +
        'possible: a quick first contact raises your visibility in future customer searches.',
      `Partner Center flags the lead as hot for ${HOT_LEAD_WINDOW_HOURS} hours after it arrives` +
        `${contactBy ? ` (until ${contactBy})` : ''}; after that it stays active but loses its ` +
        `urgent flag.`,
      ...respondByParagraph(referral),
    ],
    fields: [
      ...referralFields(item, portalLink),
      ...(contactBy ? [{ label: 'Contact by', value: contactBy }] : []),
    ],
    items: [],
  };
}

export function expiryWarningContent(
  item: AlertReferral,
  portalLink: string,
  now: Date,
): AlertContent {
  const { referral } = item;
  const expiresAt = referral.expirationDateTime ?? '';
  const left = remainingText(Date.parse(expiresAt) - now.getTime());
  return {
    subject:
      `Lead expires in ${left} unanswered: ${customerOf(referral)} — ` + `${dealNameOf(referral)}`,
    paragraphs: [
      `This lead has been neither accepted nor declined. Partner Center archives it as expired ` +
        `at ${expiresAt} (${left} from now) and tells whoever sent it.`,
      'Accept it (deal name, value, close date, notes) or decline it (with a reason) in the ' +
        'portal before then.',
    ],
    fields: [...referralFields(item, portalLink), { label: 'Expires', value: expiresAt }],
    items: [],
  };
}

/**
 * The Partner Center sign-in was revoked or expired: nothing is read or written back until someone
 * signs in again.
 */
export function signInRequiredContent(cause: string, account: string | null): AlertContent {
  return {
    subject: 'Partner Center sign-in needed: leadbridge has paused reading and updating referrals',
    paragraphs: [
      `The worker can no longer get a token for the Partner Center API${
        account ? ` on behalf ` + `of ${account}` : ''
      }: the sign-in was revoked or has expired. It keeps running and tries again every cycle.`,
      'On the machine that runs the worker, run: leadbridge login partner-center (a device ' +
        'code sign-in by a user with the Referral Admin or Referral User role). The next cycle ' +
        'then reads everything that changed meanwhile; CRM outcomes wait in the outbox, so ' +
        'nothing is lost.',
    ],
    fields: [{ label: 'Cause', value: cause }],
    items: [],
  };
}

/**
 * Polls keep finding changes no Partner Center callback announced: the webhook registration looks
 * lost.
 */
export function webhooksSilentContent(detail: string, reregistered: boolean): AlertContent {
  return {
    subject: 'Partner Center webhooks went silent: leadbridge falls back to polling',
    paragraphs: [
      'Polls keep finding referral changes that no webhook callback announced. New referrals ' +
        'still reach ' +
        'the CRM at every poll, only not within seconds.',
      reregistered
        ? 'leadbridge registered the callback URL again (webhooks.reregister); if this alert ' +
          'comes back, ' +
          'check the reverse proxy and the registration: leadbridge webhooks show.'
        : 'Check the registration (leadbridge webhooks show) and the reverse proxy in front of ' +
          'the ' +
          'callback route, then register again: leadbridge webhooks register --url <public URL>.',
    ],
    fields: [{ label: 'Detail', value: detail }],
    items: [],
  };
}

export function quarantineDigestContent(quarantined: QuarantinedReferral[]): AlertContent {
  const count = quarantined.length;
  const listed = quarantined
    .slice(0, DIGEST_MAX_LINES)
    .map((q) => `${q.referralId} → ${q.target}: ${q.reason} (since ${q.since})`);
  if (count > listed.length) listed.push(`… and ${count - listed.length} more`);
  return {
    subject: `${count} referral${count === 1 ? '' : 's'} quarantined since the last digest`,
    paragraphs: [
      'leadbridge set these referrals aside (a referral it could not sync, or an outcome it ' +
        'could not report to Partner Center) and will not try them again by itself. ' +
        'Fix the cause named below (an outcome missing a close date or value goes out by ' +
        'itself once the CRM record has it), then send them back with "leadbridge retry ' +
        '--quarantined".',
    ],
    fields: [],
    items: listed,
  };
}

function referralFields(item: AlertReferral, portalLink: string): AlertContent['fields'] {
  const { referral } = item;
  const profile = referral.customerProfile;
  const details = referral.details;
  const fields: AlertContent['fields'] = [{ label: 'Customer', value: customerOf(referral) }];
  for (const member of profile?.team ?? [])
    fields.push({ label: 'Contact', value: describeMember(member) });
  pushIf(fields, 'Country', profile?.address?.country);
  pushIf(fields, 'Company size', profile?.size);
  fields.push({ label: 'Lead kind', value: LEAD_KIND_LABELS[item.leadKind] });
  const dealValue = dealValueOf(referral);
  if (dealValue !== null)
    fields.push({
      label: 'Deal value',
      value: `${dealValue}${details?.currency ? ` ${details.currency}` : ''}`,
    });
  pushIf(fields, 'Notes', details?.notes);
  fields.push({ label: 'Received', value: referral.createdDateTime ?? referral.updatedDateTime });
  fields.push({ label: 'Referral id', value: referral.id });
  fields.push({ label: 'Portal', value: portalLink });
  const links = item.crmLinks ?? [];
  fields.push({
    label: 'CRM records',
    value: links.length
      ? links.map((l) => `${l.target}: ${l.crmRecordId}`).join('; ')
      : 'not in a CRM yet',
  });
  return fields;
}

function respondByParagraph(referral: Referral): string[] {
  return referral.expirationDateTime
    ? [
        `Accept or decline it before ${referral.expirationDateTime}, when Partner Center ` +
          `archives it as expired.`,
      ]
    : [];
}

function describeMember(member: ReferralMember): string {
  const name =
    [member.firstName, member.lastName].filter((part) => part && part.trim()).join(' ') ||
    '(no name)';
  const email = member.email ? ` <${member.email}>` : '';
  const phone = member.phoneNumber ? `, phone ${member.phoneNumber}` : '';
  return `${name}${email}${phone}`;
}

function pushIf(
  fields: AlertContent['fields'],
  label: string,
  value: string | null | undefined,
): void {
  if (value && value.trim()) fields.push({ label, value });
}

function customerOf(referral: Referral): string {
  return referral.customerProfile?.name?.trim() || 'a customer';
}

function dealNameOf(referral: Referral): string {
  return referral.name?.trim() || `referral ${referral.id}`;
}

/** An ISO instant moved by `ms` (to the millisecond), or null when the input does not parse. */
function shiftIso(iso: string, ms: number): string | null {
  const at = Date.parse(iso);
  return Number.isNaN(at) ? null : new Date(at + ms).toISOString();
}

/** "1 day 5 hours", "20 hours", "45 minutes": rounded down, never "0 minutes". */
export function remainingText(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  const hours = Math.floor((ms % DAY_MS) / HOUR_MS);
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (days > 0)
    return hours > 0 ? `${plural(days, 'day')} ${plural(hours, 'hour')}` : plural(days, 'day');
  if (hours > 0) return plural(hours, 'hour');
  return plural(Math.max(1, Math.floor(ms / 60_000)), 'minute');
}

/** Plain text for mail: paragraphs, then "Label: value" lines, then "- item" lines. */
export function renderText(content: AlertContent): string {
  const blocks = [...content.paragraphs];
  if (content.fields.length)
    blocks.push(content.fields.map((f) => `${f.label}: ${f.value}`).join('\n'));
  if (content.items.length) blocks.push(content.items.map((item) => `- ${item}`).join('\n'));
  return `${blocks.join('\n\n')}\n`;
}

/**
 * An Adaptive Card element or action (the JSON the card schema defines;
 * http://adaptivecards.io/schemas/adaptive-card.json).
 */
type CardElement = Record<string, unknown>;

export interface AdaptiveCard {
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json';
  type: 'AdaptiveCard';
  version: string;
  body: CardElement[];
  actions?: CardElement[];
}

/** 1.4: within what Teams renders (1.5 and earlier) and what the Workflows flow bot posts. */
const ADAPTIVE_CARD_VERSION = '1.4';

/**
 * Teams refuses a message over 28 KB (MicrosoftDocs/msteams-docs
 * webhooks-and-connectors/how-to/add-incoming-webhook.md);
 * the card stays under 24 KB, leaving room for the message envelope and the flow's own wrapping.
 */
const TEAMS_CARD_MAX_BYTES = 24 * 1024;

/**
 * The alert as an Adaptive Card for a Teams Workflows webhook (Workflows post Adaptive Cards only):
 * the subject as a
 * heading, paragraphs, the fields as a FactSet, the digest's items, and a button per link. A digest
 * too long for one
 * Teams message lists as many items as fit and counts the rest; the mail has them all.
 */
export function renderAdaptiveCard(
  content: AlertContent,
  urgent: boolean,
  maxBytes = TEAMS_CARD_MAX_BYTES,
): AdaptiveCard {
  const full = buildCard(content, urgent, content.items);
  if (byteSize(full) <= maxBytes || content.items.length === 0) return full;
  const withFirst = (shown: number) =>
    buildCard(content, urgent, [
      ...content.items.slice(0, shown),
      `… and ${content.items.length - shown} more (the mail lists them all)`,
    ]);
  let low = 0;
  let high = content.items.length - 1;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (byteSize(withFirst(middle)) <= maxBytes) low = middle;
    else high = middle - 1;
  }
  return withFirst(low);
}

function buildCard(content: AlertContent, urgent: boolean, items: string[]): AdaptiveCard {
  const body: CardElement[] = [
    {
      type: 'TextBlock',
      text: content.subject,
      weight: 'Bolder',
      size: 'Medium',
      wrap: true,
      ...(urgent ? { color: 'Attention' } : {}),
    },
    ...content.paragraphs.map((text) => ({ type: 'TextBlock', text, wrap: true })),
  ];
  if (content.fields.length)
    body.push({
      type: 'FactSet',
      facts: content.fields.map((f) => ({ title: f.label, value: f.value })),
    });
  if (items.length)
    body.push({ type: 'TextBlock', text: items.map((item) => `- ${item}`).join('\n'), wrap: true });
  const actions = content.fields
    .filter((f) => /^https:\/\/\S+$/.test(f.value))
    .map((f) => ({ type: 'Action.OpenUrl', title: `Open ${f.label}`, url: f.value }));
  return {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: ADAPTIVE_CARD_VERSION,
    body,
    ...(actions.length ? { actions } : {}),
  };
}

function byteSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}
