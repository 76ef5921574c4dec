// The `since` argument of an incremental listing: an ISO-8601 date-time read as .NET ticks.
import { ValidationError } from '../../core/errors.js';
import { toTicks } from './overlap.js';

/** Ticks of `since`, or null for a full listing; a malformed value is a validation error. */
export function parseSince(since: string | null): bigint | null {
  if (since === null) return null;
  const ticks = typeof since === 'string' ? toTicks(since) : null;
  if (ticks === null) {
    throw new ValidationError(
      'VALIDATION_FAILED',
      'partner-center: cannot list changed referrals',
      [
        {
          path: 'since',
          message:
            `must be an ISO-8601 date-time such as 2025-01-01T00:00:00Z (got ` +
            `${JSON.stringify(since)})`,
        },
      ],
    );
  }
  return ticks;
}
