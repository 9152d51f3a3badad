// An in-memory HTTP/1.1 content server with Range and If-Range (RFC 9110 §14), sans-IO: request
// bytes in, response bytes out. It stands in for nginx in the simulator and in tests.
import { errorResponse } from './http-errors.js';
import { fieldValue } from './http-fields.js';
import { RequestHeadParser, type RequestHead } from './http-request.js';

/** One stored object. */
export interface MemoryObject {
  readonly body: Uint8Array;
  /** Strong or weak ETag as sent, e.g. '"v1"'. */
  readonly etag?: string;
  readonly lastModified?: string;
}

/** How the server misbehaves or differs from nginx, for tests. */
export interface MemoryBackendOptions {
  /** Send bodies with chunked transfer coding and no Content-Length. */
  readonly chunked?: boolean;
  /** Answer a Range even when If-Range does not match (a broken server). */
  readonly ignoreIfRange?: boolean;
  /** Close after every response (Connection: close). */
  readonly close?: boolean;
}

/** The objects of one content server; connection() serves them. */
export class MemoryBackend {
  readonly objects = new Map<string, MemoryObject>();
  constructor(readonly options: MemoryBackendOptions = {}) {}

  /** Stores (or replaces) the object at `path`. */
  put(path: string, object: MemoryObject): void {
    this.objects.set(path, object);
  }

  /** A new connection to this server. */
  connection(): MemoryBackendConnection {
    return new MemoryBackendConnection(this);
  }

  /** The complete response to one parsed request. */
  respond(request: RequestHead): Uint8Array {
    const object = this.objects.get(request.path.split('?')[0]!);
    const close = this.options.close === true || !request.keepAlive;
    if (object === undefined) return head(404, 'Not Found', [['Content-Length', '0']], close, new Uint8Array(0), request.method, false);
    const size = object.body.length;
    const validators: Array<[string, string]> = [];
    if (object.etag !== undefined) validators.push(['ETag', object.etag]);
    if (object.lastModified !== undefined) validators.push(['Last-Modified', object.lastModified]);
    const range = fieldValue(request.headers, 'range');
    const ifRange = fieldValue(request.headers, 'if-range');
    const rangeApplies = range !== undefined && (ifRange === undefined || this.options.ignoreIfRange === true || ifRangeMatches(ifRange, object));
    if (rangeApplies) {
      const r = parseRange(range, size);
      if (r === 'unsatisfiable') {
        return head(416, 'Range Not Satisfiable', [['Content-Range', `bytes */${size}`], ['Content-Length', '0']], close, new Uint8Array(0), request.method, false);
      }
      if (r !== undefined) {
        const part = object.body.subarray(r.first, r.last + 1);
        const fields: Array<[string, string]> = [...validators, ['Content-Range', `bytes ${r.first}-${r.last}/${size}`]];
        return head(206, 'Partial Content', fields, close, part, request.method, this.options.chunked === true);
      }
    }
    return head(200, 'OK', [...validators, ['Accept-Ranges', 'bytes']], close, object.body, request.method, this.options.chunked === true);
  }
}

/** One connection: feed request bytes, get the responses to every complete request. */
export class MemoryBackendConnection {
  private parser = new RequestHeadParser();
  /** Set after a response that closes the connection. */
  closed = false;
  constructor(private readonly server: MemoryBackend) {}

  /** Responses to the requests completed by `bytes`, concatenated. */
  handleBytes(bytes: Uint8Array): Uint8Array {
    const out: Uint8Array[] = [];
    let rest = bytes;
    while (!this.closed && rest.length > 0) {
      const r = this.parser.push(rest);
      if (r.kind === 'more') break;
      this.parser = new RequestHeadParser();
      if (r.kind === 'error') {
        out.push(errorResponse(r.error));
        this.closed = true;
        break;
      }
      out.push(this.server.respond(r.head));
      if (this.server.options.close === true || !r.head.keepAlive) this.closed = true;
      rest = r.rest;
    }
    return Buffer.concat(out);
  }
}

function ifRangeMatches(value: string, object: MemoryObject): boolean {
  if (value.startsWith('"')) return object.etag !== undefined && !object.etag.startsWith('W/') && object.etag === value;
  return object.lastModified !== undefined && object.lastModified === value;
}

/** One "bytes=" range against `size`; undefined when not a single byte range (then the whole object is sent). */
function parseRange(value: string, size: number): { first: number; last: number } | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { first: Math.max(0, size - n), last: size - 1 };
  }
  const first = Number(m[1]);
  const last = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < first) return undefined;
  if (first >= size) return 'unsatisfiable';
  return { first, last };
}

function head(status: number, reason: string, fields: Array<[string, string]>, close: boolean, body: Uint8Array, method: string, chunked: boolean): Uint8Array {
  const lines = [`HTTP/1.1 ${status} ${reason}`, 'Server: baton-memory', ...fields.map(([n, v]) => `${n}: ${v}`)];
  const hasBody = status !== 204 && status !== 304 && !fields.some(([n]) => n === 'Content-Length');
  if (hasBody) lines.push(chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${body.length}`);
  if (close) lines.push('Connection: close');
  const text = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
  if (method === 'HEAD' || !hasBody) return text;
  if (!chunked) return Buffer.concat([text, body]);
  const parts: Uint8Array[] = [text];
  for (let i = 0; i < body.length; i += 1000) {
    const piece = body.subarray(i, i + 1000);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

