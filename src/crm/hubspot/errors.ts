// Turns what @hubspot/api-client throws (ApiException with the HTTP code, parsed body and headers;
// node-fetch
// errors) into LeadbridgeErrors and per-item CrmItemErrors. HubSpot's error body is {status:
// "error", message,
// correlationId, category, errors?[{message, code, context{propertyName[]}}]}; a 429 names its
// policy instead
// (TEN_SECONDLY_ROLLING, DAILY, SECONDLY). Sources: developers.hubspot.com/docs/api/error-handling
// and
// developers.hubspot.com/docs/guides/apps/api-usage/usage-details.
import { LeadbridgeError, NETWORK_ERROR_CODES } from '../../core/errors.js';
import type { CrmItemError } from '../adapter.js';

const API = 'hubspot';

/** The fields of the client's ApiException that matter here. */
interface ApiExceptionShape {
  code: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface HubSpotErrorBody {
  message?: unknown;
  category?: unknown;
  policyName?: unknown;
  errors?: Array<{
    message?: unknown;
    code?: unknown;
    in?: unknown;
    context?: Record<string, unknown>;
  }>;
}

export function isApiException(error: unknown): error is ApiExceptionShape {
  const shape = error as { code?: unknown; headers?: unknown } | null;
  return typeof shape?.code === 'number' && typeof shape.headers === 'object';
}

function bodyOf(error: ApiExceptionShape): HubSpotErrorBody {
  return typeof error.body === 'object' && error.body !== null
    ? (error.body as HubSpotErrorBody)
    : {};
}

/** HubSpot's own message, verbatim (or the status when the body has none). */
function providerMessage(error: ApiExceptionShape): string {
  const { message } = bodyOf(error);
  return typeof message === 'string' && message !== '' ? message : `HTTP ${error.code}`;
}

/** The category (VALIDATION_ERROR, CONFLICT, ...), the 429 policy, or HTTP_<status>. */
function providerCode(error: ApiExceptionShape): string {
  const body = bodyOf(error);
  if (typeof body.category === 'string' && body.category !== '') return body.category;
  if (typeof body.policyName === 'string') return body.policyName;
  return `HTTP_${error.code}`;
}

/**
 * The daily allocation is spent: nothing helps before the day turns (the client drops policyName;
 * the header says it).
 */
function isDailyLimit(error: ApiExceptionShape): boolean {
  const headers = error.headers ?? {};
  return (
    bodyOf(error).policyName === 'DAILY' || headers['x-hubspot-ratelimit-daily-remaining'] === '0'
  );
}

/**
 * How long a 429 asks us to wait: Retry-After when sent; else, with none of the window left
 * (X-HubSpot-RateLimit-Remaining 0), the window's length
 * (X-HubSpot-RateLimit-Interval-Milliseconds), within which the rolling window has emptied; a
 * search refusal (no such headers) clears in a second. The retry policy caps it.
 */
function rateLimitWaitSeconds(headers: Record<string, string>, search: boolean): number | null {
  const retryAfter = Number(headers['retry-after']);
  if (headers['retry-after'] !== undefined && Number.isFinite(retryAfter)) return retryAfter;
  const interval = Number(headers['x-hubspot-ratelimit-interval-milliseconds']);
  if (headers['x-hubspot-ratelimit-remaining'] === '0' && Number.isFinite(interval) && interval > 0)
    return interval / 1000;
  return search ? 1 : null;
}

export interface CallContext {
  target: string;
  call: string;
  /** Search has its own per-second limit: a refusal there clears within a second. */
  search?: boolean;
}

/** One failed call as a LeadbridgeError; retrying is decided by the status (withRetry's policy). */
export function callError(error: unknown, context: CallContext): LeadbridgeError {
  if (error instanceof LeadbridgeError) return error;
  const where = `hubspot target "${context.target}": ${context.call}`;
  if (isApiException(error)) {
    const code = providerCode(error);
    const message = `${where} failed: ${code}: ${providerMessage(error)}`;
    const options = { api: API, providerCode: code, provider: error.body, cause: error };
    if (error.code === 429 && isDailyLimit(error)) {
      return new LeadbridgeError('RATE_LIMITED', `${message} (the daily allocation is used up)`, {
        ...options,
        retryable: false,
      });
    }
    if (error.code === 429) {
      const retryAfter = rateLimitWaitSeconds(error.headers ?? {}, context.search === true);
      return new LeadbridgeError('RATE_LIMITED', message, {
        ...options,
        status: 429,
        ...(retryAfter !== null ? { retryAfterSeconds: retryAfter } : {}),
      });
    }
    const kind = error.code === 401 || error.code === 403 ? 'AUTH_FAILED' : 'HTTP_ERROR';
    return new LeadbridgeError(kind, message, { ...options, status: error.code });
  }
  const shape = (error ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof shape.message === 'string' ? shape.message : String(error);
  if (typeof shape.code === 'string' && NETWORK_ERROR_CODES.has(shape.code)) {
    return new LeadbridgeError('NETWORK_ERROR', `${where} failed: ${shape.code} ${text}`, {
      api: API,
      retryable: true,
      cause: error,
    });
  }
  return new LeadbridgeError('HTTP_ERROR', `${where} failed: ${text}`, { api: API, cause: error });
}

/**
 * Whether a failed batch call refused its content (400 / 409): splitting it finds the inputs at
 * fault.
 */
export function isContentRefusal(error: unknown): boolean {
  const cause = error instanceof LeadbridgeError ? error.cause : error;
  return isApiException(cause) && (cause.code === 400 || cause.code === 409);
}

/**
 * A refused single input as the item error the engine records: HubSpot's code and message, fields
 * named.
 */
export function itemErrorOf(error: unknown, prefix: string): CrmItemError {
  const cause = error instanceof LeadbridgeError ? error.cause : error;
  if (!isApiException(cause)) {
    const message = error instanceof Error ? error.message : String(error);
    return { code: 'HTTP_ERROR', message, retryable: false };
  }
  const fields = [...new Set(namedProperties(bodyOf(cause)))].map((name) => `${prefix}${name}`);
  return {
    code: providerCode(cause),
    message: providerMessage(cause),
    retryable: cause.code === 429 || cause.code >= 500,
    status: cause.code,
    ...(fields.length > 0 ? { fields } : {}),
  };
}

function namedProperties(body: HubSpotErrorBody): string[] {
  const names: string[] = [];
  for (const entry of body.errors ?? []) {
    const listed = entry.context?.propertyName;
    if (Array.isArray(listed))
      names.push(...listed.filter((n): n is string => typeof n === 'string'));
    // The documented example names the property in `in` instead.
    else if (typeof entry.in === 'string' && entry.in !== '') names.push(entry.in);
  }
  return names;
}

/** One entry of a 207's `errors`: HubSpot's error envelope, with `context` naming the inputs. */
export interface BatchErrorShape {
  status?: unknown;
  category?: unknown;
  message?: unknown;
  context?: Record<string, unknown>;
  errors?: HubSpotErrorBody['errors'];
}

/** Categories of a 207 entry worth another attempt in a later cycle. */
const RETRYABLE_CATEGORIES = new Set(['RATE_LIMITS', 'INTERNAL_ERROR', 'SERVICE_UNAVAILABLE']);

/** A 207 entry as the item error of each input it names. */
export function batchItemError(entry: BatchErrorShape, prefix: string): CrmItemError {
  const code = typeof entry.category === 'string' && entry.category ? entry.category : 'ERROR';
  const message =
    typeof entry.message === 'string' && entry.message ? entry.message : 'HubSpot refused it';
  const fields = [...new Set(namedProperties({ errors: entry.errors }))].map((n) => prefix + n);
  return {
    code,
    message,
    retryable: RETRYABLE_CATEGORIES.has(code),
    ...(fields.length > 0 ? { fields } : {}),
  };
}

/** Every id a 207 entry's context names (objectWriteTraceId, ids, fromIds, ...). */
export function contextIds(entry: BatchErrorShape): string[] {
  const ids: string[] = [];
  for (const value of Object.values(entry.context ?? {}))
    if (Array.isArray(value)) ids.push(...value.map(String));
  return ids;
}
