// The console's routes under /console (pages, actions, assets) as a hono app behind its guard.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono, type Context } from 'hono';
import { html } from 'hono/html';
import { isLeadbridgeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { resyncFromConsole, retryFromConsole } from '../sync/operator-console.js';
import { leadsPage } from './leads.js';
import { banner, BASE, page, type Markup } from './layout.js';
import { mappingsPage } from './mappings.js';
import { overviewPage } from './overview.js';
import { quarantinePage } from './quarantine.js';
import { referralPage } from './referral.js';
import { ConsoleGuard, CSRF_FIELD, type ConsoleAccess, type Visitor } from './security.js';
import type { ConsoleServices } from './services.js';

type Env = { Variables: { visitor: Visitor } };

const ASSETS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'assets');
const require = createRequire(import.meta.url);
/** Served from node_modules (no CDN): chart.js's UMD build. */
const ASSETS: Record<string, { file: () => string; type: string }> = {
  'console.css': { file: () => path.join(ASSETS_DIR, 'console.css'), type: 'text/css' },
  'console.js': { file: () => path.join(ASSETS_DIR, 'console.js'), type: 'text/javascript' },
  'chart.umd.js': {
    file: () => path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.js'),
    type: 'text/javascript',
  },
};

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "form-action 'self'",
  "base-uri 'none'",
].join('; ');

export interface ConsoleAppOptions {
  services: ConsoleServices;
  access: ConsoleAccess;
  logger: Logger;
  /** How soon the next cycle comes, for the words after an action ("within 15 s"). */
  nextCycleHint: () => string;
}

/** A notice passed back to the page after an action (`?ok=` / `?error=`). */
function noticeOf(c: Context): Markup | null {
  const ok = c.req.query('ok');
  const error = c.req.query('error');
  if (error) return banner('error', html`${error}`);
  if (ok) return banner('ok', html`${ok}`);
  return null;
}

/** Only a path inside the console: an action never redirects elsewhere. */
function backTo(value: unknown): string {
  return typeof value === 'string' &&
    /^\/[A-Za-z0-9/?=&%._|+-]*$/.test(value) &&
    !value.startsWith('//')
    ? value
    : '';
}

function withNotice(back: string, key: 'ok' | 'error', text: string): string {
  return `${BASE}${back}${back.includes('?') ? '&' : '?'}${key}=${encodeURIComponent(text)}`;
}

function many(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}

function moved(result: {
  syncs: Record<string, number>;
  outcomes: Record<string, number>;
}): string {
  const syncs = Object.values(result.syncs).reduce((a, b) => a + b, 0);
  const outcomes = Object.values(result.outcomes).reduce((a, b) => a + b, 0);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `${plural(syncs, 'sync')} and ${plural(outcomes, 'outcome')}`;
}

export function createConsoleApp(options: ConsoleAppOptions): Hono<Env> {
  const { services, logger } = options;
  const guard = new ConsoleGuard(options.access);
  const app = new Hono<Env>().basePath(BASE);
  app.use('*', async (c, next) => {
    await next();
    c.header('Content-Security-Policy', CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('Cache-Control', 'no-store');
  });
  app.use('*', guard.middleware(`${BASE}/sign-in`));
  addPages(app, services);
  addActions(app, options);
  addSignInAndAssets(app, guard);
  answerErrors(app, logger);
  return app;
}

type ConsoleApp = Hono<Env>;

/** The five pages, each read from the ledger (and the CRM for mappings) when asked. */
function addPages(app: ConsoleApp, services: ConsoleServices): void {
  app.get('/', async (c) => c.html(await overviewPage(services, c.get('visitor'))));
  app.get('/leads', async (c) => c.html(await leadsPage(services, c.get('visitor'))));
  app.get('/referral', async (c) =>
    c.html(await referralPage(services, c.get('visitor'), c.req.query('q') ?? '', noticeOf(c))),
  );
  app.get('/quarantine', async (c) =>
    c.html(
      await quarantinePage(
        services,
        c.get('visitor'),
        { target: c.req.query('target') ?? '', reason: c.req.query('reason') ?? '' },
        noticeOf(c),
      ),
    ),
  );
  app.get('/mappings', async (c) =>
    c.html(
      await mappingsPage(services, c.get('visitor'), {
        target: c.req.query('target') ?? '',
        referral: (c.req.query('referral') ?? '').trim(),
      }),
    ),
  );
}

/** Retry and resync: ledger changes the next cycle acts on, audited with who asked. */
function addActions(app: ConsoleApp, options: ConsoleAppOptions): void {
  const { services, logger } = options;
  app.post('/actions/retry', async (c) => {
    const form = await c.req.parseBody({ all: true });
    const back = backTo(form.back);
    const byTarget = new Map<string | undefined, string[]>();
    for (const item of many(form.item)) {
      const [target, referralId] = item.split('|');
      if (target && referralId) byTarget.set(target, [...(byTarget.get(target) ?? []), referralId]);
    }
    for (const id of many(form.referralId))
      byTarget.set(undefined, [...(byTarget.get(undefined) ?? []), id]);
    if (byTarget.size === 0)
      return c.redirect(withNotice(back, 'error', 'nothing selected to retry'), 303);
    const who = c.get('visitor').who;
    const totals = { syncs: {} as Record<string, number>, outcomes: {} as Record<string, number> };
    for (const [target, referralIds] of byTarget) {
      const request = { referralIds, who, ...(target ? { target } : {}) };
      const result = await retryFromConsole(
        services.ledger(),
        services.config(),
        request,
        services.now(),
      );
      Object.assign(totals.syncs, result.syncs);
      Object.assign(totals.outcomes, result.outcomes);
    }
    logger.info('console: retry scheduled', {
      who,
      referrals: [...byTarget.values()].flat().length,
    });
    return c.redirect(
      withNotice(back, 'ok', `Retry scheduled: ${moved(totals)}; ${options.nextCycleHint()}.`),
      303,
    );
  });

  app.post('/actions/resync', async (c) => {
    const form = await c.req.parseBody();
    const back = backTo(form.back);
    const referralId = typeof form.referralId === 'string' ? form.referralId : '';
    const who = c.get('visitor').who;
    const result = await resyncFromConsole(
      services.ledger(),
      services.config(),
      { referralId, who },
      services.now(),
    );
    logger.info('console: resync scheduled', { who, referralId });
    return c.redirect(
      withNotice(back, 'ok', `Resync scheduled: ${moved(result)}; ${options.nextCycleHint()}.`),
      303,
    );
  });
}

function addSignInAndAssets(app: ConsoleApp, guard: ConsoleGuard): void {
  app.get('/sign-in', (c) => c.html(signInPage(c.get('visitor'), guard.needsSignIn, null)));
  app.post('/sign-in', async (c) => {
    const form = await c.req.parseBody();
    if (guard.signIn(c, typeof form.token === 'string' ? form.token : ''))
      return c.redirect(BASE, 303);
    return c.html(signInPage(c.get('visitor'), true, 'That is not the admin token.'), 401);
  });

  app.get('/assets/:name', async (c) => {
    const asset = ASSETS[c.req.param('name')];
    if (!asset) return c.text('no such asset', 404);
    return c.body(await readFile(asset.file()), 200, {
      'Content-Type': `${asset.type}; charset=utf-8`,
    });
  });
}

/** A refused action goes back with its reason; anything else is a page naming what failed. */
function answerErrors(app: ConsoleApp, logger: Logger): void {
  app.onError(async (error, c) => {
    if (c.req.method === 'POST' && isLeadbridgeError(error)) {
      // The form was read before the action ran (hono keeps the parsed body).
      const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
      return c.redirect(withNotice(backTo(form.back) || '/', 'error', error.message), 303);
    }
    logger.error('console: request failed', { path: c.req.path, error: error.message });
    return c.html(
      page(
        {
          title: 'Something failed',
          section: '',
          visitor: c.get('visitor') ?? { who: '', csrf: '' },
        },
        html`<p class="bad">${error.message}</p>`,
      ),
      500,
    );
  });
}

function signInPage(visitor: Visitor, needed: boolean, problem: string | null): Markup {
  return page(
    {
      title: 'Sign in',
      section: '',
      visitor,
      banners: problem ? [banner('error', html`${problem}`)] : [],
    },
    needed
      ? html`<form method="post" action="${BASE}/sign-in">
          <input type="hidden" name="${CSRF_FIELD}" value="${visitor.csrf}" />
          <label
            >Admin token <input type="password" name="token" autocomplete="off" required
          /></label>
          <button type="submit">Sign in</button>
        </form>`
      : html`<p>
          This console listens on loopback only and needs no sign-in. <a href="${BASE}">Open it</a>.
        </p>`,
  );
}
