// The encrypted token cache file: owner-only, unreadable without the key, and a clear
// SIGN_IN_REQUIRED when the key is wrong.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeadbridgeError } from '../../src/core/errors.js';
import { EncryptedTokenCacheFile } from '../../src/source/partner-center/token-cache.js';

const KEY = Buffer.from('8f3a61c2d4b7e90f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081', 'hex');
const OTHER_KEY = Buffer.from(
  '0000000000000000000000000000000000000000000000000000000000000001',
  'hex',
);
const SOURCE = 'source.partnerCenter.auth.tokenCache.key';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-token-cache-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('EncryptedTokenCacheFile', () => {
  it(
    'writes mode 0600 in a 0700 folder, keeps nothing in clear, and reads back what it ' + 'wrote',
    async () => {
      const file = path.join(dir, 'fresh', 'cache.json');
      const cache = new EncryptedTokenCacheFile(file, KEY, SOURCE);
      expect(await cache.read()).toBeNull();
      await cache.write({
        msal: '{"RefreshToken":{"secret":"rt-secret-value"}}',
        signedInAt: '2026-12-04T15:00:00.000Z',
      });
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
      const text = await readFile(file, 'utf8');
      expect(text).not.toContain('rt-secret-value');
      expect(text).not.toContain('RefreshToken');
      expect(Object.keys(JSON.parse(text) as object)).toEqual([
        'format',
        'cipher',
        'iv',
        'tag',
        'data',
      ]);
      expect(await cache.read()).toEqual({
        msal: '{"RefreshToken":{"secret":"rt-secret-value"}}',
        signedInAt: '2026-12-04T15:00:00.000Z',
      });
    },
  );

  it('narrows a wider mode left on an existing file back to 0600', async () => {
    const file = path.join(dir, 'wide.json');
    await writeFile(file, 'old', { mode: 0o644 });
    await new EncryptedTokenCacheFile(file, KEY, SOURCE).write({ msal: '{}', signedInAt: null });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it(
    'refuses with SIGN_IN_REQUIRED, naming the file and the key setting, when the key is not ' +
      'the one that wrote it',
    async () => {
      const file = path.join(dir, 'other-key.json');
      await new EncryptedTokenCacheFile(file, KEY, SOURCE).write({ msal: '{}', signedInAt: null });
      const error = await new EncryptedTokenCacheFile(file, OTHER_KEY, SOURCE)
        .read()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LeadbridgeError);
      expect((error as LeadbridgeError).code).toBe('SIGN_IN_REQUIRED');
      expect((error as LeadbridgeError).message).toBe(
        `the token cache ${file} cannot be used (it does not decrypt with the key from ${SOURCE}` +
          `: a different key, or a damaged file); sign in again: leadbridge login partner-center`,
      );
    },
  );
});
