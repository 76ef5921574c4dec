// Opaque, signed $skiptoken values: the keyset position of a page and a fingerprint of the query it
// belongs to.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface SkipToken {
  /** Fingerprint of the query options the token was issued for. */
  query: string;
  /** Sort key and id of the last referral served. */
  key: string;
  id: string;
  /** Referrals served so far over all pages, for $top. */
  returned: number;
  /**
   * The query options of the listing, so that a nextLink carrying only `$skiptoken` (the documented
   * form,
   * get-a-list-of-referrals.md) continues the same query.
   */
  options: Array<[name: string, value: string]>;
}

/**
 * Tokens are signed with a per-simulator secret, so a tampered or foreign token is recognised (and
 * refused).
 */
export class SkipTokenCodec {
  private readonly secret = randomBytes(32);

  encode(token: SkipToken): string {
    const body = Buffer.from(
      JSON.stringify([token.query, token.key, token.id, token.returned, token.options]),
    ).toString('base64url');
    return `${body}.${this.sign(body)}`;
  }

  /** The token, or null when it was not issued by this simulator or has been altered. */
  decode(text: string): SkipToken | null {
    const [body, signature, extra] = text.split('.');
    if (!body || !signature || extra !== undefined) return null;
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    try {
      const [query, key, id, returned, options] = JSON.parse(
        Buffer.from(body, 'base64url').toString('utf8'),
      ) as unknown[];
      if (typeof query !== 'string' || typeof key !== 'string' || typeof id !== 'string')
        return null;
      if (typeof returned !== 'number' || !Number.isInteger(returned) || returned < 0) return null;
      if (!Array.isArray(options)) return null;
      return { query, key, id, returned, options: options as SkipToken['options'] };
    } catch {
      return null;
    }
  }

  private sign(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url').slice(0, 22);
  }
}

/**
 * A short digest of the query options (as given), so a token only continues the query it came from.
 */
export function queryFingerprint(options: readonly (string | null)[]): string {
  return createHash('sha256').update(JSON.stringify(options)).digest('base64url').slice(0, 16);
}
