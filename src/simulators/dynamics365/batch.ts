// POST $batch: runs the parts in order, change sets atomically, and answers with one embedded HTTP
// response per request.
import { randomUUID } from 'node:crypto';
import { SimHttpError, type SimRequest, type SimResponse } from '../common/server.js';
import { JSON_TYPE, type DataverseApi } from './api.js';
import { checkODataVersions, preferencesOf } from './request.js';
import { CODES, odataError, segmentNotFound } from './errors.js';
import {
  multipartBoundary,
  MultipartError,
  parseBatchRequest,
  writeBatchResponse,
  type BatchRequestItem,
  type BatchResponseItem,
  type HttpRequestMessage,
  type HttpResponseMessage,
} from './multipart.js';
import { pathBelowRoot } from './paths.js';
import type { DataverseStore } from './store.js';

const MAX_BATCH_OPERATIONS = 1000;

/** Builds the error body of a failed operation, as the top level would. */
export type ErrorResponder = (error: SimHttpError) => SimResponse;

/**
 * Thrown inside a change set's transaction to roll it back and answer with the failing operation
 * alone.
 */
class ChangeSetFailure extends Error {
  constructor(
    readonly contentId: string | undefined,
    readonly response: HttpResponseMessage,
  ) {
    super(`change set operation ${contentId ?? '?'} failed with ${response.status}`);
  }
}

export class BatchRunner {
  constructor(
    private readonly api: DataverseApi,
    private readonly store: DataverseStore,
    private readonly errorResponse: ErrorResponder,
  ) {}

  handle(req: SimRequest, headers: Record<string, string>): SimResponse {
    checkODataVersions(headers);
    const items = readBatch(req.rawBody, headers['content-type']);
    const continueOnError = preferencesOf(headers).continueOnError;
    const responses: BatchResponseItem[] = [];
    let stoppedBy: number | undefined;
    for (const item of items) {
      const { response, failedStatus } =
        item.kind === 'request' ? this.runAlone(item.request) : this.runChangeSet(item.requests);
      responses.push(response);
      if (failedStatus !== undefined && !continueOnError) {
        stoppedBy = failedStatus;
        break;
      }
    }
    const boundary = `batchresponse_${randomUUID()}`;
    const body = writeBatchResponse(responses, {
      batch: boundary,
      changeset: () => `changesetresponse_${randomUUID()}`,
    });
    const responseHeaders: Record<string, string> = {
      'Content-Type': `multipart/mixed; boundary=${boundary}`,
    };
    if (continueOnError) responseHeaders['Preference-Applied'] = 'odata.continue-on-error';
    // Without continue-on-error the batch as a whole carries the status of the request that stopped
    // it.
    return { status: stoppedBy ?? 200, headers: responseHeaders, body };
  }

  private runAlone(request: HttpRequestMessage): {
    response: BatchResponseItem;
    failedStatus?: number;
  } {
    const response = this.run(request, new Map());
    return {
      response: { kind: 'response', response },
      ...(response.status >= 400 ? { failedStatus: response.status } : {}),
    };
  }

  /**
   * All or nothing: on the first failure every write of the change set is undone and only that
   * failure is answered.
   */
  private runChangeSet(requests: { contentId?: string; request: HttpRequestMessage }[]): {
    response: BatchResponseItem;
    failedStatus?: number;
  } {
    const references = new Map<string, string>();
    try {
      const responses = this.store.transaction(() =>
        requests.map(({ contentId, request }) => {
          const response = this.run(request, references);
          if (response.status >= 400) throw new ChangeSetFailure(contentId, response);
          const entityUrl = response.headers['OData-EntityId'];
          if (contentId !== undefined && entityUrl !== undefined)
            references.set(contentId, entityUrl);
          return { ...(contentId === undefined ? {} : { contentId }), response };
        }),
      );
      return { response: { kind: 'changeset', responses } };
    } catch (error) {
      if (!(error instanceof ChangeSetFailure)) throw error;
      const failed: BatchResponseItem = {
        kind: 'response',
        ...(error.contentId === undefined ? {} : { contentId: error.contentId }),
        response: error.response,
      };
      return { response: failed, failedStatus: error.response.status };
    }
  }

  /**
   * One embedded request: `$n` references resolved, dispatched like a top-level call, the answer as
   * an HTTP message.
   */
  private run(request: HttpRequestMessage, references: Map<string, string>): HttpResponseMessage {
    let answer: SimResponse;
    try {
      const url = resolveReference(request.url, references);
      const queryStart = url.indexOf('?');
      const path = pathBelowRoot(queryStart === -1 ? url : url.slice(0, queryStart));
      if (path === undefined) throw segmentNotFound(url);
      answer = this.api.handle({
        method: request.method,
        resource: decodePath(path),
        query: new URLSearchParams(queryStart === -1 ? '' : url.slice(queryStart + 1)),
        headers: request.headers,
        rawBody:
          references.size > 0 ? resolveBodyReferences(request.body, references) : request.body,
      });
    } catch (error) {
      answer = this.errorResponse(
        error instanceof SimHttpError
          ? error
          : new SimHttpError(500, CODES.unexpected, `simulator failure: ${String(error)}`),
      );
    }
    return toHttpMessage(answer);
  }
}

/**
 * Parses and checks the batch as a whole: its Content-Type, its parts, no GET in a change set, at
 * most 1000 operations.
 */
function readBatch(rawBody: string, contentType: string | undefined): BatchRequestItem[] {
  const boundary = multipartBoundary(contentType);
  if (!boundary) {
    throw odataError(
      `A $batch request needs Content-Type: multipart/mixed with a boundary (for example ` +
        `'multipart/mixed; boundary=batch_1'), not '${contentType ?? 'none'}'.`,
    );
  }
  let items: BatchRequestItem[];
  try {
    items = parseBatchRequest(rawBody, boundary);
  } catch (error) {
    if (error instanceof MultipartError)
      throw odataError(`The $batch body is malformed: ${error.message}.`);
    throw error;
  }
  const operations = items.reduce(
    (count, item) => count + (item.kind === 'request' ? 1 : item.requests.length),
    0,
  );
  if (operations > MAX_BATCH_OPERATIONS) {
    throw odataError(
      `A maximum number of '${MAX_BATCH_OPERATIONS}' operations are allowed in a change set.`,
    );
  }
  items.forEach((item, index) => {
    if (
      item.kind === 'changeset' &&
      item.requests.some(({ request }) => request.method === 'GET')
    ) {
      throw odataError(
        `Part ${index + 1} of the $batch is a change set containing a GET request; GET ` +
          `requests go outside change sets.`,
      );
    }
  });
  return items;
}

/**
 * `$1` or `$1/...` at the start of a URL stands for the record created by the request with
 * Content-ID 1.
 */
function resolveReference(url: string, references: Map<string, string>): string {
  const match = /^\$([^/?]+)(.*)$/.exec(url);
  if (!match) return url;
  const target = references.get(match[1] as string);
  if (target === undefined)
    throw odataError(`Content-ID Reference: '$${match[1]}' does not exist in the batch context.`);
  return target + (match[2] ?? '');
}

/**
 * Replaces `"$n"` values of `@odata.bind` / `@odata.id` properties with the referenced record's
 * URL.
 */
function resolveBodyReferences(body: string, references: Map<string, string>): string {
  if (!body.includes('"$')) return body;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  if (parsed === null || typeof parsed !== 'object') return body;
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value === 'string' && /@odata\.(bind|id)$/.test(name) && value.startsWith('$')) {
      (parsed as Record<string, unknown>)[name] = resolveReference(value, references);
    }
  }
  return JSON.stringify(parsed);
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    throw odataError(`The URL path '${path}' is not validly percent-encoded.`);
  }
}

function toHttpMessage(answer: SimResponse): HttpResponseMessage {
  const headers: Record<string, string> = { 'OData-Version': '4.0', ...(answer.headers ?? {}) };
  let body = '';
  if (typeof answer.body === 'string') body = answer.body;
  else if (answer.body !== undefined) {
    body = JSON.stringify(answer.body);
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type'))
      headers['Content-Type'] = JSON_TYPE;
  }
  return { status: answer.status, headers, body };
}
