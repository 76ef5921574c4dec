// Replication: `/sobjects/{type}/updated` and `/deleted` list what changed in a window (jsforce
// updated()/deleted()).
import type { SimRequest, SimRoute } from '../common/server.js';
import { formatDateTime, parseDateTime } from './dates.js';
import { SalesforceApiError } from './errors.js';
import { VERSIONED, json, objectOf, route, type RestContext } from './route-helpers.js';

/** How far back the platform keeps replication data. */
const REPLICATION_DAYS = 30;
const MINUTE_MS = 60_000;

/** The `start` / `end` window, each rounded down to the minute as the platform does. */
function windowOf(ctx: RestContext, req: SimRequest): { start: number; end: number } {
  const read = (name: 'start' | 'end') => {
    const text = req.query.get(name);
    const ms = text === null ? null : parseDateTime(text);
    if (ms === null) {
      throw new SalesforceApiError(
        400,
        'INVALID_REPLICATION_DATE',
        `${name} must be an ISO-8601 dateTime with a zone, got: ${text ?? '(missing)'}`,
      );
    }
    return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
  };
  const start = read('start');
  const end = read('end');
  if (end <= start)
    throw new SalesforceApiError(400, 'INVALID_REPLICATION_DATE', 'end must be after start');
  if (start < ctx.store.clock.nowMs() - REPLICATION_DAYS * 86_400_000) {
    throw new SalesforceApiError(
      400,
      'INVALID_REPLICATION_DATE',
      `start must be within the last ${REPLICATION_DAYS} days`,
    );
  }
  return { start, end };
}

export function replicationRoutes(ctx: RestContext): SimRoute[] {
  return [
    route('GET', `${VERSIONED}/sobjects/(?<type>[^/]+)/updated/?$`, (req) => {
      const object = objectOf(req);
      const { start, end } = windowOf(ctx, req);
      const ids: string[] = [];
      for (const row of ctx.store.rows(object)) {
        const stamp = Number(row.SystemModstamp);
        if (stamp >= start && stamp < end) ids.push(String(row.Id));
      }
      return json({ ids, latestDateCovered: formatDateTime(end) });
    }),
    route('GET', `${VERSIONED}/sobjects/(?<type>[^/]+)/deleted/?$`, (req) => {
      const object = objectOf(req);
      const { start, end } = windowOf(ctx, req);
      const deletedRecords: Array<{ id: string; deletedDate: string }> = [];
      for (const row of ctx.store.rows(object, true)) {
        const stamp = Number(row.SystemModstamp);
        if (row.IsDeleted === true && stamp >= start && stamp < end)
          deletedRecords.push({ id: String(row.Id), deletedDate: formatDateTime(stamp) });
      }
      const earliest =
        Math.floor((ctx.store.clock.nowMs() - REPLICATION_DAYS * 86_400_000) / MINUTE_MS) *
        MINUTE_MS;
      return json({
        deletedRecords,
        earliestDateAvailable: formatDateTime(earliest),
        latestDateCovered: formatDateTime(end),
      });
    }),
  ];
}
