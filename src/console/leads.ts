// Leads that need a human: unanswered referrals, hot first, by time left to expiry; response times.
import { html } from 'hono/html';
import {
  getLinks,
  listAnsweredSince,
  listUnansweredReferrals,
  type ReferralFacts,
} from '../ledger/index.js';
import { BASE, duration, page, referralLink, when, type Markup } from './layout.js';
import type { Visitor } from './security.js';
import type { ConsoleServices } from './services.js';

const HOUR = 3_600_000;
/**
 * Partner Center archives a referral nobody answered as expired after 14 days (domain.md, "The life
 * cycle").
 */
const EXPIRY_MS = 14 * 24 * HOUR;
/** A hot lead's flag urges contact within 72 hours (domain.md, "Hot lead"). */
const HOT_WINDOW_MS = 72 * HOUR;
const WEEKS_SHOWN = 12;
const LEADS_SHOWN = 500;

export interface LeadNeedingHuman {
  facts: ReferralFacts;
  waitedMs: number;
  /** Until Partner Center expires it; negative once past (the next read will show it expired). */
  timeLeftMs: number;
  /** Hot and still inside the 72-hour window. */
  hotWindowLeftMs: number | null;
}

/** Unanswered referrals, hot ones first, then by time left before expiry (least first). */
export function leadsNeedingHuman(facts: readonly ReferralFacts[], now: Date): LeadNeedingHuman[] {
  return facts
    .filter((f) => f.answeredAt === null)
    .map((f) => {
      const received = Date.parse(f.receivedAt);
      const waitedMs = now.getTime() - received;
      return {
        facts: f,
        waitedMs,
        timeLeftMs: EXPIRY_MS - waitedMs,
        hotWindowLeftMs: f.hot ? HOT_WINDOW_MS - waitedMs : null,
      };
    })
    .sort(
      (a, b) =>
        Number(b.facts.hot) - Number(a.facts.hot) ||
        a.timeLeftMs - b.timeLeftMs ||
        a.facts.referralId.localeCompare(b.facts.referralId),
    );
}

export interface WeeklyResponse {
  /** Monday of the week (UTC), YYYY-MM-DD. */
  week: string;
  answered: number;
  medianHours: number;
  slowestHours: number;
  /** Answered after the 72-hour hot-lead window. */
  over72h: number;
}

/** The Monday (UTC) of the week an instant falls in. */
export function weekOf(iso: string): string {
  const t = new Date(iso);
  const day = (t.getUTCDay() + 6) % 7;
  const monday = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate() - day));
  return monday.toISOString().slice(0, 10);
}

/**
 * Response time (received → accepted or declined) per week of receipt: count, median, slowest, over
 * 72 h.
 */
export function weeklyResponseTimes(facts: readonly ReferralFacts[]): WeeklyResponse[] {
  const byWeek = new Map<string, number[]>();
  for (const f of facts) {
    if (f.answeredAt === null) continue;
    const hours = (Date.parse(f.answeredAt) - Date.parse(f.receivedAt)) / HOUR;
    const week = weekOf(f.receivedAt);
    byWeek.set(week, [...(byWeek.get(week) ?? []), Math.max(0, hours)]);
  }
  return [...byWeek.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([week, hours]) => {
      const sorted = [...hours].sort((a, b) => a - b);
      const mid = Math.floor(sorted.length / 2);
      const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
      return {
        week,
        answered: sorted.length,
        medianHours: round1(median),
        slowestHours: round1(sorted[sorted.length - 1]!),
        over72h: sorted.filter((h) => h > 72).length,
      };
    });
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

function leadRow(lead: LeadNeedingHuman, crmLinks: Markup[]): Markup {
  const f = lead.facts;
  const urgent = lead.timeLeftMs < 2 * 24 * HOUR;
  return html`<tr class="${urgent ? 'urgent' : ''}" data-referral="${f.referralId}">
    <td>
      ${f.hot ? html`<span class="hot" title="the customer asked to be contacted">hot</span>` : ''}
    </td>
    <td>${f.customerName ?? '(no name)'}</td>
    <td>${referralLink(f.referralId)}</td>
    <td>${f.leadKind ?? '-'}</td>
    <td>${when(f.receivedAt)}</td>
    <td data-col="waited">${duration(lead.waitedMs)}</td>
    <td data-col="left" class="${urgent ? 'bad' : ''}">
      ${lead.timeLeftMs > 0 ? duration(lead.timeLeftMs) : 'expiring now'}
    </td>
    <td>
      ${
        lead.hotWindowLeftMs === null
          ? '-'
          : lead.hotWindowLeftMs > 0
            ? duration(lead.hotWindowLeftMs)
            : html`<span class="bad">past 72 h</span>`
      }
    </td>
    <td>${crmLinks}</td>
  </tr>`;
}

function leadsTable(rows: readonly Markup[]): Markup {
  return html`<table data-testid="leads">
    <thead>
      <tr>
        <th></th>
        <th>Customer</th>
        <th>Referral</th>
        <th>Kind</th>
        <th>Received</th>
        <th>Waited</th>
        <th>Left before expiry</th>
        <th>Hot window left</th>
        <th>In the CRM</th>
      </tr>
    </thead>
    <tbody>
      ${
        rows.length > 0
          ? rows
          : html`<tr>
              <td colspan="9">Nothing waits for an answer.</td>
            </tr>`
      }
    </tbody>
  </table>`;
}

export async function leadsPage(services: ConsoleServices, visitor: Visitor): Promise<Markup> {
  const now = services.now();
  const { db } = services.ledger();
  const since = new Date(now.getTime() - WEEKS_SHOWN * 7 * 24 * HOUR).toISOString();
  const [unanswered, answered] = await Promise.all([
    listUnansweredReferrals(db, LEADS_SHOWN),
    listAnsweredSince(db, since),
  ]);
  const leads = leadsNeedingHuman(unanswered, now);
  const weeks = weeklyResponseTimes(answered);
  const targets = services.config().targets;
  const ids = leads.map((l) => l.facts.referralId);
  const links = await Promise.all(targets.map((t) => getLinks(db, t.name, ids)));
  const rows = leads.map((lead) =>
    leadRow(
      lead,
      targets.flatMap((t, i) => {
        const record = links[i]?.get(lead.facts.referralId)?.crmRecordId;
        const href = record ? services.crmRecordLink(t, record) : null;
        return href ? [html`<a href="${href}" target="_blank" rel="noopener">${t.name}</a> `] : [];
      }),
    ),
  );
  return page(
    {
      title: 'Leads that need a human',
      section: '/leads',
      visitor,
      charts: {
        responseTimes: {
          labels: weeks.map((w) => w.week),
          median: weeks.map((w) => w.medianHours),
          slowest: weeks.map((w) => w.slowestHours),
          hotWindowHours: 72,
          expiryHours: 14 * 24,
        },
      },
    },
    html`<p>
        ${leads.length} unanswered ${leads.length === 1 ? 'referral' : 'referrals'}: hot leads first
        (the customer asked to be contacted; answer within 72 hours), then by the time left before
        Partner Center expires them 14 days after they arrived. Accept or decline them in the CRM;
        leadbridge reports the answer back.
      </p>
      ${leadsTable(rows)}
      <h2>Response times per week (received → accepted or declined)</h2>
      <p>
        Median and slowest answer per week of receipt, against the 72-hour hot-lead window and the
        14-day expiry. ${weeks.reduce((n, w) => n + w.answered, 0)} answered in the last
        ${WEEKS_SHOWN} weeks.
      </p>
      <div class="charts">
        <div class="chart"><canvas id="response-chart" aria-label="response times"></canvas></div>
      </div>
      <p><a href="${BASE}/quarantine">Anything stuck?</a> See the quarantine.</p>`,
  );
}
