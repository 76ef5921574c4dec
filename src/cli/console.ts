// The console wired to the ledger, config, mappings commands and sign-in; served alone or mounted.
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { Writable } from 'node:stream';
import { serve, getRequestListener } from '@hono/node-server';
import type http from 'node:http';
import type { LeadbridgeConfig, TargetConfig } from '../config/index.js';
import type { Logger } from '../core/log.js';
import { crmModuleOf } from '../crm/module.js';
import { CRM_MODULES } from '../crm/modules.js';
import { lastRuns, type Ledger } from '../ledger/index.js';
import { createConsoleApp } from '../console/app.js';
import { assertAccessIsSafe, type ConsoleAccess } from '../console/security.js';
import type { ConsoleHealth, ConsoleServices, MappingCheck } from '../console/services.js';
import { checkMappings } from './mappings.js';
import { previewReferral } from './mappings-preview.js';
import { mappingOf } from './mappings-targets.js';
import type { CliContext } from './context.js';
import { withLedger } from './compose.js';
import { signInStatus } from './status.js';

export interface ConsoleParts {
  config: () => LeadbridgeConfig;
  ledger: () => Ledger;
  logger: Logger;
  cwd: string;
  /** The worker's health, when the console runs beside one. */
  health?: () => ConsoleHealth | null;
  /** "the next cycle (within 15 s) tries again" */
  nextCycleHint: () => string;
}

/** The environment variable holding the admin token (cli.ts hands the environment in). */
const CONSOLE_TOKEN_VARIABLE = 'LEADBRIDGE_CONSOLE_TOKEN';

const DISCARD = new Writable({ write: (_chunk, _encoding, done) => done() });

/** The link to a record in the CRM's own UI, as the target's CRM module builds it. */
function crmRecordLink(target: TargetConfig, recordId: string, entity?: string): string | null {
  const module = crmModuleOf(CRM_MODULES, target.kind);
  return module.recordLink?.(target.settings, recordId, entity) ?? null;
}

function consoleServices(parts: ConsoleParts): ConsoleServices {
  const commandOptions = (target: string) => ({
    config: parts.config(),
    logger: parts.logger,
    cwd: parts.cwd,
    out: DISCARD,
    target,
  });
  return {
    config: parts.config,
    ledger: parts.ledger,
    now: () => new Date(),
    health: parts.health ?? (() => null),
    async signIn() {
      const runs = await lastRuns(parts.ledger().db, 5);
      return (await signInStatus(parts.config(), runs)) ?? null;
    },
    mapping: (target) => mappingOf(target, parts.cwd),
    async checkMapping(target): Promise<MappingCheck> {
      const [check] = await checkMappings(commandOptions(target));
      if (!check) throw new Error(`no target "${target}"`);
      return check;
    },
    async preview(referralId, target) {
      const preview = await previewReferral({ ...commandOptions(target), referralId });
      const one = preview.targets[0];
      if (!one) throw new Error(`no preview for target "${target}"`);
      return one;
    },
    crmRecordLink,
  };
}

/** The console as a request listener, for the worker's HTTP server (mounted under /console). */
export function consoleListener(parts: ConsoleParts, access: ConsoleAccess): http.RequestListener {
  const app = createConsoleApp({
    services: consoleServices(parts),
    access,
    logger: parts.logger,
    nextCycleHint: parts.nextCycleHint,
  });
  return getRequestListener(app.fetch);
}

export interface ConsoleServer {
  /** http://HOST:PORT/console */
  readonly url: string;
  close(): Promise<void>;
}

/** The console on a port of its own (`leadbridge console`, the demo). */
export async function serveConsole(
  parts: ConsoleParts,
  access: ConsoleAccess,
  port: number,
): Promise<ConsoleServer> {
  const app = createConsoleApp({
    services: consoleServices(parts),
    access,
    logger: parts.logger,
    nextCycleHint: parts.nextCycleHint,
  });
  const server = await new Promise<http.Server>((resolve, reject) => {
    const started = serve({ fetch: app.fetch, port, hostname: access.bindHost }, () =>
      resolve(started as http.Server),
    ) as http.Server;
    started.once('error', reject);
  });
  const { port: bound } = server.address() as AddressInfo;
  const host = access.bindHost.includes(':') ? `[${access.bindHost}]` : access.bindHost;
  return {
    url: `http://${host}:${bound}/console`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Who acts from loopback, in the audit trail: the account running leadbridge (no sign-in on
 * loopback).
 */
function localUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'local user';
  }
}

/**
 * The console's access from the bind address and LEADBRIDGE_CONSOLE_TOKEN (empty counts as unset).
 */
export function consoleAccess(
  bindHost: string,
  env: Record<string, string | undefined>,
): ConsoleAccess {
  const token = env[CONSOLE_TOKEN_VARIABLE]?.trim();
  return { bindHost, token: token ? token : null, localUser: localUser() };
}

/**
 * `leadbridge console`: the console against the config's ledger, without a worker, until SIGINT /
 * SIGTERM.
 */
export async function runConsole(options: {
  context: CliContext;
  config: LeadbridgeConfig;
  logger: Logger;
  host: string;
  port: number;
}): Promise<number> {
  const { context, config, logger } = options;
  const access = consoleAccess(options.host, context.env);
  assertAccessIsSafe(access);
  await withLedger(config, context.cwd, async (ledger) => {
    const server = await serveConsole(
      {
        config: () => config,
        ledger: () => ledger,
        logger,
        cwd: context.cwd,
        nextCycleHint: () => 'the worker picks it up on its next cycle (leadbridge run)',
      },
      access,
      options.port,
    );
    context.stdout.write(`console ${server.url}\n`);
    await context.waitForShutdown();
    await server.close();
  });
  return 0;
}
