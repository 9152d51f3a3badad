// TransportSocket: a Node Duplex stream over one MigratableTransport.
//
// The transport is sans-IO, so the socket needs two things from whoever drives it: `wake`, called
// after every call into the transport (send, close, abort) so the driver drains transmits and
// re-arms its timer (UdpDriver#wake, or `() => net.wake(core)` in the simulator), and `now`, the
// driver's clock. The driver's afterInput hook must call `pump()`, which polls the transport's
// events and turns them into stream operations and socket events:
//
//   data              -> pushed to the readable side (every stream's bytes, in arrival order)
//   end               -> the readable side ends
//   writable          -> a write waiting for send-buffer room continues
//   closed (error)    -> destroy(error): 'error' with the TransportError (its `code` intact)
//   closed (clean)    -> the readable side ends; the writable side ends too (pending writes fail)
//   connected         -> 'connect'
//   state-changed     -> 'state-changed'
//   taken-over, takeover-refused, takeover-complete -> re-emitted with the event object
//
// Reading follows the consumer: when push() returns false (the readable side is over its
// highWaterMark) pump() stops polling, so data waits in the transport, where it counts against the
// receive window the transport advertises (TCP-Migrate, SCTP) and the sender stalls. The socket
// holds at most highWaterMark + one chunk. When the consumer reads again, _read() resumes polling
// and wakes the driver so the transport's window update goes out. Events keep their order: a
// 'closed' or 'end' queued behind unread data is handled when the reader gets there. While paused,
// pump() costs one check (and retries a write waiting for send-buffer room, since its 'writable'
// event may sit behind the unread data).
//
// Or the writable side is fed by the library's application loop: sendFrom(source) hands the
// connection's events to a StreamSender, which pulls bytes from the source by stream offset,
// refills on 'writable' and, on a taker's socket, resumes at the client's next missing byte.
//
// Writing: write() hands bytes to transport.send(); when send() accepts fewer bytes than offered,
// the write callback waits for the transport's 'writable' event, so Node's stream backpressure
// (write() returning false, 'drain') follows the transport's send buffer. end() calls
// transport.close(now); destroy() calls transport.abort(now) unless the transport already closed.
import { Duplex } from 'node:stream';
import type { UdpAddress } from '../transport-abstraction/address.js';
import { BatonError, LocalUsageError } from '../transport-abstraction/errors.js';
import type { Instant, MigratableTransport, SendOptions, TransportEvent } from '../transport-abstraction/transport.js';
import { StreamSender, type StreamSource } from '../stream/index.js';

export interface TransportSocketOptions {
  readonly transport: MigratableTransport;
  /** Drain the transport's transmits and re-arm its timer (UdpDriver#wake or the sim's wake). */
  readonly wake: () => void;
  /** The driver's clock, in ms. */
  readonly now: () => Instant;
  /** SCTP stream for written bytes; default 0 (ignored by TCP). */
  readonly stream?: number;
  readonly readableHighWaterMark?: number;
  readonly writableHighWaterMark?: number;
}

export type TakenOverEvent = Extract<TransportEvent, { type: 'taken-over' }>;
export type TakeoverRefusedEvent = Extract<TransportEvent, { type: 'takeover-refused' }>;
export type TakeoverCompleteEvent = Extract<TransportEvent, { type: 'takeover-complete' }>;

/** A write could not complete because the connection ended cleanly first. */
export class SocketClosedError extends BatonError {
  constructor(message = 'the connection closed before these bytes were accepted') {
    super('BATON_ERR_SOCKET_CLOSED', message);
  }
}

interface PendingWrite {
  readonly chunks: Uint8Array[];
  index: number;
  offset: number;
  readonly callback: (error?: Error | null) => void;
}

export class TransportSocket extends Duplex {
  readonly transport: MigratableTransport;
  private readonly wakeDriver: () => void;
  private readonly now: () => Instant;
  private readonly sendOptions: SendOptions;
  private pending: PendingWrite | undefined;
  private transportClosed = false;
  private readableDone = false;
  /** push() returned false: events stay in the transport until the consumer reads (_read). */
  private readPaused = false;
  private pumping = false;
  private sender: StreamSender | undefined;

  constructor(options: TransportSocketOptions) {
    super({
      allowHalfOpen: true,
      decodeStrings: true,
      readableHighWaterMark: options.readableHighWaterMark,
      writableHighWaterMark: options.writableHighWaterMark,
    });
    this.transport = options.transport;
    this.wakeDriver = options.wake;
    this.now = options.now;
    this.sendOptions = { stream: options.stream ?? 0 };
  }

  /** The peer's current primary address. */
  get remote(): UdpAddress {
    return this.transport.remote;
  }

  /** The transport's state name, e.g. "ESTABLISHED". */
  get stateName(): string {
    return this.transport.stateName;
  }

  /** Bytes the transport holds unacknowledged (not counting the stream's own write buffer). */
  get bufferedAmount(): number {
    return this.transport.bufferedAmount;
  }

  /** The transport's export barrier (MigratableTransport.setExportBarrier), on the driver's clock. */
  setExportBarrier(enabled: boolean): void {
    this.transport.setExportBarrier(this.now(), enabled);
    this.wakeDriver();
  }

  /** The generation of the state the transport exports now (MigratableTransport.exportGeneration). */
  get exportGeneration(): number {
    return this.transport.exportGeneration;
  }

  /** A support-group member stored the state of `generation`: release what the barrier held. */
  confirmExport(generation: number): void {
    this.transport.confirmExport(this.now(), generation);
    this.wakeDriver();
  }

  /** True while the consumer is not reading and events wait in the transport. */
  get readingPaused(): boolean {
    return this.readPaused;
  }

  /**
   * Feed the writable side from `source` instead of write() (the connection closes when the source
   * ends). With `resume` (a socket from BatonServer.takeOver) nothing is sent until
   * 'takeover-complete', and then from the client's next missing byte on. Returns the sender
   * (its `offset`, `finished`). Throws LocalUsageError when the socket already has a writer.
   */
  sendFrom(source: StreamSource, options: { readonly resume?: boolean; readonly readSize?: number } = {}): StreamSender {
    if (this.sender !== undefined || this.pending !== undefined || this.writableLength > 0 || this.writableEnded) {
      throw new LocalUsageError('sendFrom(): this socket already has a writer');
    }
    this.sender = new StreamSender({
      conn: this.transport,
      source,
      now: this.now,
      wake: this.wakeDriver,
      stream: this.sendOptions.stream ?? 0,
      ...(options.resume !== undefined ? { resume: options.resume } : {}),
      ...(options.readSize !== undefined ? { readSize: options.readSize } : {}),
    });
    this.sender.ready();
    return this.sender;
  }

  /** Poll the transport's events; call from the driver's afterInput hook. Cheap while paused. */
  pump(): void {
    if (this.readPaused) {
      if (this.pending !== undefined) this.flushPending();
      this.sender?.fill(this.now());
      return;
    }
    if (this.pumping) return;
    this.pumping = true;
    try {
      const t = this.transport;
      while (!this.readPaused) {
        const ev = t.pollEvent();
        if (ev === undefined) break;
        if (!this.destroyed) this.handle(ev);
      }
      this.sender?.fill(this.now());
    } finally {
      this.pumping = false;
    }
  }

  private handle(ev: TransportEvent): void {
    this.sender?.handleEvent(this.now(), ev);
    switch (ev.type) {
      case 'data':
        if (!this.readableDone && ev.bytes.length > 0 && !this.push(ev.bytes) && !this.readableDone && !this.destroyed) this.readPaused = true;
        return;
      case 'writable':
        this.flushPending();
        return;
      case 'end':
        this.endReadable();
        return;
      case 'closed':
        this.transportClosed = true;
        if (ev.error !== undefined) {
          this.destroy(ev.error);
          return;
        }
        this.endReadable();
        this.failPending(new SocketClosedError());
        if (!this.writableEnded && !this.destroyed) this.end();
        return;
      case 'connected':
        this.emit('connect');
        return;
      case 'state-changed':
        this.emit('state-changed');
        return;
      case 'taken-over':
      case 'takeover-refused':
      case 'takeover-complete':
      case 'restarted':
        this.emit(ev.type, ev);
        return;
    }
  }

  private endReadable(): void {
    if (this.readableDone) return;
    this.readableDone = true;
    this.push(null);
  }

  private wake(): void {
    this.wakeDriver();
  }

  // ---- Duplex implementation ----

  override _read(): void {
    // Data is pushed as the transport delivers it (pump()); after push() said stop, the consumer's
    // read resumes polling, and the driver is woken so the window update the reads allow goes out.
    if (!this.readPaused) return;
    this.readPaused = false;
    if (this.pumping) return; // called back from inside pump(): its loop goes on
    this.pump();
    this.wake();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.startWrite([chunk], callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.startWrite(
      chunks.map((c) => c.chunk),
      callback,
    );
  }

  private startWrite(chunks: Uint8Array[], callback: (error?: Error | null) => void): void {
    if (this.sender !== undefined) {
      callback(new LocalUsageError('write() on a socket fed by sendFrom()'));
      return;
    }
    if (this.transportClosed) {
      callback(new SocketClosedError('write after the connection closed'));
      return;
    }
    this.pending = { chunks, index: 0, offset: 0, callback };
    this.flushPending();
  }

  private flushPending(): void {
    const p = this.pending;
    if (p === undefined) return;
    let accepted = 0;
    try {
      while (p.index < p.chunks.length) {
        const chunk = p.chunks[p.index]!;
        const rest = p.offset === 0 ? chunk : chunk.subarray(p.offset);
        const n = rest.length === 0 ? 0 : this.transport.send(rest, this.sendOptions);
        accepted += n;
        if (n < rest.length) {
          p.offset += n;
          break;
        }
        p.index++;
        p.offset = 0;
      }
    } catch (error) {
      this.pending = undefined;
      if (accepted > 0) this.wake();
      p.callback(error as Error);
      return;
    }
    if (accepted > 0) this.wake();
    if (p.index === p.chunks.length) {
      this.pending = undefined;
      p.callback();
    }
  }

  private failPending(error: Error): void {
    const p = this.pending;
    if (p === undefined) return;
    this.pending = undefined;
    p.callback(error);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.transportClosed) {
      callback();
      return;
    }
    try {
      this.transport.close(this.now());
    } catch (error) {
      callback(error as Error);
      return;
    }
    this.wake();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.transportClosed) {
      this.transportClosed = true;
      try {
        this.transport.abort(this.now(), error?.message ?? 'socket destroyed');
      } catch {
        // already closed underneath us: nothing left to abort
      }
      this.wake();
    }
    this.failPending(error ?? new SocketClosedError('socket destroyed'));
    callback(error);
  }
}
