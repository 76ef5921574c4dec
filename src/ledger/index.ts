// The local sync ledger: links, sync states, audit trail, runs, outcome outbox and alerts, on
// SQLite or PostgreSQL.
export * from './open.js';
export * from './cursors.js';
export * from './links.js';
export * from './sync-state.js';
export * from './sync-state-moves.js';
export * from './sync-state-retries.js';
export * from './audit.js';
export * from './runs.js';
export * from './outbox.js';
export * from './outbox-claims.js';
export * from './outbox-marks.js';
export * from './outbox-retry.js';
export * from './alerts.js';
export * from './echoes.js';
export * from './care.js';
export * from './due.js';
export { TABLE as LEDGER_TABLES, DEFAULT_TENANT } from './migrations.js';
export * from './referral-facts.js';
export * from './api-calls.js';
export * from './referral-resync.js';
