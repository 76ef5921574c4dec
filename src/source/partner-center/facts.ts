// Wire facts of the Partner Center referrals API (api-facts.md §1), kept as data beside the client.

export const PARTNER_CENTER_API = 'partner-center';

export const REFERRALS_PATH = 'v1.0/engagements/referrals';

/** How far each incremental poll reaches back before the caller's watermark. */
export const DEFAULT_OVERLAP_MS = 5 * 60_000;

/**
 * `client-request-id` (a GUID per call) and the response's `request-id` are the Partner REST
 * headers
 * (MicrosoftDocs/partner-rest partner-rest/develop/headers.md); the connector swagger also sends
 * MS-CorrelationId.
 */
export const HEADERS = {
  correlationId: 'MS-CorrelationId',
  clientRequestId: 'client-request-id',
  responseRequestId: 'request-id',
  ifMatch: 'If-Match',
  prefer: 'Prefer',
} as const;

export const PREFER_REPRESENTATION = 'return=representation';

/** One operation of a JSON Patch body; the API accepts only `replace` and `add`. */
export interface PatchOperation {
  op: 'replace' | 'add';
  path: string;
  value: unknown;
}

/**
 * The API's error envelope: `{"error":{"code","message","target"?,"innerError"?}}` with camelCase
 * codes such as
 * `invalidRequest`, `itemNotFound`, `preconditionFailed` (MicrosoftDocs/partner-rest
 * partner-rest/develop/error-codes.md).
 */
export function parsePartnerCenterError(body: unknown): { code?: string; message?: string } {
  if (typeof body === 'string') return body.trim() ? { message: body.trim().slice(0, 1024) } : {};
  if (body === null || typeof body !== 'object') return {};
  const envelope = (body as { error?: unknown }).error;
  // Some gateways answer with the fields at the top level, or with a bare string under `error`.
  const source = envelope !== null && typeof envelope === 'object' ? envelope : body;
  const { code, message } = source as { code?: unknown; message?: unknown };
  const result: { code?: string; message?: string } = {};
  if (typeof code === 'string' && code) result.code = code;
  if (typeof message === 'string' && message) result.message = message;
  else if (typeof envelope === 'string' && envelope) result.message = envelope;
  return result;
}

/**
 * Where a referral lives in the Partner Center portal (offered to mappings as $referralLink, and
 * put in alerts).
 */
export function portalLink(referralId: string): string {
  return (
    `https://partner.microsoft.com/dashboard/referrals/v2/leads/` +
    `${encodeURIComponent(referralId)}`
  );
}
