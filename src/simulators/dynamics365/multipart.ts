// The OData $batch wire format as pure functions: multipart/mixed parts, embedded HTTP requests and
// responses, both ways.
import { STATUS_CODES } from 'node:http';

const CRLF = '\r\n';

/** A malformed batch body; the simulator answers it with a 400. */
export class MultipartError extends Error {}

export interface MimePart {
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

export interface HttpRequestMessage {
  method: string;
  url: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

export interface HttpResponseMessage {
  status: number;
  /** Header names as written. */
  headers: Record<string, string>;
  body: string;
}

export type BatchRequestItem =
  | { kind: 'request'; request: HttpRequestMessage }
  | { kind: 'changeset'; requests: { contentId?: string; request: HttpRequestMessage }[] };

export type BatchResponseItem =
  | { kind: 'response'; contentId?: string; response: HttpResponseMessage }
  | { kind: 'changeset'; responses: { contentId?: string; response: HttpResponseMessage }[] };

/**
 * The boundary of a `multipart/mixed; boundary=...` Content-Type (quotes removed), or undefined.
 */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\/mixed\s*(;|$)/i.test(contentType)) return undefined;
  const match = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

/**
 * Splits a multipart body into its parts (RFC 2046): preamble and epilogue ignored, CRLF or bare LF
 * accepted.
 */
export function parseMultipart(body: string, boundary: string): MimePart[] {
  const delimiter = `--${boundary}`;
  const parts: MimePart[] = [];
  let start = findDelimiter(body, delimiter, 0);
  if (start === -1) throw new MultipartError(`the body has no '${delimiter}' delimiter line`);
  for (;;) {
    const position = start + delimiter.length;
    if (body.startsWith('--', position)) return parts;
    const contentStart = skipLineEnd(body, skipLinearWhitespace(body, position));
    const next = findDelimiter(body, delimiter, contentStart);
    if (next === -1)
      throw new MultipartError(`the multipart body is not closed with '${delimiter}--'`);
    parts.push(parseMimePart(body.slice(contentStart, lineBreakStart(body, next))));
    start = next;
  }
}

/**
 * Index of the next delimiter line at or after `from` (a longer boundary sharing the prefix does
 * not count), or -1.
 */
function findDelimiter(body: string, delimiter: string, from: number): number {
  for (
    let index = body.indexOf(delimiter, from);
    index !== -1;
    index = body.indexOf(delimiter, index + 1)
  ) {
    const after = index + delimiter.length;
    const endsDelimiter =
      body.startsWith('--', after) || atLineEnd(body, skipLinearWhitespace(body, after));
    if ((index === 0 || body[index - 1] === '\n') && endsDelimiter) return index;
  }
  return -1;
}

/** The CRLF (or LF) before a delimiter belongs to the delimiter, not to the part. */
function lineBreakStart(body: string, delimiterIndex: number): number {
  if (delimiterIndex >= 2 && body.startsWith('\r\n', delimiterIndex - 2)) return delimiterIndex - 2;
  if (delimiterIndex >= 1 && body[delimiterIndex - 1] === '\n') return delimiterIndex - 1;
  return delimiterIndex;
}

function parseMimePart(text: string): MimePart {
  const { headers, rest } = readHeaders(text);
  return { headers, body: rest };
}

/** Header lines up to the first empty line; names lower-cased. */
function readHeaders(text: string): { headers: Record<string, string>; rest: string } {
  const headers: Record<string, string> = {};
  let position = 0;
  while (position < text.length) {
    const newline = text.indexOf('\n', position);
    const end = newline === -1 ? text.length : newline;
    const line = text.slice(position, end).replace(/\r$/, '');
    position = newline === -1 ? text.length : newline + 1;
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MultipartError(`'${line.slice(0, 60)}' is not a header line`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, rest: text.slice(position) };
}

/** `PATCH leads(...) HTTP/1.1` + headers + body. Only HTTP/1.1 is accepted, as in OData. */
export function parseHttpRequest(text: string): HttpRequestMessage {
  const lineEnd = text.indexOf('\n');
  const requestLine = (lineEnd === -1 ? text : text.slice(0, lineEnd)).replace(/\r$/, '').trim();
  const match = /^([A-Z]+) (\S+) (HTTP\/\d\.\d)$/.exec(requestLine);
  if (!match)
    throw new MultipartError(
      `'${requestLine.slice(0, 100)}' is not an HTTP request line (METHOD URL HTTP/1.1)`,
    );
  if (match[3] !== 'HTTP/1.1')
    throw new MultipartError(
      `the HTTP version '${match[3]}' is not supported in a batch; only 'HTTP/1.1' is`,
    );
  const { headers, rest } = readHeaders(lineEnd === -1 ? '' : text.slice(lineEnd + 1));
  return { method: match[1] as string, url: match[2] as string, headers, body: rest.trim() };
}

/** `HTTP/1.1 204 No Content` + headers + body (the inverse of formatHttpResponse). */
function parseHttpResponse(text: string): HttpResponseMessage {
  const lineEnd = text.indexOf('\n');
  const statusLine = (lineEnd === -1 ? text : text.slice(0, lineEnd)).replace(/\r$/, '');
  const match = /^HTTP\/1\.1 (\d{3})/.exec(statusLine);
  if (!match) throw new MultipartError(`'${statusLine.slice(0, 100)}' is not an HTTP status line`);
  const { headers, rest } = readHeaders(lineEnd === -1 ? '' : text.slice(lineEnd + 1));
  return { status: Number(match[1]), headers, body: rest.replace(/\r?\n$/, '') };
}

/** A $batch request body: top-level requests and change sets of requests. */
export function parseBatchRequest(body: string, boundary: string): BatchRequestItem[] {
  return parseMultipart(body, boundary).map((part, index) => {
    const nested = multipartBoundary(part.headers['content-type']);
    if (nested) {
      const requests = parseMultipart(part.body, nested).map((inner, position) => ({
        ...contentIdOf(inner),
        request: httpRequestOf(inner, `change set in part ${index + 1}, request ${position + 1}`),
      }));
      return { kind: 'changeset', requests };
    }
    return { kind: 'request', request: httpRequestOf(part, `part ${index + 1}`) };
  });
}

function httpRequestOf(part: MimePart, where: string): HttpRequestMessage {
  const type = part.headers['content-type'] ?? '';
  if (!/^application\/http\s*(;|$)/i.test(type)) {
    throw new MultipartError(
      `${where}: Content-Type must be 'application/http' (or multipart/mixed for a change ` +
        `set), not '${type || 'none'}'`,
    );
  }
  const encoding = part.headers['content-transfer-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'binary') {
    throw new MultipartError(
      `${where}: Content-Transfer-Encoding must be 'binary', not '${encoding}'`,
    );
  }
  try {
    return parseHttpRequest(part.body);
  } catch (error) {
    throw new MultipartError(`${where}: ${(error as Error).message}`);
  }
}

/**
 * Content-ID is a MIME part header; early clients put it among the embedded message's headers
 * instead.
 */
function contentIdOf(part: MimePart): { contentId?: string } {
  const value = part.headers['content-id'] ?? embeddedHeader(part.body, 'content-id');
  return value === undefined ? {} : { contentId: value.replace(/^<(.*)>$/, '$1') };
}

function embeddedHeader(message: string, name: string): string | undefined {
  const firstLineEnd = message.indexOf('\n');
  if (firstLineEnd === -1) return undefined;
  try {
    return readHeaders(message.slice(firstLineEnd + 1)).headers[name];
  } catch {
    return undefined;
  }
}

/** The status line, headers and body of one embedded response. */
export function formatHttpResponse(response: HttpResponseMessage): string {
  const reason = STATUS_CODES[response.status] ?? 'Unknown';
  const lines = [
    `HTTP/1.1 ${response.status} ${reason}`,
    ...Object.entries(response.headers).map(([name, value]) => `${name}: ${value}`),
    '',
  ];
  return lines.join(CRLF) + CRLF + response.body;
}

/** A multipart body from parts (headers written as given). */
export function writeMultipart(boundary: string, parts: MimePart[]): string {
  const chunks = parts.map((part) => {
    const headers = Object.entries(part.headers).map(([name, value]) => `${name}: ${value}`);
    return `--${boundary}${CRLF}${headers.join(CRLF)}${CRLF}${CRLF}${part.body}${CRLF}`;
  });
  return `${chunks.join('')}--${boundary}--${CRLF}`;
}

/**
 * A $batch response body; change-set responses nest in their own boundary, each response keeps its
 * Content-ID.
 */
export function writeBatchResponse(
  items: BatchResponseItem[],
  boundaries: { batch: string; changeset: () => string },
): string {
  const parts = items.map((item): MimePart => {
    if (item.kind === 'response') return httpPart(item.contentId, item.response);
    const changeset = boundaries.changeset();
    return {
      headers: { 'Content-Type': `multipart/mixed; boundary=${changeset}` },
      body: writeMultipart(
        changeset,
        item.responses.map((entry) => httpPart(entry.contentId, entry.response)),
      ).replace(/\r\n$/, ''),
    };
  });
  return writeMultipart(boundaries.batch, parts);
}

function httpPart(contentId: string | undefined, response: HttpResponseMessage): MimePart {
  return {
    headers: {
      'Content-Type': 'application/http',
      'Content-Transfer-Encoding': 'binary',
      ...(contentId === undefined ? {} : { 'Content-ID': contentId }),
    },
    body: formatHttpResponse(response),
  };
}

/** Reads a $batch response back (used by tests and by anyone checking the simulator's output). */
export function parseBatchResponse(body: string, boundary: string): BatchResponseItem[] {
  return parseMultipart(body, boundary).map((part): BatchResponseItem => {
    const nested = multipartBoundary(part.headers['content-type']);
    if (nested) {
      return {
        kind: 'changeset',
        responses: parseMultipart(part.body, nested).map((inner) => ({
          ...contentIdOf(inner),
          response: parseHttpResponse(inner.body),
        })),
      };
    }
    return { kind: 'response', ...contentIdOf(part), response: parseHttpResponse(part.body) };
  });
}

function skipLinearWhitespace(text: string, index: number): number {
  let position = index;
  while (text[position] === ' ' || text[position] === '\t') position++;
  return position;
}

function atLineEnd(text: string, index: number): boolean {
  return index >= text.length || text[index] === '\n' || text.startsWith('\r\n', index);
}

function skipLineEnd(text: string, index: number): number {
  if (text.startsWith('\r\n', index)) return index + 2;
  if (text[index] === '\n') return index + 1;
  return index;
}
