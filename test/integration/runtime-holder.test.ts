// A config change while the worker runs: picked up at the next cycle, or refused with the reason
// (the old one stays).
import { readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/core/log.js';
import { RuntimeHolder } from '../../src/cli/runtime-holder.js';
import { startHarness, type Harness } from './support/harness.js';

let harness: Harness;
let holder: RuntimeHolder | undefined;
afterEach(async () => {
  await holder?.close();
  await harness?.close();
});

function recordingLogger(lines: string[]): Logger {
  const logger: Logger = {
    debug: () => {},
    info: (m, f) => void lines.push(`info ${m} ${JSON.stringify(f ?? {})}`),
    warn: (m, f) => void lines.push(`warn ${m} ${JSON.stringify(f ?? {})}`),
    error: (m, f) => void lines.push(`error ${m} ${JSON.stringify(f ?? {})}`),
    child: () => logger,
  };
  return logger;
}

/**
 * Writes the file and moves its modification time forward, so the change is seen even within one
 * clock tick.
 */
async function rewrite(file: string, text: string, secondsAhead: number): Promise<void> {
  await writeFile(file, text);
  const at = new Date(Date.now() + secondsAhead * 1000);
  await utimes(file, at, at);
}

describe('RuntimeHolder', () => {
  it(
    'picks up a valid change between cycles and keeps the running config when a change is ' +
      'invalid',
    async () => {
      harness = await startHarness({ referrals: 0 });
      const file = path.join(harness.dir, 'leadbridge.yaml');
      const yaml = [
        'source:',
        `  partnerCenter: { baseUrl: ${harness.pc.url}, auth: { kind: static, token: t } }`,
        'targets:',
        `  - { name: dynamics, kind: dynamics365, settings: { url: ${harness.dynamics.url}, ` +
          `auth: { kind: static, token: t } } }`,
        `ledger: { filename: ${path.join(harness.dir, 'ledger.sqlite')} }`,
        'worker: { intervalSeconds: 60 }',
        '',
      ].join('\n');
      await writeFile(file, yaml);
      const lines: string[] = [];
      holder = new RuntimeHolder({
        configFile: file,
        env: {},
        cwd: harness.dir,
        logger: recordingLogger(lines),
      });
      const first = await holder.start();
      expect(await holder.forNextCycle()).toBe(first);

      await rewrite(file, yaml.replace('intervalSeconds: 60', 'intervalSeconds: 5'), 5);
      const second = await holder.forNextCycle();
      expect(second).not.toBe(first);
      expect(holder.config?.worker.intervalSeconds).toBe(5);
      expect(lines.at(-1)).toContain(
        'info the config or a mapping changed: picked up for this cycle',
      );

      await rewrite(
        file,
        (await readFile(file, 'utf8')).replace('intervalSeconds: 5', 'intervalSeconds: soon'),
        10,
      );
      expect(await holder.forNextCycle()).toBe(second);
      expect(holder.config?.worker.intervalSeconds).toBe(5);
      expect(lines.at(-1)).toMatch(
        new RegExp(
          String.raw`^error the config or a mapping changed but cannot be used; the worker` +
            String.raw` keeps the previous one .*worker\.intervalSeconds`,
        ),
      );
    },
  );
});
