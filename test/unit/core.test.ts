// Unit tests for the core rules: lead kinds, the life cycle, retry policy and error normalisation.
import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  LeadbridgeError,
  ValidationError,
  normaliseError,
} from '../../src/core/errors.js';
import {
  isLegalStatusMove,
  isLegalSubstatus,
  isTerminalStatus,
  planOutcome,
} from '../../src/core/lifecycle.js';
import { dealValueOf, deriveLeadKind, isHotLead } from '../../src/core/referral.js';
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isRetryable,
  withRetry,
} from '../../src/core/retry.js';
import { redact } from '../../src/core/log.js';

describe('deriveLeadKind', () => {
  const msft = { invitedBy: { organizationId: 'msft' } };
  it.each([
    [{ type: 'Independent', qualification: 'Direct', inviteContext: msft }, 'customerInquiry'],
    [{ type: 'Independent', qualification: 'Direct', inviteContext: null }, 'customerInquiry'],
    [
      { type: 'Independent', qualification: 'MarketingQualified', inviteContext: msft },
      'marketingQualified',
    ],
    [
      {
        type: 'Independent',
        qualification: 'SalesQualified',
        inviteContext: { invitedBy: { organizationId: 'MSFT' } },
      },
      'salesQualified',
    ],
    [
      {
        type: 'Shared',
        qualification: 'SalesQualified',
        inviteContext: { invitedBy: { organizationId: 'contoso-org' } },
      },
      'coSell',
    ],
    [
      {
        type: 'Independent',
        qualification: 'None',
        inviteContext: { invitedBy: { organizationId: 'fabrikam' } },
      },
      'coSell',
    ],
    [{ type: 'Shared', qualification: 'Direct', inviteContext: msft }, 'other'],
    [{ type: 'Independent', qualification: 'MarketingQualified', inviteContext: null }, 'other'],
  ] as const)('%j → %s', (referral, kind) => {
    expect(deriveLeadKind(referral)).toBe(kind);
  });

  it('reads the hot-lead flag and numeric-string deal values', () => {
    expect(isHotLead({ details: { customerRequestedContact: true } })).toBe(true);
    expect(isHotLead({ details: null })).toBe(false);
    expect(dealValueOf({ details: { dealValue: '10000' } })).toBe(10000);
    expect(dealValueOf({ details: { dealValue: 12.5 } })).toBe(12.5);
    expect(dealValueOf({ details: {} })).toBeNull();
  });
});

describe('life cycle', () => {
  it('derives terminal statuses from the transition table', () => {
    expect(isTerminalStatus('Closed')).toBe(true);
    expect(isTerminalStatus('Active')).toBe(false);
    expect(isTerminalStatus('Bogus')).toBe(false);
  });

  it('allows only the documented moves and substatuses', () => {
    expect(isLegalStatusMove('New', 'Active')).toBe(true);
    expect(isLegalStatusMove('Active', 'New')).toBe(false);
    expect(isLegalStatusMove('Closed', 'Active')).toBe(false);
    expect(isLegalSubstatus('Active', 'Accepted')).toBe(true);
    expect(isLegalSubstatus('Closed', 'Accepted')).toBe(false);
  });

  it('plans outcomes along legal paths only', () => {
    expect(planOutcome('New', 'won')).toEqual(['accept', 'win']);
    expect(planOutcome('New', 'lost')).toEqual(['accept', 'lose']);
    expect(planOutcome('Active', 'won')).toEqual(['win']);
    expect(planOutcome('Active', 'accepted')).toEqual([]);
    expect(planOutcome('New', 'declined')).toEqual(['decline']);
    expect(planOutcome('Active', 'declined')).toBeNull();
    expect(planOutcome('Closed', 'won')).toBeNull();
  });
});

describe('retry policy', () => {
  const policy = {
    ...DEFAULT_RETRY_POLICY,
    baseDelayMs: 100,
    maxDelayMs: 1_000,
    maxRetryAfterMs: 5_000,
  };
  const throttled = new LeadbridgeError('RATE_LIMITED', 'slow down', {
    status: 429,
    retryAfterSeconds: 2,
  });

  it('honours Retry-After, capped', () => {
    expect(backoffDelay(1, policy, throttled.retryAfterSeconds)).toBe(2_000);
    const huge = new LeadbridgeError('RATE_LIMITED', 'x', {
      status: 429,
      retryAfterSeconds: 3_600,
    });
    expect(backoffDelay(1, policy, huge.retryAfterSeconds)).toBe(5_000);
  });

  it('backs off exponentially with a cap', () => {
    expect(backoffDelay(1, policy, undefined, () => 1)).toBe(100);
    expect(backoffDelay(3, policy, undefined, () => 1)).toBe(400);
    expect(backoffDelay(10, policy, undefined, () => 1)).toBe(1_000);
    expect(backoffDelay(3, policy, undefined, () => 0)).toBe(200);
  });

  it('retries non-idempotent calls only when the request was never processed', () => {
    const serverError = new LeadbridgeError('HTTP_ERROR', 'x', { status: 500 });
    expect(isRetryable(serverError, policy, true)).toBe(true);
    expect(isRetryable(serverError, policy, false)).toBe(false);
    expect(isRetryable(throttled, policy, false)).toBe(true);
    expect(isRetryable(new LeadbridgeError('HTTP_ERROR', 'x', { status: 400 }), policy, true)).toBe(
      false,
    );
  });

  it('withRetry stops after success and reports each retry', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw throttled;
        return 'ok';
      },
      policy,
      { idempotent: true, sleep: async (ms) => void delays.push(ms) },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(delays).toEqual([2_000, 2_000]);
  });

  it('withRetry gives up after maxAttempts and throws the last error', async () => {
    let calls = 0;
    const failing = withRetry(
      async () => {
        calls++;
        throw new LeadbridgeError('HTTP_ERROR', 'still down', { status: 503 });
      },
      { ...policy, maxAttempts: 3 },
      { idempotent: true, sleep: async () => {} },
    );
    await expect(failing).rejects.toThrow('still down');
    expect(calls).toBe(3);
  });
});

describe('errors', () => {
  it('normalises network errors as retryable', () => {
    const socket = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const error = normaliseError(socket, 'partner-center');
    expect(error.code).toBe('NETWORK_ERROR');
    expect(error.retryable).toBe(true);
    expect(error.message).toBe('partner-center: ECONNRESET socket hang up');
  });

  it('keeps typed errors as they are', () => {
    const conflict = new ConflictError('stale eTag');
    expect(normaliseError(conflict)).toBe(conflict);
    expect(conflict.status).toBe(412);
  });

  it('lists every validation issue with its place', () => {
    const error = new ValidationError('CONFIG_INVALID', 'config/leadbridge.yaml is invalid', [
      {
        path: 'targets[1].settings.url',
        message: 'expected a URL',
        file: 'config/leadbridge.yaml',
        line: 12,
      },
      { path: 'ledger.client', message: 'expected sqlite or pg' },
    ]);
    expect(error.message).toBe(
      'config/leadbridge.yaml is invalid:\n' +
        '  - config/leadbridge.yaml:12: targets[1].settings.url: expected a URL\n' +
        '  - ledger.client: expected sqlite or pg',
    );
  });

  it('redacts secret-looking keys at any depth', () => {
    expect(redact({ auth: { clientSecret: 's3cret', clientId: 'abc' }, token: 't' })).toEqual({
      auth: { clientSecret: '[redacted]', clientId: 'abc' },
      token: '[redacted]',
    });
  });
});
