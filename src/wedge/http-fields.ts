// Header fields of an HTTP/1.1 head (RFC 9110 §5, RFC 9112 §5): parsing one field line, looking
// fields up by name, and the framing fields every parser needs (Content-Length, Connection).
import { RemoteProtocolError, type HttpErrorCode } from './http-errors.js';

/** One header field as received: name with its original case, value with surrounding whitespace removed. */
export interface HeaderField {
  readonly name: string;
  readonly value: string;
}

/** RFC 9110 token characters. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Field-value characters: visible ASCII, obs-text, SP and HTAB (no other controls). */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Parses "name: value"; a malformed line is an error value with the given code. */
export function parseFieldLine(line: string, code: HttpErrorCode = 'BATON_ERR_HTTP_MALFORMED'): HeaderField | RemoteProtocolError {
  if (line.startsWith(' ') || line.startsWith('\t')) {
    return new RemoteProtocolError(code, 'obsolete line folding in a header field');
  }
  const colon = line.indexOf(':');
  if (colon <= 0) return new RemoteProtocolError(code, 'header field without a name and colon');
  const name = line.slice(0, colon);
  if (!TOKEN.test(name)) return new RemoteProtocolError(code, `invalid header field name ${JSON.stringify(name)}`);
  const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
  if (!FIELD_VALUE.test(value)) return new RemoteProtocolError(code, `control character in header field ${name}`);
  return { name, value };
}

/** Every value of the fields called `name` (case-insensitive), in order. */
export function fieldValues(headers: readonly HeaderField[], name: string): string[] {
  const lower = name.toLowerCase();
  return headers.filter((h) => h.name.toLowerCase() === lower).map((h) => h.value);
}

/** The value of the single field `name`, undefined when absent; several fields are joined with ", ". */
export function fieldValue(headers: readonly HeaderField[], name: string): string | undefined {
  const values = fieldValues(headers, name);
  return values.length === 0 ? undefined : values.join(', ');
}

/** The comma-separated elements of every `name` field, lower-cased, empties dropped. */
export function fieldTokens(headers: readonly HeaderField[], name: string): string[] {
  return fieldValues(headers, name)
    .flatMap((v) => v.split(','))
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '');
}

/**
 * Content-Length: undefined when absent; a number when every element of every field is the same
 * run of digits (RFC 9110 §8.6 lets a recipient accept "5, 5"); an error otherwise.
 */
export function contentLength(headers: readonly HeaderField[], code: HttpErrorCode): number | undefined | RemoteProtocolError {
  const values = fieldValues(headers, 'content-length').flatMap((v) => v.split(',').map((t) => t.trim()));
  if (values.length === 0) return undefined;
  const first = values[0]!;
  if (!/^\d{1,15}$/.test(first) || values.some((v) => v !== first)) {
    return new RemoteProtocolError(code, `invalid Content-Length ${JSON.stringify(fieldValue(headers, 'content-length'))}`);
  }
  return Number(first);
}

/** Whether the connection persists after this message (RFC 9112 §9.3). */
export function keepAlive(version: string, headers: readonly HeaderField[]): boolean {
  const tokens = fieldTokens(headers, 'connection');
  if (tokens.includes('close')) return false;
  return version === '1.1' || tokens.includes('keep-alive');
}
