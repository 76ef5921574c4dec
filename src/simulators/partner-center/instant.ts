// Date-time instants as Partner Center writes them: canonical UTC text with 7 fractional digits,
// which sorts as time.
import { isoWith7Digits } from '../common/clock.js';

/**
 * OData DateTimeOffset: seconds optional, up to 12 fractional digits (only 7 are kept), Z or an
 * offset.
 */
const DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,12}))?)?(Z|[+-]\d{2}:\d{2})$/;
/** What the simulator itself writes; the fast path when scanning stored referrals. */
const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/;

const MS_PER_DAY = 86_400_000;
const TICKS_PER_MS = 10_000;

/**
 * The canonical form of an ISO-8601 date-time (UTC, 7 fractional digits), or null when the text
 * is not a valid date-time. Canonical strings compare like the instants they name.
 */
export function canonicalInstant(text: unknown): string | null {
  if (typeof text !== 'string') return null;
  if (CANONICAL.test(text)) return text;
  const match = DATETIME.exec(text);
  if (!match) return null;
  const [, year, month, day, hour, minute, second = '00', fraction = '', zone = 'Z'] = match;
  const wholeMs = utcMs(
    Number(year),
    Number(month),
    Number(day),
    Number(hour),
    Number(minute),
    Number(second),
  );
  const offsetMs = zoneOffsetMs(zone);
  if (wholeMs === null || offsetMs === null) return null;
  const fractionTicks = Number(fraction.padEnd(7, '0').slice(0, 7));
  const ms = wholeMs - offsetMs + Math.floor(fractionTicks / TICKS_PER_MS);
  return formatInstant(ms, fractionTicks % TICKS_PER_MS);
}

/** Canonical text for an epoch millisecond plus 100-ns ticks within it. */
export function formatInstant(ms: number, ticks = 0): string {
  return isoWith7Digits(new Date(ms), ticks);
}

/** The canonical instant `ticks` 100-ns steps after a canonical instant. */
export function addTicks(canonical: string, ticks: number): string {
  const { ms, subTicks } = splitCanonical(canonical);
  const total = subTicks + ticks;
  const carryMs = Math.floor(total / TICKS_PER_MS);
  return formatInstant(ms + carryMs, total - carryMs * TICKS_PER_MS);
}

export function addDays(canonical: string, days: number): string {
  const { ms, subTicks } = splitCanonical(canonical);
  return formatInstant(ms + days * MS_PER_DAY, subTicks);
}

function splitCanonical(canonical: string): { ms: number; subTicks: number } {
  return {
    ms: Date.parse(`${canonical.slice(0, 23)}Z`),
    subTicks: Number(canonical.slice(23, 27)),
  };
}

/**
 * Milliseconds for the calendar fields, or null when a field is out of range (2025-02-30,
 * 24:00...).
 */
function utcMs(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
): number | null {
  if (hour > 23 || minute > 59 || second > 59) return null;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  const sameDay =
    date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  return sameDay ? date.getTime() : null;
}

function zoneOffsetMs(zone: string): number | null {
  if (zone === 'Z') return 0;
  const hours = Number(zone.slice(1, 3));
  const minutes = Number(zone.slice(4, 6));
  if (hours > 23 || minutes > 59) return null;
  return (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes) * 60_000;
}
