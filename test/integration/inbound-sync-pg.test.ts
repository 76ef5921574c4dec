// The sync engine on a PostgreSQL ledger (the deployment where several workers share the work),
// over real HTTP.
import knex from 'knex';
import { randomBytes } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { countByState } from '../../src/ledger/index.js';
import { describeWithPg } from './support/pg.js';
import { startHarness, type Harness } from './support/harness.js';

let harness: Harness | undefined;
const schemas: Array<{ url: string; schema: string }> = [];

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  for (const { url, schema } of schemas.splice(0)) {
    const db = knex({ client: 'pg', connection: url });
    await db.raw('drop schema if exists ?? cascade', [schema]);
    await db.destroy();
  }
});

describeWithPg('inbound sync with a PostgreSQL ledger', (url) => {
  it('backfills, survives a restart mid-way and leaves no duplicate', async () => {
    const schema = `lb_it_${randomBytes(4).toString('hex')}`;
    schemas.push({ url, schema });
    harness = await startHarness({ referrals: 180 });
    const onPg = (config: Harness['config']) => ({
      ...config,
      ledger: { client: 'pg' as const, connection: url, schema },
    });
    // Of the 180 referrals seed 7 generates, the default config syncs 169 (the rest: co-sell or
    // archived).
    const expected = 169;

    const first = await harness.runtime(onPg);
    const partial = await first.syncOnce({ runId: 'pg-1', maxPages: 1 });
    expect(partial.inbound.more).toBe(true);
    await first.close();

    const second = await harness.runtime(onPg);
    const rest = await second.syncOnce({ runId: 'pg-2' });
    expect(partial.inbound.created + rest.inbound.created).toBe(expected);
    expect(harness.dynamics.store.leads.size).toBe(expected);
    expect(await countByState(second.ledger.db)).toEqual([
      { target: 'dynamics', state: 'applied', count: expected },
    ]);
  });
});
