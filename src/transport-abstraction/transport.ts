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
//
// Errors: nothing but a coded BatonError leaves a core's public methods. Bad input (a malformed,
// hostile or unroutable datagram) is dropped and counted under a DROP_REASONS key; local misuse
// (a bad argument, a call in the wrong state, a state that is not a state) throws LocalUsageError
// (BATON_ERR_USAGE); a bug that still escapes leaves as BATON_ERR_INTERNAL (guard.ts), never as a
// bare TypeError or RangeError. A core reports to its endpoint through a queue of endpoint events
// it drains, never by calling it (quinn's EndpointEvent).
import type { UdpAddress } from './address.js';
import type { TransportError } from './errors.js';
import type { TransportState } from './state-types.js';
import { LocalUsageError } from './errors.js';

export type Instant = number;
export type TransportKind = 'sctp' | 'tcp';

/** One datagram a core wants sent. */
export interface Transmit {
  /** Local address to send from; undefined means the driver's (only) bound address. */
  readonly source?: UdpAddress;
  readonly destination: UdpAddress;
  readonly payload: Uint8Array;
  /**
   * Larger than the path MTU the core believes in (an SCTP DATA chunk cut before a black hole was
   * found): it may be fragmented on the way (IPv4 without DF). The simulated link honours it; a
   * Node.js UDP socket cannot clear DF, so the real drivers ignore it.
   */
  readonly mayFragment?: boolean;
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
  /** Client side: a takeover attempt was refused; `reason` is one of TAKEOVER_REFUSALS. */
  | { readonly type: 'takeover-refused'; readonly requestNumber: number; readonly peer: UdpAddress; readonly reason: string }
  /** Taker side: our takeover was accepted and the receiver's state is known. */
  | { readonly type: 'takeover-complete'; readonly receiver: ReceiverState }
  /**
   * The peer restarted the connection (SCTP, RFC 9260 §5.2.4 case A: it came back from the same
   * addresses with a new INIT) and it was restarted in place: the same object, new tags, TSNs and
   * keys, a new stream from offset 0 each way. Events polled before it belong to the old stream.
   * `discardedBytes`: what send() had accepted and the peer never acknowledged, dropped (the peer
   * no longer knows that stream). A state exported before it is void. TCP-Migrate never raises it.
   */
  | { readonly type: 'restarted'; readonly discardedBytes: number }
  /** The peer finished sending (SHUTDOWN received / FIN). */
  | { readonly type: 'end' }
  /** The connection is over: cleanly when error is undefined. */
  | { readonly type: 'closed'; readonly error?: TransportError };

export interface SendOptions {
  /** SCTP stream identifier; ignored by TCP. Default 0. */
  readonly stream?: number;
  /** SCTP message mode: send the message unordered (U bit); ignored otherwise. */
  readonly unordered?: boolean;
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
   * A 'takeover-complete' or 'closed' (BATON_ERR_TAKEOVER_REJECTED) event follows. The number
   * follows the takeover-number rule below (validateTakeoverNumber; LocalUsageError otherwise);
   * `mode` defaults to DEFAULT_RESUME_MODE ('gap-fill') on every transport.
   *
   * `resumeFrom` (optional, the blind resume): the stream bytes from the state's acknowledged
   * point (TransportState.streamBytesAcked) on. The transport sends up to one initial congestion
   * window of them with the takeover request, before it knows what the client holds, so that the
   * client's first missing byte arrives within one round trip when it lies in that window. Bytes
   * the client already had arrive once more (at most one duplicate copy each, at most one initial
   * window in all); the application still continues at receiverState().nextOffset.
   * `resumeAt`: the stream offset of resumeFrom's first byte when it is not the acknowledged point
   * (a taker that predicts where the client stands, src/wedge/blind-span.ts); at or above
   * streamBytesAcked. A client behind it is resumed as without the blind bytes (they fill in).
   */
  takeover(now: Instant, requestNumber: number, mode?: ResumeMode, resumeFrom?: Uint8Array, resumeAt?: number): void;
  /**
   * After takeover-complete: what the client holds. From then on send() continues the stream at
   * receiverState().nextOffset; in 'gap-fill' mode the transport itself skips the ranges the client
   * already holds, in 'go-back-n' mode it sends them again.
   */
  receiverState(): ReceiverState | undefined;
  /** Stream offset of the next byte send() will take (bytes handed to this connection so far). */
  readonly streamOffset: number;

  /**
   * Acknowledge the peer's stream bytes only below `offset` (peer→local stream offset from the
   * connection's first byte) until the limit is raised or cleared (undefined: no limit, the default).
   * Bytes at or beyond the limit are still received and delivered in order; they are only not
   * acknowledged, so if this server dies before it raises the limit the peer still holds them and
   * sends them again to whoever takes the connection over. exportState() describes the
   * acknowledged point, never beyond it, so a taker accepts those retransmissions.
   *
   * The acknowledged point never moves back: a limit below the point in force when it is set
   * acts as a limit at that point. Raising or clearing the limit sends the acknowledgement at
   * once. A close() while bytes are held completes only once the limit is raised (the FIN /
   * SHUTDOWN acknowledges the acknowledged point, and the peer waits for the rest). While bytes are held the peer sees no progress and retransmits by its RTO (a held limit
   * stalls it no longer than the holder keeps it); the advertised window keeps its right edge
   * where it would be without the limit, and no SACK/gap block, duplicate report or window change
   * reveals a held byte. Retransmitted bytes that were delivered already are not delivered twice.
   * SCTP acknowledges only up to a message's end (a taker can then reassemble what is resent) and
   * reports no gap block while a limit is set; its receivedOffset counts the user data of every TSN
   * up to the cumulative TSN received, from the connection's first byte (an export carries it).
   *
   * The rule that makes a failover lose nothing the client was told arrived: whoever exports a
   * state for a taker first sets the limit to receivedOffset (the point that state then
   * describes), and raises it only by exporting again.
   */
  setAcknowledgeLimit(now: Instant, offset: number | undefined): void;
  /** Peer→local stream bytes received in order so far. */
  readonly receivedOffset: number;

  /**
   * The export barrier: nothing reaches the peer that a taker holding the last *confirmed*
   * export could not place in the stream. Off by default (plain library use, `baton cat`); an
   * application that keeps a support group's state (the wedge) turns it on, and from then on
   * calls confirmExport(now, g) once a group member stored a state exported at generation g.
   *
   * SCTP (byte-stream mode): an exported TSN map ends with an open run (every later TSN a full
   * chunk). A chunk that closes a run (a short one: the queue ran dry after the cork delay) is
   * given its TSN and recorded in the map, which bumps exportGeneration and raises
   * 'state-changed', but neither it nor anything after it is transmitted until an export of that
   * generation or a later one is confirmed. A taker's map is then exact for every TSN the client
   * can hold, whether or not the client is a baton one. Cost: one group round trip before each
   * short chunk (the end of a response, a stream that pauses). The taker's own connection obeys
   * the same rule once turned on (turn it on right after importState()).
   *
   * TCP-Migrate: sequence numbers are stream offsets, every byte is placed exactly by any
   * state, so the barrier holds nothing: exportGeneration stays 0 and confirmExport does nothing.
   */
  setExportBarrier(now: Instant, enabled: boolean): void;
  /**
   * The generation of the state exportState() returns now (read it together with the export):
   * it grows each time the exported state changes in a way the barrier holds bytes for.
   */
  readonly exportGeneration: number;
  /**
   * A support-group member stored a state exported at `generation` (or later): release what the
   * barrier held for it. Confirmations never go back (a lower one does nothing); a generation
   * above exportGeneration is local misuse (LocalUsageError).
   */
  confirmExport(now: Instant, generation: number): void;
}

/** Options shared by connect/listen/import. */
export interface ConnectionOptions extends DeadPeerOptions {
  /**
   * The peer's transport port inside the UDP payload (SCTP port / TCP port). Default: the same
   * number as the endpoint's own transport port. The endpoint's own port is an endpoint option.
   */
  readonly remotePort?: number;
  /** Random source for tags, ISNs and keys (seeded in tests). */
  readonly random?: import('./random.js').RandomSource;
  /**
   * Bound on queued unacknowledged bytes; default 4 MiB (TCP-Migrate lets it grow to twice the
   * window in use on a fast path, up to its config's sendBufferMax, 32 MiB; not when given here).
   */
  readonly sendBufferSize?: number;
  /**
   * Receive window; default 1 MiB for SCTP, 16 MiB for TCP-Migrate (RFC 7323 window scaling,
   * which both ends must offer, up to about 1 GiB; 65535 with a peer that does not).
   */
  readonly receiveWindow?: number;
}

/**
 * How long a connection waits for a peer that may be dead, one vocabulary for both transports
 * (README "Dead peers"); each bound ends the connection with BATON_ERR_TIMEOUT. TCP-Migrate
 * enforces the times as given (timers); SCTP counts retransmissions (RFC 9260 §8), so it takes the
 * largest counts whose worst case (src/sctp/bounds.ts) fits the time. Undefined: the transport's
 * default, chosen for the wedge: a server notices a dead client within tens of seconds, and a
 * client whose server died leaves the support group (which needs about 12 s) time to take over.
 */
export interface DeadPeerOptions {
  /**
   * A connect, a half-open passive connection, or a takeover request that nobody answers fails
   * after this long (default: TCP-Migrate 15 s, SCTP 17 s).
   */
  readonly connectTimeoutMs?: number;
  /**
   * With data outstanding, a peer that acknowledges nothing is given up this long after the first
   * retransmission timeout (default: TCP-Migrate 20 s, SCTP about 22 s from the peer's death).
   */
  readonly userTimeoutMs?: number;
  /**
   * With nothing outstanding (a download client), a peer silent this long — keep-alives or
   * HEARTBEATs unanswered — is given up (default: TCP-Migrate 20 s, SCTP 40-55 s).
   */
  readonly idleTimeoutMs?: number;
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
  /**
   * Build a preloaded connection from another server's exported state; call takeover() next.
   * A state of the other transport kind (or none) throws LocalUsageError (BATON_ERR_USAGE).
   */
  importState(now: Instant, state: TransportState, options?: ConnectionOptions): MigratableTransport;
  /** Datagrams dropped as malformed or unroutable, by reason (the DROP_REASONS vocabulary). */
  readonly dropped: ReadonlyMap<DropReason, number>;
}

// -----------------------------------------------------------------------------------------------
// Takeover request numbers — one rule for both transports.
//
// A takeover number is an unsigned 32-bit serial number (RFC 1982 arithmetic), so numbers wrap:
// after 4294967295 comes 1 (0 is never a request: it means "never taken over"). A client accepts
// request n only when n is ahead of the last number it accepted by 1..TAKEOVER_STEP in serial
// order; an equal or older number is refused (at most once), and so is a jump further ahead, so
// nobody holding the key can jump to the end of the number space and block later takeovers.
// A wire field narrower than 32 bits (TCP-Migrate's 7-bit ReqNo) carries n modulo its size and
// the client applies the same rule modulo that size (TAKEOVER_STEP is below half of 2^7, so the
// order stays unambiguous) and keeps the full number as last + step.

/** The largest takeover number; the next one after it is 1. */
export const TAKEOVER_NUMBER_MAX = 0xffffffff;
/** How far ahead of the last accepted number a client accepts a takeover request. */
export const TAKEOVER_STEP = 32;

/**
 * Validate a takeover number given by a user (CLI option, API argument, state file): a safe
 * integer in 1..TAKEOVER_NUMBER_MAX, or a decimal string of one. Throws LocalUsageError otherwise
 * (1.5, 1e300, 'abc', 0, 4294967296 are refused).
 */
export function validateTakeoverNumber(value: unknown, what = 'takeover number'): number {
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1 || n > TAKEOVER_NUMBER_MAX) {
    throw new LocalUsageError(`${what} ${typeof value === 'string' ? JSON.stringify(value) : String(value)} is not an integer in 1..${TAKEOVER_NUMBER_MAX}`);
  }
  return n;
}

/** The number a taker uses after `n` (the state's takeoverNumber): n + 1, wrapping to 1. */
export function nextTakeoverNumber(n: number): number {
  return n >= TAKEOVER_NUMBER_MAX ? 1 : (n >>> 0) + 1;
}

/** How far `n` is ahead of `last`, modulo 2^bits (0 = equal; large = behind). */
export function takeoverDistance(n: number, last: number, bits = 32): number {
  return bits >= 32 ? (n - last) >>> 0 : (n - last) & ((1 << bits) - 1);
}

/** The client's rule: accept `n` only when it is 1..TAKEOVER_STEP ahead of `last` (serial order). */
export function takeoverNumberAcceptable(n: number, last: number, bits = 32): boolean {
  const d = takeoverDistance(n, last, bits);
  return d >= 1 && d <= TAKEOVER_STEP;
}

/** The later of two takeover numbers in serial order (32 bits). */
export function laterTakeoverNumber(a: number, b: number): number {
  return ((a - b) | 0) >= 0 ? a >>> 0 : b >>> 0;
}

/**
 * Every protocol state change of a core goes through one transition(to, why) per transport; set a
 * connection's `tracer` to see each one (state names in the RFC's words).
 */
export type TransitionTracer = (from: string, to: string, why: string) => void;

// -----------------------------------------------------------------------------------------------
// Resume mode, imports, drop reasons — the same on both transports.

/** Why a client refused a takeover (the 'takeover-refused' event's reason), the same on both transports. */
export const TAKEOVER_REFUSALS = [
  /** The number is not ahead of the last accepted one (equal or older: at most once). */
  'number-used',
  /** The number is more than TAKEOVER_STEP ahead of the last accepted one. */
  'number-too-far',
  /** The request's authenticator (SCTP AUTH, TCP-Migrate R or token) does not check. */
  'not-authenticated',
  /** The connection is in no state to be taken over (handshake not done, closing). */
  'not-migratable',
] as const;
export type TakeoverRefusal = (typeof TAKEOVER_REFUSALS)[number];

/** takeover() without a mode resumes in gap-fill mode on every transport. */
export const DEFAULT_RESUME_MODE: ResumeMode = 'gap-fill';

/** `mode` as a ResumeMode (undefined: the default); anything else throws LocalUsageError. */
export function checkResumeMode(mode: unknown): ResumeMode {
  if (mode === undefined) return DEFAULT_RESUME_MODE;
  if (mode === 'gap-fill' || mode === 'go-back-n') return mode;
  throw new LocalUsageError(`resume mode ${JSON.stringify(mode)} is neither 'gap-fill' nor 'go-back-n'`);
}

/**
 * The one vocabulary of `TransportEndpoint.dropped` keys. Each transport maps its own cases onto
 * these; a reason may stay at zero on a transport that has no such case.
 */
export const DROP_REASONS = [
  /** The datagram does not parse as the transport's packet. */
  'malformed',
  /** The checksum (SCTP CRC32c, TCP checksum) is wrong. */
  'checksum',
  /** The destination transport port is not the endpoint's. */
  'wrong-port',
  /** No connection matches and nothing needs answering (out of the blue). */
  'no-connection',
  /** A connection request reached an endpoint that does not listen. */
  'not-listening',
  /** A connection matched but the packet's tag or sequence check failed. */
  'wrong-tag',
  /** A handshake packet (INIT, INIT-ACK, COOKIE, SYN) that is invalid or not expected now. */
  'bad-handshake',
  /** A handshake cookie that is too old. */
  'stale-cookie',
  /** Authentication (SCTP AUTH) of a chunk that needs it failed. */
  'not-authenticated',
  /** A takeover request for a connection this endpoint does not know. */
  'unknown-takeover',
  /** A packet from an address the connection left when it was taken over. */
  'stale-address',
  /** A handshake request (INIT) beyond its source's rate: not answered, so not amplified. */
  'rate-limited',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];
