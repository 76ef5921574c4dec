// The chaos run's figures as text, and the verdict: nothing duplicated, missing, wrong or left
// waiting.
import type { ChaosReport, PhaseReport } from './run.js';

export function chaosPassed(report: ChaosReport): boolean {
  const { crm, ledger } = report;
  return (
    Object.values(crm.duplicates).every((n) => n === 0) &&
    Object.values(crm.missing).every((n) => n === 0) &&
    crm.externalReferenceMissing + crm.externalReferenceWrong === 0 &&
    crm.outcomesMissing + crm.outcomesWrong === 0 &&
    crm.transitionsTwice + crm.unexpectedTransitions === 0 &&
    ledger.outboxWaiting + ledger.syncWaiting === 0 &&
    (ledger.integrity === 'ok' || ledger.integrity === 'n/a') &&
    report.backfill.convergedSeconds !== null &&
    report.outcomePhase.convergedSeconds !== null
  );
}

function phaseLines(name: string, phase: PhaseReport, intervalSeconds: number): string[] {
  const converged =
    phase.convergedSeconds === null
      ? 'did NOT converge'
      : `converged ${phase.convergedSeconds.toFixed(1)} s after the last restart ` +
        `(${phase.convergedSeconds <= intervalSeconds ? 'within' : 'MORE than'} one poll ` +
        `interval, ${intervalSeconds} s)`;
  const left = phase.leftAtRestart;
  return [
    `  ${name}: ${phase.kills} kills; ${converged}`,
    `      left to do at the last restart: ${left.records} CRM records, ` +
      `${left.writeBacks} write-backs, ${left.outcomes} outcomes`,
    ...Object.entries(phase.landed)
      .sort((a, b) => b[1] - a[1])
      .map(([where, n]) => `      ${String(n).padStart(3)}  ${where}`),
  ];
}

export function formatChaosReport(report: ChaosReport): string {
  const { crm, ledger, options } = report;
  const sum = (counts: Record<string, number>) =>
    Object.entries(counts)
      .map(([target, n]) => `${target} ${n}`)
      .join(', ');
  return [
    `  ${report.expected} referrals to sync, ${report.outcomes} outcomes; ` +
      `${Math.round(options.faultRate * 100)} % of API requests faulted ` +
      `(429 / 5xx / dropped): ${report.faultsInjected} faults injected`,
    ...phaseLines('backfill', report.backfill, options.intervalSeconds),
    ...phaseLines('outcomes', report.outcomePhase, options.intervalSeconds),
    `  duplicates: ${sum(crm.duplicates)}`,
    `  missing: ${sum(crm.missing)}`,
    `  externalReferenceId: ${crm.externalReferenceMissing} missing, ` +
      `${crm.externalReferenceWrong} wrong`,
    `  outcomes in Partner Center: ${crm.outcomesMissing} missing, ${crm.outcomesWrong} wrong; ` +
      `${crm.transitionsTwice} transitions applied twice, ` +
      `${crm.unexpectedTransitions} transitions nobody asked for`,
    `  ledger: ${ledger.outboxWaiting} outbox rows and ${ledger.syncWaiting} referral states ` +
      `left waiting; quarantined ${ledger.quarantined.referrals} referral states and ` +
      `${ledger.quarantined.outbox} outbox rows; ${ledger.runsLeftRunning} runs left "running"; ` +
      `integrity_check: ${ledger.integrity}`,
    `  worker error log lines: ${report.workerErrors}`,
    `  verdict: ${chaosPassed(report) ? 'PASS' : 'FAIL'}`,
  ].join('\n');
}
