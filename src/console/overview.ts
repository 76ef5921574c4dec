// The overview: per target applied, pending, failed, quarantined; last cycles; API calls; health.
import { html } from 'hono/html';
import {
  apiCallCountsSince,
  countByState,
  countOutboxByState,
  lastRuns,
  type ApiCallCount,
  type RunRow,
} from '../ledger/index.js';
import { banner, BASE, duration, page, when, type Markup } from './layout.js';
import type { Visitor } from './security.js';
import type { ConsoleHealth, ConsoleServices, SignInNotice } from './services.js';

/** How far back the API chart reaches. */
const CHART_HOURS = 6;
const RUNS_SHOWN = 10;

interface TargetCounts {
  name: string;
  kind: string;
  enabled: boolean;
  applied: number;
  pending: number;
  failed: number;
  quarantined: number;
  outcomesWaiting: number;
  outcomesQuarantined: number;
}

/**
 * The chart's series: per API, calls, 429s and errors in each bucket (0 where none were recorded).
 */
export function apiChartSeries(
  counts: readonly ApiCallCount[],
  buckets: readonly string[],
): {
  labels: string[];
  apis: Array<{ api: string; calls: number[]; throttled: number[]; errors: number[] }>;
} {
  const apis = [...new Set(counts.map((c) => c.api))].sort();
  const at = new Map(counts.map((c) => [`${c.bucket} ${c.api}`, c]));
  return {
    labels: buckets.map((b) => b.slice(11, 16)),
    apis: apis.map((api) => {
      const row = (b: string) => at.get(`${b} ${api}`);
      return {
        api,
        calls: buckets.map((b) => row(b)?.calls ?? 0),
        throttled: buckets.map((b) => row(b)?.throttled ?? 0),
        errors: buckets.map((b) => row(b)?.errors ?? 0),
      };
    }),
  };
}

/** The 5-minute bucket starts from `since` to `now`. */
export function bucketsBetween(since: Date, now: Date, minutes = 5): string[] {
  const size = minutes * 60_000;
  const out: string[] = [];
  for (let t = Math.floor(since.getTime() / size) * size; t <= now.getTime(); t += size)
    out.push(new Date(t).toISOString());
  return out;
}

async function targetCounts(services: ConsoleServices): Promise<TargetCounts[]> {
  const { db } = services.ledger();
  const [states, outbox] = await Promise.all([countByState(db), countOutboxByState(db)]);
  return services.config().targets.map((t) => {
    const n = (state: string) =>
      states.find((row) => row.target === t.name && row.state === state)?.count ?? 0;
    const o = (list: string[]) =>
      outbox
        .filter((row) => row.target === t.name && list.includes(row.state))
        .reduce((sum, row) => sum + row.count, 0);
    return {
      name: t.name,
      kind: t.kind,
      enabled: t.enabled,
      applied: n('applied'),
      pending: n('pending'),
      failed: n('failed'),
      quarantined: n('quarantined'),
      outcomesWaiting: o(['pending', 'sending', 'failed']),
      outcomesQuarantined: o(['quarantined']),
    };
  });
}

function signInBanner(notice: SignInNotice | null): Markup | null {
  if (!notice?.required) return null;
  return banner(
    'error',
    html`<strong>Partner Center sign-in needed.</strong> The worker cannot read referrals or send
      outcomes until someone with the Referral Admin role signs in again: run
      <code>leadbridge login partner-center</code> on the worker's machine and follow the code it
      prints. Nothing is lost meanwhile; the next cycle catches up.
      ${notice.cause ? html`<br /><small>Why: ${notice.cause}</small>` : ''}`,
  );
}

function healthPanel(health: ConsoleHealth | null, runs: readonly RunRow[]): Markup {
  if (!health) {
    const last = runs.find((r) => r.status === 'ok');
    return html`<p class="health">
      <span class="pill">no worker here</span> This console reads the ledger on its own. Last
      successful cycle: ${when(last?.finishedAt)}.
    </p>`;
  }
  return html`<p class="health">
      <span class="pill ${health.status}" data-testid="health">${health.status}</span>
      last successful cycle ${when(health.lastSuccessAt)}
    </p>
    ${health.problems.map(
      (p) =>
        html`<p class="problem ${p.failing ? 'failing' : ''}">
          ${p.cause}: ${p.reason} (since ${when(p.since)})
        </p>`,
    )}`;
}

function countsTable(targets: readonly TargetCounts[]): Markup {
  const cell = (n: number, link: string, cls = '') =>
    n > 0 ? html`<a class="${cls}" href="${link}">${n}</a>` : html`${n}`;
  return html`<table data-testid="targets">
    <thead>
      <tr>
        <th>Target</th>
        <th>Applied</th>
        <th>Pending</th>
        <th>Failed</th>
        <th>Quarantined</th>
        <th>Outcomes waiting</th>
        <th>Outcomes quarantined</th>
      </tr>
    </thead>
    <tbody>
      ${targets.map(
        (t) =>
          html`<tr data-target="${t.name}">
            <th>${t.name} <small>${t.kind}${t.enabled ? '' : ', disabled'}</small></th>
            <td data-col="applied">${t.applied}</td>
            <td data-col="pending">${t.pending}</td>
            <td data-col="failed">${t.failed}</td>
            <td data-col="quarantined">
              ${cell(t.quarantined, `${BASE}/quarantine?target=${t.name}`, 'bad')}
            </td>
            <td>${t.outcomesWaiting}</td>
            <td>${cell(t.outcomesQuarantined, `${BASE}/quarantine?target=${t.name}`, 'bad')}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function runsTable(runs: readonly RunRow[]): Markup {
  if (runs.length === 0) return html`<p>No cycle has run yet.</p>`;
  return html`<table data-testid="runs">
    <thead>
      <tr>
        <th>Started</th>
        <th>Duration</th>
        <th>Result</th>
        <th>What it did</th>
      </tr>
    </thead>
    <tbody>
      ${runs.map((r) => {
        const ms = r.finishedAt ? Date.parse(r.finishedAt) - Date.parse(r.startedAt) : null;
        const figures = Object.entries(r.stats ?? {})
          .filter(([, n]) => n !== 0)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ');
        return html`<tr>
          <td>${when(r.startedAt)}</td>
          <td>${ms === null ? 'running' : duration(ms)}</td>
          <td><span class="pill ${r.status}">${r.status}</span></td>
          <td>
            ${figures || '-'}${r.error ? html`<br /><small class="bad">${r.error}</small>` : ''}
          </td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}

export async function overviewPage(services: ConsoleServices, visitor: Visitor): Promise<Markup> {
  const now = services.now();
  const since = new Date(now.getTime() - CHART_HOURS * 3_600_000);
  const { db } = services.ledger();
  const [targets, runs, calls, signIn] = await Promise.all([
    targetCounts(services),
    lastRuns(db, RUNS_SHOWN),
    apiCallCountsSince(db, since.toISOString()),
    services.signIn(),
  ]);
  const series = apiChartSeries(calls, bucketsBetween(since, now));
  const notice = signInBanner(signIn);
  const totals = series.apis.map(
    (a) =>
      html`<li>
        ${a.api}: ${sum(a.calls)} calls, ${sum(a.throttled)} × 429, ${sum(a.errors)} errors
      </li>`,
  );
  return page(
    {
      title: 'Overview',
      section: '',
      refreshSeconds: 30,
      visitor,
      banners: notice ? [notice] : [],
      charts: { apiCalls: series },
    },
    html`${healthPanel(services.health(), runs)}
      <h2>Targets</h2>
      ${countsTable(targets)}
      <h2>API calls, last ${CHART_HOURS} hours</h2>
      <ul class="totals" data-testid="api-totals">
        ${totals.length > 0 ? totals : html`<li>none recorded yet</li>`}
      </ul>
      <div class="charts">
        <div class="chart">
          <canvas id="api-calls-chart" aria-label="API calls per API"></canvas>
        </div>
        <div class="chart">
          <canvas id="api-problems-chart" aria-label="429s and errors per API"></canvas>
        </div>
      </div>
      <h2>Last cycles</h2>
      ${runsTable(runs)}`,
  );
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
