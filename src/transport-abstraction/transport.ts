// The MigratableTransport contract that every baton backend (SCTP, TCP-Migrate) meets.
//
// Cores are sans-IO: they never touch a socket, a timer or the wall clock. A driver (the real
// `node:dgram` one in driver.ts, or the simulated network in src/sim/) feeds them input and
// drains their output. Polling order after any input, as in quinn:
//   1. pollTransmit(now) until undefined   — datagrams to send
//   2. pollTimeout()                        — re-arm the single timer
//   3. pollEvent() until undefined          — application events (data, takeover, close)
//
// Times are milliseconds on the driver's clock (`Instant`), virtual or real; cores only compare
// and add them.
import type { UdpAddress } from './address.js';
import type { TransportError } from './errors.js';
import type { TransportState } from './state-types.js';

export type Instant = number;
export type TransportKind = 'sctp' | 'tcp';

/** One datagram a core wants sent. */
export interface Transmit {
  /** Local address to send from; undefined means the driver's (only) bound address. */
  readonly source?: UdpAddress;
  readonly destination: UdpAddress;
  readonly payload: Uint8Array;
}

/** Anything a driver can bind to UDP sockets: an endpoint or a single connection. */
export interface DatagramCore {
  /**
   * Feed one received datagram. `local` is the address it arrived on (the driver knows which
   * socket it read). Never throws for bad input: malformed datagrams are dropped and counted.
   */
  handleDatagram(now: Instant, from: UdpAddress, bytes: Uint8Array, local?: UdpAddress): void;
  /** Run every timer whose deadline is <= now. */
  handleTimeout(now: Instant): void;
  /**
   * The next datagram to send, or undefined when there is none. The payload belongs to the driver
   * from then on (it may be sent asynchronously): a core must not reuse or change it.
   */
  pollTransmit(now: Instant): Transmit | undefined;
  /** The earliest deadline of any armed timer, or undefined when no timer is armed. */
  pollTimeout(): Instant | undefined;
}

/** What the receiver (the client) holds, learned after a takeover. Offsets are stream offsets. */
export interface ReceiverState {
  /** The first stream byte the client is missing: everything before it arrived in order. */
  readonly nextOffset: number;
  /** Later byte ranges [start, end) the client already holds (SCTP gap blocks, TCP SACK blocks in gap-fill mode). */
  readonly heldRanges: ReadonlyArray<{ readonly start: number; readonly end: number }>;
  /** The transport's own figure: SCTP cumulative TSN ack, or the TCP ack number. */
  readonly cumulativeAck: number;
}

/** How a new server resumes after takeover (see takeover()). */
export type ResumeMode = 'go-back-n' | 'gap-fill';

export type TransportEvent =
  /** The handshake completed (or a preloaded connection's takeover succeeded). */
  | { readonly type: 'connected' }
  /** In-order bytes from the peer on a stream. */
  | { readonly type: 'data'; readonly stream: number; readonly bytes: Uint8Array }
  /** Send-buffer space was freed after send() accepted fewer bytes than offered. */
  | { readonly type: 'writable' }
  /** The state that exportState() would return changed in a way a taker needs. */
  | { readonly type: 'state-changed' }
  /** Client side: a new server took the connection over with this request number. */
  | { readonly type: 'taken-over'; readonly requestNumber: number; readonly peer: UdpAddress }
  /** Client side: a takeover attempt was refused (duplicate number, bad authenticator, ...). */
  | { readonly type: 'takeover-refused'; readonly requestNumber: number; readonly peer: UdpAddress; readonly reason: string }
  /** Taker side: our takeover was accepted and the receiver's state is known. */
  | { readonly type: 'takeover-complete'; readonly receiver: ReceiverState }
  /** The peer finished sending (SHUTDOWN received / FIN). */
  | { readonly type: 'end' }
  /** The connection is over: cleanly when error is undefined. */
  | { readonly type: 'closed'; readonly error?: TransportError };

export interface SendOptions {
  /** SCTP stream identifier; ignored by TCP. Default 0. */
  readonly stream?: number;
}

/** One migratable connection (an SCTP association or a TCP-Migrate connection). */
export interface MigratableTransport extends DatagramCore {
  readonly kind: TransportKind;
  /** The protocol state name in the RFC's words, e.g. "ESTABLISHED", "SHUTDOWN-SENT". */
  readonly stateName: string;
  /** The peer's current primary address. */
  readonly remote: UdpAddress;

  /**
   * The next event. In-order data counts against the receive window the connection advertises
   * until it has been polled here, so an application that stops polling stops the peer (the
   * Duplex adapter stops polling while its reader is behind).
   */
  pollEvent(): TransportEvent | undefined;

  /**
   * Queue bytes for the peer. Returns how many were accepted (the send buffer is bounded);
   * a 'writable' event follows when more room frees up. Throws LocalUsageError once closed.
   */
  send(bytes: Uint8Array, options?: SendOptions): number;
  /** Bytes queued but not yet acknowledged by the peer. */
  readonly bufferedAmount: number;
  /** Graceful close: deliver what is queued, then SHUTDOWN / FIN. Does nothing once closed. */
  close(now: Instant): void;
  /** Immediate ABORT / RST. Does nothing once closed. */
  abort(now: Instant, reason?: string): void;

  /**
   * The protobuf description a peer server needs in order to take this connection over
   * (getsockstate). The takeover number is the connection's own (takeovers so far); the stream
   * mapping and the owner id are the caller's to fill in.
   */
  exportState(now: Instant): TransportState;
  /**
   * On a connection built by importState(): send the authenticated takeover request with
   * number `requestNumber` from this endpoint's address (setsockstate + connect in the paper).
   * A 'takeover-complete' or 'closed' (BATON_ERR_TAKEOVER_REJECTED) event follows.
   */
  takeover(now: Instant, requestNumber: number, mode?: ResumeMode): void;
  /**
   * After takeover-complete: what the client holds. From then on send() continues the stream at
   * receiverState().nextOffset; in 'gap-fill' mode the transport itself skips the ranges the client
   * already holds, in 'go-back-n' mode it sends them again.
   */
  receiverState(): ReceiverState | undefined;
  /** Stream offset of the next byte send() will take (bytes handed to this connection so far). */
  readonly streamOffset: number;
}

/** Options shared by connect/listen/import. */
export interface ConnectionOptions {
  /**
   * The peer's transport port inside the UDP payload (SCTP port / TCP port). Default: the same
   * number as the endpoint's own transport port. The endpoint's own port is an endpoint option.
   */
  readonly remotePort?: number;
  /** Random source for tags, ISNs and keys (seeded in tests). */
  readonly random?: import('./random.js').RandomSource;
  /** Bound on queued unacknowledged bytes; default 4 MiB. */
  readonly sendBufferSize?: number;
  /** Receive window; default 1 MiB for SCTP, 65535 bytes for TCP-Migrate (no window scaling). */
  readonly receiveWindow?: number;
}

/**
 * An endpoint owns local addresses and routes datagrams to its connections (by verification tag,
 * by address, by token), quinn's Endpoint. It is itself a DatagramCore: bind it to a driver.
 */
export interface TransportEndpoint extends DatagramCore {
  readonly kind: TransportKind;
  /** Open a connection to `remote` from `local` (one of this endpoint's addresses). */
  connect(now: Instant, remote: UdpAddress, options?: ConnectionOptions): MigratableTransport;
  /** Connections the peer opened to us, in arrival order (accepted once the handshake completes). */
  pollAccept(): MigratableTransport | undefined;
  /** Build a preloaded connection from another server's exported state; call takeover() next. */
  importState(now: Instant, state: TransportState, options?: ConnectionOptions): MigratableTransport;
  /** Datagrams dropped as malformed or unroutable, by reason. */
  readonly dropped: ReadonlyMap<string, number>;
}
