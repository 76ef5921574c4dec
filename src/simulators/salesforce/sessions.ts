// Access tokens of the simulated org: which bearer tokens are valid, issuing new ones, expiring
// them all.
import { randomBytes } from 'node:crypto';
import { ORG_ID } from './route-helpers.js';

export class SessionRegistry {
  /** null: any non-empty token is accepted (until expired). */
  private readonly valid: Set<string> | null;
  private readonly configured: readonly string[] | undefined;
  private readonly expired = new Set<string>();
  /** Tokens accepted so far, so that expireAll() can revoke the ones in use. */
  private readonly seen = new Set<string>();

  constructor(validTokens?: readonly string[]) {
    this.configured = validTokens;
    this.valid = validTokens ? new Set(validTokens) : null;
  }

  /** A fresh token shaped like the platform's (`00D...!...`), valid from now on. */
  issue(): string {
    const token = `${ORG_ID.slice(0, 15)}!${randomBytes(48).toString('base64url')}`;
    this.valid?.add(token);
    return token;
  }

  accepts(token: string): boolean {
    if (token === '' || this.expired.has(token)) return false;
    if (this.valid && !this.valid.has(token)) return false;
    this.seen.add(token);
    return true;
  }

  /** Every token valid or in use now becomes INVALID_SESSION_ID; tokens issued later work. */
  expireAll(): void {
    for (const token of [...this.seen, ...(this.valid ?? [])]) this.expired.add(token);
    this.seen.clear();
    this.valid?.clear();
  }

  /** Back to the configured tokens, nothing expired. */
  reset(): void {
    this.expired.clear();
    this.seen.clear();
    if (this.valid) {
      this.valid.clear();
      for (const token of this.configured ?? []) this.valid.add(token);
    }
  }
}
