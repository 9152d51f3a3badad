// The client's request head: parsed from HeadReader lines into a checked RequestHead, or refused
// with a coded RemoteProtocolError (400 malformed or oversized, 501 unsupported, 505 version).
// The wedge serves GET and HEAD without a request body; see README.md.
import { LocalProtocolError, RemoteProtocolError } from './http-errors.js';
import { DEFAULT_HEAD_LIMITS, HeadReader, type HeadLimits } from './http-head-reader.js';
import { contentLength, fieldValues, keepAlive, parseFieldLine, TOKEN, type HeaderField } from './http-fields.js';

/** The methods the wedge serves; any other token is 501. */
export const SUPPORTED_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/** A checked request head. */
export interface RequestHead {
  readonly method: string;
  /** The request target as sent (origin-form "/path?q" or absolute-form "http://host/path"). */
  readonly target: string;
  /** The path and query of the target: the object's name. */
  readonly path: string;
  readonly version: '1.0' | '1.1';
  readonly headers: readonly HeaderField[];
  /** Whether the client keeps the connection open after the response. */
  readonly keepAlive: boolean;
  /** The head's bytes as received (start line through the empty line). */
  readonly raw: Uint8Array;
}

/** What RequestHeadParser.push found: more bytes needed, a head (with the bytes after it), or a refusal. */
export type RequestParseResult =
  | { readonly kind: 'more' }
  | { readonly kind: 'head'; readonly head: RequestHead; readonly skipped: number; readonly rest: Uint8Array }
  | { readonly kind: 'error'; readonly error: RemoteProtocolError };

/** Incremental request head parser; single use (make one per request). */
export class RequestHeadParser {
  private readonly reader: HeadReader;
  constructor(limits: HeadLimits = DEFAULT_HEAD_LIMITS) {
    this.reader = new HeadReader(limits, true);
  }

  /** Feed the next piece of client bytes. Throws LocalProtocolError after a head or an error. */
  push(chunk: Uint8Array): RequestParseResult {
    const r = this.reader.push(chunk);
    if (r.kind !== 'head') return r;
    const head = parseRequestHead(r.lines, r.raw);
    if (head instanceof RemoteProtocolError) return { kind: 'error', error: head };
    return { kind: 'head', head, skipped: r.skipped, rest: r.rest };
  }
}

const REQUEST_LINE = /^([^ ]+) ([^ ]+) ([^ ]+)$/;
const HTTP_VERSION = /^HTTP\/(\d)\.(\d)$/;
const TARGET_CHARS = /^[\x21-\x7e]+$/;

/** Checks a complete head's lines (start line first); the first problem found is returned. */
export function parseRequestHead(lines: readonly string[], raw: Uint8Array): RequestHead | RemoteProtocolError {
  const m = REQUEST_LINE.exec(lines[0] ?? '');
  if (!m) return new RemoteProtocolError('BATON_ERR_HTTP_MALFORMED', 'request line is not "METHOD TARGET HTTP/x.y"');
  const [, method, target, versionText] = m as unknown as [string, string, string, string];
  if (!TOKEN.test(method)) return new RemoteProtocolError('BATON_ERR_HTTP_MALFORMED', 'method is not a token');
  const v = HTTP_VERSION.exec(versionText);
  if (!v) return new RemoteProtocolError('BATON_ERR_HTTP_MALFORMED', `not an HTTP version: ${JSON.stringify(versionText)}`);
  if (!TARGET_CHARS.test(target)) return new RemoteProtocolError('BATON_ERR_HTTP_MALFORMED', 'request target has a control or non-ASCII character');
  const path = targetPath(target);
  if (path === undefined) return new RemoteProtocolError('BATON_ERR_HTTP_MALFORMED', `unsupported request target ${JSON.stringify(target)}`);
  const headers: HeaderField[] = [];
  for (const line of lines.slice(1)) {
    const f = parseFieldLine(line);
    if (f instanceof RemoteProtocolError) return f;
    headers.push(f);
  }
  if (v[1] !== '1' || (v[2] !== '0' && v[2] !== '1')) {
    return new RemoteProtocolError('BATON_ERR_HTTP_VERSION', `HTTP/${v[1]}.${v[2]} is not supported`);
  }
  const version = v[2] === '1' ? '1.1' : '1.0';
  if (version === '1.1' && fieldValues(headers, 'host').length !== 1) {
    return new RemoteProtocolError('BATON_ERR_HTTP_MALFORMED', 'an HTTP/1.1 request needs exactly one Host field');
  }
  const length = contentLength(headers, 'BATON_ERR_HTTP_BAD_FRAMING');
  if (length instanceof RemoteProtocolError) return length;
  const te = fieldValues(headers, 'transfer-encoding');
  if (te.length > 0 && length !== undefined) {
    return new RemoteProtocolError('BATON_ERR_HTTP_BAD_FRAMING', 'both Transfer-Encoding and Content-Length');
  }
  if (!SUPPORTED_METHODS.has(method)) return new RemoteProtocolError('BATON_ERR_HTTP_METHOD', `method ${method} is not supported`);
  if (te.length > 0) return new RemoteProtocolError('BATON_ERR_HTTP_TRANSFER_CODING', 'request bodies with a transfer coding are not supported');
  if (length !== undefined && length > 0) return new RemoteProtocolError('BATON_ERR_HTTP_TRANSFER_CODING', 'request bodies are not supported');
  return { method, target, path, version, headers, keepAlive: keepAlive(version, headers), raw };
}

/** "/a?b" -> "/a?b"; "http://host/a" -> "/a"; "http://host" -> "/"; anything else undefined. */
function targetPath(target: string): string | undefined {
  if (target.startsWith('/')) return target;
  const abs = /^https?:\/\/[^/?#]+(.*)$/i.exec(target);
  if (!abs) return undefined;
  const rest = abs[1]!;
  return rest === '' ? '/' : rest.startsWith('/') ? rest : rest.startsWith('?') ? '/' + rest : undefined;
}

/** Serializes a request head (CRLF line ends). Throws LocalProtocolError for an invalid method, target or field. */
export function emitRequestHead(method: string, target: string, headers: readonly HeaderField[], version: '1.0' | '1.1' = '1.1'): Uint8Array {
  if (!TOKEN.test(method)) throw new LocalProtocolError(`invalid method ${JSON.stringify(method)}`);
  if (!TARGET_CHARS.test(target)) throw new LocalProtocolError(`invalid request target ${JSON.stringify(target)}`);
  let text = `${method} ${target} HTTP/${version}\r\n`;
  for (const h of headers) {
    if (!TOKEN.test(h.name)) throw new LocalProtocolError(`invalid header field name ${JSON.stringify(h.name)}`);
    if (/[\0\r\n]/.test(h.value) || h.value !== h.value.trim()) throw new LocalProtocolError(`invalid value for ${h.name}`);
    text += `${h.name}: ${h.value}\r\n`;
  }
  return Buffer.from(text + '\r\n', 'latin1');
}
