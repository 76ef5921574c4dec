// Instants as ISO-8601 strings with up to 7 fractional digits (Partner Center's precision, finer
// than Date's).

const ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,7}))?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A sortable key: UTC, always 7 fractional digits. Throws on a string that is not an ISO instant.
 */
export function instantKey(iso: string): string {
  const match = ISO.exec(iso);
  if (!match) throw new Error(`"${iso}" is not an ISO-8601 date-time`);
  const [, whole, fraction = '', zone] = match;
  if (zone === 'Z') return `${whole}.${fraction.padEnd(7, '0')}Z`;
  const utc = new Date(`${whole}${zone}`).toISOString().slice(0, 19);
  return `${utc}.${fraction.padEnd(7, '0')}Z`;
}

export function compareInstants(a: string, b: string): number {
  const ka = instantKey(a);
  const kb = instantKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Moves an instant back by `ms`, keeping the sub-millisecond digits. */
export function minusMs(iso: string, ms: number): string {
  const key = instantKey(iso);
  const shifted = new Date(new Date(`${key.slice(0, 23)}Z`).getTime() - ms).toISOString();
  return `${shifted.slice(0, 23)}${key.slice(23)}`;
}
