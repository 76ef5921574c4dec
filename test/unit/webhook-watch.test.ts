// The silent-webhook watch: unannounced changes older than the silence time, with no callback
// since.
import { describe, expect, it } from 'vitest';
import { WebhookWatch } from '../../src/sync/webhook-watch.js';

const URI = (id: string) => `https://api.partner.microsoft.com/v1.0/engagements/referrals/${id}`;

describe('WebhookWatch', () => {
  it('stays quiet while callbacks announce what polls find, even when the poll comes first', () => {
    let now = 1_000_000;
    const watch = new WebhookWatch(60_000, () => now);
    watch.callback(URI('a'));
    watch.polled(['a']);
    watch.polled(['b']);
    now += 1_000;
    watch.callback(URI('b'));
    now += 120_000;
    expect(watch.check()).toBeNull();
  });

  it('reports once when changes stay unannounced past the silence time', () => {
    let now = Date.parse('2026-12-04T10:00:00Z');
    const watch = new WebhookWatch(60_000, () => now);
    watch.polled(['a', 'b']);
    now += 59_000;
    expect(watch.check()).toBeNull();
    now += 2_000;
    expect(watch.check()).toEqual({
      since: '2026-12-04T10:00:00.000Z',
      unannounced: 2,
      lastCallbackAt: null,
    });
    now += 10_000;
    watch.polled(['c']);
    expect(watch.check()).toBeNull();
  });

  it('a callback ends the episode; a later silence is a new one', () => {
    let now = Date.parse('2026-12-04T10:00:00Z');
    const watch = new WebhookWatch(60_000, () => now);
    watch.polled(['a']);
    now += 61_000;
    expect(watch.check()?.since).toBe('2026-12-04T10:00:00.000Z');
    watch.callback(URI('z'));
    now += 1_000;
    watch.polled(['c']);
    now += 61_000;
    expect(watch.check()).toEqual({
      since: '2026-12-04T10:01:02.000Z',
      unannounced: 1,
      lastCallbackAt: '2026-12-04T10:01:01.000Z',
    });
  });
});
