// Where a CRM change read starts: the cursor's own second is re-read until a read a full second
// later has seen it.
import { describe, expect, it } from 'vitest';
import { ChangeWindow } from '../../src/sync/crm-window.js';

const D = { name: 'd', changeStampPrecisionMs: 1_000 };
const S = { name: 's', changeStampPrecisionMs: 1_000 };

describe('ChangeWindow', () => {
  it(
    're-reads the cursor second until a read started a second after the cursor was set, then ' +
      'starts at the cursor',
    () => {
      let now = 10_000;
      const window = new ChangeWindow(() => now);
      expect(window.start(D, null).since).toBe(null);
      const first = window.start(D, null);
      now = 10_400;
      window.finished(D, '2026-12-04T10:00:05.000Z', first.startedAtMs);
      // Too soon: a record stamped later in 10:00:05 could still come.
      now = 10_900;
      const soon = window.start(D, '2026-12-04T10:00:05.000Z');
      expect(soon.since).toBe('2026-12-04T10:00:04.0000000Z');
      window.finished(D, '2026-12-04T10:00:05.000Z', soon.startedAtMs);
      now = 11_400;
      const later = window.start(D, '2026-12-04T10:00:05.000Z');
      expect(later.since).toBe('2026-12-04T10:00:04.0000000Z');
      window.finished(D, '2026-12-04T10:00:05.000Z', later.startedAtMs);
      expect(window.start(D, '2026-12-04T10:00:05.000Z').since).toBe('2026-12-04T10:00:05.000Z');
      // Another target, and a moved cursor, start over.
      expect(window.start(S, '2026-12-04T10:00:05.000Z').since).toBe(
        '2026-12-04T10:00:04.0000000Z',
      );
      expect(window.start(D, '2026-12-04T10:00:09.000Z').since).toBe(
        '2026-12-04T10:00:08.0000000Z',
      );
    },
  );
});
