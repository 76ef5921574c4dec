// `npm run chaos:cluster -- --tenants 30 --seconds 60`: cluster workers SIGKILLed at random every
// few seconds and restarted, then every tenant checked (CRMs, Partner Center, its ledger).
import { parseArgs } from 'node:util';
import { clusterChaosPassed, formatClusterChaosReport, runClusterChaos } from './chaos/cluster.js';

const { values: args } = parseArgs({
  options: {
    tenants: { type: 'string', default: '30' },
    workers: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '60' },
    'kill-every': { type: 'string', default: '3000' },
    referrals: { type: 'string', default: '12' },
    'later-referrals': { type: 'string', default: '3' },
    outcomes: { type: 'string', default: '5' },
    'pg-url': { type: 'string' },
  },
});

const pgUrl = args['pg-url'] ?? process.env.LEADBRIDGE_TEST_PG_URL ?? process.env.DATABASE_URL;
if (!pgUrl) throw new Error('the cluster chaos run needs --pg-url or LEADBRIDGE_TEST_PG_URL');
const started = performance.now();
const report = await runClusterChaos({
  pgUrl,
  tenants: Number(args.tenants),
  workers: Number(args.workers),
  seconds: Number(args.seconds),
  killEveryMs: Number(args['kill-every']),
  firstReferrals: Number(args.referrals),
  laterReferrals: Number(args['later-referrals']),
  outcomesPerTenant: Number(args.outcomes),
  convergeTimeoutMs: 10 * 60_000,
  progress: (line) => console.log(`  ${line}`),
});
console.log(formatClusterChaosReport(report));
console.log(`  whole run: ${((performance.now() - started) / 1000).toFixed(0)} s`);
if (!clusterChaosPassed(report)) process.exitCode = 1;
