// The receiving half of the application loop over one MigratableTransport: take the in-order
// bytes as they come (kept, or handed to a callback), answer the peer's end with our own close,
// and note how the connection ended. Sans-IO; call pump(now) from the runtime's afterInput hook.
import type { Instant, MigratableTransport, TransportEvent } from '../transport-abstraction/transport.js';
import type { ClosedEvent } from './source.js';

export interface StreamCollectorOptions {
  readonly conn: MigratableTransport;
  /** Keep the received bytes for bytes(); default true. */
  readonly keep?: boolean;
  /** Close our side when the peer ends its (SHUTDOWN / FIN); default true. */
  readonly closeOnEnd?: boolean;
  /** Each run of in-order bytes as it arrives. */
  readonly onData?: (bytes: Uint8Array, now: Instant) => void;
  /** Every event pump() polled, after the collector handled it. */
  readonly onEvent?: (event: TransportEvent, now: Instant) => void;
}

export class StreamCollector {
  readonly conn: MigratableTransport;
  /** Bytes received in order so far. */
  received = 0;
  /** The peer ended its stream. */
  ended = false;
  /** The 'closed' event, once the connection is over (error undefined: clean). */
  closed: ClosedEvent | undefined;
  /** Time of the first and the latest delivery, and the longest wait between two. */
  firstDataAt: Instant | undefined;
  lastDataAt: Instant | undefined;
  longestGap = 0;

  private readonly options: StreamCollectorOptions;
  private readonly chunks: Uint8Array[] = [];

  constructor(options: StreamCollectorOptions) {
    this.options = options;
    this.conn = options.conn;
  }

  pump(now: Instant): void {
    const conn = this.conn;
    const onEvent = this.options.onEvent;
    for (let ev = conn.pollEvent(); ev !== undefined; ev = conn.pollEvent()) {
      this.handleEvent(now, ev);
      onEvent?.(ev, now);
    }
  }

  handleEvent(now: Instant, ev: TransportEvent): void {
    if (ev.type === 'data') {
      if (this.lastDataAt !== undefined) this.longestGap = Math.max(this.longestGap, now - this.lastDataAt);
      this.firstDataAt ??= now;
      this.lastDataAt = now;
      this.received += ev.bytes.length;
      if (this.options.keep !== false) this.chunks.push(ev.bytes.slice());
      this.options.onData?.(ev.bytes, now);
    } else if (ev.type === 'end') {
      this.ended = true;
      if (this.options.closeOnEnd !== false) this.conn.close(now);
    } else if (ev.type === 'closed') {
      this.closed = ev;
    }
  }

  /** Everything received, in order (empty when keep is false). */
  bytes(): Uint8Array {
    if (this.options.keep === false) return new Uint8Array(0);
    const out = new Uint8Array(this.received);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
