// A sans-IO TCP-Migrate connection: RFC 9293 TCP carried in UDP, with the Migrate options of
// draft-snoeren-tcp-migrate-00 as refined by the paper (§3.3.2): the Migrate SYN carries the last
// byte the client acknowledged, its window check is relaxed, a Preload bit marks a third host, and
// the client flushes its out-of-order data (or, in baton's gap-fill mode, reports it by SACK).
//
// All sequence bookkeeping is in stream offsets (offset 0 = ISN+1); wire numbers are made only at
// the edges (sndWire/rcvWire, sndOffset/rcvOffset). The sender lives in sender.ts's functions,
// the Migrate handshake in migrate.ts; this file holds the state machine and the API.
import { sameAddress, type UdpAddress } from '../transport-abstraction/address.js';
import { LocalUsageError, TransportError, type TransportErrorCode } from '../transport-abstraction/errors.js';
import type { RandomSource } from '../transport-abstraction/random.js';
import type { TransportState } from '../transport-abstraction/state-types.js';
import {
  checkResumeMode,
  type Instant,
  type MigratableTransport,
  type ReceiverState,
  type ResumeMode,
  type SendOptions,
  type Transmit,
  type TransitionTracer,
  type TransportEvent,
} from '../transport-abstraction/transport.js';
import type { ConnectionOwner, EndpointEvent, TcpMigrateConfig } from './config.js';
import type { KeyPair } from './migrate-crypto.js';
import * as handshake from './handshake.js';
import * as keepalive from './keepalive.js';
import * as migrate from './migrate.js';
import * as receiver from './receiver.js';
import {
  findOption,
  RESET_ABORT,
  RESET_TAKEN_OVER,
  emitOptions,
  optionsLength,
  type TcpOption,
} from './options.js';
import { Reassembly } from './reassembly.js';
import { RtoEstimator } from '../transport-abstraction/rto.js';
import { Scoreboard, SendBuffer } from './send-buffer.js';
import * as sender from './sender.js';
import { ACK, FIN, RST, SYN, allocSegment, checksumValid, fillChecksum, parseSegment, pseudoHeaderSum, resetSegment, writeHeader, HEADER_LENGTH, type TcpSegment } from './wire.js';
import { checkAddress, checkBytes, checkStream, guardMethods } from '../transport-abstraction/guard.js';

export type TcpState =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN-SENT'
  | 'SYN-RECEIVED'
  | 'ESTABLISHED'
  | 'FIN-WAIT-1'
  | 'FIN-WAIT-2'
  | 'CLOSE-WAIT'
  | 'CLOSING'
  | 'LAST-ACK'
  | 'TIME-WAIT'
  | 'MIGRATE-WAIT';

export interface ConnectionParams {
  readonly config: TcpMigrateConfig;
  readonly random: RandomSource;
  readonly local: UdpAddress;
  readonly localPort: number;
  readonly remote: UdpAddress;
  readonly remotePort: number;
  readonly owner?: ConnectionOwner;
}

const SYNCHRONIZED: ReadonlySet<TcpState> = new Set(['ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT']);

export class TcpMigrateConnection implements MigratableTransport {
  readonly kind = 'tcp' as const;
  private current: TcpState = 'CLOSED';
  /** Sees every state change (see transition). */
  tracer: TransitionTracer | undefined;

  /** The protocol state (RFC 9293 §3.3.2, plus MIGRATE-WAIT); it changes only through transition(). */
  get state(): TcpState {
    return this.current;
  }

  /** The one place the state changes: to `to`, because of `why` (reported to the tracer). @internal */
  transition(to: TcpState, why: string): void {
    const from = this.current;
    this.current = to;
    this.tracer?.(from, to, why);
  }
  /** @internal */
  readonly config: TcpMigrateConfig;
  /** @internal */
  readonly random: RandomSource;
  /** @internal */
  owner: ConnectionOwner | undefined;

  /** @internal */
  local: UdpAddress;
  /** @internal */
  localPort: number;
  remote: UdpAddress;
  /** @internal */
  remotePort: number;
  /** @internal */
  pseudoOut = 0;

  // Handshake and Migrate material.
  /** @internal */
  localIsInitiator = false;
  /** @internal */
  iss = 0;
  /** @internal */
  irs = 0;
  /** @internal */
  keyPair: KeyPair | undefined;
  /** @internal */
  key: Uint8Array | undefined;
  /** @internal */
  token: Uint8Array | undefined;
  /** Serving side: the client's x25519 public key from its SYN, exported for re-keying takers. @internal */
  peerPublicKey: Uint8Array | undefined;
  /** Client: the key before the last re-keying takeover, for that takeover's own retransmitted SYN. @internal */
  previousKey: Uint8Array | undefined;
  /** @internal */
  lastRequest = 0;
  /** @internal */
  sackOk = false;
  /** @internal */
  peerMss = 536;
  /** Set on a connection built by importState(): a third host's preloaded state. @internal */
  preloaded = false;
  /**
   * Client: repeat our Migrate-Permitted key on every segment until the first one from the
   * listener after the handshake (it answered our SYN statelessly, syn-cookie.ts). @internal
   */
  echoKey = false;
  /** Taker behind a NAT: the address the client sees us at, which R is bound to (endpoint option). @internal */
  publicAddress: UdpAddress | undefined;
  /** Taker after a blind resume: the next bytes send() takes are in the buffer already. @internal */
  resumeSkip = 0;
  /** Taker: the Migrate SYN we send until the SYN/ACK comes. @internal */
  migrateRequest: migrate.PendingRequest | undefined;
  /** @internal */
  receiver: ReceiverState | undefined;
  /** Taker in gap-fill mode: end of the highest range the client held at takeover (0 otherwise). @internal */
  heldHigh = 0;
  /** State to return to when a Migrate SYN ends MIGRATE-WAIT. @internal */
  stateBeforeWait: TcpState = 'ESTABLISHED';

  // Send side (offsets).
  /** @internal */
  readonly snd: SendBuffer;
  /** @internal */
  sndUna = 0;
  /** @internal */
  sndNxt = 0;
  /** @internal */
  sndMax = 0;
  /** @internal */
  finQueued = false;
  /** @internal */
  finAcked = false;
  /** @internal */
  peerWindow = 65535;
  /** @internal */
  readonly scoreboard = new Scoreboard();
  /** @internal */
  cwnd: number;
  /** @internal */
  ssthresh = 0x7fffffff;
  /** @internal */
  caAcked = 0;
  /** @internal */
  dupAcks = 0;
  /** @internal */
  inRecovery = false;
  /** @internal */
  recoverPoint = 0;
  /** @internal */
  recoveryHigh = 0;
  /** @internal */
  rtxNext = 0;
  /** @internal */
  readonly rtt: RtoEstimator;
  /** The one timed segment (Karn): acked at `rttEnd`, sent at `rttSentAt`. @internal */
  rttEnd = -1;
  /** @internal */
  rttSentAt = 0;
  /** @internal */
  retries = 0;
  /** @internal */
  wantWritable = false;

  // Receive side (offsets).
  /** @internal */
  rcvNxt = 0;
  /** Bytes delivered as 'data' events that the application has not polled yet. @internal */
  rcvUnread = 0;
  /** RCV.NXT + RCV.WND as last advertised: the right edge only moves in SWS-sized steps. @internal */
  rcvAdvEdge = 0;
  /** @internal */
  readonly reasm = new Reassembly();
  /** Offset of the peer's FIN, once seen (-1 before). @internal */
  finOffset = -1;
  /** @internal */
  finReceived = false;
  /** @internal */
  unackedSegments = 0;
  /** @internal */
  ackNow = false;
  /** setAcknowledgeLimit's offset (undefined: acknowledge everything received in order). @internal */
  ackLimit: number | undefined;
  /**
   * Floor of the acknowledged point: what an ACK we built acknowledged, or the point in force when
   * the limit last changed; the acknowledged point never moves back. @internal
   */
  rcvAckSent = 0;

  // Timers (named deadlines; undefined = not armed).
  /** @internal */
  rtoAt: Instant | undefined;
  /** @internal */
  delackAt: Instant | undefined;
  /** @internal */
  lingerAt: Instant | undefined;
  /** Persist timer (RFC 9293 §3.8.6.1): a zero-window probe is due at this time. @internal */
  persistAt: Instant | undefined;
  /** Probes sent since the window last opened: the persist timer's backoff exponent. @internal */
  persistShift = 0;
  /** Probes sent since the peer last answered; beyond maxRetransmissions the connection times out. @internal */
  persistUnanswered = 0;
  /** The persist timer fired: the next segment is a probe, or data into a small window. @internal */
  probeDue = false;
  /** The largest window the peer has offered (SWS avoidance's max(SND.WND)). @internal */
  maxPeerWindow = 0;
  /**
   * The dead-peer deadline: the handshake (or takeover) must complete, or the peer acknowledge
   * something after a retransmission timeout, by then (connectTimeoutMs / userTimeoutMs). @internal
   */
  giveUpAt: Instant | undefined;
  /** Keep-alive timer (keepalive.ts): idle deadline, then the next probe's. @internal */
  keepaliveAt: Instant | undefined;
  /** Keep-alive probes sent since the peer was last heard from. @internal */
  keepaliveSent = 0;
  /** Keep-alive probes sent over the connection's life (for tests and diagnostics). @internal */
  keepalivesSentTotal = 0;

  private readonly outbox: Transmit[] = [];
  private readonly events: TransportEvent[] = [];
  private eventHead = 0;
  /** @internal */
  closedError: TransportError | undefined;
  /** @internal */
  released = false;

  constructor(params: ConnectionParams) {
    this.config = params.config;
    this.random = params.random;
    this.owner = params.owner;
    this.local = params.local;
    this.localPort = params.localPort;
    this.remote = params.remote;
    this.remotePort = params.remotePort;
    this.snd = new SendBuffer(this.config.sendBufferSize);
    this.rtt = new RtoEstimator({ initial: this.config.rtoInitial, min: this.config.rtoMin, max: this.config.rtoMax });
    this.cwnd = this.initialWindow();
    this.updatePseudo();
  }

  // ---------------------------------------------------------------------------------------------
  // Public surface (MigratableTransport)

  get stateName(): string {
    return this.state;
  }

  get bufferedAmount(): number {
    return Math.max(0, this.snd.end - this.sndUna);
  }

  get streamOffset(): number {
    return this.snd.end;
  }

  pollEvent(): TransportEvent | undefined {
    if (this.eventHead >= this.events.length) return undefined;
    const ev = this.events[this.eventHead]!;
    this.events[this.eventHead++] = undefined as unknown as TransportEvent;
    if (this.eventHead === this.events.length) {
      this.events.length = 0;
      this.eventHead = 0;
    }
    if (ev.type === 'data') {
      this.rcvUnread -= ev.bytes.length;
      receiver.readerTook(this);
    }
    return ev;
  }

  /** @internal */
  emit(ev: TransportEvent): void {
    if (ev.type === 'data') this.rcvUnread += ev.bytes.length;
    this.events.push(ev);
  }

  send(bytes: Uint8Array, options?: SendOptions): number {
    checkBytes(bytes, 'send: bytes');
    checkStream(options?.stream);
    if (this.finQueued || this.released) throw new LocalUsageError(`send after close (state ${this.state})`);
    if (this.preloaded && this.receiver === undefined) {
      this.wantWritable = true;
      return 0;
    }
    if (this.resumeSkip > 0) return this.skipResumed(bytes, options);
    const n = this.snd.push(bytes);
    if (n < bytes.length) this.wantWritable = true;
    if (n > 0) this.owner?.wake(this);
    return n;
  }

  /** The application's first bytes after a blind resume that are in the buffer already (migrate.ts). */
  private skipResumed(bytes: Uint8Array, options?: SendOptions): number {
    const skip = Math.min(this.resumeSkip, bytes.length);
    this.resumeSkip -= skip;
    return skip === bytes.length ? skip : skip + this.send(bytes.subarray(skip), options);
  }

  close(now: Instant): void {
    if (this.finQueued || this.released) return;
    switch (this.state) {
      case 'ESTABLISHED':
      case 'SYN-RECEIVED':
        this.finQueued = true;
        this.transition('FIN-WAIT-1', 'close() called');
        break;
      case 'CLOSE-WAIT':
        this.finQueued = true;
        this.transition('LAST-ACK', 'close() called after the FIN of the peer');
        break;
      case 'SYN-SENT':
      case 'CLOSED':
      case 'MIGRATE-WAIT':
        this.finish(now, undefined);
        this.owner?.wake(this);
        return;
      default:
        return;
    }
    this.owner?.wake(this);
  }

  abort(now: Instant, reason?: string): void {
    if (this.released) return;
    if (this.state !== 'CLOSED' && this.state !== 'MIGRATE-WAIT' && this.state !== 'TIME-WAIT') {
      this.queueReset(this.sndWire(this.sndNxt), this.rcvWire(this.rcvNxt), RESET_ABORT);
    }
    this.finish(now, new TransportError('BATON_ERR_LOCAL_ABORT', reason ?? 'aborted locally'));
    this.owner?.wake(this);
  }

  exportState(now: Instant): TransportState {
    return migrate.exportState(this, now);
  }

  takeover(now: Instant, requestNumber: number, mode?: ResumeMode, resumeFrom?: Uint8Array): void {
    if (resumeFrom !== undefined) checkBytes(resumeFrom, 'takeover: resumeFrom');
    migrate.startTakeover(this, now, requestNumber, checkResumeMode(mode), resumeFrom);
    this.owner?.wake(this);
  }

  receiverState(): ReceiverState | undefined {
    return this.receiver;
  }

  get receivedOffset(): number {
    return this.rcvNxt;
  }

  setAcknowledgeLimit(now: Instant, offset: number | undefined): void {
    if (offset !== undefined && (!Number.isSafeInteger(offset) || offset < 0)) {
      throw new LocalUsageError(`setAcknowledgeLimit: offset ${String(offset)} is not a non-negative integer`);
    }
    const before = this.acknowledgedOffset();
    this.rcvAckSent = Math.max(this.rcvAckSent, before);
    this.ackLimit = offset;
    // Raising the limit acknowledges at once: the peer's congestion control sees no more than a
    // delayed ACK, and its RTO stops.
    if (this.acknowledgedOffset() > before && SYNCHRONIZED.has(this.state) && !this.released) {
      this.ackNow = true;
      this.owner?.wake(this);
    }
    void now;
  }

  /**
   * The peer's bytes we acknowledge: RCV.NXT, or less under an acknowledge limit, but never less
   * than an ACK already said (src/tcp-migrate/README.md, "Holding acknowledgements"). @internal
   */
  acknowledgedOffset(): number {
    const limit = this.ackLimit;
    if (limit === undefined || limit >= this.rcvNxt) return this.rcvNxt;
    return Math.max(this.rcvAckSent, limit);
  }

  /** In-order bytes received but not acknowledged (held by the acknowledge limit). @internal */
  get heldBytes(): number {
    return this.rcvNxt - this.acknowledgedOffset();
  }

  // ---------------------------------------------------------------------------------------------
  // Wire-number helpers

  /** @internal */
  sndWire(offset: number): number {
    return (this.iss + 1 + offset) >>> 0;
  }

  /** @internal */
  rcvWire(offset: number): number {
    return (this.irs + 1 + offset) >>> 0;
  }

  /** Our stream offset of an acknowledgement number (relative to sndUna, so it never wraps). @internal */
  sndOffset(wire: number): number {
    return this.sndUna + ((wire - this.sndWire(this.sndUna)) | 0);
  }

  /** @internal */
  rcvOffset(wire: number): number {
    return this.rcvNxt + ((wire - this.rcvWire(this.rcvNxt)) | 0);
  }

  /** The acknowledgement we send: the acknowledged point, plus one for a received FIN (not held). @internal */
  ackNumber(): number {
    const acked = this.acknowledgedOffset();
    return this.rcvWire(this.finReceived && acked === this.rcvNxt ? acked + 1 : acked);
  }

  /**
   * A zero-window probe (sender.ts) or a keep-alive (keepalive.ts): an empty segment at the
   * sequence number just below the one we expect (RCV.NXT - 1, or the peer's FIN once received).
   * @internal
   */
  isProbe(seg: TcpSegment): boolean {
    return seg.payload.length === 0 && !(seg.flags & FIN) && seg.seq === ((this.ackNumber() - 1) >>> 0);
  }

  /** @internal */
  updatePseudo(): void {
    this.pseudoOut = pseudoHeaderSum(this.local.address, this.remote.address);
  }

  /** @internal */
  initialWindow(): number {
    // RFC 5681 §3.1: IW = min(4 * SMSS, max(2 * SMSS, 4380)).
    const smss = this.effectiveMss();
    return Math.min(4 * smss, Math.max(2 * smss, 4380));
  }

  /** @internal */
  effectiveMss(): number {
    return Math.max(64, Math.min(this.config.mss, this.peerMss));
  }

  /** The receive buffer: the configured window, at most 65535 (no window scale). @internal */
  receiveBuffer(): number {
    return Math.min(65535, this.config.receiveWindow);
  }

  /** Room for in-order bytes: the buffer less what the application has not read yet. @internal */
  receiveWindow(): number {
    return Math.max(0, this.receiveBuffer() - this.rcvUnread);
  }

  /**
   * RCV.WND to put in a segment, with receiver SWS avoidance (RFC 9293 §3.8.6.2.2, RFC 1122
   * §4.2.3.3): the right edge advances only when it can move by min(MSS, buffer/2); never shrinks.
   * @internal
   */
  advertisedWindow(): number {
    const edge = this.rcvNxt + this.receiveWindow();
    if (edge - this.rcvAdvEdge >= Math.min(this.effectiveMss(), this.receiveBuffer() >> 1)) this.rcvAdvEdge = edge;
    // Measured from the acknowledged point, so that held bytes do not move the right edge.
    return Math.min(65535, Math.max(0, this.rcvAdvEdge - this.acknowledgedOffset()));
  }

  // ---------------------------------------------------------------------------------------------
  // Input

  /** A segment routed to this connection by its 4-tuple (or, for a Migrate SYN, by token). @internal */
  handleSegment(now: Instant, seg: TcpSegment, from: UdpAddress, local: UdpAddress): void {
    if (this.released) return;
    const mig = (seg.flags & (SYN | ACK)) === SYN ? findOption(seg.options, 'migrate') : undefined;
    if (mig !== undefined) {
      migrate.handleMigrateSyn(this, now, seg, mig, from, local);
      return;
    }
    if (!sameAddress(from, this.remote)) return; // routed by token only for Migrate SYNs
    switch (this.state) {
      case 'CLOSED':
        return;
      case 'SYN-SENT':
        if (this.migrateRequest !== undefined) migrate.handleMigrateReply(this, now, seg);
        else handshake.handleSynSent(this, now, seg);
        break;
      case 'SYN-RECEIVED':
        handshake.handleSynReceived(this, now, seg);
        break;
      case 'MIGRATE-WAIT':
        return;
      default:
        if (!this.handleSynchronized(now, seg)) return; // a spoofed segment proves nobody alive
    }
    // Any segment from the peer shows it alive: restart the keep-alive clock (also arms it when
    // the segment completed a handshake or a takeover).
    if (!this.released) keepalive.restart(this, now);
  }

  /**
   * A segment in a synchronized state, checked as RFC 5961 asks, so that a blind attacker who
   * knows the 4-tuple must guess RCV.NXT exactly to reset the connection and SND.NXT to within a
   * window to inject data. False when the segment was not acceptable.
   * @internal
   */
  handleSynchronized(now: Instant, seg: TcpSegment): boolean {
    const f = seg.flags;
    if (f & RST) {
      // RFC 5961 §3.2: reset only at exactly RCV.NXT; elsewhere in the window a challenge ACK (a
      // genuine peer answers it with a RST at the number it carries); outside the window, drop.
      const d = (seg.seq - this.ackNumber()) | 0;
      if (d === 0) {
        const reason = findOption(seg.options, 'migrate-reset')?.reason ?? 0;
        this.handleReset(now, reason);
        return true;
      }
      if (d > 0 && d < Math.max(1, this.receiveWindow())) this.challengeAck(now);
      return false;
    }
    if (this.state === 'TIME-WAIT') {
      if (f & FIN) {
        this.ackNow = true;
        this.lingerAt = now + this.config.timeWaitMs;
      }
      return true;
    }
    if (f & SYN) {
      // RFC 5961 §4.2: a SYN (not a Migrate SYN: migrate.ts has those) in a synchronized state,
      // whatever its number, gets a challenge ACK and changes nothing. It also answers a
      // retransmitted SYN/ACK whose ACK we sent was lost.
      this.challengeAck(now);
      return false;
    }
    if (!(f & ACK)) return false;
    if (!sender.processAck(this, now, seg)) {
      this.challengeAck(now); // RFC 5961 §5.2: discard, data and all, and ACK
      return false;
    }
    this.echoKey = false; // the listener has made the connection: it knows our key
    if (this.released) return true;
    if (seg.payload.length > 0 || f & FIN) receiver.processData(this, now, seg);
    else if (this.isProbe(seg)) this.ackNow = true; // RFC 9293 §3.10.7.4: an unacceptable segment is answered
    return true;
  }

  /**
   * A challenge ACK (RFC 5961 §3.2, §4.2, §5.2), at most `challengeAckLimit` per second on this
   * connection (RFC 5961 §7). The count is per connection, not per endpoint: a shared counter is
   * the side channel of CVE-2016-5696 (an off-path attacker learns from its own connection when
   * another one spent the budget).
   * @internal
   */
  challengeAck(now: Instant): void {
    if (now - this.challengeWindowAt >= 1000) {
      this.challengeWindowAt = now;
      this.challengeCount = 0;
    }
    if (this.challengeCount >= this.config.challengeAckLimit) {
      this.challengeAcksSuppressed++;
      return;
    }
    this.challengeCount++;
    this.challengeAcksSent++;
    this.ackImmediately();
  }

  /** Start of the current one-second challenge-ACK budget. @internal */
  challengeWindowAt = -Infinity;
  /** Challenge ACKs sent in it. @internal */
  challengeCount = 0;
  /** Challenge ACKs sent over the connection's life (for tests and diagnostics). @internal */
  challengeAcksSent = 0;
  /** Challenge ACKs the rate limit withheld. @internal */
  challengeAcksSuppressed = 0;

  private handleReset(now: Instant, reason: number): void {
    if (reason === RESET_TAKEN_OVER) {
      this.finish(now, new TransportError('BATON_ERR_TAKEN_OVER', `the client accepted another server's takeover; ${this.remote.address} refuses us`));
    } else if (reason === RESET_ABORT || !this.key) {
      this.finish(now, new TransportError('BATON_ERR_ABORTED', `connection reset by ${this.remote.address}:${this.remote.port}`));
    } else if (this.state === 'LAST-ACK' || this.state === 'CLOSING') {
      this.finish(now, undefined);
    } else {
      // The draft: a migratable connection reset by a peer that lost its state waits for a Migrate SYN.
      this.stateBeforeWait = this.state;
      this.transition('MIGRATE-WAIT', 'plain RST: waiting for a takeover');
      this.rtoAt = undefined;
      this.giveUpAt = undefined;
      this.persistAt = undefined;
      this.delackAt = undefined;
      this.keepaliveAt = undefined;
      this.ackNow = false;
      this.lingerAt = now + this.config.migrateWaitMs;
    }
  }

  /** @internal */
  enterTimeWait(now: Instant): void {
    this.transition('TIME-WAIT', 'both FINs acknowledged');
    this.rtoAt = undefined;
    this.giveUpAt = undefined;
    this.persistAt = undefined;
    this.keepaliveAt = undefined;
    this.lingerAt = now + this.config.timeWaitMs;
    if (this.closedError === undefined) this.emit({ type: 'closed' });
    this.closedEmitted = true;
  }

  /** @internal */
  closedEmitted = false;

  /** The connection is over: emit 'closed' (once) and tell the endpoint. @internal */
  finish(_now: Instant, error: TransportError | undefined): void {
    if (this.released) return;
    this.transition('CLOSED', 'finished');
    this.rtoAt = undefined;
    this.giveUpAt = undefined;
    this.persistAt = undefined;
    this.delackAt = undefined;
    this.lingerAt = undefined;
    this.keepaliveAt = undefined;
    this.migrateRequest = undefined;
    this.closedError = error;
    if (!this.closedEmitted) this.emit(error ? { type: 'closed', error } : { type: 'closed' });
    this.closedEmitted = true;
    this.released = true;
    this.toEndpoint({ type: 'released' });
  }

  private endpointEvents: EndpointEvent[] = [];

  /** Queue an event for the endpoint (dropped when the connection has none). @internal */
  toEndpoint(e: EndpointEvent): void {
    if (this.owner !== undefined) this.endpointEvents.push(e);
  }

  /** The next event for the endpoint (the endpoint drains these after every call into us). @internal */
  pollEndpointEvent(): EndpointEvent | undefined {
    return this.endpointEvents.shift();
  }

  /** @internal */
  fail(now: Instant, code: TransportErrorCode, message: string): void {
    this.finish(now, new TransportError(code, message));
  }

  // ---------------------------------------------------------------------------------------------
  // Timers

  handleTimeout(now: Instant): void {
    if (this.released) return;
    if (this.lingerAt !== undefined && now >= this.lingerAt) {
      this.lingerAt = undefined;
      if (this.state === 'TIME-WAIT') this.finish(now, undefined);
      else if (this.state === 'MIGRATE-WAIT') this.fail(now, 'BATON_ERR_ABORTED', 'connection reset and no server migrated it in time');
      if (this.released) return;
    }
    if (this.delackAt !== undefined && now >= this.delackAt) {
      this.delackAt = undefined;
      this.ackNow = true;
    }
    if (this.giveUpAt !== undefined && now >= this.giveUpAt) {
      this.giveUp(now);
      return;
    }
    if (this.rtoAt !== undefined && now >= this.rtoAt) {
      this.rtoAt = undefined;
      this.onRetransmissionTimeout(now);
      if (this.released) return;
    }
    if (this.persistAt !== undefined && now >= this.persistAt) {
      this.persistAt = undefined;
      sender.onPersistTimeout(this, now);
      if (this.released) return;
    }
    if (this.keepaliveAt !== undefined && now >= this.keepaliveAt) keepalive.onTimeout(this, now);
  }

  private onRetransmissionTimeout(now: Instant): void {
    // Outstanding data behind a closed window: the retransmissions are zero-window probes, and a
    // peer that answers them is not dead (RFC 9293 §3.8.6.1): count them as probes, not retries.
    const probing = this.peerWindow === 0 && SYNCHRONIZED.has(this.state);
    if ((probing ? this.persistUnanswered : this.retries) >= this.config.maxRetransmissions) {
      this.giveUp(now);
      return;
    }
    if (probing) this.persistUnanswered++;
    else this.retries++;
    if (SYNCHRONIZED.has(this.state)) this.startGiveUpClock(now);
    this.rtt.backOff();
    this.rttEnd = -1;
    switch (this.state) {
      case 'SYN-SENT':
        if (this.migrateRequest) migrate.resendRequest(this, now);
        else handshake.sendSyn(this, now, false);
        return;
      case 'SYN-RECEIVED':
        handshake.sendSyn(this, now, true);
        return;
      default:
        sender.onRto(this, now);
    }
  }

  /**
   * The first retransmission timeout (or unanswered zero-window probe) since the peer last
   * acknowledged something: from now on it has userTimeoutMs to answer. @internal
   */
  startGiveUpClock(now: Instant): void {
    if (this.giveUpAt === undefined && this.config.userTimeoutMs > 0) this.giveUpAt = now + this.config.userTimeoutMs;
  }

  /** The peer answered (acknowledged data, answered a probe, completed the handshake). @internal */
  stopGiveUpClock(): void {
    this.giveUpAt = undefined;
  }

  /** The dead-peer bound (time or count) ran out: close with the error for this state. */
  private giveUp(now: Instant): void {
    const peer = `${this.remote.address}:${this.remote.port}`;
    const r = this.migrateRequest;
    if (r !== undefined) {
      this.fail(now, 'BATON_ERR_TIMEOUT', `the client ${peer} answered none of ${this.retries} Migrate SYNs for takeover number ${r.requestNumber} (${this.config.connectTimeoutMs / 1000} s)`);
    } else if (this.state === 'SYN-SENT') {
      this.fail(now, 'BATON_ERR_TIMEOUT', `no answer from ${peer} to ${this.retries} SYNs (connect timeout ${this.config.connectTimeoutMs / 1000} s)`);
    } else if (this.state === 'SYN-RECEIVED') {
      this.fail(now, 'BATON_ERR_TIMEOUT', `${peer} never completed the handshake (${this.config.connectTimeoutMs / 1000} s)`);
    } else if (this.persistUnanswered > 0 && this.retries === 0) {
      this.fail(now, 'BATON_ERR_TIMEOUT', `${peer} answered none of ${this.persistUnanswered} zero-window probes`);
    } else {
      this.fail(now, 'BATON_ERR_TIMEOUT', `no acknowledgement from ${peer} after ${this.retries} retransmissions (user timeout ${this.config.userTimeoutMs / 1000} s)`);
    }
  }

  pollTimeout(): Instant | undefined {
    let t = this.rtoAt;
    if (this.giveUpAt !== undefined && (t === undefined || this.giveUpAt < t)) t = this.giveUpAt;
    if (this.delackAt !== undefined && (t === undefined || this.delackAt < t)) t = this.delackAt;
    if (this.lingerAt !== undefined && (t === undefined || this.lingerAt < t)) t = this.lingerAt;
    if (this.persistAt !== undefined && (t === undefined || this.persistAt < t)) t = this.persistAt;
    if (this.keepaliveAt !== undefined && (t === undefined || this.keepaliveAt < t)) t = this.keepaliveAt;
    return t;
  }

  // ---------------------------------------------------------------------------------------------
  // Output

  /**
   * A connection bound to a driver on its own (without an endpoint): checked parse, checksum,
   * then the same path as a routed segment. Bad datagrams are dropped and counted.
   */
  handleDatagram(now: Instant, from: UdpAddress, bytes: Uint8Array, local?: UdpAddress): void {
    checkAddress(from, 'handleDatagram: from');
    checkBytes(bytes, 'handleDatagram: bytes');
    if (local !== undefined) checkAddress(local, 'handleDatagram: local');
    const parsed = parseSegment(bytes);
    if (!parsed.ok) {
      this.droppedDatagrams++;
      return;
    }
    const to = local ?? this.local;
    if (!checksumValid(bytes, pseudoHeaderSum(from.address, to.address))) {
      this.droppedDatagrams++;
      return;
    }
    this.handleSegment(now, parsed.segment, from, to);
  }

  /** Datagrams dropped by handleDatagram (only when bound without an endpoint). @internal */
  droppedDatagrams = 0;

  pollTransmit(now: Instant): Transmit | undefined {
    if (this.outbox.length > 0) return this.outbox.shift();
    if (this.released && this.state === 'CLOSED') return undefined;
    if (SYNCHRONIZED.has(this.state) && this.state !== 'TIME-WAIT') {
      const tx = sender.nextSegment(this, now);
      if (tx !== undefined) return tx;
    }
    if (this.ackNow && SYNCHRONIZED.has(this.state)) return this.buildAck();
    return undefined;
  }

  /** Queue an ACK now, with the SACK blocks of this moment. @internal */
  ackImmediately(): void {
    this.outbox.push(this.buildAck());
  }

  /** @internal */
  buildAck(): Transmit {
    return this.build(ACK, this.sndWire(this.sndNxt), this.ackNumber(), this.sackOptions(), 0, 0);
  }

  /** SACK blocks for our out-of-order data (RFC 2018: up to 4 without timestamps). @internal */
  sackOptions(): TcpOption[] {
    if (!this.sackOk || this.reasm.isEmpty) return NO_OPTIONS;
    // Under an acknowledge limit, a block never reveals a byte at or beyond it.
    const limit = this.ackLimit === undefined ? Infinity : this.acknowledgedOffset() < this.rcvNxt ? this.rcvNxt : this.ackLimit;
    const blocks = this.reasm
      .sackRanges(4)
      .filter((r) => r.start < limit)
      .map((r) => ({ left: this.rcvWire(r.start), right: this.rcvWire(Math.min(r.end, limit)) }));
    return blocks.length === 0 ? NO_OPTIONS : [{ type: 'sack', blocks }];
  }

  /** Builds one segment to the current peer in one allocation; data comes from the send buffer. @internal */
  build(flags: number, seq: number, ack: number, options: readonly TcpOption[], dataOffset: number, dataLength: number, inline?: Uint8Array): Transmit {
    if (inline !== undefined) dataLength = inline.length;
    if (this.echoKey && flags & ACK && !(flags & SYN) && this.keyPair !== undefined) {
      // 34 bytes of key leave no room for SACK blocks: none are due this early anyway.
      options = [{ type: 'migrate-permitted', curve: 'x25519', publicKey: this.keyPair.publicKey }];
    }
    const optLen = options.length === 0 ? 0 : optionsLength(options);
    const buf = allocSegment(HEADER_LENGTH + optLen + dataLength);
    writeHeader(buf, this.localPort, this.remotePort, seq, ack, optLen, flags, this.advertisedWindow());
    if (optLen > 0) emitOptions(options, buf, HEADER_LENGTH);
    if (inline !== undefined) buf.set(inline, HEADER_LENGTH + optLen);
    else if (dataLength > 0) this.snd.copyOut(dataOffset, dataLength, buf, HEADER_LENGTH + optLen);
    fillChecksum(buf, this.pseudoOut);
    if (flags & ACK) {
      this.rcvAckSent = Math.max(this.rcvAckSent, this.acknowledgedOffset());
      this.ackNow = false;
      this.unackedSegments = 0;
      this.delackAt = undefined;
    }
    return { source: this.local, destination: this.remote, payload: buf };
  }

  /** A RST to the current peer: <SEQ=seq><ACK=ack>, with a Migrate-Reset reason when non-zero. @internal */
  queueReset(seq: number, ack: number, reason: number): void {
    this.outbox.push(resetSegment(this.local, this.localPort, this.remote, this.remotePort, seq, ack, reason, true));
  }

  /** @internal */
  pushTransmit(tx: Transmit): void {
    this.outbox.push(tx);
  }
}

guardMethods(
  TcpMigrateConnection.prototype,
  ['handleDatagram', 'handleTimeout', 'pollTransmit', 'pollTimeout', 'pollEvent', 'send', 'close', 'abort', 'exportState', 'takeover', 'receiverState', 'setAcknowledgeLimit'],
  'TcpMigrateConnection',
);

const NO_OPTIONS: TcpOption[] = [];
