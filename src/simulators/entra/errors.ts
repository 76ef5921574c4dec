// The Microsoft identity platform's OAuth error body: error, error_description (AADSTS code, trace,
// correlation), error_codes, ids.
import { randomUUID } from 'node:crypto';
import { SimHttpError } from '../common/server.js';

/**
 * AADSTS codes the simulator answers with. Sources: the device code flow article
 * (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code:
 * authorization_pending, authorization_declined, bad_verification_code, expired_token), an
 * observed authorization_pending body with AADSTS70016
 * (https://learn.microsoft.com/en-us/answers/questions/981553/), and AADSTS50173 for a revoked
 * grant:
 * https://learn.microsoft.com/en-us/troubleshoot/entra/entra-id/app-integration/error-code-aadsts50173-grant-expired-revoked
 */
export const AADSTS = {
  authorizationPending: 70016,
  expiredDeviceCode: 70019,
  invalidGrant: 70000,
  grantRevoked: 50173,
  missingParameter: 900144,
  unsupportedGrantType: 70003,
  invalidClientSecret: 7000215,
  applicationNotFound: 700016,
  tenantNotFound: 90002,
  invalidScope: 70011,
} as const;

/**
 * Thrown by the token routes; the message starts with "AADSTS<code>: " so that the body can carry
 * error_codes.
 */
export function oauthError(
  status: number,
  error: string,
  aadsts: number,
  description: string,
): SimHttpError {
  return new SimHttpError(status, error, `AADSTS${aadsts}: ${description}`);
}

/**
 * The error body, shaped like the identity platform's (error, error_description, error_codes,
 * timestamp, trace_id, correlation_id, error_uri).
 */
export function oauthErrorBody(
  _status: number,
  error: string,
  message: string,
  correlationId?: string,
): Record<string, unknown> {
  const traceId = randomUUID();
  const correlation = correlationId ?? randomUUID();
  const timestamp = new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  const code = /^AADSTS(\d+):/.exec(message)?.[1];
  return {
    error,
    error_description:
      `${message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlation}` +
      `\r\nTimestamp: ${timestamp}`,
    error_codes: code ? [Number(code)] : [],
    timestamp,
    trace_id: traceId,
    correlation_id: correlation,
    ...(code ? { error_uri: `https://login.microsoftonline.com/error?code=${code}` } : {}),
  };
}
