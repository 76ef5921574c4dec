// The /_sim/ admin routes of every simulator: health, request log, stats, faults, clock, reset.
import { SimHttpError, type SimResponse, type SimRoute, type SimServer } from './server.js';

/** Admin routes shared by all simulators; `onReset` lets a simulator clear its own state too. */
export function commonAdminRoutes(server: SimServer, onReset?: () => void): SimRoute[] {
  const json = (body: unknown, status = 200): SimResponse => ({ status, body });
  return [
    {
      method: 'GET',
      pattern: /^\/_sim\/health$/,
      handler: () => json({ name: server.name, ok: true, now: server.clock.now().toISOString() }),
    },
    {
      method: 'GET',
      pattern: /^\/_sim\/requests$/,
      handler: (req) =>
        json({
          requests: server.requests(Number(req.query.get('since') ?? 0)),
          stats: server.counters(),
        }),
    },
    { method: 'GET', pattern: /^\/_sim\/stats$/, handler: () => json(server.counters()) },
    {
      method: 'DELETE',
      pattern: /^\/_sim\/requests$/,
      handler: () => (server.resetLog(), { status: 204 }),
    },
    { method: 'GET', pattern: /^\/_sim\/faults$/, handler: () => json(server.faults.current) },
    {
      method: 'PUT',
      pattern: /^\/_sim\/faults$/,
      handler: (req) => {
        try {
          return json(server.faults.configure(req.body ?? {}));
        } catch (error) {
          throw new SimHttpError(
            400,
            'BadRequest',
            `invalid fault config: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/_sim\/faults$/,
      handler: () => (server.faults.clear(), { status: 204 }),
    },
    {
      method: 'GET',
      pattern: /^\/_sim\/clock$/,
      handler: () => json({ now: server.clock.now().toISOString(), offsetMs: server.clock.offset }),
    },
    {
      method: 'POST',
      pattern: /^\/_sim\/clock\/advance$/,
      handler: (req) => {
        const body = (req.body ?? {}) as { ms?: unknown; hours?: unknown; days?: unknown };
        const ms =
          Number(body.ms ?? 0) +
          Number(body.hours ?? 0) * 3_600_000 +
          Number(body.days ?? 0) * 86_400_000;
        if (!Number.isFinite(ms) || ms <= 0)
          throw new SimHttpError(400, 'BadRequest', 'advance needs a positive ms, hours or days');
        server.clock.advance(ms);
        return json({ now: server.clock.now().toISOString(), offsetMs: server.clock.offset });
      },
    },
    {
      method: 'POST',
      pattern: /^\/_sim\/reset$/,
      handler: () => {
        server.resetLog();
        server.faults.clear();
        server.clock.reset();
        onReset?.();
        return { status: 204 };
      },
    },
  ];
}
