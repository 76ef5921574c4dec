// The Graph client's middleware chain for alerts: which handlers it uses and which throttled
// answers it retries (no I/O).
import {
  AuthenticationHandler,
  HTTPMessageHandler,
  RetryHandler,
} from '@microsoft/microsoft-graph-client';
import { describe, expect, it } from 'vitest';
import { graphMiddleware, shouldRetryGraph } from '../../src/alerts/alerts-graph-chain.js';

const credential = { description: 'static token', getToken: async () => 't' };
const settings = { maxRetries: 3, delaySeconds: 1, maxRetryAfterSeconds: 10 };

function answer(status: number, retryAfter?: string): Response {
  return new Response(null, {
    status,
    headers: retryAfter === undefined ? {} : { 'Retry-After': retryAfter },
  });
}

describe('graphMiddleware', () => {
  it("uses the library's AuthenticationHandler and RetryHandler for https Graph", () => {
    const chain = graphMiddleware({
      baseUrl: 'https://graph.microsoft.com',
      credential,
      retry: settings,
    });
    expect(chain[0]).toBeInstanceOf(AuthenticationHandler);
    expect(chain[1]).toBeInstanceOf(RetryHandler);
    expect(chain.at(-1)).toBeInstanceOf(HTTPMessageHandler);
  });

  it('puts the token on plain http only for a loopback host', async () => {
    const [auth] = graphMiddleware({
      baseUrl: 'http://graph.example.com',
      credential,
      retry: settings,
    });
    expect(auth).not.toBeInstanceOf(AuthenticationHandler);
    const context = {
      request: 'http://graph.example.com/v1.0/users/x/sendMail',
      options: { method: 'POST' },
    };
    await expect(auth?.execute(context)).rejects.toThrow(
      'refusing to send a Graph token over plain http to graph.example.com',
    );
  });
});

describe('shouldRetryGraph', () => {
  const shouldRetry = shouldRetryGraph(settings);
  it.each([
    ['429 with Retry-After', answer(429, '3'), true],
    ['429 without Retry-After (the library backs off)', answer(429), true],
    ['429 asking for longer than 10 s', answer(429, '11'), false],
    ['503 with Retry-After', answer(503, '2'), true],
    ['503 without Retry-After', answer(503), false],
    ['504 (the mail may have gone)', answer(504), false],
  ])('%s → %s', (_case, response, expected) => {
    expect(
      shouldRetry(
        1,
        0,
        'https://graph.microsoft.com/v1.0/users/x/sendMail',
        { method: 'POST' },
        response,
      ),
    ).toBe(expected);
  });

  it('does not retry once the request is aborted (the worker is stopping)', () => {
    const controller = new AbortController();
    controller.abort();
    expect(
      shouldRetry(1, 0, 'u', { method: 'POST', signal: controller.signal }, answer(429, '1')),
    ).toBe(false);
  });
});
