// The health/metrics endpoint over real HTTP on 127.0.0.1: fresh vs stale by age, start-up grace,
// /metrics, 404/405.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startHealthServer,
  type HealthServer,
  type HealthSnapshot,
} from '../../src/worker/health.js';
import { WorkerMetrics } from '../../src/worker/metrics.js';

const NOW = new Date('2026-11-24T10:00:00.000Z');
const secondsAgo = (s: number) => new Date(NOW.getTime() - s * 1000);

let server: HealthServer;
let snapshot: HealthSnapshot;
const metrics = new WorkerMetrics();

beforeAll(async () => {
  server = await startHealthServer({ port: 0, metrics, health: () => snapshot, now: () => NOW });
});
afterAll(() => server.close());

async function get(
  path: string,
  method = 'GET',
): Promise<{ status: number; type: string | null; body: string }> {
  const response = await fetch(`${server.url}${path}`, { method });
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    body: await response.text(),
  };
}

describe('GET /healthz', () => {
  it('listens on 127.0.0.1 by default', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('answers 200 ok when the last successful cycle is younger than maxAgeSeconds', async () => {
    snapshot = { lastSuccessAt: secondsAgo(90), startedAt: secondsAgo(3600), maxAgeSeconds: 300 };
    const answer = await get('/healthz');
    expect(answer.status).toBe(200);
    expect(answer.type).toBe('application/json; charset=utf-8');
    expect(JSON.parse(answer.body)).toEqual({
      status: 'ok',
      lastSuccessAt: '2026-11-24T09:58:30.000Z',
      ageSeconds: 90,
      startedAt: '2026-11-24T09:00:00.000Z',
      uptimeSeconds: 3600,
      maxAgeSeconds: 300,
      problems: [],
    });
  });

  it(
    'answers 503 failing, not stale, naming a lost sign-in (threshold 0) while the cycles ' +
      'fail for want of it',
    async () => {
      const reason =
        'partner-center: the sign-in of a@contoso.example is no longer valid (invalid_grant); ' +
        'sign in again: leadbridge login partner-center';
      snapshot = {
        lastSuccessAt: secondsAgo(600),
        startedAt: secondsAgo(3600),
        maxAgeSeconds: 300,
        problems: [
          { cause: 'partner-center-sign-in', reason, since: secondsAgo(5), thresholdSeconds: 0 },
        ],
      };
      const answer = await get('/healthz');
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.body)).toMatchObject({
        status: 'failing',
        problems: [
          {
            cause: 'partner-center-sign-in',
            reason,
            since: '2026-11-24T09:59:55.000Z',
            ageSeconds: 5,
            thresholdSeconds: 0,
            failing: true,
          },
        ],
        lastSuccessAt: '2026-11-24T09:50:00.000Z',
        ageSeconds: 600,
      });
    },
  );

  it(
    'answers 503 failing, with every reason, once a named problem has lasted maxAgeSeconds; ' +
      'younger ones are listed as not failing',
    async () => {
      const problems = [
        {
          cause: 'target:salesforce',
          reason: 'target "salesforce" failed as a whole: INVALID_SESSION_ID',
          since: secondsAgo(300),
        },
        {
          cause: 'sign-in',
          reason: 'the sign-in lapsed',
          since: secondsAgo(20),
          thresholdSeconds: 10,
        },
        {
          cause: 'target:dynamics',
          reason: 'target "dynamics" failed as a whole: 503',
          since: secondsAgo(299),
        },
      ];
      snapshot = {
        lastSuccessAt: secondsAgo(1),
        startedAt: secondsAgo(3600),
        maxAgeSeconds: 300,
        problems,
      };
      const answer = await get('/healthz');
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.body)).toMatchObject({
        status: 'failing',
        problems: [
          {
            cause: 'target:salesforce',
            reason: 'target "salesforce" failed as a whole: INVALID_SESSION_ID',
            since: '2026-11-24T09:55:00.000Z',
            ageSeconds: 300,
            thresholdSeconds: 300,
            failing: true,
          },
          {
            cause: 'target:dynamics',
            reason: 'target "dynamics" failed as a whole: 503',
            since: '2026-11-24T09:55:01.000Z',
            ageSeconds: 299,
            thresholdSeconds: 300,
            failing: false,
          },
          {
            cause: 'sign-in',
            reason: 'the sign-in lapsed',
            since: '2026-11-24T09:59:40.000Z',
            ageSeconds: 20,
            thresholdSeconds: 10,
            failing: true,
          },
        ],
      });
      snapshot = {
        lastSuccessAt: secondsAgo(1),
        startedAt: secondsAgo(3600),
        maxAgeSeconds: 300,
        problems: [problems[2]!],
      };
      expect((await get('/healthz')).status).toBe(200);
    },
  );

  it('answers 503 stale when the last success is too old', async () => {
    snapshot = { lastSuccessAt: secondsAgo(301), startedAt: secondsAgo(3600), maxAgeSeconds: 300 };
    const answer = await get('/healthz');
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 'stale', ageSeconds: 301 });
  });

  it(
    'gives a worker that just started (no success yet, or an old one from before) ' +
      'maxAgeSeconds of grace',
    async () => {
      snapshot = { lastSuccessAt: null, startedAt: secondsAgo(10), maxAgeSeconds: 300 };
      expect(await get('/healthz')).toMatchObject({ status: 200 });
      expect(JSON.parse((await get('/healthz')).body)).toMatchObject({
        status: 'ok',
        lastSuccessAt: null,
        ageSeconds: null,
      });
      snapshot = {
        lastSuccessAt: secondsAgo(86_400),
        startedAt: secondsAgo(10),
        maxAgeSeconds: 300,
      };
      expect((await get('/healthz')).status).toBe(200);
      snapshot = { lastSuccessAt: null, startedAt: secondsAgo(300), maxAgeSeconds: 300 };
      const stale = await get('/healthz');
      expect(stale.status).toBe(503);
      expect(JSON.parse(stale.body)).toMatchObject({
        status: 'stale',
        lastSuccessAt: null,
        ageSeconds: null,
        uptimeSeconds: 300,
      });
    },
  );
});

describe('GET /metrics', () => {
  it('serves the registry in the Prometheus text format with its content type', async () => {
    metrics.recordApiCall({ api: 'graph', method: 'POST', status: 202, durationMs: 12 });
    const answer = await get('/metrics');
    expect(answer.status).toBe(200);
    expect(answer.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(answer.body).toContain('# TYPE leadbridge_api_calls_total counter');
    expect(answer.body).toContain(
      'leadbridge_api_calls_total{api="graph",method="POST",status="202"} 1',
    );
  });
});

describe('other requests', () => {
  it('answers unknown paths with 404 and other methods with 405', async () => {
    expect(await get('/')).toEqual({
      status: 404,
      type: 'application/json; charset=utf-8',
      body: JSON.stringify({ error: 'no resource at /; try /healthz or /metrics' }),
    });
    const refused = await fetch(`${server.url}/healthz`, { method: 'POST' });
    expect(refused.status).toBe(405);
    expect(refused.headers.get('allow')).toBe('GET, HEAD');
    expect(await refused.json()).toEqual({ error: 'POST is not allowed on /healthz' });
  });

  it('answers HEAD without a body', async () => {
    snapshot = { lastSuccessAt: secondsAgo(1), startedAt: secondsAgo(10), maxAgeSeconds: 60 };
    expect(await get('/healthz', 'HEAD')).toEqual({
      status: 200,
      type: 'application/json; charset=utf-8',
      body: '',
    });
  });
});
