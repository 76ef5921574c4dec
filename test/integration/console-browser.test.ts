// The console in a real browser (Debian's Chromium, playwright-core) over a run on the simulators.
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleAccess, serveConsole, type ConsoleServer } from '../../src/cli/console.js';
import { createRuntime } from '../../src/cli/compose.js';
import type { LeadbridgeConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/core/log.js';
import { addApiCallCounts } from '../../src/ledger/index.js';
import { dynamics365Module } from '../../src/crm/dynamics365/module.js';
import type { Runtime } from '../../src/sync/cycle.js';
import { WorkerMetrics } from '../../src/worker/metrics.js';
import { browserMissing, launchChromium, SCREENSHOT_DIR } from './support/browser.js';
import { startHarness, type Harness } from './support/harness.js';
import { newCustomerInquiry } from './support/referrals.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const missing = browserMissing();
if (missing) console.warn(`skipping the console browser tests: ${missing}`);

const HOT_CUSTOMER = 'Hot Test Customer GmbH';
const TEAM = [
  {
    firstName: 'Ana',
    lastName: 'Lopes',
    email: 'ana@example.com',
    phoneNumber: '+351 21 000 0000',
  },
];

let harness: Harness;
let runtime: Runtime;
let metrics: WorkerMetrics;
let server: ConsoleServer;
let browser: Browser;
let page: Page;
let config: LeadbridgeConfig;
let hotId: string;
let badId: string;

async function cycle(runId: string): Promise<void> {
  await runtime.syncOnce({ runId });
  await addApiCallCounts(runtime.ledger.db, metrics.takeApiCallCounts());
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

describe.skipIf(missing !== null)('the console in a browser', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    harness = await startHarness({ referrals: 30, seed: 11, salesforce: true });
    config = harness.config;
    hotId = newCustomerInquiry(harness.pc.store, {
      customerProfile: { name: HOT_CUSTOMER, team: TEAM },
      details: { customerRequestedContact: true, notes: 'Call me today' },
    }).id;
    // No company name: the Dynamics mapping requires one (companyname), so that sync is
    // quarantined.
    badId = newCustomerInquiry(harness.pc.store, {
      customerProfile: { name: '  ', team: TEAM },
    }).id;
    metrics = new WorkerMetrics();
    runtime = await createRuntime(config, { metrics });
    await cycle('e2e-first');
    server = await serveConsole(
      {
        config: () => config,
        ledger: () => runtime.ledger,
        logger: silentLogger,
        cwd: harness.dir,
        health: () => ({ status: 'ok', lastSuccessAt: new Date().toISOString(), problems: [] }),
        nextCycleHint: () => 'the next cycle tries again',
      },
      { ...consoleAccess('127.0.0.1', {}), localUser: 'e2e-tester' },
      0,
    );
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await runtime?.close();
    await harness?.close();
  });

  it('overview: real numbers per target and API calls from the synced run', async () => {
    await page.goto(server.url);
    const dynamics = page.locator('[data-testid="targets"] tr[data-target="dynamics"]');
    await expect.poll(() => dynamics.locator('[data-col="quarantined"]').innerText()).toBe('1');
    expect(await dynamics.locator('[data-col="applied"]').innerText()).toBe('30');
    const salesforce = page.locator('[data-testid="targets"] tr[data-target="salesforce"]');
    expect(await salesforce.locator('[data-col="applied"]').innerText()).toBe('31');
    const totals = await page.locator('[data-testid="api-totals"]').innerText();
    // What the simulators' own request logs saw: every call the cycle made, none failed.
    expect(totals).toContain(
      `partner-center: ${harness.pc.server.requests().length} calls, 0 × 429, 0 errors`,
    );
    expect(totals).toContain(`dynamics365: ${harness.dynamics.server.requests().length} calls`);
    expect(await page.locator('[data-testid="health"]').innerText()).toBe('ok');
    await page.waitForSelector('body[data-charts-ready="true"]');
    await shot('overview');
    if (process.env.LEADBRIDGE_DOCS_SCREENSHOT === '1')
      await copyFile(
        path.join(SCREENSHOT_DIR, 'overview.png'),
        path.join(ROOT, 'docs/console-overview.png'),
      );
  });

  it('leads: the hot lead is listed first among those waiting, with its time left', async () => {
    await page.goto(`${server.url}/leads`);
    const row = page.locator(`[data-testid="leads"] tr[data-referral="${hotId}"]`);
    expect(await row.innerText()).toContain('hot');
    expect(await row.locator('[data-col="left"]').innerText()).toMatch(/^13 d 23 h|^14 d 0 h/);
    const first = page.locator('[data-testid="leads"] tbody tr').first();
    expect(await first.innerText()).toContain('hot');
    await shot('leads');
  });

  it('search: a customer name finds the referral and shows its timeline', async () => {
    await page.goto(`${server.url}/referral`);
    await page.fill('input[name="q"]', 'hot test customer');
    await page.click('form.search button');
    const timeline = await page.locator('[data-testid="timeline"]').innerText();
    expect(timeline).toMatch(/dynamics created \(record [0-9a-f-]{36}\)/);
    expect(timeline).toMatch(/salesforce created \(record 00Q\w+\)/);
    expect(await page.locator('[data-testid="referral"]').getAttribute('data-referral')).toBe(
      hotId,
    );
    await shot('referral');
  });

  it('quarantine: the reason names the field; fixed, retried here, then applied', async () => {
    await page.goto(`${server.url}/quarantine`);
    const row = page.locator(`tr[data-referral="${badId}"][data-target="dynamics"]`);
    expect(await row.locator('[data-col="reason"]').innerText()).toContain('companyname');
    await page.selectOption('select[name="reason"]', 'mapping failed: companyname');
    await page.click('form.filters button');
    await shot('quarantine');
    harness.pc.store.update(badId, { customerProfile: { name: 'Fixed Name Ltd', team: TEAM } });
    await page.click('[data-testid="reason-groups"] button');
    expect(await page.locator('.banner.ok').innerText()).toContain(
      'Retry scheduled: 1 sync and 0 outcomes; the next cycle tries again.',
    );
    await cycle('e2e-after-fix');
    await page.goto(`${server.url}/referral?q=${badId}`);
    const state = page.locator(
      '[data-testid="referral-targets"] tr[data-target="dynamics"] [data-col="state"]',
    );
    expect(await state.innerText()).toBe('applied');
    const timeline = await page.locator('[data-testid="timeline"]').innerText();
    expect(timeline).toContain('retry-requested');
    expect(timeline).toContain('who: e2e-tester (console, from 127.0.0.1)');
    await shot('referral-after-retry');
  });

  it('mappings: bad field flagged on its row; a preview shows where values come from', async () => {
    const broken = (await readFile(dynamics365Module.mappingFile, 'utf8')).replace(
      '  emailaddress1:\n',
      '  emial:\n',
    );
    const file = path.join(harness.dir, 'broken-dynamics365.yaml');
    await writeFile(file, broken);
    const healthy = config;
    config = {
      ...healthy,
      targets: healthy.targets.map((t) => (t.name === 'dynamics' ? { ...t, mapping: file } : t)),
    };
    await page.goto(`${server.url}/mappings?target=dynamics`);
    const row = page.locator('[data-testid="mapping-fields"] tr[data-field="emial"]');
    expect(await row.getAttribute('class')).toBe('problem');
    expect(await row.locator('[data-col="check"]').innerText()).toContain(
      'unknown CRM field "emial"',
    );
    expect(await page.locator('[data-testid="check"]').innerText()).toContain('1 problem');
    await shot('mappings-bad-field');
    config = healthy;
    await page.goto(`${server.url}/mappings?target=dynamics&referral=${hotId}`);
    const company = page.locator('[data-testid="preview"] tr[data-field="companyname"]');
    expect(await company.innerText()).toContain('customerProfile.name');
    expect(await company.innerText()).toContain(HOT_CUSTOMER);
    expect(await company.locator('[data-col="change"]').innerText()).toBe('unchanged');
    await shot('mappings-preview');
  });
});
