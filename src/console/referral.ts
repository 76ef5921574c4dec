// One referral: found by id, customer or CRM record id; its timeline, CRM records, retry, resync.
import { html } from 'hono/html';
import {
  auditTrail,
  findReferralsByCustomer,
  getLinkByRecordId,
  getLinks,
  getReferralFacts,
  getSyncStates,
  listOutbox,
  type AuditEntry,
  type OutboxRow,
  type ReferralFacts,
} from '../ledger/index.js';
import { actionForm, BASE, page, referralLink, when, type Markup } from './layout.js';
import type { Visitor } from './security.js';
import type { ConsoleServices } from './services.js';

export interface TimelineEntry {
  at: string;
  /** audit, outbox */
  source: string;
  target: string | null;
  what: string;
  /** The reason for the decision, or the error, as recorded. */
  why: string;
}

/** Why an audit entry was decided, in words from its detail (reason, error, issues, who). */
function reasonOf(entry: AuditEntry): string {
  const d = entry.detail ?? {};
  const parts: string[] = [];
  for (const key of ['reason', 'message', 'error', 'who', 'status', 'leadKind', 'action']) {
    const value = d[key];
    if (typeof value === 'string' || typeof value === 'number') parts.push(`${key}: ${value}`);
  }
  if (Array.isArray(d.issues)) parts.push(`issues: ${d.issues.join('; ')}`);
  if (Array.isArray(d.errors))
    parts.push(
      (d.errors as Array<{ field?: string; message?: string }>)
        .map((e) => `${e.field}: ${e.message}`)
        .join('; '),
    );
  return parts.join(' · ');
}

/** Audit entries and outbox rows, in time order (ties: audit before outbox, then as recorded). */
export function timelineOf(
  audit: readonly AuditEntry[],
  outbox: readonly OutboxRow[],
): TimelineEntry[] {
  const entries: TimelineEntry[] = [
    ...audit.map((a) => ({
      at: a.at ?? '',
      source: 'audit',
      target: a.target,
      what: `${a.action}${a.crmRecordId ? ` (record ${a.crmRecordId})` : ''}`,
      why: reasonOf(a),
    })),
    ...outbox.map((o) => ({
      at: o.createdAt,
      source: 'outbox',
      target: o.target,
      what:
        `${o.action}: ${o.state}` +
        (o.attempts ? ` after ${o.attempts} attempts` : '') +
        (o.sentAt ? ` (sent ${when(o.sentAt)})` : ''),
      why: o.lastError ?? '',
    })),
  ];
  return entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.at.localeCompare(b.e.at) || a.i - b.i)
    .map(({ e }) => e);
}

type Found =
  | { kind: 'one'; referralId: string }
  | { kind: 'many'; matches: ReferralFacts[] }
  | { kind: 'none' };

/** A referral id, a CRM record id on any target, or part of a customer's name. */
async function find(services: ConsoleServices, query: string): Promise<Found> {
  const { db } = services.ledger();
  if ((await getReferralFacts(db, query)) || (await auditTrail(db, query, { limit: 1 })).length)
    return { kind: 'one', referralId: query };
  for (const target of services.config().targets) {
    const link = await getLinkByRecordId(db, target.name, query);
    if (link) return { kind: 'one', referralId: link.referralId };
  }
  const matches = await findReferralsByCustomer(db, query, 50);
  if (matches.length === 1) return { kind: 'one', referralId: matches[0]!.referralId };
  return matches.length > 0 ? { kind: 'many', matches } : { kind: 'none' };
}

function searchForm(query: string): Markup {
  return html`<form method="get" action="${BASE}/referral" class="search">
    <label
      >Referral id, customer name or CRM record id
      <input name="q" value="${query}" autofocus required />
    </label>
    <button type="submit">Find</button>
  </form>`;
}

async function targetRows(services: ConsoleServices, referralId: string): Promise<Markup[]> {
  const { db } = services.ledger();
  return Promise.all(
    services.config().targets.map(async (t) => {
      const link = (await getLinks(db, t.name, [referralId])).get(referralId);
      const state = (await getSyncStates(db, t.name, [referralId])).get(referralId);
      const href = link?.crmRecordId ? services.crmRecordLink(t, link.crmRecordId) : null;
      const record = link?.crmRecordId
        ? href
          ? html`<a href="${href}" target="_blank" rel="noopener">${link.crmRecordId}</a>`
          : html`${link.crmRecordId}`
        : 'none yet';
      return html`<tr data-target="${t.name}">
        <th>${t.name}</th>
        <td data-col="state">
          <span class="pill ${state?.state ?? ''}">${state?.state ?? '-'}</span>
        </td>
        <td>${record}</td>
        <td>${link ? `${link.referralStatus ?? '?'} (${link.leadKind ?? '?'})` : '-'}</td>
        <td class="${state?.quarantineReason || state?.lastError ? 'bad' : ''}">
          ${state?.quarantineReason ?? state?.lastError ?? ''}
        </td>
      </tr>`;
    }),
  );
}

function timelineList(timeline: readonly TimelineEntry[]): Markup {
  return html`<ol class="timeline" data-testid="timeline">
    ${timeline.map(
      (e) =>
        html`<li>
          <time>${when(e.at)}</time> <span class="src">${e.source}</span>
          <strong>${e.target ?? 'all targets'}</strong> ${e.what}
          ${e.why ? html`<div class="why">${e.why}</div>` : ''}
        </li>`,
    )}
  </ol>`;
}

async function referralDetail(
  services: ConsoleServices,
  visitor: Visitor,
  referralId: string,
): Promise<Markup> {
  const { db } = services.ledger();
  const [facts, audit, outbox, targets] = await Promise.all([
    getReferralFacts(db, referralId),
    auditTrail(db, referralId),
    listOutbox(db, referralId),
    targetRows(services, referralId),
  ]);
  const timeline = timelineOf(audit, outbox);
  return html`<section data-testid="referral" data-referral="${referralId}">
    <h2>
      ${facts?.customerName ?? '(customer not recorded)'} <small><code>${referralId}</code></small>
    </h2>
    <p>
      ${
        facts
          ? html`${facts.hot ? html`<span class="hot">hot</span> ` : ''}${facts.leadKind ?? ''},
            received ${when(facts.receivedAt)}, ${facts.status ?? '?'}/${facts.substatus ?? '?'}
            ${facts.answeredAt ? html`, answered ${when(facts.answeredAt)}` : ''}`
          : ''
      }
    </p>
    <table data-testid="referral-targets">
      <thead>
        <tr>
          <th>Target</th>
          <th>Sync</th>
          <th>CRM record</th>
          <th>Referral</th>
          <th>Why</th>
        </tr>
      </thead>
      <tbody>
        ${targets}
      </tbody>
    </table>
    <p class="actions">
      ${actionForm(visitor, '/actions/retry', 'Retry (after fixing the cause)', {
        referralId,
        back: `/referral?q=${referralId}`,
      })}
      ${actionForm(visitor, '/actions/resync', 'Resync (write it again)', {
        referralId,
        back: `/referral?q=${referralId}`,
      })}
      <a href="${BASE}/mappings?referral=${encodeURIComponent(referralId)}">Preview its mapping</a>
    </p>
    <h3>Timeline</h3>
    ${timelineList(timeline)}
  </section>`;
}

export async function referralPage(
  services: ConsoleServices,
  visitor: Visitor,
  query: string,
  notice: Markup | null,
): Promise<Markup> {
  const q = query.trim();
  let body: Markup = html``;
  if (q !== '') {
    const found = await find(services, q);
    if (found.kind === 'one') body = await referralDetail(services, visitor, found.referralId);
    else if (found.kind === 'many')
      body = html`<p>${found.matches.length} customers match:</p>
        <ul data-testid="matches">
          ${found.matches.map(
            (m) =>
              html`<li>${m.customerName} ${referralLink(m.referralId)} ${when(m.receivedAt)}</li>`,
          )}
        </ul>`;
    else
      body = html`<p class="bad">
        Nothing in the ledger matches "${q}": not a referral id, a CRM record id or part of a
        customer name that a sync has read.
      </p>`;
  }
  return page(
    { title: 'Find a referral', section: '/referral', visitor, banners: notice ? [notice] : [] },
    html`${searchForm(q)} ${body}`,
  );
}
