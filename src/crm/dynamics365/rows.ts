// Reading Dataverse rows over the Web API: one collection page, or one row by its address.
import { LeadbridgeError } from '../../core/errors.js';
import type { ApiClient } from '../../core/http.js';
import type { Row, RowPage } from './changes.js';

/** One collection page; `Prefer: odata.maxpagesize` bounds the rows held in memory. */
export async function fetchRowPage(
  api: ApiClient,
  url: string,
  pageSize: number,
  signal?: AbortSignal,
): Promise<RowPage> {
  const response = await api.request<{ value?: unknown; '@odata.nextLink'?: unknown }>({
    method: 'GET',
    url,
    headers: { Prefer: `odata.maxpagesize=${pageSize}` },
    idempotent: true,
    signal,
  });
  const body = response.data;
  if (!body || !Array.isArray(body.value)) {
    throw new LeadbridgeError(
      'HTTP_ERROR',
      `dynamics365: GET ${url.split('?')[0]} → ${response.status}: the body has no "value" array`,
      {
        api: 'dynamics365',
        status: response.status,
        provider: body,
      },
    );
  }
  const nextLink = body['@odata.nextLink'];
  return { rows: body.value as Row[], ...(typeof nextLink === 'string' ? { nextLink } : {}) };
}

/** One row by its address, or null when it does not exist. */
export async function getRow(
  api: ApiClient,
  url: string,
  signal?: AbortSignal,
): Promise<Row | null> {
  const response = await api.request<Row>({
    method: 'GET',
    url,
    idempotent: true,
    signal,
    acceptStatuses: [404],
  });
  if (response.status === 404) return null;
  // Response metadata, not a column: rows read one by one look like rows read from a collection.
  const { '@odata.context': _context, ...row } = response.data;
  return row;
}
