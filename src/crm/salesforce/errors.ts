// Turns what jsforce throws (HttpApiError, FetchError, OAuth errors) into LeadbridgeErrors that
// name the target and the call.
import { LeadbridgeError, NETWORK_ERROR_CODES, normaliseError } from '../../core/errors.js';
import { CALL_ERRORS } from './facts.js';

const API = 'salesforce';

/**
 * What jsforce's errors carry: HttpApiError has errorCode + data, node-fetch's FetchError a socket
 * code.
 */
interface JsforceErrorShape {
  name?: unknown;
  message?: unknown;
  errorCode?: unknown;
  code?: unknown;
  data?: unknown;
}

/**
 * The Salesforce error code of a thrown jsforce error (`INVALID_SESSION_ID`, `ERROR_HTTP_502`...),
 * if it has one.
 */
function salesforceCodeOf(error: unknown): string | undefined {
  const { errorCode } = (error ?? {}) as JsforceErrorShape;
  return typeof errorCode === 'string' && errorCode !== '' ? errorCode : undefined;
}

/**
 * The code and message Salesforce sent. jsforce folds an error array of several entries into
 * MULTIPLE_API_ERRORS
 * with the entries in `data`: the first entry's code is the one that matters, every message is
 * kept.
 */
function providerErrorOf(error: unknown): { errorCode?: string; message: string } {
  const shape = (error ?? {}) as JsforceErrorShape;
  const message = typeof shape.message === 'string' ? shape.message : String(error);
  const errorCode = salesforceCodeOf(error);
  if (errorCode !== 'MULTIPLE_API_ERRORS' || !Array.isArray(shape.data))
    return { errorCode, message };
  const entries = shape.data as JsforceErrorShape[];
  const first = salesforceCodeOf(entries[0]);
  const messages = entries
    .map((entry) => (typeof entry?.message === 'string' ? entry.message : ''))
    .filter((m) => m !== '');
  return { errorCode: first ?? errorCode, message: messages.join('; ') || message };
}

/**
 * Status of a code: from the facts table, or from jsforce's `ERROR_HTTP_<status>` for bodies it
 * could not read.
 */
function statusOf(errorCode: string): number | undefined {
  const fact = CALL_ERRORS[errorCode];
  if (fact) return fact.status;
  const match = /^ERROR_HTTP_(\d{3})$/.exec(errorCode);
  return match ? Number(match[1]) : undefined;
}

/**
 * One failed REST call as a LeadbridgeError. Retrying is decided by the status (withRetry's
 * policy), so codes
 * with no known status are final; network failures and timeouts are retryable.
 */
export function callError(error: unknown, context: CallContext): LeadbridgeError {
  if (error instanceof LeadbridgeError) return error;
  const shape = (error ?? {}) as JsforceErrorShape;
  const where = `salesforce target "${context.target}": ${context.call}`;
  const { errorCode, message } = providerErrorOf(error);
  if (errorCode === 'REQUEST_LIMIT_EXCEEDED') return dailyLimitError(error, message, context);
  if (errorCode) {
    const status = statusOf(errorCode);
    const code = CALL_ERRORS[errorCode]?.code ?? (status === 429 ? 'RATE_LIMITED' : 'HTTP_ERROR');
    return new LeadbridgeError(code, `${where} failed: ${errorCode}: ${message}`, {
      api: API,
      status,
      // The wait Salesforce asked for, read from the response by the transport (jsforce drops
      // headers).
      retryAfterSeconds: context.retryAfterSeconds,
      providerCode: errorCode,
      provider: shape.data,
      cause: error,
    });
  }
  if (shape.name === 'AbortError') {
    // Our signal is checked between calls; an abort inside jsforce is its request timeout.
    return new LeadbridgeError('NETWORK_ERROR', `${where} timed out: ${message}`, {
      api: API,
      retryable: true,
      cause: error,
    });
  }
  if (typeof shape.code === 'string' && NETWORK_ERROR_CODES.has(shape.code)) {
    return new LeadbridgeError('NETWORK_ERROR', `${where} failed: ${shape.code} ${message}`, {
      api: API,
      retryable: true,
      cause: error,
    });
  }
  const normalised = normaliseError(error, API);
  return new LeadbridgeError(normalised.code, `${where} failed: ${message}`, {
    api: API,
    retryable: normalised.retryable,
    cause: error,
  });
}

export interface CallContext {
  target: string;
  /** What was being done (`upsert of 200 Lead records by PartnerReferralId__c`). */
  call: string;
  /** The org's API usage from the last Sforce-Limit-Info header jsforce read, when known. */
  apiUsage?: { used: number; limit: number };
  /** Retry-After of the 429 / 503 answer, in seconds (see transport.ts withResponseNotes). */
  retryAfterSeconds?: number;
}

/**
 * The org's rolling 24-hour request allocation is used up: final for this cycle, whatever the retry
 * policy says.
 */
function dailyLimitError(error: unknown, message: string, context: CallContext): LeadbridgeError {
  const usage = context.apiUsage
    ? ` (api-usage ${context.apiUsage.used}/${context.apiUsage.limit})`
    : '';
  return new LeadbridgeError(
    'RATE_LIMITED',
    `salesforce target "${context.target}": ${context.call} refused: the org's daily API ` +
      `request limit is used up${usage} ` +
      `(REQUEST_LIMIT_EXCEEDED: ${message}); calls succeed again once the rolling 24-hour ` +
      `allocation frees up`,
    {
      api: API,
      status: CALL_ERRORS.REQUEST_LIMIT_EXCEEDED?.status,
      providerCode: 'REQUEST_LIMIT_EXCEEDED',
      provider: (error as JsforceErrorShape).data,
      retryable: false,
      cause: error,
    },
  );
}

/** Whether a call was refused because the session (access token) is no longer valid. */
export function isInvalidSession(error: unknown): boolean {
  const code = error instanceof LeadbridgeError ? error.providerCode : salesforceCodeOf(error);
  return code === 'INVALID_SESSION_ID';
}

/**
 * An OAuth token endpoint refusal (jsforce names the error after `error` and carries
 * `error_description`).
 */
export function tokenError(
  error: unknown,
  context: { target: string; flow: string; tokenUrl: string },
): LeadbridgeError {
  const where =
    `salesforce target "${context.target}": the ${context.flow} token request to ` +
    `${context.tokenUrl}`;
  const shape = (error ?? {}) as JsforceErrorShape;
  const message = typeof shape.message === 'string' ? shape.message : String(error);
  if (typeof shape.code === 'string' && NETWORK_ERROR_CODES.has(shape.code)) {
    return new LeadbridgeError('NETWORK_ERROR', `${where} failed: ${shape.code} ${message}`, {
      api: API,
      retryable: true,
      cause: error,
    });
  }
  const oauthCode =
    typeof shape.name === 'string' && shape.name !== 'Error' ? shape.name : undefined;
  const httpStatus = /^ERROR_HTTP_(\d{3})$/.exec(oauthCode ?? '');
  if (httpStatus) {
    // No OAuth error body: a proxy or an outage answered, which may pass.
    return new LeadbridgeError('HTTP_ERROR', `${where} failed: HTTP ${httpStatus[1]}: ${message}`, {
      api: API,
      status: Number(httpStatus[1]),
      cause: error,
    });
  }
  return new LeadbridgeError(
    'AUTH_FAILED',
    `${where} was refused: ${oauthCode ? `${oauthCode}: ` : ''}${message}`,
    {
      api: API,
      providerCode: oauthCode,
      cause: error,
    },
  );
}
