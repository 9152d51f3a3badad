// Incremental reader of an HTTP/1.1 head (start line + header lines + empty line). Bytes arrive in
// pieces of any size; the result depends only on the concatenation, never on where it was split.
// Lines end at LF; a CR right before the LF is dropped, a CR anywhere else is malformed. Limits on
// one line, the whole head and the header count are enforced as bytes arrive, so an oversized head
// is refused before it is complete. Lines are decoded as Latin-1 (one char per byte).
import { LocalProtocolError, RemoteProtocolError } from './http-errors.js';

/** Size limits of a head; breaking one is BATON_ERR_HTTP_TOO_LARGE (status 400). */
export interface HeadLimits {
  /** Longest line, without its line end. */
  readonly maxLineLength: number;
  /** Longest head, line ends and the final empty line included. */
  readonly maxHeadLength: number;
  /** Most header fields. */
  readonly maxHeaders: number;
}

/** 8 KiB lines, 32 KiB heads, 100 fields (nginx's large_client_header_buffers is 4 x 8 KiB). */
export const DEFAULT_HEAD_LIMITS: HeadLimits = { maxLineLength: 8192, maxHeadLength: 32768, maxHeaders: 100 };

/** What HeadReader.push found so far. */
export type HeadReadResult =
  | { readonly kind: 'more' }
  | {
      readonly kind: 'head';
      /** The start line followed by the header lines, line ends removed. */
      readonly lines: readonly string[];
      /** The head's bytes as received, from the start line through the empty line. */
      readonly raw: Uint8Array;
      /** Empty lines skipped before the start line (RFC 9112 §2.2 lets a server ignore them). */
      readonly skipped: number;
      /** Bytes after the head in the chunk that completed it. */
      readonly rest: Uint8Array;
    }
  | { readonly kind: 'error'; readonly error: RemoteProtocolError };

const LF = 0x0a;
const CR = 0x0d;

/** Collects one head from pieces of a byte stream; single use. */
export class HeadReader {
  private buf: Uint8Array;
  private len = 0;
  /** Index in buf where the current line starts. */
  private lineStart = 0;
  /** Bytes of empty lines skipped before the start line. */
  private skipped = 0;
  private readonly lines: string[] = [];
  private finished = false;

  /** skipLeadingEmptyLines: true for requests (tolerate CRLF after a previous message). */
  constructor(
    private readonly limits: HeadLimits = DEFAULT_HEAD_LIMITS,
    private readonly skipLeadingEmptyLines = false,
  ) {
    this.buf = new Uint8Array(Math.min(1024, limits.maxHeadLength + 2));
  }

  /** Feed the next piece. Throws LocalProtocolError once a head or an error was returned. */
  push(chunk: Uint8Array): HeadReadResult {
    if (this.finished) throw new LocalProtocolError('HeadReader.push after the head was complete or refused');
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      this.append(b);
      if (b === LF) {
        const r = this.endLine(chunk, i);
        if (r !== undefined) {
          this.finished = true;
          return r;
        }
      } else if (this.len - this.lineStart > this.limits.maxLineLength + 1) {
        // +1: the line may still end with CR LF, the CR not counting against the limit.
        return this.fail('BATON_ERR_HTTP_TOO_LARGE', `line longer than ${this.limits.maxLineLength} bytes`);
      }
      if (this.len > this.limits.maxHeadLength) {
        return this.fail('BATON_ERR_HTTP_TOO_LARGE', `head longer than ${this.limits.maxHeadLength} bytes`);
      }
    }
    return { kind: 'more' };
  }

  private append(b: number): void {
    if (this.len === this.buf.length) {
      const grown = new Uint8Array(this.buf.length * 2);
      grown.set(this.buf);
      this.buf = grown;
    }
    this.buf[this.len++] = b;
  }

  private fail(code: 'BATON_ERR_HTTP_TOO_LARGE' | 'BATON_ERR_HTTP_MALFORMED', message: string): HeadReadResult {
    this.finished = true;
    return { kind: 'error', error: new RemoteProtocolError(code, message) };
  }

  /** A LF was appended (chunk[i]); returns a result when the head is complete or refused. */
  private endLine(chunk: Uint8Array, i: number): HeadReadResult | undefined {
    let end = this.len - 1;
    if (end > this.lineStart && this.buf[end - 1] === CR) end--;
    const start = this.lineStart;
    this.lineStart = this.len;
    for (let j = start; j < end; j++) {
      if (this.buf[j] === CR) return this.fail('BATON_ERR_HTTP_MALFORMED', 'bare CR in a line');
    }
    if (end - start > this.limits.maxLineLength) {
      return this.fail('BATON_ERR_HTTP_TOO_LARGE', `line longer than ${this.limits.maxLineLength} bytes`);
    }
    if (end === start) {
      if (this.lines.length === 0) {
        if (this.skipLeadingEmptyLines) {
          this.skipped = this.len;
          return undefined;
        }
        return this.fail('BATON_ERR_HTTP_MALFORMED', 'empty start line');
      }
      return {
        kind: 'head',
        lines: this.lines,
        raw: this.buf.slice(this.skipped, this.len),
        skipped: this.skipped,
        rest: chunk.subarray(i + 1),
      };
    }
    if (this.lines.length > this.limits.maxHeaders) {
      return this.fail('BATON_ERR_HTTP_TOO_LARGE', `more than ${this.limits.maxHeaders} header fields`);
    }
    this.lines.push(Buffer.from(this.buf.buffer, this.buf.byteOffset + start, end - start).toString('latin1'));
    return undefined;
  }
}
