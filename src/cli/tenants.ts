// `leadbridge tenants add|list|show|enable|disable|remove`: the cluster's tenants, from one YAML
// file each.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LeadbridgeConfig } from '../config/index.js';
import { LeadbridgeError, ValidationError } from '../core/errors.js';
import { parseTenantFile } from '../cluster/tenant-file.js';
import {
  getTenant,
  listTenantCycles,
  listTenants,
  removeTenant,
  setTenantEnabled,
  upsertTenant,
} from '../cluster/store.js';
import type { CliContext } from './context.js';
import { CRM_MODULES } from '../crm/modules.js';
import { openControl, tenantLedgerSchema, clusterLedger } from './cluster.js';

/** Validates every file first (all their problems at once); stores them only when all are valid. */
export async function addTenants(
  context: CliContext,
  config: LeadbridgeConfig,
  files: string[],
  idOption: string | undefined,
): Promise<void> {
  if (idOption !== undefined && files.length !== 1)
    throw new LeadbridgeError('CONFIG_INVALID', '--id names one tenant: give one file with it');
  const parsed = await Promise.allSettled(files.map((file) => readTenant(context, file, idOption)));
  const failures = parsed.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) {
    const issues = failures.flatMap((error) =>
      error instanceof ValidationError
        ? error.issues
        : [{ path: '', message: (error as Error).message }],
    );
    throw new ValidationError(
      'CONFIG_INVALID',
      `${failures.length} tenant files are invalid`,
      issues,
    );
  }
  const db = await openControl(config, 'tenants add');
  try {
    for (const result of parsed) {
      const tenant = (result as PromiseFulfilledResult<ReadTenant>).value;
      const added = await upsertTenant(db, tenant, new Date());
      const schema =
        tenantLedgerSchema(clusterLedger(config, 'tenants add'), tenant.id) ?? 'public';
      context.stdout.write(
        `tenant ${tenant.id} ${added ? 'added' : 'updated'} (ledger schema ${schema}, every ` +
          `${tenant.intervalSeconds} s)\n`,
      );
    }
  } finally {
    await db.destroy();
  }
}

interface ReadTenant {
  id: string;
  name: string;
  yaml: string;
  baseDir: string;
  intervalSeconds: number;
}

async function readTenant(
  context: CliContext,
  file: string,
  idOption: string | undefined,
): Promise<ReadTenant> {
  const absolute = path.resolve(context.cwd, file);
  const id = idOption ?? path.basename(absolute).replace(/\.ya?ml$/i, '');
  const text = await readFile(absolute, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new LeadbridgeError(
      'CONFIG_INVALID',
      `cannot read tenant file ${file}: ${
        error.code === 'ENOENT' ? 'no such ' + 'file' : error.message
      }`,
    );
  });
  const baseDir = path.dirname(absolute);
  const parsed = parseTenantFile(text, {
    id,
    file,
    env: context.env,
    cwd: baseDir,
    kinds: CRM_MODULES,
  });
  return {
    id,
    name: parsed.config.targets.map((t) => t.name).join(', ') || id,
    yaml: text,
    baseDir,
    intervalSeconds: parsed.config.worker.intervalSeconds,
  };
}

export async function listTenantsCommand(
  context: CliContext,
  config: LeadbridgeConfig,
  json: boolean,
): Promise<void> {
  const db = await openControl(config, 'tenants list');
  try {
    const tenants = await listTenants(db);
    const cycles = new Map((await listTenantCycles(db)).map((c) => [c.tenant, c]));
    const rows = tenants.map((t) => ({
      id: t.id,
      enabled: t.enabled,
      targets: t.name,
      intervalSeconds: t.intervalSeconds,
      lastResult: cycles.get(t.id)?.lastResult ?? null,
      lastFinishedAt: cycles.get(t.id)?.lastFinishedAt ?? null,
    }));
    if (json) {
      context.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return;
    }
    if (rows.length === 0) {
      context.stdout.write('no tenants (leadbridge tenants add <file.yaml>)\n');
      return;
    }
    context.stdout.write(
      rows
        .map(
          (r) =>
            `${r.id}  ${r.enabled ? 'enabled ' : 'disabled'}  every ${r.intervalSeconds} s  ` +
            `targets: ${r.targets}  last: ${r.lastResult ?? '-'} ${r.lastFinishedAt ?? ''}\n`,
        )
        .join(''),
    );
  } finally {
    await db.destroy();
  }
}

/** The stored file as written (its secrets are references, so nothing needs redacting). */
export async function showTenant(
  context: CliContext,
  config: LeadbridgeConfig,
  id: string,
): Promise<void> {
  const db = await openControl(config, 'tenants show');
  try {
    const tenant = await getTenant(db, id);
    if (!tenant) throw unknownTenant(id);
    const schema = tenantLedgerSchema(clusterLedger(config, 'tenants show'), id) ?? 'public';
    context.stdout.write(
      `tenant ${tenant.id}: ${tenant.enabled ? 'enabled' : 'disabled'}, every ` +
        `${tenant.intervalSeconds} s, ledger schema ${schema}, added ${tenant.addedAt}, ` +
        `updated ${tenant.updatedAt}, paths relative to ${tenant.baseDir}\n---\n${tenant.yaml}` +
        (tenant.yaml.endsWith('\n') ? '' : '\n'),
    );
  } finally {
    await db.destroy();
  }
}

export async function setEnabledCommand(
  context: CliContext,
  config: LeadbridgeConfig,
  id: string,
  enabled: boolean,
): Promise<void> {
  const db = await openControl(config, enabled ? 'tenants enable' : 'tenants disable');
  try {
    if (!(await setTenantEnabled(db, id, enabled, new Date()))) throw unknownTenant(id);
    context.stdout.write(
      enabled
        ? `tenant ${id} enabled: its cycles start within seconds\n`
        : `tenant ${id} disabled: no new cycle starts (one running finishes)\n`,
    );
  } finally {
    await db.destroy();
  }
}

/**
 * Removes the tenant from the cluster; its ledger schema is kept (say so: nothing is dropped
 * silently).
 */
export async function removeTenantCommand(
  context: CliContext,
  config: LeadbridgeConfig,
  id: string,
): Promise<void> {
  const db = await openControl(config, 'tenants remove');
  try {
    if (!(await removeTenant(db, id))) throw unknownTenant(id);
    const schema = tenantLedgerSchema(clusterLedger(config, 'tenants remove'), id) ?? 'public';
    context.stdout.write(
      `tenant ${id} removed; its ledger (schema ${schema}) is kept: drop it yourself when no ` +
        'longer needed, or add the tenant again to carry on from it\n',
    );
  } finally {
    await db.destroy();
  }
}

function unknownTenant(id: string): LeadbridgeError {
  return new LeadbridgeError(
    'NOT_FOUND',
    `unknown tenant "${id}" (leadbridge tenants list shows the tenants)`,
  );
}
