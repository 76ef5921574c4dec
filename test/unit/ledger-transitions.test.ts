// The ledger's transition tables and the pure sync-state planner: legal moves, derived terminal
// states, retry bookkeeping.
import { describe, expect, it } from 'vitest';
import { LeadbridgeError } from '../../src/core/errors.js';
import { OUTBOX_TERMINAL_STATES, OUTBOX_TRANSITIONS } from '../../src/ledger/outbox.js';
import { RUN_TRANSITIONS } from '../../src/ledger/runs.js';
import { planSyncStateMoves } from '../../src/ledger/sync-state-moves.js';
import {
  SYNC_STATES,
  SYNC_TERMINAL_STATES,
  SYNC_TRANSITIONS,
  type SyncStateChange,
  type SyncStateRow,
} from '../../src/ledger/sync-state.js';
import {
  assertMove,
  canMove,
  statesThatMayMoveTo,
  terminalStates,
} from '../../src/ledger/transitions.js';

const NOW = '2026-11-24T10:00:00.000Z';
const TARGET = 'crm:dynamics';

function row(
  referralId: string,
  state: SyncStateRow['state'],
  extra: Partial<SyncStateRow> = {},
): SyncStateRow {
  return {
    referralId,
    target: TARGET,
    state,
    attempts: 0,
    nextRetryAt: null,
    lastError: null,
    lastErrorCode: null,
    quarantineReason: null,
    updatedAt: '2026-11-20T00:00:00.000Z',
    runId: 'run-0',
    ...extra,
  };
}

function plan(current: SyncStateRow[], changes: SyncStateChange[]): SyncStateRow[] {
  return planSyncStateMoves(TARGET, new Map(current.map((r) => [r.referralId, r])), changes, NOW);
}

function thrown(fn: () => unknown): LeadbridgeError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(LeadbridgeError);
    expect((error as LeadbridgeError).code).toBe('LEDGER_ERROR');
    return error as LeadbridgeError;
  }
  throw new Error('expected a LEDGER_ERROR');
}

describe('SYNC_TRANSITIONS', () => {
  it('allows exactly the documented moves', () => {
    const legal = SYNC_STATES.flatMap((from) =>
      SYNC_STATES.filter((to) => canMove(SYNC_TRANSITIONS, from, to)).map((to) => `${from}→${to}`),
    );
    expect(legal).toEqual([
      'pending→applied',
      'pending→failed',
      'pending→quarantined',
      'applied→pending',
      'failed→pending',
      'failed→applied',
      'failed→failed',
      'failed→quarantined',
      'quarantined→pending',
      'quarantined→failed',
    ]);
  });

  it(
    'has no terminal state, and only failed rows can be claimed back to pending by a ' + 'retry',
    () => {
      expect(SYNC_TERMINAL_STATES).toEqual([]);
      expect(statesThatMayMoveTo(SYNC_TRANSITIONS, 'pending')).toEqual([
        'failed',
        'applied',
        'quarantined',
      ]);
    },
  );
});

describe('OUTBOX_TRANSITIONS and RUN_TRANSITIONS', () => {
  it('derive their terminal states from the table', () => {
    expect(OUTBOX_TERMINAL_STATES).toEqual(['sent', 'superseded']);
    expect(terminalStates(RUN_TRANSITIONS)).toEqual(['ok', 'failed', 'aborted']);
  });

  it('let a claim pick up pending and failed outcomes only', () => {
    expect(statesThatMayMoveTo(OUTBOX_TRANSITIONS, 'sending')).toEqual(['pending', 'failed']);
  });

  it('name the move, the row and what is allowed when a move is illegal', () => {
    expect(
      thrown(() => assertMove(OUTBOX_TRANSITIONS, 'outbox', 'pending', 'sent', 'for outbox row 7'))
        .message,
    ).toBe(
      'illegal outbox move pending → sent for outbox row 7 (pending may move to: sending, ' +
        'quarantined, superseded)',
    );
    expect(
      thrown(() => assertMove(RUN_TRANSITIONS, 'run', 'aborted', 'ok', 'for run "r1"')).message,
    ).toBe('illegal run move aborted → ok for run "r1" (aborted may move to: nothing (terminal))');
    expect(() => assertMove(RUN_TRANSITIONS, 'run', 'running', 'ok', 'for run "r1"')).not.toThrow();
  });
});

describe('planSyncStateMoves', () => {
  it('creates a row in any state for a referral seen for the first time', () => {
    expect(plan([], [{ referralId: 'R1', to: 'applied', runId: 'run-1' }])).toEqual([
      { ...row('R1', 'applied'), updatedAt: NOW, runId: 'run-1' },
    ]);
    expect(
      plan(
        [],
        [
          {
            referralId: 'R2',
            to: 'failed',
            error: { code: 'HTTP_ERROR', message: 'boom' },
            nextRetryAt: '2026-11-24T11:00:00+01:00',
          },
        ],
      ),
    ).toEqual([
      {
        ...row('R2', 'failed'),
        attempts: 1,
        nextRetryAt: '2026-11-24T10:00:00.000Z',
        lastError: 'boom',
        lastErrorCode: 'HTTP_ERROR',
        updatedAt: NOW,
        runId: null,
      },
    ]);
  });

  it(
    'counts attempts on failure, keeps the error while pending, and resets everything once ' +
      'applied',
    () => {
      const failure = { code: 'HTTP_ERROR', message: 'Dataverse said 503' };
      const [failedAgain] = plan(
        [row('R1', 'failed', { attempts: 2, lastError: 'old' })],
        [{ referralId: 'R1', to: 'failed', error: failure }],
      );
      expect(failedAgain).toMatchObject({
        attempts: 3,
        nextRetryAt: null,
        lastError: 'Dataverse said 503',
        lastErrorCode: 'HTTP_ERROR',
      });
      const [pending] = plan(
        [
          row('R1', 'failed', {
            attempts: 3,
            nextRetryAt: NOW,
            lastError: 'x',
            lastErrorCode: 'E',
          }),
        ],
        [{ referralId: 'R1', to: 'pending' }],
      );
      expect(pending).toMatchObject({
        state: 'pending',
        attempts: 3,
        nextRetryAt: null,
        lastError: 'x',
        lastErrorCode: 'E',
      });
      const [applied] = plan(
        [row('R1', 'pending', { attempts: 3, lastError: 'x', lastErrorCode: 'E' })],
        [{ referralId: 'R1', to: 'applied' }],
      );
      expect(applied).toMatchObject({
        state: 'applied',
        attempts: 0,
        nextRetryAt: null,
        lastError: null,
        lastErrorCode: null,
        quarantineReason: null,
      });
    },
  );

  it('records why a referral was quarantined and forgets it when the referral is re-opened', () => {
    const [quarantined] = plan(
      [row('R1', 'failed', { attempts: 5 })],
      [
        {
          referralId: 'R1',
          to: 'quarantined',
          error: { code: 'HTTP_ERROR', message: 'rejected 5 times' },
        },
      ],
    );
    expect(quarantined).toMatchObject({
      state: 'quarantined',
      attempts: 5,
      quarantineReason: 'rejected 5 times',
      lastErrorCode: 'HTTP_ERROR',
    });
    const [reopened] = plan(
      [quarantined!],
      [{ referralId: 'R1', to: 'pending', runId: 'run-resync' }],
    );
    expect(reopened).toMatchObject({
      state: 'pending',
      quarantineReason: null,
      runId: 'run-resync',
    });
  });

  it(
    'applies several moves of one referral in order, checking each against the state ' +
      'before it',
    () => {
      expect(
        plan(
          [row('R1', 'applied')],
          [
            { referralId: 'R1', to: 'pending' },
            { referralId: 'R1', to: 'quarantined', quarantineReason: 'mapping rejected it' },
          ],
        ),
      ).toEqual([
        { ...row('R1', 'quarantined'), quarantineReason: 'mapping rejected it', updatedAt: NOW },
      ]);
      const error = thrown(() =>
        plan(
          [],
          [
            { referralId: 'R1', to: 'applied' },
            { referralId: 'R1', to: 'applied' },
          ],
        ),
      );
      expect(error.message).toBe(
        'illegal sync-state move applied → applied for referral "R1" on target "crm:dynamics" ' +
          '(applied may move to: pending)',
      );
    },
  );

  it('rejects a move the table does not allow, naming referral and target', () => {
    expect(
      thrown(() => plan([row('R9', 'quarantined')], [{ referralId: 'R9', to: 'applied' }])).message,
    ).toBe(
      'illegal sync-state move quarantined → applied for referral "R9" on target ' +
        '"crm:dynamics" (quarantined may move to: pending, failed)',
    );
  });

  it('rejects a retry time that is not a timestamp', () => {
    expect(
      thrown(() => plan([], [{ referralId: 'R1', to: 'failed', nextRetryAt: 'tomorrow' }])).message,
    ).toBe(
      'nextRetryAt for referral "R1" on target "crm:dynamics": "tomorrow" is not an ISO-8601 ' +
        'timestamp',
    );
  });
});
