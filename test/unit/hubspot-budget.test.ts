// Unit tests of the HubSpot daily budget: headers read, share applied, and no usage read while
// HubSpot has said the allocation resets later.
import { describe, expect, it } from 'vitest';
import { DailyBudget } from '../../src/crm/hubspot/budget.js';

const usage = (currentUsage: number, resetsAt: string) => ({
  results: [
    {
      name: 'private-apps-api-calls-daily',
      usageLimit: 500_000,
      currentUsage,
      collectedAt: '2026-05-04T10:00:00.000Z',
      fetchStatus: 'SUCCESS',
      resetsAt,
    },
  ],
});

describe('DailyBudget', () => {
  it('reads the daily headers whatever their case, and ignores responses without them', () => {
    const budget = new DailyBudget(0.8);
    budget.observe({ 'x-hubspot-ratelimit-max': '100', 'x-hubspot-ratelimit-remaining': '99' });
    expect(budget.budget()).toBeNull();
    budget.observe({
      'X-HubSpot-RateLimit-Daily': '250000',
      'X-HubSpot-RateLimit-Daily-Remaining': '50000',
    });
    expect(budget.budget()).toEqual({
      used: 200_000,
      max: 250_000,
      limitShare: 0.8,
      holdingBack: true,
    });
    budget.observe({
      'x-hubspot-ratelimit-daily': 'n/a',
      'x-hubspot-ratelimit-daily-remaining': '1',
    });
    expect(budget.budget()).toMatchObject({ used: 200_000 });
  });

  it('asks for the usage while holding back, then not again until the reset', () => {
    let now = Date.parse('2026-05-04T10:00:00.000Z');
    const budget = new DailyBudget(0.5, () => now);
    expect(budget.needsUsageRead()).toBe(false);
    budget.observe({
      'x-hubspot-ratelimit-daily': '500000',
      'x-hubspot-ratelimit-daily-remaining': '100000',
    });
    expect(budget.needsUsageRead()).toBe(true);
    expect(budget.observeUsage(usage(400_001, '2026-05-05T04:00:00Z'))).toBe(true);
    expect(budget.budget()).toMatchObject({ used: 400_001, max: 500_000, holdingBack: true });
    expect(budget.needsUsageRead()).toBe(false);
    now = Date.parse('2026-05-05T04:00:00.000Z');
    expect(budget.needsUsageRead()).toBe(true);
    budget.observeUsage(usage(12, '2026-05-06T04:00:00Z'));
    expect(budget.budget()).toEqual({
      used: 12,
      max: 500_000,
      limitShare: 0.5,
      holdingBack: false,
    });
    expect(budget.observeUsage({ results: [] })).toBe(false);
    expect(budget.observeUsage({ status: 'error' })).toBe(false);
  });
});
