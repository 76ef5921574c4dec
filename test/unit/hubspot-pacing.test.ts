// The HubSpot adapter's request window on a fake clock (no timers), and the wait a 429 asks for.
import { describe, expect, it } from 'vitest';
import { callError } from '../../src/crm/hubspot/errors.js';
import { RequestWindow, type PacingClock } from '../../src/crm/hubspot/pacing.js';

function fakeClock() {
  const slept: number[] = [];
  let now = 1_000_000;
  const clock: PacingClock = {
    now: () => now,
    async sleep(ms) {
      slept.push(ms);
      now += ms;
    },
  };
  return { clock, slept, advance: (ms: number) => (now += ms), now: () => now };
}

describe('HubSpot request window', () => {
  it('lets the limit through, then waits for the oldest start to leave the window', async () => {
    const { clock, slept, advance } = fakeClock();
    const window = new RequestWindow(3, 10_000, clock);
    await window.take();
    advance(1_000);
    await window.take();
    await window.take();
    expect(slept).toEqual([]);
    await window.take();
    // The first start (at 0) leaves the window at 10,000; it is 1,000 now.
    expect(slept).toEqual([9_000]);
    await window.take();
    // The next oldest started at 1,000 and leaves at 11,000: it is 10,000 now.
    expect(slept).toEqual([9_000, 1_000]);
  });

  it('never lets more than the limit start within any window', async () => {
    const { clock, now } = fakeClock();
    const window = new RequestWindow(5, 10_000, clock);
    const starts: number[] = [];
    for (let i = 0; i < 23; i++) {
      await window.take();
      starts.push(now());
    }
    const most = Math.max(
      ...starts.map((t) => starts.filter((s) => s >= t && s < t + 10_000).length),
    );
    expect(most).toBe(5);
    expect(starts.at(-1)! - starts[0]!).toBe(40_000);
  });

  it('holds every request back after a 429 for the time given', async () => {
    const { clock, slept } = fakeClock();
    const window = new RequestWindow(100, 10_000, clock);
    await window.take();
    window.holdFor(2_500);
    await window.take();
    expect(slept).toEqual([2_500]);
  });

  it('serves concurrent callers one at a time, in order', async () => {
    const { clock, slept } = fakeClock();
    const window = new RequestWindow(1, 10_000, clock);
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((n) => window.take().then(() => order.push(n))));
    expect(order).toEqual([1, 2, 3]);
    expect(slept).toEqual([10_000, 10_000]);
  });
});

describe('HubSpot 429 waits', () => {
  const refusal = (headers: Record<string, string>) =>
    Object.assign(new Error('429'), {
      code: 429,
      headers,
      body: { status: 'error', message: 'You have reached your ten_secondly_rolling limit.' },
    });
  const context = { target: 't', call: 'upsert of 1 deals' };

  it('waits the window when none of it is left, Retry-After when sent, nothing named else', () => {
    const window = {
      'x-hubspot-ratelimit-interval-milliseconds': '10000',
      'x-hubspot-ratelimit-remaining': '0',
    };
    expect(callError(refusal(window), context).retryAfterSeconds).toBe(10);
    expect(callError(refusal({ ...window, 'retry-after': '3' }), context).retryAfterSeconds).toBe(
      3,
    );
    expect(callError(refusal({}), context).retryAfterSeconds).toBeUndefined();
    expect(callError(refusal({}), { ...context, search: true }).retryAfterSeconds).toBe(1);
  });
});
