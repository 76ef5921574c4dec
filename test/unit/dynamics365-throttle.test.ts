// The Dataverse service-protection gate: a 429 holds the user's whole queue for Retry-After; low
// budget headers slow it.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/core/log.js';
import { ServiceProtectionGate } from '../../src/crm/dynamics365/throttle.js';

function fakeQueue(concurrency = 8) {
  const calls: string[] = [];
  return {
    calls,
    concurrency,
    pause: () => void calls.push('pause'),
    start: () => void calls.push('start'),
  };
}

afterEach(() => vi.useRealTimers());

describe('ServiceProtectionGate', () => {
  it(
    'pauses the queue on a 429 until its Retry-After has passed, and a later, longer one ' +
      'extends the hold',
    () => {
      vi.useFakeTimers();
      const queue = fakeQueue();
      const gate = new ServiceProtectionGate(queue, silentLogger);
      gate.observe({ status: 429, headers: { 'retry-after': '2' } });
      expect(queue.calls).toEqual(['pause']);
      vi.advanceTimersByTime(1_000);
      gate.observe({ status: 429, headers: { 'retry-after': '3' } });
      vi.advanceTimersByTime(1_999);
      expect(queue.calls).toEqual(['pause', 'pause']);
      vi.advanceTimersByTime(1_001);
      expect(queue.calls).toEqual(['pause', 'pause', 'start']);
    },
  );

  it(
    'sends one request at a time while either budget header is low, and returns to the ' +
      'configured concurrency after',
    () => {
      const queue = fakeQueue(8);
      const gate = new ServiceProtectionGate(queue, silentLogger);
      gate.observe({
        status: 200,
        headers: {
          'x-ms-ratelimit-burst-remaining-xrm-requests': '4000',
          'x-ms-ratelimit-time-remaining-xrm-requests': '1,199.50',
        },
      });
      expect([queue.concurrency, gate.slowedDown]).toEqual([8, false]);
      gate.observe({
        status: 200,
        headers: {
          'x-ms-ratelimit-burst-remaining-xrm-requests': '49',
          'x-ms-ratelimit-time-remaining-xrm-requests': '1100',
        },
      });
      expect([queue.concurrency, gate.slowedDown]).toEqual([1, true]);
      gate.observe({
        status: 200,
        headers: {
          'x-ms-ratelimit-burst-remaining-xrm-requests': '5000',
          'x-ms-ratelimit-time-remaining-xrm-requests': '30.5',
        },
      });
      expect(queue.concurrency).toBe(1);
      gate.observe({
        status: 200,
        headers: {
          'x-ms-ratelimit-burst-remaining-xrm-requests': '5000',
          'x-ms-ratelimit-time-remaining-xrm-requests': '900',
        },
      });
      expect([queue.concurrency, gate.slowedDown]).toEqual([8, false]);
      // A response without the headers (e.g. a token endpoint) changes nothing.
      gate.observe({ status: 200, headers: {} });
      expect(queue.concurrency).toBe(8);
    },
  );
});
