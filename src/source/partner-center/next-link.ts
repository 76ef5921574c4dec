// The next page of a referral listing: only @odata.nextLink's query, never its scheme or host.
import { LeadbridgeError } from '../../core/errors.js';
import { PARTNER_CENTER_API, REFERRALS_PATH } from './facts.js';
import type { ListPage } from './list-query.js';

/**
 * The next page: only the query of `@odata.nextLink` ($skiptoken and the rest), requested on the
 * configured base and list path. Every documented list example gives
 * `http://api.partner.microsoft.com/v1.0/referrals?$skiptoken=...` (http, no /engagements:
 * MicrosoftDocs/partner-rest partner-rest/develop/get-a-list-of-referrals.md), so the link's
 * scheme, host and path are never followed, and the token only ever goes to the configured base.
 */
export function nextLinkOf(page: ListPage): string | null {
  const link = page.body['@odata.nextLink'];
  if (link === undefined || link === null || link === '') return null;
  let query: string;
  try {
    query =
      typeof link === 'string' ? new URL(link, 'https://api.partner.microsoft.com/').search : '';
  } catch {
    query = '';
  }
  if (query === '' || query === '?') {
    throw new LeadbridgeError(
      'HTTP_ERROR',
      `partner-center: @odata.nextLink carries no query to continue with (got ` +
        `${JSON.stringify(link)})`,
      { api: PARTNER_CENTER_API },
    );
  }
  const next = `${REFERRALS_PATH}${query}`;
  if (next === page.url) {
    throw new LeadbridgeError(
      'HTTP_ERROR',
      `partner-center: @odata.nextLink repeats the page just read (${next})`,
      { api: PARTNER_CENTER_API },
    );
  }
  return next;
}
