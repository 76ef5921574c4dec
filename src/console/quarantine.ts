// The quarantine: quarantined syncs and outcomes with reasons, filtered by target, reason; retry.
import { html } from 'hono/html';
import {
  listByState,
  listOutboxByState,
  type OutboxRow,
  type SyncStateRow,
} from '../ledger/index.js';
import { actionForm, BASE, page, referralLink, when, type Markup } from './layout.js';
import { CSRF_FIELD, type Visitor } from './security.js';
import type { ConsoleServices } from './services.js';

const LIMIT = 10_000;

interface QuarantineItem {
  target: string;
  referralId: string;
  /** "sync", or "outcome <action>" */
  what: string;
  since: string;
  reason: string;
  /**
   * The reason without what differs between referrals: the field(s) named, so alike problems group.
   */
  reasonKey: string;
}

/**
 * The group a reason belongs to: a mapping failure by the fields it names ("mapping failed:
 * companyname"),
 * anything else with ids, numbers and quoted values taken out.
 */
export function reasonKey(reason: string): string {
  const mapping = /^mapping failed: (.*)$/s.exec(reason);
  if (mapping) {
    const fields = mapping[1]!.split('; ').map((part) => part.split(':')[0]!.trim());
    return `mapping failed: ${[...new Set(fields)].join(', ')}`;
  }
  return reason
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '…')
    .replace(/"[^"]*"/g, '"…"')
    .replace(/\b\d+\b/g, 'N')
    .slice(0, 120);
}

function outcomeReason(row: OutboxRow): { reason: string; key: string } {
  const reason =
    row.lastError ?? (row.payload.reason as string | undefined) ?? '(no reason recorded)';
  const missing = Array.isArray(row.payload.missing) ? (row.payload.missing as string[]) : [];
  return {
    reason,
    key:
      missing.length > 0
        ? `outcome ${row.action}: missing ${missing.join(', ')}`
        : reasonKey(reason),
  };
}

async function quarantineItems(services: ConsoleServices): Promise<QuarantineItem[]> {
  const { db } = services.ledger();
  const [syncs, outcomes] = await Promise.all([
    listByState(db, 'quarantined', { limit: LIMIT }),
    listOutboxByState(db, 'quarantined', { limit: LIMIT }),
  ]);
  return [
    ...syncs.map((row: SyncStateRow) => {
      const reason = row.quarantineReason ?? row.lastError ?? '(no reason recorded)';
      return {
        target: row.target,
        referralId: row.referralId,
        what: 'sync',
        since: row.updatedAt,
        reason,
        reasonKey: reasonKey(reason),
      };
    }),
    ...outcomes.map((row) => {
      const { reason, key } = outcomeReason(row);
      return {
        target: row.target,
        referralId: row.referralId,
        what: `outcome ${row.action}`,
        since: row.updatedAt,
        reason,
        reasonKey: key,
      };
    }),
  ];
}

function filters(targets: string[], keys: string[], target: string, key: string): Markup {
  const option = (value: string, current: string, label = value) =>
    html`<option value="${value}" ${value === current ? 'selected' : ''}>${label}</option>`;
  return html`<form method="get" action="${BASE}/quarantine" class="filters">
    <label
      >Target
      <select name="target">
        ${option('', target, 'all')} ${targets.map((t) => option(t, target))}
      </select></label
    >
    <label
      >Reason
      <select name="reason">
        ${option('', key, 'all')} ${keys.map((k) => option(k, key))}
      </select></label
    >
    <button type="submit">Filter</button>
  </form>`;
}

function groupActions(visitor: Visitor, items: readonly QuarantineItem[]): Markup {
  const groups = new Map<string, QuarantineItem[]>();
  for (const item of items)
    groups.set(item.reasonKey, [...(groups.get(item.reasonKey) ?? []), item]);
  return html`<ul class="groups" data-testid="reason-groups">
    ${[...groups.entries()].map(
      ([key, members]) =>
        html`<li>
          <strong>${key}</strong>: ${members.length}
          ${actionForm(visitor, '/actions/retry', `Retry all ${members.length} with this reason`, {
            item: members.map((m) => `${m.target}|${m.referralId}`),
            back: `/quarantine?reason=${encodeURIComponent(key)}`,
          })}
        </li>`,
    )}
  </ul>`;
}

function quarantineTable(visitor: Visitor, shown: readonly QuarantineItem[]): Markup {
  const rows = shown.map(
    (i) =>
      html`<tr data-referral="${i.referralId}" data-target="${i.target}">
        <td>
          <input type="checkbox" name="item" value="${i.target}|${i.referralId}" form="selection" />
        </td>
        <td>${i.target}</td>
        <td>${referralLink(i.referralId)}</td>
        <td>${i.what}</td>
        <td>${when(i.since)}</td>
        <td class="bad" data-col="reason">${i.reason}</td>
        <td>
          ${actionForm(visitor, '/actions/retry', 'Retry', {
            item: `${i.target}|${i.referralId}`,
            back: `/quarantine`,
          })}
        </td>
      </tr>`,
  );
  return html`<table data-testid="quarantine">
    <thead>
      <tr>
        <th></th>
        <th>Target</th>
        <th>Referral</th>
        <th>What</th>
        <th>Since</th>
        <th>Reason</th>
        <th></th>
      </tr>
    </thead>
    <tbody>
      ${
        rows.length > 0
          ? rows
          : html`<tr>
              <td colspan="7">Nothing is quarantined.</td>
            </tr>`
      }
    </tbody>
  </table>`;
}

export async function quarantinePage(
  services: ConsoleServices,
  visitor: Visitor,
  filter: { target: string; reason: string },
  notice: Markup | null,
): Promise<Markup> {
  const all = await quarantineItems(services);
  const keys = [...new Set(all.map((i) => i.reasonKey))].sort();
  const shown = all.filter(
    (i) =>
      (filter.target === '' || i.target === filter.target) &&
      (filter.reason === '' || i.reasonKey === filter.reason),
  );
  const targets = services.config().targets.map((t) => t.name);
  return page(
    {
      title: 'Quarantine',
      section: '/quarantine',
      visitor,
      banners: notice ? [notice] : [],
    },
    html`<p>
        Syncs and outcomes set aside until someone fixes the cause: the CRM record (a missing close
        date or value), the referral, or the mapping. Fix it, then retry; the next cycle tries
        again. ${all.length} quarantined in all.
      </p>
      ${filters(targets, keys, filter.target, filter.reason)}
      ${shown.length > 0 ? groupActions(visitor, shown) : ''}
      <form method="post" action="${BASE}/actions/retry" id="selection">
        <input type="hidden" name="${CSRF_FIELD}" value="${visitor.csrf}" />
        <input type="hidden" name="back" value="/quarantine" />
        <button type="submit">Retry the selected</button>
      </form>
      ${quarantineTable(visitor, shown)}`,
  );
}
