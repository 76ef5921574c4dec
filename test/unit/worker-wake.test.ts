// The worker's pause: it wakes when the ledger's work falls due, ignores a lease a live worker
// renewed, and backs off after a failed cycle instead of waiting out the interval.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CycleResult, Runtime } from '../../src/sync/cycle.js';
import { emptyInboundStats, emptyOutboundStats } from '../../src/sync/types.js';
import { Worker } from '../../src/worker/worker.js';
import type { NextDue } from '../../src/ledger/index.js';

const INTERVAL_MS = 60_000;

function quietCycle(): CycleResult {
  return {
    inbound: emptyInboundStats(),
    outbound: emptyOutboundStats(),
    outbox: { sent: 0, failed: 0, superseded: 0, quarantined: 0, byKind: {} },
    targetsDown: [],
  };
}

interface Script {
  /** What each cycle does, in turn (an Error is thrown); later cycles are quiet. */
  cycles?: Array<CycleResult | Error>;
  /** What nextDue answers after each cycle, in turn (in ms from now); later: nothing due. */
  due?: Array<{ inMs: number; leaseOnly: boolean } | null>;
  /** What claimsExpired answers, in turn; later: true. */
  expired?: boolean[];
}

function startWorker(script: Script): { worker: Worker; cycles: () => number } {
  let cycles = 0;
  let dueCalls = 0;
  let expiredCalls = 0;
  const runtime = {
    syncOnce: async () => {
      const result = script.cycles?.[cycles] ?? quietCycle();
      cycles++;
      if (result instanceof Error) throw result;
      return result;
    },
    nextDue: async (): Promise<NextDue | null> => {
      const next = script.due?.[dueCalls] ?? null;
      dueCalls++;
      if (!next) return null;
      return { at: new Date(Date.now() + next.inMs).toISOString(), leaseOnly: next.leaseOnly };
    },
    claimsExpired: async () => {
      const expired = script.expired?.[expiredCalls] ?? true;
      expiredCalls++;
      return expired;
    },
  } as unknown as Runtime;
  const worker = new Worker({
    runtime: async () => runtime,
    intervalMs: () => INTERVAL_MS,
    jitterMs: () => 0,
  });
  void worker.run();
  return { worker, cycles: () => cycles };
}

describe('worker wake-ups', () => {
  let worker: Worker | null = null;
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(async () => {
    const stopping = worker?.stop();
    await vi.runOnlyPendingTimersAsync();
    await stopping;
    worker = null;
    vi.useRealTimers();
  });

  it('runs the next cycle when a retry falls due, not a whole interval later', async () => {
    const run = startWorker({ due: [{ inMs: 12_000, leaseOnly: false }] });
    worker = run.worker;
    await vi.advanceTimersByTimeAsync(11_900);
    expect(run.cycles()).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(run.cycles()).toBe(2);
    // Nothing else is due: the third cycle waits for the interval.
    await vi.advanceTimersByTimeAsync(59_000);
    expect(run.cycles()).toBe(2);
    await vi.advanceTimersByTimeAsync(1_200);
    expect(run.cycles()).toBe(3);
  });

  it('never wakes sooner than a second after a cycle, however close the due time', async () => {
    const run = startWorker({ due: [{ inMs: 10, leaseOnly: false }] });
    worker = run.worker;
    await vi.advanceTimersByTimeAsync(900);
    expect(run.cycles()).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(run.cycles()).toBe(2);
  });

  it('sleeps on when the lease it woke for was renewed, and cycles once one runs out', async () => {
    const run = startWorker({
      due: [
        { inMs: 5_000, leaseOnly: true },
        { inMs: 5_000, leaseOnly: true },
      ],
      expired: [false, true],
    });
    worker = run.worker;
    await vi.advanceTimersByTimeAsync(5_100);
    expect(run.cycles()).toBe(1);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(run.cycles()).toBe(2);
  });

  it('retries a failed cycle after 5 s, then 10 s; a good one waits the interval', async () => {
    const run = startWorker({
      cycles: [new Error('Partner Center answered 503'), new Error('503')],
    });
    worker = run.worker;
    await vi.advanceTimersByTimeAsync(4_900);
    expect(run.cycles()).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(run.cycles()).toBe(2);
    await vi.advanceTimersByTimeAsync(9_800);
    expect(run.cycles()).toBe(2);
    await vi.advanceTimersByTimeAsync(200);
    expect(run.cycles()).toBe(3);
    await vi.advanceTimersByTimeAsync(59_000);
    expect(run.cycles()).toBe(3);
    await vi.advanceTimersByTimeAsync(1_200);
    expect(run.cycles()).toBe(4);
  });
});
