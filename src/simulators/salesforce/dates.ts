// Date and dateTime text as Salesforce reads and writes it (`2025-01-31`,
// `2025-01-31T08:00:00.000+0000`).

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/;

function validCalendarDay(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const probe = new Date(Date.UTC(year, month - 1, day));
  return probe.getUTCMonth() === month - 1 && probe.getUTCDate() === day;
}

/** `YYYY-MM-DD` when the text is a real calendar date, otherwise null. */
export function parseDateOnly(text: string): string | null {
  const m = DATE_PATTERN.exec(text);
  if (!m) return null;
  return validCalendarDay(Number(m[1]), Number(m[2]), Number(m[3])) ? text : null;
}

/**
 * Epoch milliseconds of an ISO-8601 dateTime that names its zone (Z or an offset), otherwise null.
 */
export function parseDateTime(text: string): number | null {
  const m = DATETIME_PATTERN.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, fraction, zone] = m;
  if (!validCalendarDay(Number(y), Number(mo), Number(d))) return null;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return null;
  let offsetMinutes = 0;
  if (zone && zone !== 'Z') {
    const digits = zone.replace(':', '');
    const hours = Number(digits.slice(1, 3));
    const minutes = Number(digits.slice(3, 5));
    if (hours > 23 || minutes > 59) return null;
    offsetMinutes = (digits.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
  }
  const ms = fraction ? Math.floor(Number(`0${fraction}`) * 1000) : 0;
  return (
    Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms) -
    offsetMinutes * 60_000
  );
}

/** Salesforce's REST form of a dateTime: milliseconds and a `+0000` zone. */
export function formatDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

/** The UTC calendar date of an instant, `days` later. */
export function dateOnlyAfter(ms: number, days: number): string {
  return new Date(ms + days * 86_400_000).toISOString().slice(0, 10);
}
