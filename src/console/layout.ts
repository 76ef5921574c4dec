// The console's page frame (navigation, banners, forms) and the small formatters every page uses.
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { CSRF_FIELD, type Visitor } from './security.js';

export type Markup = HtmlEscapedString | Promise<HtmlEscapedString>;

export const BASE = '/console';

const NAV: ReadonlyArray<{ path: string; label: string }> = [
  { path: '', label: 'Overview' },
  { path: '/leads', label: 'Leads needing a human' },
  { path: '/referral', label: 'Find a referral' },
  { path: '/quarantine', label: 'Quarantine' },
  { path: '/mappings', label: 'Mappings' },
];

export interface PageFrame {
  title: string;
  /** The NAV path of the page, to mark it as current. */
  section: string;
  visitor: Visitor;
  banners?: Markup[];
  /** Reload the page this often (the overview, so a person sees leads flowing). */
  refreshSeconds?: number;
  /** Chart data for assets/console.js, embedded as JSON (never as script). */
  charts?: Record<string, unknown>;
}

export function page(frame: PageFrame, body: Markup): Markup {
  const charts = frame.charts
    ? html`<script type="application/json" id="chart-data">
        ${raw(jsonForScript(frame.charts))}
      </script>`
    : '';
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${frame.title} · leadbridge console</title>
        <link rel="stylesheet" href="${BASE}/assets/console.css" />
        <link rel="icon" href="data:," />
        ${
          frame.refreshSeconds
            ? html`<meta http-equiv="refresh" content="${frame.refreshSeconds}" />`
            : ''
        }
      </head>
      <body>
        <header>
          <a class="brand" href="${BASE}">leadbridge</a>
          <nav>
            ${NAV.map(
              (item) =>
                html`<a
                  href="${BASE}${item.path}"
                  ${item.path === frame.section ? raw('aria-current="page"') : ''}
                  >${item.label}</a
                >`,
            )}
          </nav>
          <span class="who">${frame.visitor.who}</span>
        </header>
        <main>
          ${frame.banners ?? []}
          <h1>${frame.title}</h1>
          ${body}
        </main>
        ${charts}
        ${
          frame.charts
            ? html`<script src="${BASE}/assets/chart.umd.js"></script>
                <script src="${BASE}/assets/console.js"></script>`
            : ''
        }
      </body>
    </html>`;
}

/** JSON safe inside a script element: `<` escaped, so no `</script>` can end it early. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

export function banner(kind: 'warn' | 'error' | 'ok', content: Markup): Markup {
  return html`<div class="banner ${kind}" role="${kind === 'ok' ? 'status' : 'alert'}">
    ${content}
  </div>`;
}

/** A POST form with the CSRF token; `fields` become hidden inputs. */
export function actionForm(
  visitor: Visitor,
  action: string,
  label: string,
  fields: Record<string, string | string[]> = {},
  extra: Markup | string = '',
): Markup {
  const hidden = Object.entries(fields).flatMap(([name, value]) =>
    (Array.isArray(value) ? value : [value]).map(
      (v) => html`<input type="hidden" name="${name}" value="${v}" />`,
    ),
  );
  return html`<form method="post" action="${BASE}${action}" class="inline">
    <input type="hidden" name="${CSRF_FIELD}" value="${visitor.csrf}" />
    ${hidden} ${extra}
    <button type="submit">${label}</button>
  </form>`;
}

/** "3 d 4 h", "5 h 12 min", "42 s": how long, for people. */
export function duration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  let s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${sign}${s} s`;
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  if (d > 0) return `${sign}${d} d ${h} h`;
  if (h > 0) return `${sign}${h} h ${m} min`;
  return `${sign}${m} min ${s - m * 60} s`;
}

/** An instant as "2026-12-04 17:24 UTC" (the ledger keeps ISO-8601 UTC). */
export function when(iso: string | null | undefined): string {
  if (!iso) return '-';
  const t = Date.parse(iso.endsWith('Z') || /[+-]\d\d:\d\d$/.test(iso) ? iso : `${iso}Z`);
  if (Number.isNaN(t)) return iso;
  return `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function referralLink(referralId: string): Markup {
  return html`<a href="${BASE}/referral?q=${encodeURIComponent(referralId)}"
    ><code>${referralId}</code></a
  >`;
}

export function show(value: unknown): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}
