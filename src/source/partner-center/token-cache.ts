// The Partner Center sign-in's token cache on disk: one file, mode 0600, AES-256-GCM with a key
// from the config.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LeadbridgeError } from '../../core/errors.js';

const FORMAT = 'leadbridge-token-cache/1';
const CIPHER = 'aes-256-gcm';

/**
 * What the file holds once decrypted: msal's serialized cache, and when `leadbridge login` last
 * succeeded.
 */
export interface TokenCacheContents {
  msal: string;
  signedInAt: string | null;
}

interface Envelope {
  format: string;
  cipher: string;
  iv: string;
  tag: string;
  data: string;
}

export class EncryptedTokenCacheFile {
  constructor(
    readonly file: string,
    private readonly key: Buffer,
    /** Names where the key comes from, in errors (never the key itself). */
    private readonly keySource: string,
  ) {
    if (key.length !== 32)
      throw new LeadbridgeError(
        'CONFIG_INVALID',
        `the token cache key must be 32 bytes (got ${key.length}); ${keySource}`,
      );
  }

  /** The contents, or null when no sign-in has written the file yet. */
  async read(): Promise<TokenCacheContents | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new LeadbridgeError(
        'SIGN_IN_REQUIRED',
        `cannot read the token cache ${this.file}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return this.decrypt(text);
  }

  /** Replaces the file atomically (write beside it, then rename), readable by its owner only. */
  async write(contents: TokenCacheContents): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const iv = randomBytes(12);
    const cipher = createCipheriv(CIPHER, this.key, iv);
    const data = Buffer.concat([cipher.update(JSON.stringify(contents), 'utf8'), cipher.final()]);
    const envelope: Envelope = {
      format: FORMAT,
      cipher: CIPHER,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    };
    const temporary = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temporary, `${JSON.stringify(envelope)}\n`, { mode: 0o600 });
    await chmod(temporary, 0o600); // in case the file existed with wider bits
    await rename(temporary, this.file);
  }

  private decrypt(text: string): TokenCacheContents {
    const unreadable = (why: string, cause?: unknown) =>
      new LeadbridgeError(
        'SIGN_IN_REQUIRED',
        `the token cache ${this.file} cannot be used (${why}); sign in again: leadbridge login ` +
          `partner-center`,
        { cause },
      );
    let envelope: Envelope;
    try {
      envelope = JSON.parse(text) as Envelope;
    } catch (error) {
      throw unreadable('not a leadbridge token cache file', error);
    }
    if (envelope?.format !== FORMAT || envelope.cipher !== CIPHER)
      throw unreadable(`unknown format ${JSON.stringify(envelope?.format)}`);
    try {
      const decipher = createDecipheriv(CIPHER, this.key, Buffer.from(envelope.iv, 'base64'));
      decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
      const plain = Buffer.concat([
        decipher.update(Buffer.from(envelope.data, 'base64')),
        decipher.final(),
      ]).toString('utf8');
      const contents = JSON.parse(plain) as TokenCacheContents;
      return { msal: String(contents.msal ?? ''), signedInAt: contents.signedInAt ?? null };
    } catch (error) {
      throw unreadable(
        `it does not decrypt with the key from ${this.keySource}: a different key, or a ` +
          `damaged file`,
        error,
      );
    }
  }
}
