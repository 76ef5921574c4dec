// The worker's health problems after a cycle: a target down is one; an outcome read refused for
// want of a sign-in is the sign-in's.
import { describe, expect, it } from 'vitest';
import type { CycleResult, Runtime } from '../../src/sync/cycle.js';
import { emptyInboundStats, emptyOutboundStats, type TargetFailure } from '../../src/sync/types.js';
import { LeadbridgeError } from '../../src/core/errors.js';
import { Worker } from '../../src/worker/worker.js';

function cycleWith(targetsDown: TargetFailure[]): CycleResult {
  return {
    inbound: emptyInboundStats(),
    outbound: emptyOutboundStats(),
    outbox: { sent: 0, failed: 0, superseded: 0, quarantined: 0, byKind: {} },
    targetsDown,
  };
}

/**
 * Runs one worker cycle per result and returns the problems (cause, reason, threshold) seen after
 * each.
 */
async function problemsAfter(
  results: Array<CycleResult | Error>,
): Promise<Array<Array<{ cause: string; reason: string; thresholdSeconds?: number }>>> {
  const seen: Array<Array<{ cause: string; reason: string; thresholdSeconds?: number }>> = [];
  let next = 0;
  const runtime = {
    syncOnce: async () => {
      const result = results[next++]!;
      if (result instanceof Error) throw result;
      return result;
    },
  } as unknown as Runtime;
  const worker: Worker = new Worker({
    runtime: async () => runtime,
    intervalMs: () => 0,
    jitterMs: () => 0,
    onCycle: async () => {
      seen.push(
        worker.problems.list().map(({ cause, reason, thresholdSeconds }) => ({
          cause,
          reason,
          ...(thresholdSeconds !== undefined ? { thresholdSeconds } : {}),
        })),
      );
      if (seen.length === results.length) void worker.stop();
    },
  });
  await worker.run();
  return seen;
}

describe('worker health problems', () => {
  it('names a target that failed as a whole, and clears it after a good cycle', async () => {
    const down: TargetFailure = {
      target: 'salesforce',
      stage: 'writing referrals',
      code: 'AUTH_FAILED',
      message: 'INVALID_SESSION_ID: Session expired or invalid',
    };
    expect(await problemsAfter([cycleWith([down]), cycleWith([])])).toEqual([
      [
        {
          cause: 'target:salesforce',
          reason:
            'target "salesforce" failed as a whole: salesforce (writing referrals): ' +
            'INVALID_SESSION_ID: Session expired or invalid [AUTH_FAILED]',
        },
      ],
      [],
    ]);
  });

  it(
    'reports an outcome read refused for want of a Partner Center sign-in as the sign-in ' +
      '(failing at once), not as the target',
    async () => {
      const lost: TargetFailure = {
        target: 'dynamics',
        stage: 'reading outcomes',
        code: 'SIGN_IN_REQUIRED',
        message:
          'partner-center: the sign-in is no longer valid (invalid_grant); sign in again: ' +
          'leadbridge login partner-center',
      };
      expect(await problemsAfter([cycleWith([lost]), cycleWith([])])).toEqual([
        [
          {
            cause: 'partner-center-sign-in',
            reason:
              'partner-center: the sign-in is no longer valid (invalid_grant); sign in again: ' +
              'leadbridge login partner-center',
            thresholdSeconds: 0,
          },
        ],
        [],
      ]);
    },
  );

  it(
    'lists a cycle that failed on a refused credential at once, failing (threshold 0), until a ' +
      'good cycle',
    async () => {
      const refused = new LeadbridgeError(
        'AUTH_FAILED',
        'could not get a token for partner-center: invalid_client',
      );
      expect(await problemsAfter([refused, cycleWith([])])).toEqual([
        [
          {
            cause: 'cycle-failed',
            reason:
              'the last cycle failed: could not get a token for partner-center: invalid_client ' +
              '[AUTH_FAILED]',
            thresholdSeconds: 0,
          },
        ],
        [],
      ]);
    },
  );

  it('lists any other failed cycle without failing at once (threshold maxAgeSeconds)', async () => {
    const down = new LeadbridgeError('NETWORK_ERROR', 'partner-center: connect ECONNREFUSED');
    expect(await problemsAfter([down, cycleWith([])])).toEqual([
      [
        {
          cause: 'cycle-failed',
          reason: 'the last cycle failed: partner-center: connect ECONNREFUSED [NETWORK_ERROR]',
        },
      ],
      [],
    ]);
  });
});
