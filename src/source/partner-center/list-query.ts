// URLs and list bodies of the referrals API: the collection query, the item path, the $filter
// literal forms.
import type { AxiosResponse } from 'axios';
import { LeadbridgeError } from '../../core/errors.js';
import { PARTNER_CENTER_API, REFERRALS_PATH, parsePartnerCenterError } from './facts.js';

/**
 * How the `$filter` datetime literal is written; the service's form is unconfirmed, so both are
 * tried.
 */
export type LiteralForm = 'unquoted' | 'quoted';

export interface ListPage {
  url: string;
  body: { value: unknown[]; '@odata.nextLink'?: unknown };
}

export function itemPath(id: string): string {
  return `${REFERRALS_PATH}/${encodeURIComponent(id)}`;
}

/** The collection URL, ordered by updatedDateTime so that page watermarks only move forward. */
export function listUrl(filterLiteralText: string | null): string {
  const query = [`$orderby=${encodeURIComponent('updatedDateTime asc')}`];
  if (filterLiteralText !== null)
    query.unshift(`$filter=${encodeURIComponent(`updatedDateTime ge ${filterLiteralText}`)}`);
  return `${REFERRALS_PATH}?${query.join('&')}`;
}

export function formatLiteral(iso: string, form: LiteralForm): string {
  return form === 'quoted' ? `'${iso}'` : iso;
}

/**
 * A 400 whose message is about the filter (or says nothing): the literal form may be the culprit.
 */
export function isFilterRefusal(error: unknown): boolean {
  if (!(error instanceof LeadbridgeError) || error.status !== 400) return false;
  const { code, message } = parsePartnerCenterError(error.provider);
  if (!message && !code) return true;
  return /filter|updatedDateTime|literal|date.?time/i.test(`${code ?? ''} ${message ?? ''}`);
}

export function listBodyOf(response: AxiosResponse, url: string): ListPage['body'] {
  const body = response.data as { value?: unknown } | null;
  if (body === null || typeof body !== 'object' || !Array.isArray(body.value)) {
    throw new LeadbridgeError(
      'HTTP_ERROR',
      `partner-center: GET ${url.split('?')[0]} → ${response.status}: the list response has no ` +
        `"value" array`,
      {
        api: PARTNER_CENTER_API,
        status: response.status,
        provider: response.data,
      },
    );
  }
  return body as ListPage['body'];
}

export function isEmptyBody(data: unknown): boolean {
  return data === undefined || data === null || (typeof data === 'string' && data.trim() === '');
}
