// `npm run chaos`: SIGKILL the worker 50 times during a backfill and 50 times during outcome sends,
// then verify.
import { parseArgs } from 'node:util';
import { formatChaosReport, chaosPassed } from './chaos/report.js';
import { runChaos } from './chaos/run.js';

const { values: args } = parseArgs({
  options: {
    seed: { type: 'string' },
    referrals: { type: 'string', default: '3000' },
    outcomes: { type: 'string', default: '300' },
    kills: { type: 'string', default: '50' },
    'fault-rate': { type: 'string', default: '0.2' },
    interval: { type: 'string', default: '60' },
    'kill-window': { type: 'string', default: '200-8000' },
    ledger: { type: 'string', default: 'sqlite' },
    'pg-url': { type: 'string' },
  },
});

const seed = args.seed === undefined ? Math.floor(Math.random() * 1_000_000) : Number(args.seed);
const ledgers = args.ledger === 'both' ? ['sqlite', 'pg'] : [args.ledger];
const [killMin, killMax] = args['kill-window'].split('-').map(Number) as [number, number];
const pgUrl =
  args['pg-url'] ?? process.env.LEADBRIDGE_TEST_PG_URL ?? process.env.DATABASE_URL ?? undefined;

for (const ledger of ledgers) {
  if (ledger !== 'sqlite' && ledger !== 'pg') throw new Error('--ledger is sqlite, pg or both');
  if (ledger === 'pg' && !pgUrl)
    throw new Error('--ledger pg needs --pg-url or LEADBRIDGE_TEST_PG_URL (a PostgreSQL URL)');
  const kills = Number(args.kills);
  const started = performance.now();
  console.log(`leadbridge chaos: seed ${seed} (repeat with --seed ${seed}), ${ledger} ledger`);
  const report = await runChaos({
    seed,
    referrals: Number(args.referrals),
    outcomes: Number(args.outcomes),
    kills: { backfill: kills, outcomes: kills },
    faultRate: Number(args['fault-rate']),
    killAfterMs: [killMin, killMax],
    intervalSeconds: Number(args.interval),
    ledger: ledger === 'pg' ? { client: 'pg', connection: pgUrl! } : { client: 'sqlite' },
    convergeTimeoutMs: 15 * 60_000,
    progress: (line) => console.log(`  ${line}`),
  });
  console.log(formatChaosReport(report));
  console.log(`  whole run: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (!chaosPassed(report)) process.exitCode = 1;
}
