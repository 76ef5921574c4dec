// The OData $batch wire format as pure functions: a multipart/mixed request with one change set per
// operation, and its response.
import { randomUUID } from 'node:crypto';
import { JSON_CONTENT_TYPE } from './facts.js';

const CRLF = '\r\n';

export interface BatchOperation {
  /** Unique within the batch; the response part for this operation carries the same Content-ID. */
  contentId: string;
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Absolute URL, or relative to the API root. */
  url: string;
  headers?: Record<string, string>;
  /** Sent as JSON when present. */
  body?: unknown;
}

export interface EncodedBatch {
  /** The value for the request's Content-Type header. */
  contentType: string;
  body: string;
}

export interface BatchBoundaries {
  batch: string;
  /** The change-set boundary for the operation at this position. */
  changeset: (index: number) => string;
}

function randomBoundaries(): BatchBoundaries {
  return { batch: `batch_${randomUUID()}`, changeset: () => `changeset_${randomUUID()}` };
}

/**
 * Encodes operations as a $batch body where every operation sits in its own change set:
 * a change set is atomic, so one per operation lets a bad record fail without rolling back the
 * others.
 */
export function encodeBatchRequest(
  operations: readonly BatchOperation[],
  boundaries = randomBoundaries(),
): EncodedBatch {
  const lines: string[] = [];
  operations.forEach((operation, index) => {
    const changeset = boundaries.changeset(index);
    lines.push(`--${boundaries.batch}`, `Content-Type: multipart/mixed; boundary=${changeset}`, '');
    lines.push(`--${changeset}`, ...encodeOperation(operation), `--${changeset}--`);
  });
  lines.push(`--${boundaries.batch}--`, '');
  return { contentType: `multipart/mixed; boundary=${boundaries.batch}`, body: lines.join(CRLF) };
}

function encodeOperation(operation: BatchOperation): string[] {
  const hasBody = operation.body !== undefined;
  const headers = {
    ...(hasBody ? { 'Content-Type': JSON_CONTENT_TYPE } : {}),
    ...operation.headers,
  };
  return [
    'Content-Type: application/http',
    'Content-Transfer-Encoding: binary',
    `Content-ID: ${operation.contentId}`,
    '',
    `${operation.method} ${operation.url} HTTP/1.1`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    '',
    hasBody ? JSON.stringify(operation.body) : '',
  ];
}

/** One HTTP response found in a $batch response. */
export interface BatchResponsePart {
  /** Position of the top-level part (one change set, or one request outside any change set). */
  partIndex: number;
  /**
   * The part's Content-ID, when it has one (a failed change set may answer with a bare response
   * without it).
   */
  contentId?: string;
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

/** Decodes a $batch response body, given the response's Content-Type (which names the boundary). */
export function decodeBatchResponse(contentType: string, body: string): BatchResponsePart[] {
  const boundary = boundaryOf(contentType);
  if (!boundary)
    throw new Error(
      `$batch response has no multipart boundary (Content-Type: ${contentType || 'none'})`,
    );
  const responses: BatchResponsePart[] = [];
  splitMultipart(body, boundary).forEach((part, partIndex) => {
    const nested = boundaryOf(part.headers['content-type'] ?? '');
    const httpParts = nested ? splitMultipart(part.body, nested) : [part];
    for (const httpPart of httpParts)
      responses.push({ partIndex, ...contentIdOf(httpPart), ...parseHttpResponse(httpPart.body) });
  });
  return responses;
}

/**
 * The response for each operation, in operation order: by Content-ID, or, for a bare failed change
 * set,
 * by the position of its top-level part (one operation per change set). Undefined when the server
 * sent none.
 */
export function matchBatchResponses(
  operations: readonly Pick<BatchOperation, 'contentId'>[],
  responses: readonly BatchResponsePart[],
): (BatchResponsePart | undefined)[] {
  const byContentId = new Map<string, BatchResponsePart>();
  const byPartIndex = new Map<number, BatchResponsePart>();
  for (const response of responses) {
    if (response.contentId !== undefined) byContentId.set(response.contentId, response);
    else if (!byPartIndex.has(response.partIndex)) byPartIndex.set(response.partIndex, response);
  }
  return operations.map(
    (operation, index) => byContentId.get(operation.contentId) ?? byPartIndex.get(index),
  );
}

interface MimePart {
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

/** The boundary parameter of a multipart Content-Type, unquoted. */
function boundaryOf(contentType: string): string | undefined {
  if (!/^\s*multipart\//i.test(contentType)) return undefined;
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

/**
 * Splits a multipart body into its parts; tolerant of bare LF line endings and of preamble /
 * epilogue text.
 */
function splitMultipart(body: string, boundary: string): MimePart[] {
  const delimiter = new RegExp(
    `(?:^|\\r?\\n)--${escapeRegExp(boundary)}(--)?[ \\t]*(?=\\r?\\n|$)`,
    'g',
  );
  const parts: MimePart[] = [];
  let start: number | undefined;
  for (let match = delimiter.exec(body); match !== null; match = delimiter.exec(body)) {
    if (start !== undefined) parts.push(parseMimePart(body.slice(start, match.index)));
    if (match[1] === '--') return parts;
    start = skipLineEnd(body, match.index + match[0].length);
  }
  return parts;
}

function parseMimePart(text: string): MimePart {
  const { headers, rest } = readHeaders(text);
  return { headers, body: rest };
}

/** Parses `HTTP/1.1 201 Created` + headers + body. */
function parseHttpResponse(text: string): {
  status: number;
  headers: Record<string, string>;
  body: string;
} {
  const lineEnd = text.search(/\r?\n/);
  const statusLine = lineEnd === -1 ? text : text.slice(0, lineEnd);
  const match = /^HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(statusLine.trim());
  if (!match?.[1])
    throw new Error(`$batch response part has no HTTP status line: "${statusLine.slice(0, 80)}"`);
  const { headers, rest } = readHeaders(lineEnd === -1 ? '' : skipLine(text, lineEnd));
  return { status: Number(match[1]), headers, body: rest.replace(/\r?\n$/, '') };
}

/** Reads header lines up to the first empty line. */
function readHeaders(text: string): { headers: Record<string, string>; rest: string } {
  const headers: Record<string, string> = {};
  let position = 0;
  while (position < text.length) {
    const next = text.indexOf('\n', position);
    const end = next === -1 ? text.length : next;
    const line = text.slice(position, end).replace(/\r$/, '');
    position = next === -1 ? text.length : next + 1;
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, rest: text.slice(position) };
}

function contentIdOf(part: MimePart): { contentId?: string } {
  const value = part.headers['content-id'];
  return value === undefined ? {} : { contentId: value.replace(/^<(.*)>$/, '$1') };
}

function skipLineEnd(text: string, index: number): number {
  if (text.startsWith('\r\n', index)) return index + 2;
  if (text.startsWith('\n', index)) return index + 1;
  return index;
}

function skipLine(text: string, lineEnd: number): string {
  return text.slice(skipLineEnd(text, lineEnd));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
