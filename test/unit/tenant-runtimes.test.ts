// The open tenants of a cluster worker: a runtime a cycle still uses is never closed under it.
import { describe, expect, it } from 'vitest';
import type { TenantRow } from '../../src/cluster/store.js';
import { TenantRuntimes } from '../../src/cluster/tenant-runtimes.js';
import type { Runtime } from '../../src/sync/cycle.js';

function row(id: string, updatedAt = '2026-01-01T00:00:00.000Z'): TenantRow {
  return {
    id,
    name: id,
    enabled: true,
    yaml: '',
    baseDir: '/tmp',
    intervalSeconds: 10,
    addedAt: updatedAt,
    updatedAt,
  };
}

/** Runtimes that only record their opening and closing ("open a#1", "close a#1"). */
function recorder(): { events: string[]; open: (tenant: TenantRow) => Promise<Runtime> } {
  const events: string[] = [];
  let serial = 0;
  return {
    events,
    open: (tenant) => {
      const name = `${tenant.id}#${++serial}`;
      events.push(`open ${name}`);
      const runtime = {
        close: () => {
          events.push(`close ${name}`);
          return Promise.resolve();
        },
      };
      return Promise.resolve(runtime as unknown as Runtime);
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('tenant runtimes', () => {
  it('keeps runtimes in use open past the capacity and closes them once idle', async () => {
    const { events, open } = recorder();
    const runtimes = new TenantRuntimes(open, 1);
    const a = await runtimes.lease(row('a'));
    const b = await runtimes.lease(row('b'));
    await settle();
    expect(events).toEqual(['open a#1', 'open b#2']);
    a.release();
    await settle();
    expect(events).toEqual(['open a#1', 'open b#2', 'close a#1']);
    b.release();
    const again = await runtimes.lease(row('b'));
    again.release();
    await settle();
    expect(events).toEqual(['open a#1', 'open b#2', 'close a#1']);
  });

  it('reuses an open runtime and evicts the least recently used idle one', async () => {
    const { events, open } = recorder();
    const runtimes = new TenantRuntimes(open, 2);
    for (const id of ['a', 'b', 'a', 'c']) (await runtimes.lease(row(id))).release();
    await settle();
    expect(events).toEqual(['open a#1', 'open b#2', 'open c#3', 'close b#2']);
  });

  it('closes a dropped runtime only when its last cycle ends', async () => {
    const { events, open } = recorder();
    const runtimes = new TenantRuntimes(open, 4);
    const first = await runtimes.lease(row('a'));
    const second = await runtimes.lease(row('a'));
    runtimes.drop('a');
    first.release();
    await settle();
    expect(events).toEqual(['open a#1']);
    second.release();
    second.release(); // a second release changes nothing
    await settle();
    expect(events).toEqual(['open a#1', 'close a#1']);
    (await runtimes.lease(row('a'))).release();
    expect(events).toEqual(['open a#1', 'close a#1', 'open a#2']);
  });

  it('reopens a tenant whose file changed', async () => {
    const { events, open } = recorder();
    const runtimes = new TenantRuntimes(open, 4);
    (await runtimes.lease(row('a'))).release();
    (await runtimes.lease(row('a', '2026-02-01T00:00:00.000Z'))).release();
    await settle();
    expect(events).toEqual(['open a#1', 'open a#2', 'close a#1']);
  });
});
