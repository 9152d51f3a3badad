// The content server's response head, parsed for stream mapping: status, framing (Content-Length,
// chunked, or until close), Content-Range, the validators (ETag, Last-Modified) and keep-alive.
// A response the wedge cannot use is a RemoteProtocolError BATON_ERR_HTTP_BACKEND (502).
import { RemoteProtocolError } from './http-errors.js';
import { DEFAULT_HEAD_LIMITS, HeadReader, type HeadLimits } from './http-head-reader.js';
import { contentLength, fieldTokens, fieldValue, fieldValues, keepAlive, parseFieldLine, type HeaderField } from './http-fields.js';

/** A byte range of a 206 response: object bytes [first, last], of `complete` (undefined for "*"). */
export interface ContentRange {
  readonly first: number;
  readonly last: number;
  readonly complete: number | undefined;
}

/** How the response body ends: no body, after Content-Length bytes, at the last chunk, or at close. */
export type BodyFraming = 'none' | 'length' | 'chunked' | 'close';

/** A checked response head. */
export interface ResponseHead {
  readonly version: '1.0' | '1.1';
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly HeaderField[];
  readonly contentLength: number | undefined;
  /** Transfer-Encoding's last coding is chunked. */
  readonly chunked: boolean;
  /** Present only on a 206 whose Content-Range is a single well-formed byte range. */
  readonly contentRange: ContentRange | undefined;
  readonly etag: string | undefined;
  readonly lastModified: string | undefined;
  readonly keepAlive: boolean;
  /** The head's bytes as received. */
  readonly raw: Uint8Array;
}

/** What ResponseHeadParser.push found. */
export type ResponseParseResult =
  | { readonly kind: 'more' }
  | { readonly kind: 'head'; readonly head: ResponseHead; readonly rest: Uint8Array }
  | { readonly kind: 'error'; readonly error: RemoteProtocolError };

/** Incremental response head parser; single use. */
export class ResponseHeadParser {
  private readonly reader: HeadReader;
  constructor(limits: HeadLimits = DEFAULT_HEAD_LIMITS) {
    this.reader = new HeadReader(limits, false);
  }

  /** Feed the next piece of content-server bytes. Throws LocalProtocolError after a head or an error. */
  push(chunk: Uint8Array): ResponseParseResult {
    const r = this.reader.push(chunk);
    if (r.kind === 'more') return r;
    if (r.kind === 'error') return { kind: 'error', error: new RemoteProtocolError('BATON_ERR_HTTP_BACKEND', r.error.message) };
    const head = parseResponseHead(r.lines, r.raw);
    if (head instanceof RemoteProtocolError) return { kind: 'error', error: head };
    return { kind: 'head', head, rest: r.rest };
  }
}

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/;
const CONTENT_RANGE = /^bytes (\d{1,15})-(\d{1,15})\/(\d{1,15}|\*)$/;

/** Checks a complete response head's lines (status line first). */
export function parseResponseHead(lines: readonly string[], raw: Uint8Array): ResponseHead | RemoteProtocolError {
  const m = STATUS_LINE.exec(lines[0] ?? '');
  if (!m) return new RemoteProtocolError('BATON_ERR_HTTP_BACKEND', `not an HTTP/1.x status line: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
  const headers: HeaderField[] = [];
  for (const line of lines.slice(1)) {
    const f = parseFieldLine(line, 'BATON_ERR_HTTP_BACKEND');
    if (f instanceof RemoteProtocolError) return f;
    headers.push(f);
  }
  const version = m[1] === '1' ? '1.1' : '1.0';
  const status = Number(m[2]);
  const chunked = fieldTokens(headers, 'transfer-encoding').at(-1) === 'chunked';
  const te = fieldValues(headers, 'transfer-encoding').length > 0;
  const length = te ? undefined : contentLength(headers, 'BATON_ERR_HTTP_BACKEND');
  if (length instanceof RemoteProtocolError) return length;
  return {
    version,
    status,
    reason: m[3] ?? '',
    headers,
    contentLength: length,
    chunked,
    contentRange: status === 206 ? parseContentRange(fieldValue(headers, 'content-range')) : undefined,
    etag: fieldValue(headers, 'etag'),
    lastModified: fieldValue(headers, 'last-modified'),
    keepAlive: keepAlive(version, headers) && !(te && !chunked),
    raw,
  };
}

/** "bytes 10-19/100" -> {10, 19, 100}; anything else (multipart, unsatisfied "*\/100", last < first) undefined. */
export function parseContentRange(value: string | undefined): ContentRange | undefined {
  const m = value === undefined ? null : CONTENT_RANGE.exec(value);
  if (!m) return undefined;
  const first = Number(m[1]);
  const last = Number(m[2]);
  const complete = m[3] === '*' ? undefined : Number(m[3]);
  if (last < first || (complete !== undefined && last >= complete)) return undefined;
  return { first, last, complete };
}

/** How this response's body is delimited (RFC 9112 §6.3), given the request method. */
export function bodyFraming(head: ResponseHead, requestMethod: string): BodyFraming {
  if (requestMethod === 'HEAD' || (head.status >= 100 && head.status < 200) || head.status === 204 || head.status === 304) return 'none';
  if (fieldValues(head.headers, 'transfer-encoding').length > 0) return head.chunked ? 'chunked' : 'close';
  if (head.contentLength !== undefined) return head.contentLength === 0 ? 'none' : 'length';
  return 'close';
}

/** A strong validator for If-Range (RFC 9110 §13.1.5): a strong ETag, else Last-Modified, else ''. */
export function strongValidator(head: ResponseHead): string {
  if (head.etag !== undefined && !head.etag.startsWith('W/') && fieldValues(head.headers, 'etag').length === 1) return head.etag;
  return head.lastModified ?? '';
}
