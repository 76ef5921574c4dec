// What the console reads and calls, handed in by whoever serves it (worker, `leadbridge console`).
import type { LeadbridgeConfig, TargetConfig } from '../config/index.js';
import type { Issue } from '../core/errors.js';
import type { Ledger } from '../ledger/index.js';
import type { CompiledMapping } from '../mapping/index.js';

/** The worker's health as /healthz says it; absent when the console runs without a worker. */
export interface ConsoleHealth {
  status: 'ok' | 'stale' | 'failing';
  lastSuccessAt: string | null;
  problems: Array<{ cause: string; reason: string; since: string; failing: boolean }>;
}

/** The Partner Center sign-in, when the config signs in as a user. */
export interface SignInNotice {
  /**
   * Sign-in needed now (lost or never done): the worker cannot read referrals until someone signs
   * in.
   */
  required: boolean;
  account: string | null;
  signedInAt: string | null;
  cause: string | null;
}

/** One target's mapping checked against the CRM's metadata (`mappings check`). */
export type MappingCheck =
  | { status: 'ok'; version: string; fields: number }
  | { status: 'invalid'; issues: Issue[] }
  | { status: 'unreachable'; error: { message: string } };

export interface FieldPreview {
  field: string;
  change: 'new' | 'changed' | 'unchanged' | 'unknown' | 'empty' | 'error';
  value?: unknown;
  current?: unknown;
  source: string;
  transforms: string[];
  input?: unknown;
  steps: Array<{ transform: string; value: unknown }>;
  error?: string;
}

/** One referral mapped for one target and compared with the CRM record (`mappings preview`). */
export interface TargetPreview {
  target: string;
  entity: string;
  record: { recordId: string; entity: string } | null;
  fields: FieldPreview[];
  errors: Array<{ field: string; message: string }>;
}

export interface ConsoleServices {
  config(): LeadbridgeConfig;
  ledger(): Ledger;
  now(): Date;
  health(): ConsoleHealth | null;
  signIn(): Promise<SignInNotice | null>;
  mapping(target: TargetConfig): Promise<CompiledMapping>;
  checkMapping(target: string): Promise<MappingCheck>;
  preview(referralId: string, target: string): Promise<TargetPreview>;
  /** A link to the CRM record in the CRM's own UI; null when the CRM has none to give. */
  crmRecordLink(target: TargetConfig, recordId: string, entity?: string): string | null;
}
