// Salesforce's error shapes: request-level error arrays and the per-record errors of save results.
import type { SimHandler, SimResponse } from '../common/server.js';

/** One entry of a REST error array: `[{"message","errorCode","fields"?}]`. */
export interface RestErrorEntry {
  message: string;
  errorCode: string;
  fields?: string[];
}

/** One error inside a save result (collections): note `statusCode`, not `errorCode`. */
export interface RecordError {
  statusCode: string;
  message: string;
  fields: string[];
}

/** A refusal of a whole request, answered with Salesforce's error array. */
export class SalesforceApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly fields?: string[],
  ) {
    super(message);
  }

  toBody(): RestErrorEntry[] {
    return [
      {
        message: this.message,
        errorCode: this.errorCode,
        ...(this.fields ? { fields: this.fields } : {}),
      },
    ];
  }

  static fromRecordError(status: number, error: RecordError): SalesforceApiError {
    return new SalesforceApiError(status, error.statusCode, error.message, error.fields);
  }
}

export function recordError(
  statusCode: string,
  message: string,
  fields: string[] = [],
): RecordError {
  return { statusCode, message, fields };
}

export const NOT_FOUND_MESSAGE = 'The requested resource does not exist';

export function notFound(message = NOT_FOUND_MESSAGE): SalesforceApiError {
  return new SalesforceApiError(404, 'NOT_FOUND', message);
}

/**
 * The 404 body Salesforce sends for unknown resources (errorCode first, as the platform writes it).
 */
export function notFoundBody(message = NOT_FOUND_MESSAGE): unknown {
  return [{ errorCode: 'NOT_FOUND', message }];
}

/**
 * Wraps a handler so that SalesforceApiError becomes the error array (with `fields`, which
 * SimHttpError lacks).
 */
export function answeringErrors(handler: SimHandler): SimHandler {
  return async (req): Promise<SimResponse> => {
    try {
      return await handler(req);
    } catch (error) {
      if (!(error instanceof SalesforceApiError)) throw error;
      const body = error.errorCode === 'NOT_FOUND' ? notFoundBody(error.message) : error.toBody();
      return { status: error.status, body };
    }
  };
}
