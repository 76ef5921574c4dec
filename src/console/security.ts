// The console's guard: loopback by default, else an admin token; CSRF on every action; who acted.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { LeadbridgeError } from '../core/errors.js';

const SESSION_COOKIE = 'lb_console_session';
const SIGNED_IN_COOKIE = 'lb_console_admin';
/** Sent with every form; `csrfToken` gives the value for the request's session. */
export const CSRF_FIELD = '_csrf';

export interface ConsoleAccess {
  /** Where the server listens; anything but loopback needs `token`. */
  bindHost: string;
  /** The admin token (LEADBRIDGE_CONSOLE_TOKEN); null: loopback only, no sign-in. */
  token: string | null;
  /** Who a loopback user is in the audit trail (the local account name). */
  localUser: string;
}

/**
 * What the pages and actions know about the person: who they are (for the audit) and their CSRF
 * token.
 */
export interface Visitor {
  who: string;
  csrf: string;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', '[::1]', 'localhost']);

export function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Refuses a configuration that would show the ledger to the network without a token. */
export function assertAccessIsSafe(access: ConsoleAccess): void {
  if (isLoopback(access.bindHost)) return;
  if (access.token === null || access.token.length < 16)
    throw new LeadbridgeError(
      'CONFIG_INVALID',
      `the console would listen on ${access.bindHost}, which is not loopback: set ` +
        'LEADBRIDGE_CONSOLE_TOKEN to an admin token of at least 16 characters ' +
        '(e.g. openssl rand -hex 24), or bind 127.0.0.1',
    );
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The host name of a Host header, without the port. */
function hostNameOf(header: string | undefined): string {
  if (!header) return '';
  if (header.startsWith('[')) return header.slice(0, header.indexOf(']') + 1);
  return header.split(':')[0] ?? '';
}

function hostOfOrigin(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}

export class ConsoleGuard {
  /**
   * Per process: CSRF tokens and the signed-in cookie are HMACs under it, so a restart signs
   * everyone out.
   */
  private readonly secret = randomBytes(32);

  constructor(private readonly access: ConsoleAccess) {
    assertAccessIsSafe(access);
  }

  get needsSignIn(): boolean {
    return this.access.token !== null;
  }

  private mac(purpose: string, value: string): string {
    return createHmac('sha256', this.secret).update(`${purpose}:${value}`).digest('base64url');
  }

  /** Rejects what the console must not answer, and puts the visitor on the context. */
  middleware(signInPath: string): MiddlewareHandler {
    return async (c, next) => {
      const host = hostNameOf(c.req.header('host'));
      // A page on another site resolving its name to 127.0.0.1 (DNS rebinding) sends its own Host.
      if (this.access.token === null && !isLoopback(host))
        return c.text(`the console answers only on loopback addresses, not "${host}"`, 403);
      const session = this.session(c);
      const signedIn = this.isSignedIn(c);
      const path = new URL(c.req.url).pathname;
      const isSignIn =
        path === signInPath || path.startsWith(`${signInPath.replace(/\/sign-in$/, '')}/assets/`);
      if (this.needsSignIn && !signedIn && !isSignIn) {
        if (c.req.method === 'GET') return c.redirect(signInPath, 303);
        return c.text('sign in first: this console needs the admin token', 401);
      }
      if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
        const problem = await this.csrfProblem(c, session);
        if (problem) return c.text(`refused: ${problem}`, 403);
      }
      c.set('visitor', { who: this.who(c, signedIn), csrf: this.mac('csrf', session) });
      await next();
    };
  }

  /** Checks a submitted admin token; on success the browser gets the signed-in cookie. */
  signIn(c: Context, token: string): boolean {
    if (this.access.token === null || !sameSecret(token, this.access.token)) return false;
    setCookie(c, SIGNED_IN_COOKIE, this.mac('admin', this.session(c)), {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/console',
    });
    return true;
  }

  private isSignedIn(c: Context): boolean {
    const bearer = c.req.header('authorization')?.match(/^Bearer (.+)$/)?.[1];
    if (bearer !== undefined && this.access.token !== null)
      return sameSecret(bearer, this.access.token);
    const cookie = getCookie(c, SIGNED_IN_COOKIE);
    return cookie !== undefined && sameSecret(cookie, this.mac('admin', this.session(c)));
  }

  /** A random id per browser, in an HttpOnly cookie; the CSRF token is bound to it. */
  private session(c: Context): string {
    const existing = getCookie(c, SESSION_COOKIE);
    if (existing && /^[A-Za-z0-9_-]{16,64}$/.test(existing)) return existing;
    const created = randomBytes(18).toString('base64url');
    setCookie(c, SESSION_COOKIE, created, { httpOnly: true, sameSite: 'Strict', path: '/console' });
    return created;
  }

  private async csrfProblem(c: Context, session: string): Promise<string | null> {
    const origin = c.req.header('origin');
    if (origin !== undefined && origin !== 'null') {
      const expected = new URL(c.req.url).host;
      const actual = hostOfOrigin(origin);
      if (actual === null) return `unreadable Origin "${origin}"`;
      if (actual !== expected) return `the form came from ${origin}, not from this console`;
    }
    const form = await c.req.parseBody({ all: true });
    const token = form[CSRF_FIELD];
    if (typeof token !== 'string' || token === '')
      return 'the form has no CSRF token (reload the page)';
    if (!sameSecret(token, this.mac('csrf', session)))
      return 'the CSRF token does not match this browser session (reload the page)';
    return null;
  }

  private who(c: Context, signedIn: boolean): string {
    const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)
      ?.incoming;
    const address = incoming?.socket?.remoteAddress ?? 'unknown address';
    return signedIn
      ? `admin token holder (console, from ${address})`
      : `${this.access.localUser} (console, from ${address})`;
  }
}
