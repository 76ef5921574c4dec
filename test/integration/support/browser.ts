// Debian's Chromium for the browser tests: headless through playwright-core, or why they skip.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

/** Screenshots go here (gitignored), one file per page. */
export const SCREENSHOT_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../test-output/console',
);

/**
 * Why the browser tests cannot run here, or null when they can. In CI (CI=true) a missing browser
 * is a failure:
 * `.ci/run` installs it.
 */
export function browserMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  const message = `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)`;
  if (process.env.CI === 'true') throw new Error(`browser tests cannot run on CI: ${message}`);
  return message;
}

export async function launchChromium(): Promise<Browser> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}
