// `leadbridge login partner-center`: the one-time device code sign-in that the worker's silent
// refresh lives on.
import type { LeadbridgeConfig } from '../config/index.js';
import { LeadbridgeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { DeviceCodePrompt, SignedInAccount } from '../source/partner-center/sign-in.js';
import { userSignInFor } from './compose.js';

export interface LoginOptions {
  config: LeadbridgeConfig;
  logger: Logger;
  out: NodeJS.WritableStream;
  signal?: AbortSignal;
  /** Called with the code as well as printing it (the demo approves it through the simulator). */
  onCode?: (code: DeviceCodePrompt) => void | Promise<void>;
}

export async function runLogin({
  config,
  logger,
  out,
  signal,
  onCode,
}: LoginOptions): Promise<SignedInAccount> {
  const auth = config.source.partnerCenter.auth;
  if (auth.kind !== 'user') {
    throw new LeadbridgeError(
      'CONFIG_INVALID',
      `source.partnerCenter.auth.kind is "${auth.kind}": there is nothing to sign in to. Set ` +
        `kind: user (App+User, the sign-in the referral API documents) to use "leadbridge ` +
        `login partner-center".`,
    );
  }
  const signIn = userSignInFor(auth, logger);
  const account = await signIn.login(async (code) => {
    out.write(
      `${code.message}\n(code ${code.userCode} at ${code.verificationUri}; it expires in ` +
        `${Math.round(code.expiresInSeconds / 60)} minutes)\nwaiting for the sign-in...\n`,
    );
    await onCode?.(code);
  }, signal);
  out.write(
    `signed in to Partner Center as ${account.username}; the token cache is ${signIn.cacheFile}` +
      ` (owner-only, encrypted). The worker uses it from its next cycle.\n`,
  );
  return account;
}
