// The Entra ID simulator's state: users, pending device codes, refresh tokens and per-user
// revocation.
import { createHash, randomBytes } from 'node:crypto';
import { AADSTS, oauthError } from './errors.js';
import { opaqueToken, type SimUser } from './tokens.js';

type DeviceCodeState = 'pending' | 'approved' | 'declined';

export interface DeviceCodeGrant {
  deviceCode: string;
  userCode: string;
  clientId: string;
  scopes: string[];
  expiresAtMs: number;
  state: DeviceCodeState;
  user: SimUser | null;
}

interface RefreshGrant {
  user: SimUser;
  clientId: string;
  scopes: string[];
  issuedAtMs: number;
}

/**
 * The user the admin route signs in when it names none: a Partner Center user with a referrals
 * role.
 */
export const DEFAULT_SIM_USER = 'referrals.admin@contoso.example';

/** Users count seconds; a grant issued in the same millisecond as a revocation is revoked too. */
export class GrantStore {
  private readonly users = new Map<string, SimUser>();
  private readonly deviceCodes = new Map<string, DeviceCodeGrant>();
  private readonly refreshTokens = new Map<string, RefreshGrant>();
  /**
   * Per user (upn): tokens issued at or before this instant are refused (Entra's TokensValidFrom).
   */
  private readonly validFromMs = new Map<string, number>();
  /**
   * Grants redeemed and refused, for tests and /_sim/ (refreshed counts refresh_token grants that
   * issued tokens).
   */
  readonly counts = { deviceCodes: 0, refreshed: 0, refused: 0 };

  constructor(private readonly now: () => number) {}

  user(upn: string): SimUser {
    const key = upn.toLowerCase();
    let user = this.users.get(key);
    if (!user) {
      const oid = uuidFrom(`user:${key}`);
      user = { oid, upn: key, name: key.split('@')[0]!.replace(/[._]/g, ' ') };
      this.users.set(key, user);
    }
    return user;
  }

  startDeviceCode(clientId: string, scopes: string[], lifetimeS: number): DeviceCodeGrant {
    const grant: DeviceCodeGrant = {
      deviceCode: opaqueToken(),
      userCode: userCode(),
      clientId,
      scopes,
      expiresAtMs: this.now() + lifetimeS * 1000,
      state: 'pending',
      user: null,
    };
    this.deviceCodes.set(grant.deviceCode, grant);
    return grant;
  }

  /**
   * What the user does on the verification page: enter the code, sign in, and consent (or decline).
   */
  answerDeviceCode(
    userCodeText: string,
    answer: { approve: boolean; upn: string },
  ): DeviceCodeGrant {
    const grant = [...this.deviceCodes.values()].find(
      (g) => g.userCode === userCodeText.trim().toUpperCase(),
    );
    if (!grant) throw new Error(`no device code with user code ${userCodeText}`);
    if (grant.state !== 'pending')
      throw new Error(`user code ${grant.userCode} was already ${grant.state}`);
    if (this.now() >= grant.expiresAtMs) throw new Error(`user code ${grant.userCode} has expired`);
    grant.state = answer.approve ? 'approved' : 'declined';
    grant.user = answer.approve ? this.user(answer.upn) : null;
    return grant;
  }

  pendingDeviceCodes(): Array<
    Pick<DeviceCodeGrant, 'userCode' | 'clientId' | 'scopes'> & { expiresAt: string }
  > {
    return [...this.deviceCodes.values()]
      .filter((g) => g.state === 'pending' && this.now() < g.expiresAtMs)
      .map((g) => ({
        userCode: g.userCode,
        clientId: g.clientId,
        scopes: g.scopes,
        expiresAt: new Date(g.expiresAtMs).toISOString(),
      }));
  }

  /** The device_code grant: pending until answered; one use. */
  redeemDeviceCode(deviceCode: string, clientId: string): DeviceCodeGrant & { user: SimUser } {
    const grant = this.deviceCodes.get(deviceCode);
    if (!grant || grant.clientId !== clientId) {
      throw oauthError(
        400,
        'bad_verification_code',
        AADSTS.invalidGrant,
        'The device_code is not known to this tenant or was issued to another client.',
      );
    }
    if (grant.state === 'declined') {
      this.deviceCodes.delete(deviceCode);
      throw oauthError(
        400,
        'authorization_declined',
        AADSTS.invalidGrant,
        'The end user denied the authorization request.',
      );
    }
    if (this.now() >= grant.expiresAtMs) {
      this.deviceCodes.delete(deviceCode);
      throw oauthError(
        400,
        'expired_token',
        AADSTS.expiredDeviceCode,
        'The device code has expired. Start the sign-in again.',
      );
    }
    if (grant.state === 'pending' || !grant.user) {
      throw oauthError(
        400,
        'authorization_pending',
        AADSTS.authorizationPending,
        'The provided request has not yet been authorized by the user. The user must input ' +
          'their code.',
      );
    }
    this.deviceCodes.delete(deviceCode);
    this.counts.deviceCodes++;
    return grant as DeviceCodeGrant & { user: SimUser };
  }

  issueRefreshToken(user: SimUser, clientId: string, scopes: string[]): string {
    const token = opaqueToken();
    this.refreshTokens.set(token, { user, clientId, scopes, issuedAtMs: this.now() });
    return token;
  }

  /** The refresh_token grant: refused once the user's tokens were revoked after it was issued. */
  redeemRefreshToken(token: string, clientId: string): RefreshGrant {
    const grant = this.refreshTokens.get(token);
    if (!grant || grant.clientId !== clientId) {
      throw oauthError(
        400,
        'invalid_grant',
        AADSTS.invalidGrant,
        'The refresh token is malformed, unknown, or was issued to another client.',
      );
    }
    const validFrom = this.validFromMs.get(grant.user.upn);
    if (validFrom !== undefined && grant.issuedAtMs <= validFrom) {
      this.counts.refused++;
      const issued = new Date(grant.issuedAtMs).toISOString();
      throw oauthError(
        400,
        'invalid_grant',
        AADSTS.grantRevoked,
        `The provided grant has expired due to it being revoked, a fresh auth token is needed. ` +
          `The user might have changed or reset their password. The grant was issued on '` +
          `${issued}' and the TokensValidFrom date (before which tokens are not valid) for ` +
          `this user is '${new Date(validFrom).toISOString()}'.`,
      );
    }
    this.counts.refreshed++;
    return grant;
  }

  /**
   * What "revoke sessions" does in the admin center: every refresh token issued so far stops
   * working.
   */
  revokeUser(upn: string): { upn: string; tokensValidFrom: string; revoked: number } {
    const key = upn.toLowerCase();
    const at = this.now();
    this.validFromMs.set(key, at);
    const revoked = [...this.refreshTokens.values()].filter(
      (g) => g.user.upn === key && g.issuedAtMs <= at,
    ).length;
    return { upn: key, tokensValidFrom: new Date(at).toISOString(), revoked };
  }

  clear(): void {
    this.deviceCodes.clear();
    this.refreshTokens.clear();
    this.validFromMs.clear();
  }
}

/** Eight letters and digits without look-alikes, as the verification page asks for. */
function userCode(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return [...randomBytes(8)].map((b) => alphabet[b % alphabet.length]).join('');
}

function uuidFrom(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return (
    `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-` +
    `${hex.slice(20, 32)}`
  );
}
