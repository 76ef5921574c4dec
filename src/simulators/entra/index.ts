// The Entra ID (Microsoft identity platform) simulator: a strict HTTPS loopback stand-in for
// login.microsoftonline.com.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SimHttpError, SimServer, type SimRoute } from '../common/server.js';
import { oauthErrorBody } from './errors.js';
import { DEFAULT_SIM_USER, GrantStore } from './grants.js';
import { entraRoutes, type EntraState, type SimClientApp } from './routes.js';
import { TokenSigner } from './tokens.js';

export { DEFAULT_SIM_USER } from './grants.js';
/**
 * The simulated tenant and its two app registrations (public client for device code, confidential
 * for client credentials).
 */
export const SIM_TENANT_ID = '4f1c2a3b-5d6e-4f70-8a9b-0c1d2e3f4a5b';
export const SIM_PUBLIC_CLIENT_ID = '6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e';
export const SIM_CONFIDENTIAL_CLIENT_ID = '7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f';
export const SIM_CONFIDENTIAL_CLIENT_SECRET = 'sim-client-secret';
/**
 * The simulator's TLS certificate (self-signed, 127.0.0.1 / ::1 / localhost): clients trust it
 * through authorityCaFile.
 */
export const SIM_TLS_CERT_FILE = fileURLToPath(new URL('./tls/cert.pem', import.meta.url));
const SIM_TLS_KEY_FILE = fileURLToPath(new URL('./tls/key.pem', import.meta.url));

export interface EntraSimulatorOptions {
  host?: string;
  port?: number;
  tenantId?: string;
  clients?: SimClientApp[];
  /**
   * Access token lifetime; short values make every silent call a refresh. Default 3600 (Entra's
   * usual hour).
   */
  accessTokenLifetimeSeconds?: number;
  /** The device code's `interval` (seconds between polls). Default 5, as Entra answers. */
  pollIntervalSeconds?: number;
  /** Default 900 (15 minutes, the device code article's default expires_in). */
  deviceCodeLifetimeSeconds?: number;
}

export class EntraSimulator {
  readonly server: SimServer;
  readonly grants: GrantStore;
  readonly tenantId: string;

  constructor(options: EntraSimulatorOptions = {}) {
    this.tenantId = options.tenantId ?? SIM_TENANT_ID;
    this.grants = new GrantStore(() => Date.now());
    const state: EntraState = {
      tenantId: this.tenantId,
      clients: options.clients ?? [
        { clientId: SIM_PUBLIC_CLIENT_ID },
        {
          clientId: SIM_CONFIDENTIAL_CLIENT_ID,
          secret: SIM_CONFIDENTIAL_CLIENT_SECRET,
          roles: ['Simulator.AppOnly'],
        },
      ],
      grants: this.grants,
      signer: new TokenSigner(),
      accessTokenLifetimeS: options.accessTokenLifetimeSeconds ?? 3600,
      deviceCodeLifetimeS: options.deviceCodeLifetimeSeconds ?? 900,
      pollIntervalS: options.pollIntervalSeconds ?? 5,
      nowMs: () => Date.now(),
    };
    this.server = new SimServer({
      name: 'entra',
      host: options.host,
      port: options.port,
      tls: {
        key: readFileSync(SIM_TLS_KEY_FILE, 'utf8'),
        cert: readFileSync(SIM_TLS_CERT_FILE, 'utf8'),
      },
      routes: entraRoutes(state),
      adminRoutes: this.adminRoutes(),
      errorBody: (status, code, message) => oauthErrorBody(status, code, message),
      onReset: () => this.grants.clear(),
    });
  }

  start(): Promise<string> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  get url(): string {
    return this.server.url;
  }

  /** The authority msal is configured with: https://HOST:PORT/{tenant}. */
  get authority(): string {
    return `${this.url}/${this.tenantId}`;
  }

  /** Plays the user on the verification page: approve (or decline) a user code, as `upn`. */
  private adminRoutes(): SimRoute[] {
    const answer =
      (approve: boolean): SimRoute['handler'] =>
      (req) => {
        const body = (req.body ?? {}) as { userCode?: unknown; user?: unknown };
        if (typeof body.userCode !== 'string')
          throw new SimHttpError(
            400,
            'invalid_request',
            'the body needs {"userCode": "...", "user"?: "upn"}',
          );
        const upn =
          typeof body.user === 'string' && body.user.includes('@') ? body.user : DEFAULT_SIM_USER;
        try {
          const grant = this.grants.answerDeviceCode(body.userCode, { approve, upn });
          return {
            status: 200,
            body: { userCode: grant.userCode, state: grant.state, user: grant.user?.upn ?? null },
          };
        } catch (error) {
          throw new SimHttpError(400, 'invalid_request', (error as Error).message);
        }
      };
    return [
      {
        method: 'GET',
        pattern: /^\/_sim\/devicecodes$/,
        handler: () => ({ status: 200, body: { pending: this.grants.pendingDeviceCodes() } }),
      },
      { method: 'POST', pattern: /^\/_sim\/devicecodes\/approve$/, handler: answer(true) },
      { method: 'POST', pattern: /^\/_sim\/devicecodes\/decline$/, handler: answer(false) },
      {
        method: 'POST',
        pattern: /^\/_sim\/users\/(?<upn>[^/]+)\/revoke$/,
        handler: (req) => ({
          status: 200,
          body: this.grants.revokeUser(decodeURIComponent(req.params.upn ?? '')),
        }),
      },
      {
        method: 'GET',
        pattern: /^\/_sim\/devicelogin$/,
        handler: () => ({
          status: 200,
          headers: { 'Content-Type': 'text/plain; charset=utf-8' },
          body:
            'Entra ID simulator: approve a code with POST /_sim/devicecodes/approve ' +
            '{"userCode":"...","user":"upn"}\n',
        }),
      },
    ];
  }
}

export function createEntraSimulator(options: EntraSimulatorOptions = {}): EntraSimulator {
  return new EntraSimulator(options);
}
