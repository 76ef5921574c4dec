// App+User sign-in to Partner Center: device code once (`leadbridge login partner-center`), then
// silent refresh from the encrypted cache.
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type {
  AccountInfo,
  ICachePlugin,
  PublicClientApplication,
  TokenCacheContext,
} from '@azure/msal-node';
import type { TokenCredential } from '../../core/auth.js';
import { LeadbridgeError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { EncryptedTokenCacheFile, type TokenCacheContents } from './token-cache.js';

/** What a person does about a lost sign-in; `status`, `/healthz` and the alert all say it. */
export const SIGN_IN_AGAIN = 'sign in again: leadbridge login partner-center';
const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';
/**
 * A remembered token is used while it has more than this left (msal itself renews 5 minutes before
 * expiry).
 */
const MEMO_MARGIN_MS = 6 * 60_000;

/**
 * msal error codes meaning only a person can get a token again: the refresh token was revoked or
 * expired (invalid_grant, e.g. AADSTS50173 / AADSTS700082), or the service wants interaction
 * (MFA, consent).
 * https://learn.microsoft.com/en-us/troubleshoot/entra/entra-id/app-integration/error-code-aadsts50173-grant-expired-revoked
 */
const SIGN_IN_ERROR_CODES = new Set([
  'invalid_grant',
  'interaction_required',
  'login_required',
  'consent_required',
  'no_tokens_found',
  'refresh_token_expired',
  'bad_token',
  'no_account_in_silent_request',
]);

export interface UserSignInOptions {
  tenantId: string;
  /** A public client app registration with the Partner Center delegated permission. */
  clientId: string;
  /**
   * https://api.partner.microsoft.com/.default; msal adds openid, profile and offline_access (the
   * refresh token).
   */
  scope: string;
  authorityHost?: string;
  /**
   * An extra CA (PEM file) to trust for the authority's TLS: the Entra ID simulator's self-signed
   * certificate.
   */
  authorityCaFile?: string;
  cache: EncryptedTokenCacheFile;
  logger?: Logger;
}

export interface DeviceCodePrompt {
  userCode: string;
  verificationUri: string;
  /** The service's own sentence (open the page, enter the code). */
  message: string;
  expiresInSeconds: number;
}

export interface SignedInAccount {
  username: string;
  homeAccountId: string;
  /**
   * When `leadbridge login` last succeeded (null for a cache written before this field existed).
   */
  signedInAt: string | null;
}

/**
 * The user's tokens for the Partner Center API, refreshed silently; SIGN_IN_REQUIRED when only a
 * new login helps.
 */
export class UserSignIn implements TokenCredential {
  readonly description: string;
  private readonly logger: Logger;
  private application: Promise<PublicClientApplication> | null = null;
  private forceRefresh = false;
  private contents: TokenCacheContents | null = null;
  /**
   * The last token while it has more than MEMO_MARGIN_MS to live, and the one request in flight,
   * shared by callers.
   */
  private memo: { token: string; expiresAtMs: number } | null = null;
  private inFlight: Promise<string> | null = null;

  constructor(private readonly options: UserSignInOptions) {
    this.logger = (options.logger ?? silentLogger).child({ component: 'partner-center-sign-in' });
    this.description =
      `Partner Center App+User sign-in (client ${options.clientId}, tenant ` +
      `${options.tenantId}, token cache ${options.cache.file})`;
  }

  get cacheFile(): string {
    return this.options.cache.file;
  }

  /**
   * A token for the API; concurrent callers share one acquisition, and a fresh token is reused
   * without touching the file.
   */
  async getToken(): Promise<string> {
    if (!this.forceRefresh && this.memo && this.memo.expiresAtMs - Date.now() > MEMO_MARGIN_MS)
      return this.memo.token;
    this.inFlight ??= this.acquire().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  private async acquire(): Promise<string> {
    this.memo = null;
    const app = await this.app();
    const account = await this.currentAccount(app);
    try {
      const result = await app.acquireTokenSilent({
        account,
        scopes: [this.options.scope],
        forceRefresh: this.forceRefresh,
      });
      this.forceRefresh = false;
      if (!result?.accessToken) throw new Error('the token response has no access_token');
      if (result.expiresOn)
        this.memo = { token: result.accessToken, expiresAtMs: result.expiresOn.getTime() };
      return result.accessToken;
    } catch (error) {
      if (needsSignIn(error))
        throw signInRequired(
          `the sign-in of ${account.username} is no longer valid (${authErrorSummary(error)})`,
          error,
        );
      throw new LeadbridgeError(
        'AUTH_FAILED',
        `could not refresh the token of ${this.description}: ${authErrorSummary(error)}`,
        { cause: error, retryable: true, api: 'entra' },
      );
    }
  }

  invalidate(): void {
    this.forceRefresh = true;
    this.memo = null;
  }

  /**
   * The device code sign-in: `prompt` shows the code; resolves once the user approved, with the
   * cache written.
   */
  async login(
    prompt: (code: DeviceCodePrompt) => void | Promise<void>,
    signal?: AbortSignal,
  ): Promise<SignedInAccount> {
    const app = await this.app();
    const signedInAt = new Date().toISOString();
    const request = {
      scopes: [this.options.scope],
      deviceCodeCallback: (response: {
        userCode: string;
        verificationUri: string;
        message: string;
        expiresIn: number;
      }) =>
        void Promise.resolve(
          prompt({
            userCode: response.userCode,
            verificationUri: response.verificationUri,
            message: response.message,
            expiresInSeconds: response.expiresIn,
          }),
        ).catch((error: unknown) =>
          this.logger.warn('showing the device code failed', { error: (error as Error).message }),
        ),
      cancel: false,
    };
    signal?.addEventListener('abort', () => (request.cancel = true), { once: true });
    const result = await app.acquireTokenByDeviceCode(request).catch((error: unknown) => {
      throw new LeadbridgeError(
        'AUTH_FAILED',
        `the Partner Center sign-in did not complete: ${authErrorSummary(error)}`,
        { cause: error, api: 'entra' },
      );
    });
    if (!result?.account)
      throw new LeadbridgeError('AUTH_FAILED', 'the Partner Center sign-in returned no account', {
        api: 'entra',
      });
    await this.keepOnly(app, result.account, signedInAt);
    return {
      username: result.account.username,
      homeAccountId: result.account.homeAccountId,
      signedInAt,
    };
  }

  /** Who is signed in according to the cache (no network call), or null. */
  async signedIn(): Promise<SignedInAccount | null> {
    const app = await this.app();
    const [account] = await app.getTokenCache().getAllAccounts();
    if (!account) return null;
    return {
      username: account.username,
      homeAccountId: account.homeAccountId,
      signedInAt: this.contents?.signedInAt ?? null,
    };
  }

  /**
   * One account per cache: a new login replaces the previous user; the login time is stamped on the
   * file.
   */
  private async keepOnly(
    app: PublicClientApplication,
    keep: AccountInfo,
    signedInAt: string,
  ): Promise<void> {
    const cache = app.getTokenCache();
    for (const account of await cache.getAllAccounts()) {
      if (account.homeAccountId !== keep.homeAccountId) await cache.removeAccount(account);
    }
    const msal = cache.serialize();
    this.contents = { msal, signedInAt };
    await this.options.cache.write(this.contents);
  }

  private async currentAccount(app: PublicClientApplication): Promise<AccountInfo> {
    const [account] = await app.getTokenCache().getAllAccounts();
    if (!account)
      throw signInRequired(
        `no one has signed in yet (the token cache ${this.options.cache.file} holds no account)`,
      );
    return account;
  }

  private app(): Promise<PublicClientApplication> {
    this.application ??= this.createApplication();
    return this.application;
  }

  private async createApplication(): Promise<PublicClientApplication> {
    const { PublicClientApplication, LogLevel } = await import('@azure/msal-node');
    const authorityHost = (this.options.authorityHost ?? DEFAULT_AUTHORITY_HOST).replace(
      /\/+$/,
      '',
    );
    const host = new URL(authorityHost).host;
    const ca = this.options.authorityCaFile
      ? [...tls.rootCertificates, readFileSync(this.options.authorityCaFile, 'utf8')]
      : undefined;
    return new PublicClientApplication({
      auth: {
        clientId: this.options.clientId,
        authority: `${authorityHost}/${this.options.tenantId}`,
        // Any other host is trusted as given, so msal never asks login.microsoftonline.com's
        // instance discovery about it.
        ...(host.toLowerCase() === new URL(DEFAULT_AUTHORITY_HOST).host
          ? {}
          : { knownAuthorities: [host] }),
      },
      cache: { cachePlugin: this.cachePlugin() },
      system: {
        ...(ca ? { customAgentOptions: { ca } } : {}),
        loggerOptions: {
          logLevel: LogLevel.Warning,
          piiLoggingEnabled: false,
          loggerCallback: (_level, message) => this.logger.debug('msal', { message }),
        },
      },
    });
  }

  /**
   * msal reads the file before and writes it after each token operation, so a login in another
   * process is seen at once.
   */
  private cachePlugin(): ICachePlugin {
    return {
      beforeCacheAccess: async (context: TokenCacheContext) => {
        this.contents = await this.options.cache.read();
        if (this.contents?.msal) context.tokenCache.deserialize(this.contents.msal);
      },
      afterCacheAccess: async (context: TokenCacheContext) => {
        if (!context.cacheHasChanged) return;
        this.contents = {
          msal: context.tokenCache.serialize(),
          signedInAt: this.contents?.signedInAt ?? null,
        };
        await this.options.cache.write(this.contents);
      },
    };
  }
}

function needsSignIn(error: unknown): boolean {
  if ((error as { name?: unknown })?.name === 'InteractionRequiredAuthError') return true;
  const code = (error as { errorCode?: unknown })?.errorCode;
  return typeof code === 'string' && SIGN_IN_ERROR_CODES.has(code);
}

/**
 * The msal error code and the first line of the service's description (AADSTS code included), never
 * a token.
 */
function authErrorSummary(error: unknown): string {
  const { errorCode, errorMessage, message } = (error ?? {}) as {
    errorCode?: string;
    errorMessage?: string;
    message?: string;
  };
  const text = String(errorMessage || message || error)
    .split(/\r?\n/)[0]!
    .slice(0, 300);
  return errorCode && !text.startsWith(errorCode) ? `${errorCode}: ${text}` : text;
}

function signInRequired(reason: string, cause?: unknown): LeadbridgeError {
  return new LeadbridgeError('SIGN_IN_REQUIRED', `partner-center: ${reason}; ${SIGN_IN_AGAIN}`, {
    api: 'partner-center',
    ...(cause ? { cause } : {}),
  });
}
