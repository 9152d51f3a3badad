// The sending half of the application loop over one MigratableTransport, written once for every
// application (baton cat, the wedge's session, the benchmarks, the simulated worlds of the tests):
//
//   - keep the transport's send buffer full from a StreamSource, by stream offset, refilling on
//     'writable' (and after every input: a full buffer costs one send() that takes nothing);
//   - a source that answers NOT_YET is asked again when it says it is ready;
//   - report 'state-changed' through a callback (re-export the state for the support group);
//   - on a taker's connection, wait for 'takeover-complete' and resume at the receiver's
//     nextOffset (the first byte the client is missing);
//   - close the connection when the source ends;
//   - when the peer restarted the connection ('restarted', SCTP RFC 9260 §5.2.4), serve the new
//     incarnation from the stream's first byte: its offsets start again at 0.
//
// Sans-IO: it calls the transport and the source, and `wake` (the runtime's Attachment#wake) when
// it fed the transport outside an input cycle. Use pump(now) from the runtime's afterInput hook
// when the sender is the connection's only reader of events; an owner that polls events itself
// (TransportSocket) passes each one to handleEvent() and calls fill() after.
import type { Instant, MigratableTransport, ReceiverState, SendOptions, TransportEvent } from '../transport-abstraction/transport.js';
import { LocalUsageError } from '../transport-abstraction/errors.js';
import { END, NOT_YET, type ClosedEvent, type StreamSource } from './source.js';

export interface StreamSenderOptions {
  readonly conn: MigratableTransport;
  readonly source: StreamSource;
  /** The runtime's clock (Runtime#now). */
  readonly now: () => Instant;
  /** Drain the transport after feeding it outside an input cycle (Attachment#wake). */
  readonly wake?: () => void;
  /**
   * A taker's connection (built by importState): send nothing until 'takeover-complete', then
   * begin at its receiver.nextOffset. Default false: begin at conn.streamOffset at once (a fresh
   * connection queues bytes until its handshake completes).
   */
  readonly resume?: boolean;
  /** Close the connection gracefully when the source ends; default true. */
  readonly closeAtEnd?: boolean;
  /** Most bytes asked of the source per read; default 64 KiB. */
  readonly readSize?: number;
  /** SCTP stream for the bytes; ignored by TCP. */
  readonly stream?: number;
  /** The connection's exportable state changed: re-export it now (conn.exportState(now)). */
  readonly onStateChanged?: (now: Instant) => void;
  /** 'takeover-complete': the sender resumes at receiver.nextOffset; here for logging. */
  readonly onResume?: (receiver: ReceiverState, now: Instant) => void;
  /** Every event pump() polled, after the sender handled it (data, end, taken-over, ...). */
  readonly onEvent?: (event: TransportEvent, now: Instant) => void;
}

export class StreamSender {
  readonly conn: MigratableTransport;
  /** The stream offset of the next byte to hand the transport. */
  offset: number;
  /** After a takeover: what the client held. */
  receiver: ReceiverState | undefined;
  /** The source ended and the connection was asked to close. */
  finished = false;
  /** The 'closed' event, once the connection is over (error undefined: clean). */
  closed: ClosedEvent | undefined;

  private readonly source: StreamSource;
  private readonly options: StreamSenderOptions;
  private readonly readSize: number;
  private readonly sendOptions: SendOptions;
  private active: boolean;
  private filling = false;
  /** The connection refused bytes: it closed (or began to) before its 'closed' event was polled. */
  private refused = false;

  constructor(options: StreamSenderOptions) {
    this.options = options;
    this.conn = options.conn;
    this.source = options.source;
    this.offset = options.conn.streamOffset;
    this.active = options.resume !== true;
    this.readSize = options.readSize ?? 65536;
    this.sendOptions = { stream: options.stream ?? 0 };
    options.source.onReady?.(() => this.ready());
  }

  /** True while the sender may still hand bytes to the transport. */
  get sending(): boolean {
    return this.active && !this.finished && !this.refused && this.closed === undefined;
  }

  /** Poll every event of the connection, handle it, then fill the send buffer. */
  pump(now: Instant): void {
    const conn = this.conn;
    const onEvent = this.options.onEvent;
    for (let ev = conn.pollEvent(); ev !== undefined; ev = conn.pollEvent()) {
      this.handleEvent(now, ev);
      onEvent?.(ev, now);
    }
    this.fill(now);
  }

  /** Handle one event polled by the owner ('writable' fills at once; others only note state). */
  handleEvent(now: Instant, ev: TransportEvent): void {
    switch (ev.type) {
      case 'writable':
        this.fill(now);
        return;
      case 'state-changed':
        this.options.onStateChanged?.(now);
        return;
      case 'takeover-complete':
        if (this.options.resume === true && !this.active) {
          this.receiver = ev.receiver;
          this.offset = ev.receiver.nextOffset;
          this.active = true;
          this.options.onResume?.(ev.receiver, now);
        }
        return;
      case 'closed':
        this.closed = ev;
        return;
      case 'restarted':
        // What was queued and unacknowledged is gone with the old incarnation; the restarted peer
        // knows no byte of the stream, so it gets the source from its start (unless we had closed
        // the connection: the restarted association goes on to its SHUTDOWN).
        this.offset = this.conn.streamOffset;
        if (this.conn.stateName === 'ESTABLISHED') this.finished = false;
        return;
      default:
        return;
    }
  }

  /** Hand the transport bytes from the source until its buffer is full or the source waits or ends. */
  fill(now: Instant): void {
    if (!this.sending || this.filling) return;
    this.filling = true;
    try {
      for (;;) {
        const answer = this.source.read(this.offset, this.readSize);
        if (answer === NOT_YET) return;
        if (answer === END) {
          this.finished = true;
          if (this.options.closeAtEnd !== false) this.conn.close(now);
          return;
        }
        if (answer.length === 0) return;
        const n = this.take(answer);
        this.offset += n;
        if (n < answer.length) return; // the rest waits for 'writable'
      }
    } finally {
      this.filling = false;
    }
  }

  /**
   * conn.send(), where a connection that has left its sending states (an ABORT or a SHUTDOWN from
   * the peer, a timeout, in the input before this one: its 'closed' event is not polled yet) ends
   * the sending instead of throwing into the source's ready() caller. Misuse on a connection that
   * still sends (ESTABLISHED) is thrown as before.
   */
  private take(bytes: Uint8Array): number {
    try {
      return this.conn.send(bytes, this.sendOptions);
    } catch (error) {
      if (!(error instanceof LocalUsageError) || this.conn.stateName === 'ESTABLISHED') throw error;
      this.refused = true;
      return 0;
    }
  }

  /** The source has bytes (or its end) it answered NOT_YET for: feed them and wake the runtime. */
  ready(): void {
    if (!this.sending) return;
    this.fill(this.options.now());
    this.options.wake?.();
  }
}
