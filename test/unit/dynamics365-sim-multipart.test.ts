// The Dataverse simulator's $batch wire format: multipart parsing, embedded requests, and the
// response writer.
import { describe, expect, it } from 'vitest';
import {
  formatHttpResponse,
  multipartBoundary,
  MultipartError,
  parseBatchRequest,
  parseBatchResponse,
  parseHttpRequest,
  parseMultipart,
  writeBatchResponse,
  writeMultipart,
} from '../../src/simulators/dynamics365/multipart.js';

describe('multipartBoundary', () => {
  it('reads plain and quoted boundaries of multipart/mixed only', () => {
    expect(multipartBoundary('multipart/mixed; boundary=batch_1')).toBe('batch_1');
    expect(multipartBoundary('multipart/mixed;boundary="batch_a-b"; charset=utf-8')).toBe(
      'batch_a-b',
    );
    expect(multipartBoundary('application/json')).toBeUndefined();
    expect(multipartBoundary('multipart/mixed')).toBeUndefined();
    expect(multipartBoundary(undefined)).toBeUndefined();
  });
});

describe('parseMultipart', () => {
  it('splits parts, ignoring preamble and epilogue, with CRLF or bare LF line ends', () => {
    const crlf =
      'preamble\r\n--b\r\nA: ' +
      '1\r\n\r\nfirst\r\nbody\r\n--b\r\nB:2\r\n\r\nsecond\r\n--b--\r\nepilogue';
    expect(parseMultipart(crlf, 'b')).toEqual([
      { headers: { a: '1' }, body: 'first\r\nbody' },
      { headers: { b: '2' }, body: 'second' },
    ]);
    expect(parseMultipart(crlf.replace(/\r\n/g, '\n'), 'b')).toEqual([
      { headers: { a: '1' }, body: 'first\nbody' },
      { headers: { b: '2' }, body: 'second' },
    ]);
  });

  it('does not take a boundary inside a line, or a longer boundary, for a delimiter', () => {
    const body = '--b\r\n\r\nx --b y\r\n--bb is not it\r\n--b--';
    expect(parseMultipart(body, 'b')).toEqual([{ headers: {}, body: 'x --b y\r\n--bb is not it' }]);
  });

  it('names what is wrong with a malformed body', () => {
    expect(() => parseMultipart('no delimiters here', 'b')).toThrow(
      new MultipartError("the body has no '--b' delimiter line"),
    );
    expect(() => parseMultipart('--b\r\n\r\nbody', 'b')).toThrow(
      new MultipartError("the multipart body is not closed with '--b--'"),
    );
    expect(() => parseMultipart('--b\r\nnot a header\r\n\r\nx\r\n--b--', 'b')).toThrow(
      new MultipartError("'not a header' is not a header line"),
    );
  });
});

describe('parseHttpRequest', () => {
  it('reads the request line, headers and body', () => {
    expect(
      parseHttpRequest(
        'PATCH leads(1) HTTP/1.1\r\nContent-Type: application/json\r\nIf-Match: ' +
          '*\r\n\r\n{"a":1}\r\n',
      ),
    ).toEqual({
      method: 'PATCH',
      url: 'leads(1)',
      headers: { 'content-type': 'application/json', 'if-match': '*' },
      body: '{"a":1}',
    });
  });

  it('accepts only HTTP/1.1', () => {
    expect(() => parseHttpRequest('GET leads HTTP/1.0\r\n\r\n')).toThrow(
      "the HTTP version 'HTTP/1.0' is not supported in a batch; only 'HTTP/1.1' is",
    );
    expect(() => parseHttpRequest('GET leads\r\n\r\n')).toThrow(
      "'GET leads' is not an HTTP request line (METHOD URL HTTP/1.1)",
    );
  });
});

describe('parseBatchRequest', () => {
  const body = [
    '--batch_1',
    'Content-Type: multipart/mixed; boundary=changeset_1',
    '',
    '--changeset_1',
    'Content-Type: application/http',
    'Content-Transfer-Encoding: binary',
    'Content-ID: 1',
    '',
    "PATCH leads(lb_referralid='a') HTTP/1.1",
    'Content-Type: application/json',
    '',
    '{"subject":"a"}',
    '--changeset_1',
    'Content-Type: application/http',
    'Content-Transfer-Encoding: binary',
    '',
    'POST leads HTTP/1.1',
    'Content-ID: 2',
    'Content-Type: application/json',
    '',
    '{"subject":"b"}',
    '--changeset_1--',
    '--batch_1',
    'Content-Type: application/http',
    'Content-Transfer-Encoding: binary',
    '',
    'GET leads?$top=1 HTTP/1.1',
    '',
    '',
    '--batch_1--',
    '',
  ].join('\r\n');

  it(
    'reads change sets with their Content-IDs (as a part header or inside the request) and ' +
      'lone requests',
    () => {
      const items = parseBatchRequest(body, 'batch_1');
      expect(items).toHaveLength(2);
      const [changeset, lone] = items;
      expect(changeset?.kind).toBe('changeset');
      if (changeset?.kind !== 'changeset') return;
      expect(
        changeset.requests.map((entry) => [
          entry.contentId,
          entry.request.method,
          entry.request.url,
          entry.request.body,
        ]),
      ).toEqual([
        ['1', 'PATCH', "leads(lb_referralid='a')", '{"subject":"a"}'],
        ['2', 'POST', 'leads', '{"subject":"b"}'],
      ]);
      expect(lone).toEqual({
        kind: 'request',
        request: { method: 'GET', url: 'leads?$top=1', headers: {}, body: '' },
      });
    },
  );

  it('refuses parts that are not application/http or not binary', () => {
    const json = '--batch_1\r\nContent-Type: application/json\r\n\r\n{}\r\n--batch_1--';
    expect(() => parseBatchRequest(json, 'batch_1')).toThrow(
      "part 1: Content-Type must be 'application/http' (or multipart/mixed for a change set), " +
        "not 'application/json'",
    );
    const base64 =
      '--batch_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: ' +
      'base64\r\n\r\nR0VU\r\n--batch_1--';
    expect(() => parseBatchRequest(base64, 'batch_1')).toThrow(
      "part 1: Content-Transfer-Encoding must be 'binary', not 'base64'",
    );
  });
});

describe('the response writer', () => {
  it('formats an embedded response with its reason phrase', () => {
    expect(formatHttpResponse({ status: 204, headers: { 'OData-Version': '4.0' }, body: '' })).toBe(
      'HTTP/1.1 204 No Content\r\nOData-Version: 4.0\r\n\r\n',
    );
  });

  it('writes parts between delimiters and closes the body', () => {
    expect(writeMultipart('b', [{ headers: { 'Content-Type': 'text/plain' }, body: 'hi' }])).toBe(
      '--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n',
    );
  });

  it(
    'writes change-set responses nested in their own boundary, and reads them back ' + 'unchanged',
    () => {
      const written = writeBatchResponse(
        [
          {
            kind: 'changeset',
            responses: [
              {
                contentId: '1',
                response: {
                  status: 204,
                  headers: { 'OData-EntityId': 'http://x/leads(1)' },
                  body: '',
                },
              },
              {
                contentId: '2',
                response: {
                  status: 201,
                  headers: { 'Content-Type': 'application/json' },
                  body: '{"leadid":"2"}',
                },
              },
            ],
          },
          {
            kind: 'response',
            contentId: '3',
            response: { status: 400, headers: {}, body: '{"error":{}}' },
          },
          { kind: 'response', response: { status: 200, headers: {}, body: '{"value":[]}' } },
        ],
        { batch: 'batchresponse_1', changeset: () => 'changesetresponse_1' },
      );
      expect(
        written.startsWith(
          '--batchresponse_1\r\nContent-Type: multipart/mixed; ' +
            'boundary=changesetresponse_1\r\n\r\n--changesetresponse_1\r\n',
        ),
      ).toBe(true);
      expect(written.endsWith('--batchresponse_1--\r\n')).toBe(true);
      expect(parseBatchResponse(written, 'batchresponse_1')).toEqual([
        {
          kind: 'changeset',
          responses: [
            {
              contentId: '1',
              response: {
                status: 204,
                headers: { 'odata-entityid': 'http://x/leads(1)' },
                body: '',
              },
            },
            {
              contentId: '2',
              response: {
                status: 201,
                headers: { 'content-type': 'application/json' },
                body: '{"leadid":"2"}',
              },
            },
          ],
        },
        {
          kind: 'response',
          contentId: '3',
          response: { status: 400, headers: {}, body: '{"error":{}}' },
        },
        { kind: 'response', response: { status: 200, headers: {}, body: '{"value":[]}' } },
      ]);
    },
  );
});
