// Finds where a response body ends, without changing a byte of it: Content-Length counting, the
// chunked framing (RFC 9112 §7.1: size line, data, CRLF, ..., last chunk, trailers, empty line),
// or the content server's close. The wedge relays the framing as is; this only tracks it.
import { RemoteProtocolError } from './http-errors.js';
import type { BodyFraming } from './http-response.js';

/** What BodyTracker.push found: `used` bytes of the piece belong to the body; `done` when it ended. */
export type BodyPushResult = { readonly used: number; readonly done: boolean } | { readonly error: RemoteProtocolError };

const MAX_CHUNK_LINE = 4096;
const MAX_TRAILERS = 16384;

type ChunkState = 'size' | 'data' | 'data-cr' | 'data-lf' | 'trailer';

/** Tracks one response body. */
export class BodyTracker {
  private remaining: number;
  private chunk: ChunkState = 'size';
  private line = '';
  private trailerBytes = 0;
  private finished: boolean;

  /** `length` is the Content-Length for 'length' framing. */
  constructor(
    readonly framing: BodyFraming,
    length = 0,
  ) {
    this.remaining = framing === 'length' ? length : 0;
    this.finished = framing === 'none' || (framing === 'length' && length === 0);
  }

  /** The body has ended. */
  get done(): boolean {
    return this.finished;
  }

  /** Body bytes still expected ('length' framing only). */
  get left(): number {
    return this.remaining;
  }

  /** Consume the next piece of the body. */
  push(piece: Uint8Array): BodyPushResult {
    if (this.finished) return { used: 0, done: true };
    switch (this.framing) {
      case 'none':
        return { used: 0, done: true };
      case 'close':
        return { used: piece.length, done: false };
      case 'length': {
        const used = Math.min(piece.length, this.remaining);
        this.remaining -= used;
        this.finished = this.remaining === 0;
        return { used, done: this.finished };
      }
      case 'chunked':
        return this.chunked(piece);
    }
  }

  /** The content server closed: fine for 'close' framing, a truncated body otherwise. */
  end(): BodyPushResult {
    if (this.finished) return { used: 0, done: true };
    if (this.framing === 'close') {
      this.finished = true;
      return { used: 0, done: true };
    }
    return { error: new RemoteProtocolError('BATON_ERR_HTTP_BACKEND', 'the content server closed inside a response body') };
  }

  private chunked(piece: Uint8Array): BodyPushResult {
    let i = 0;
    while (i < piece.length && !this.finished) {
      if (this.chunk === 'data') {
        const n = Math.min(piece.length - i, this.remaining);
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) this.chunk = 'data-cr';
        continue;
      }
      const b = piece[i++]!;
      if (this.chunk === 'data-cr' || this.chunk === 'data-lf') {
        if (this.chunk === 'data-cr' && b === 0x0d) this.chunk = 'data-lf';
        else if (b === 0x0a) this.chunk = 'size';
        else return { error: new RemoteProtocolError('BATON_ERR_HTTP_BACKEND', 'chunk data not followed by CRLF') };
        continue;
      }
      if (b !== 0x0a) {
        this.line += String.fromCharCode(b);
        if (this.line.length > MAX_CHUNK_LINE) return { error: new RemoteProtocolError('BATON_ERR_HTTP_BACKEND', 'chunk size or trailer line too long') };
        continue;
      }
      const line = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line;
      this.line = '';
      if (this.chunk === 'trailer') {
        this.trailerBytes += line.length + 2;
        if (line === '') this.finished = true;
        else if (this.trailerBytes > MAX_TRAILERS) return { error: new RemoteProtocolError('BATON_ERR_HTTP_BACKEND', 'trailers too long') };
        continue;
      }
      const m = /^([0-9A-Fa-f]{1,12})[ \t]*(;.*)?$/.exec(line);
      if (!m) return { error: new RemoteProtocolError('BATON_ERR_HTTP_BACKEND', `bad chunk size line ${JSON.stringify(line.slice(0, 40))}`) };
      this.remaining = parseInt(m[1]!, 16);
      this.chunk = this.remaining === 0 ? 'trailer' : 'data';
    }
    return { used: i, done: this.finished };
  }
}
