// The tenant file: validated like a config, every problem at once, secrets only as references.
import { describe, expect, it } from 'vitest';
import { parseTenantFile, tenantIdProblem } from '../../src/cluster/tenant-file.js';
import { ClusterMetrics } from '../../src/cluster/metrics.js';
import { ValidationError } from '../../src/core/errors.js';
import { CRM_MODULES } from '../../src/crm/modules.js';

const GOOD = `source:
  partnerCenter:
    baseUrl: http://127.0.0.1:7401/orgs/acme
    auth: { kind: static, token: "\${ACME_PC_TOKEN}" }
targets:
  - name: dynamics
    kind: dynamics365
    settings:
      url: http://127.0.0.1:7402/orgs/acme
      auth: { kind: static, token: "\${ACME_CRM_TOKEN}" }
worker:
  intervalSeconds: 30
`;

const ENV = { ACME_PC_TOKEN: 'pc', ACME_CRM_TOKEN: 'crm' };

function problems(text: string, id = 'acme'): string[] {
  try {
    parseTenantFile(text, { id, file: 'acme.yaml', env: ENV, cwd: '/tmp', kinds: CRM_MODULES });
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return error.issues.map((i) => `${i.line ?? '-'} ${i.path}: ${i.message}`);
  }
  return [];
}

describe('tenant file', () => {
  it('reads a valid file with its references resolved from the environment', () => {
    const tenant = parseTenantFile(GOOD, {
      id: 'acme',
      file: 'acme.yaml',
      env: ENV,
      cwd: '/tmp',
      kinds: CRM_MODULES,
    });
    expect(tenant.id).toBe('acme');
    expect(tenant.config.worker.intervalSeconds).toBe(30);
    expect(tenant.config.source.partnerCenter.auth).toEqual({ kind: 'static', token: 'pc' });
    expect(tenant.config.targets.map((t) => t.name)).toEqual(['dynamics']);
  });

  it('lists every problem at once, by line: worker sections, plain secrets, schema errors', () => {
    const text = `source:
  partnerCenter:
    auth: { kind: static, token: plain-text-token }
ledger: { client: sqlite }
targets:
  - name: dynamics
    kind: dynamics9
log: { level: debug }
`;
    expect(problems(text)).toEqual([
      "3 source.partnerCenter.auth.token: a tenant's secret is stored as a reference, never as " +
        'text: write "${VARIABLE}" (set on every worker), or use the field\'s file form (e.g. ' +
        'privateKeyFile)',
      "4 ledger: a tenant file has no ledger section: the worker's own config gives it",
      '7 targets[0].kind: unknown kind "dynamics9" (expected one of: dynamics365, salesforce, ' +
        'hubspot)',
      "8 log: a tenant file has no log section: the worker's own config gives it",
    ]);
  });

  it('refuses a reference with a default: the default would be a plain secret', () => {
    const text = GOOD.replace('${ACME_CRM_TOKEN}', '${ACME_CRM_TOKEN:-letmein}');
    expect(problems(text)).toEqual([
      "10 targets[0].settings.auth.token: a tenant's secret is stored as a reference, never as " +
        'text: write "${VARIABLE}" (set on every worker), or use the field\'s file form (e.g. ' +
        'privateKeyFile)',
    ]);
  });

  it('needs a token cache of its own for a signed-in user', () => {
    const text = GOOD.replace(
      'auth: { kind: static, token: "${ACME_PC_TOKEN}" }',
      'auth: { kind: user, tenantId: t, clientId: c, tokenCache: { key: "${ACME_KEY}" } }',
    );
    const key = 'ab'.repeat(32);
    expect(() =>
      parseTenantFile(text, {
        id: 'acme',
        file: 'acme.yaml',
        env: { ...ENV, ACME_KEY: key },
        cwd: '/tmp',
        kinds: CRM_MODULES,
      }),
    ).toThrow(
      expect.objectContaining({
        issues: [
          {
            path: 'source.partnerCenter.auth.tokenCache.file',
            message:
              'required in a tenant file: each tenant signs in on its own, into its own cache',
            file: 'acme.yaml',
          },
        ],
      }),
    );
  });

  it('takes tenant ids that make plain schema names only', () => {
    expect(tenantIdProblem('acme_eu2')).toBeNull();
    expect(tenantIdProblem('Acme')).toBe(
      'tenant id "Acme" must be 1-40 lower-case letters, digits or "_", starting with a letter',
    );
    expect(problems(GOOD, 'acme-eu')).toEqual([
      '- id: tenant id "acme-eu" must be 1-40 lower-case letters, digits or "_", starting with a ' +
        'letter',
    ]);
  });
});

describe('cluster metrics', () => {
  it('gives the first N tenants a label each and the rest "other"', async () => {
    const metrics = new ClusterMetrics(2);
    for (const tenant of ['a', 'b', 'c', 'd']) metrics.recordCycle(tenant, true, 1000);
    metrics.recordCycle('a', false, 500);
    const text = await metrics.text();
    expect(text).toContain('leadbridge_tenant_cycles_total{tenant="a",result="ok"} 1');
    expect(text).toContain('leadbridge_tenant_cycles_total{tenant="a",result="failed"} 1');
    expect(text).toContain('leadbridge_tenant_cycles_total{tenant="b",result="ok"} 1');
    expect(text).toContain('leadbridge_tenant_cycles_total{tenant="other",result="ok"} 2');
    expect(text).not.toContain('tenant="c"');
  });
});
