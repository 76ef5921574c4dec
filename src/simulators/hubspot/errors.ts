// HubSpot's error envelope: {status: "error", message, correlationId, category, errors?, context?}.
// Sources: developers.hubspot.com/docs/api/error-handling (categories VALIDATION_ERROR,
// OBJECT_NOT_FOUND,
// CONFLICT, INVALID_AUTHENTICATION, EXPIRED_AUTHENTICATION, RATE_LIMITS; the 429 body with
// errorType
// "RATE_LIMIT" and policyName) and developers.hubspot.com/docs/guides/apps/api-usage/usage-details.
import { randomUUID } from 'node:crypto';
import type { SimResponse } from '../common/server.js';

export interface ErrorDetail {
  message: string;
  code?: string;
  context?: Record<string, string[]>;
}

/** A HubSpot error answer; thrown by handlers and turned into its response by `answer`. */
export class HubSpotError extends Error {
  constructor(
    readonly status: number,
    readonly category: string,
    message: string,
    readonly details: { errors?: ErrorDetail[]; context?: Record<string, string[]> } = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toResponse(): SimResponse {
    return {
      status: this.status,
      headers: { 'Content-Type': 'application/json;charset=utf-8', ...this.headers },
      body: {
        status: 'error',
        message: this.message,
        correlationId: randomUUID(),
        category: this.category,
        ...(this.details.errors ? { errors: this.details.errors } : {}),
        ...(this.details.context ? { context: this.details.context } : {}),
      },
    };
  }
}

/**
 * The 429 body: a rate-limit policy (TEN_SECONDLY_ROLLING, DAILY, SECONDLY for search) instead of a
 * category.
 */
function rateLimitResponse(
  policyName: 'TEN_SECONDLY_ROLLING' | 'DAILY' | 'SECONDLY',
  headers: Record<string, string> = {},
): SimResponse {
  const what = policyName === 'DAILY' ? 'daily' : policyName.toLowerCase();
  return {
    status: 429,
    headers: { 'Content-Type': 'application/json;charset=utf-8', ...headers },
    body: {
      status: 'error',
      message: `You have reached your ${what} limit.`,
      errorType: 'RATE_LIMIT',
      correlationId: randomUUID(),
      policyName,
      groupName: 'publicapi:private-app',
    },
  };
}

export function validationError(message: string, errors?: ErrorDetail[]): HubSpotError {
  return new HubSpotError(400, 'VALIDATION_ERROR', message, errors ? { errors } : {});
}

/** One invalid property value, in the form HubSpot lists them inside its message. */
export interface PropertyProblem {
  name: string;
  error: string;
  message: string;
}

/** "Property values were not valid: [{...}]" with each problem also in `errors`. */
export function propertyValuesError(problems: PropertyProblem[]): HubSpotError {
  const listed = problems.map((p) => ({
    isValid: false,
    message: p.message,
    error: p.error,
    name: p.name,
    localizedErrorMessage: p.message,
  }));
  return validationError(
    `Property values were not valid: ${JSON.stringify(listed)}`,
    problems.map((p) => ({
      message: p.message,
      code: p.error,
      context: { propertyName: [p.name] },
    })),
  );
}

export const AUTH_MISSING_MESSAGE =
  'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can ' +
  'find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview';

/**
 * Errors of the shared server (unknown route, bad JSON, auth, limits, injected faults) in HubSpot's
 * envelope.
 */
export function serverErrorBody(status: number, code: string, message: string): unknown {
  if (status === 429) {
    const policy = RATE_POLICIES.find((p) => p === code) ?? 'TEN_SECONDLY_ROLLING';
    return rateLimitResponse(policy).body;
  }
  const category = /^[A-Z_]+$/.test(code)
    ? code
    : status === 404
      ? 'OBJECT_NOT_FOUND'
      : status === 400
        ? 'VALIDATION_ERROR'
        : 'INTERNAL_ERROR';
  return { status: 'error', message, correlationId: randomUUID(), category };
}

const RATE_POLICIES = ['TEN_SECONDLY_ROLLING', 'DAILY', 'SECONDLY'] as const;
