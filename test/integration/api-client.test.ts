// The shared API client over a real (refused) loopback connection: limiter, retries and error
// normalisation.
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY } from '../../src/core/retry.js';

describe('ApiClient limiter', () => {
  it('sends every attempt through the configured limiter', async () => {
    const { ApiClient } = await import('../../src/core/http.js');
    const { staticToken } = await import('../../src/core/auth.js');
    let queued = 0;
    const client = new ApiClient({
      api: 'test',
      baseUrl: 'http://127.0.0.1:9',
      credential: staticToken('t'),
      parseError: () => ({}),
      retryPolicy: { ...DEFAULT_RETRY_POLICY, maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
      limiter: {
        add: (task) => {
          queued++;
          return task();
        },
      },
    });
    // Port 9 refuses the connection: both attempts fail, and each one went through the limiter.
    await expect(
      client.request({ method: 'GET', url: 'x', idempotent: true }),
    ).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
    expect(queued).toBe(2);
  });
});
