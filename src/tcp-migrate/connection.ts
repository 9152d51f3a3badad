// A sans-IO TCP-Migrate connection: RFC 9293 TCP carried in UDP, with the Migrate options of
// draft-snoeren-tcp-migrate-00 as refined by the paper (§3.3.2): the Migrate SYN carries the last
// byte the client acknowledged, its window check is relaxed, a Preload bit marks a third host, and
// the client flushes its out-of-order data (or, in baton's gap-fill mode, reports it by SACK).
//
// All sequence bookkeeping is in stream offsets (offset 0 = ISN+1); wire numbers are made only at
// the edges (sndWire/rcvWire, sndOffset/rcvOffset). The sender lives in sender.ts's functions,
// the Migrate handshake in migrate.ts. This file holds the connection's state and its API; the work
// is done by the modules in ./connection/: input.ts (segment checks and dispatch, RFC 5961),
// output.ts (segment assembly, ACKs, SACK blocks, resets), window.ts (receive window, SWS avoidance,
// the acknowledge limit), timers.ts (retransmission, persist, give-up and keep-alive deadlines) and
// shutdown.ts (close, abort, TIME-WAIT, CLOSED).
import type { UdpAddress } from '../transport-abstraction/address.js';
import { LocalUsageError, TransportError, type TransportErrorCode } from '../transport-abstraction/errors.js';
import { checkBytes, checkStream, guardMethods } from '../transport-abstraction/guard.js';
import type { RandomSource } from '../transport-abstraction/random.js';
import { RtoEstimator } from '../transport-abstraction/rto.js';
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
import { sendBufferLimit, type ConnectionOwner, type EndpointEvent, type TcpMigrateConfig } from './config.js';
import * as input from './connection/input.js';
import * as output from './connection/output.js';
import * as shutdown from './connection/shutdown.js';
import type { TcpState } from './connection/states.js';
import * as timers from './connection/timers.js';
import * as win from './connection/window.js';
import type { KeyPair } from './migrate-crypto.js';
import * as migrate from './migrate.js';
import type { TcpOption } from './options.js';
import * as receiver from './receiver.js';
import { Reassembly } from './reassembly.js';
import { Scoreboard, SendBuffer } from './send-buffer.js';
import { FIN, pseudoHeaderSum, type TcpSegment } from './wire.js';

export type { TcpState } from './connection/states.js';

export interface ConnectionParams {
  readonly config: TcpMigrateConfig;
  readonly random: RandomSource;
  readonly local: UdpAddress;
  readonly localPort: number;
  readonly remote: UdpAddress;
  readonly remotePort: number;
  readonly owner?: ConnectionOwner;
}

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
  /** The latest time an input brought (the TSval clock of segments built without a `now`). @internal */
  clock: Instant = 0;
  /** RFC 7323 §2: both SYNs had a window scale option. @internal */
  windowScaling = false;
  /** Snd.Wind.Shift: the peer's window fields are shifted left by this (0 without scaling). @internal */
  sndShift = 0;
  /** Rcv.Wind.Shift: our window fields are shifted right by this (0 without scaling). @internal */
  rcvShift = 0;
  /** RFC 7323 §3: both SYNs had a Timestamps option (timestamps.ts). @internal */
  tsOk = false;
  /** TS.Recent: the TSval we echo. @internal */
  tsRecent = 0;
  /** Segments PAWS dropped (RFC 7323 §5.3). @internal */
  pawsRejected = 0;
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
  /** The most the peer was told it may send: every right edge advertised, scaled (window.ts). @internal */
  rcvAdvEdge = 0;
  /** The receive buffer as auto-tuned so far (window.ts growReceiveSpace); 0 = not begun. @internal */
  rcvSpace = 0;
  /** When the reader's progress was last measured, and the bytes it had read then. @internal */
  rcvSpaceAt: Instant | undefined = undefined;
  rcvSpaceRead = 0;
  /** RCV.NXT + RCV.WND before scaling: the right edge only moves in SWS-sized steps. @internal */
  rcvWndEdge = 0;
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
  /** Server: the support group's addresses to list in the SYN/ACK (group.ts). @internal */
  groupAddresses: readonly string[] | undefined;
  /** Client: the group members the SYN/ACK listed, kept bound through a NAT (group.ts). @internal */
  groupPeers: readonly UdpAddress[] = [];
  /** Client: when the next Group-Keepalives go out. @internal */
  groupKeepaliveAt: Instant | undefined;
  /** Client: Group-Keepalives sent over the connection's life. @internal */
  groupKeepalivesSent = 0;

  /** Segments built ahead of pollTransmit (handshake, challenge ACKs, resets). @internal */
  readonly outbox: Transmit[] = [];
  private readonly events: TransportEvent[] = [];
  private eventHead = 0;
  /** Start of the current one-second challenge-ACK budget. @internal */
  challengeWindowAt = -Infinity;
  /** Challenge ACKs sent in it. @internal */
  challengeCount = 0;
  /** Challenge ACKs sent over the connection's life (for tests and diagnostics). @internal */
  challengeAcksSent = 0;
  /** Challenge ACKs the rate limit withheld. @internal */
  challengeAcksSuppressed = 0;
  /** @internal */
  closedEmitted = false;
  /** Datagrams dropped by handleDatagram (only when bound without an endpoint). @internal */
  droppedDatagrams = 0;
  private endpointEvents: EndpointEvent[] = [];
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
    this.snd.limit = sendBufferLimit(this.config, this.cwnd, this.peerWindow);
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
    shutdown.close(this, now);
  }

  abort(now: Instant, reason?: string): void {
    shutdown.abort(this, now, reason);
  }

  exportState(now: Instant): TransportState {
    return migrate.exportState(this, now);
  }

  takeover(now: Instant, requestNumber: number, mode?: ResumeMode, resumeFrom?: Uint8Array, resumeAt?: number): void {
    if (resumeFrom !== undefined) checkBytes(resumeFrom, 'takeover: resumeFrom');
    migrate.startTakeover(this, now, requestNumber, checkResumeMode(mode), resumeFrom, resumeAt);
    this.owner?.wake(this);
  }

  receiverState(): ReceiverState | undefined {
    return this.receiver;
  }

  get receivedOffset(): number {
    return this.rcvNxt;
  }

  /** The export barrier holds nothing here: sequence numbers are stream offsets (the contract). */
  setExportBarrier(now: Instant, enabled: boolean): void {
    void now;
    void enabled;
  }

  readonly exportGeneration = 0;

  /** Nothing is held (setExportBarrier); a generation other than 0 was never exported. */
  confirmExport(now: Instant, generation: number): void {
    if (generation !== 0) throw new LocalUsageError(`confirmExport: generation ${String(generation)} was never exported (TCP-Migrate's is always 0)`);
    void now;
  }

  setAcknowledgeLimit(now: Instant, offset: number | undefined): void {
    win.setAcknowledgeLimit(this, now, offset);
  }

  /** @internal */
  acknowledgedOffset(): number {
    return win.acknowledgedOffset(this);
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
    return win.initialWindow(this);
  }

  /** @internal */
  effectiveMss(): number {
    return win.effectiveMss(this);
  }

  /** @internal */
  receiveBuffer(): number {
    return win.receiveBuffer(this);
  }

  /** @internal */
  growReceiveSpace(now: Instant): void {
    win.growReceiveSpace(this, now);
  }

  /** @internal */
  receiveWindow(): number {
    return win.receiveWindow(this);
  }

  /** @internal */
  advertisedWindow(syn = false): number {
    return win.advertisedWindow(this, syn);
  }

  // ---------------------------------------------------------------------------------------------
  // Input

  /** @internal */
  handleSegment(now: Instant, seg: TcpSegment, from: UdpAddress, local: UdpAddress): void {
    input.handleSegment(this, now, seg, from, local);
  }

  /** @internal */
  handleSynchronized(now: Instant, seg: TcpSegment): boolean {
    return input.handleSynchronized(this, now, seg);
  }

  /** @internal */
  challengeAck(now: Instant): void {
    input.challengeAck(this, now);
  }

  /** @internal */
  enterTimeWait(now: Instant): void {
    shutdown.enterTimeWait(this, now);
  }

  /** @internal */
  finish(_now: Instant, error: TransportError | undefined): void {
    shutdown.finish(this, _now, error);
  }

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
    shutdown.fail(this, now, code, message);
  }

  // ---------------------------------------------------------------------------------------------
  // Timers

  handleTimeout(now: Instant): void {
    timers.handleTimeout(this, now);
  }

  /** @internal */
  startGiveUpClock(now: Instant): void {
    timers.startGiveUpClock(this, now);
  }

  /** @internal */
  stopGiveUpClock(): void {
    timers.stopGiveUpClock(this);
  }

  pollTimeout(): Instant | undefined {
    return timers.pollTimeout(this);
  }

  // ---------------------------------------------------------------------------------------------
  // Output

  handleDatagram(now: Instant, from: UdpAddress, bytes: Uint8Array, local?: UdpAddress): void {
    input.handleDatagram(this, now, from, bytes, local);
  }

  pollTransmit(now: Instant): Transmit | undefined {
    return output.pollTransmit(this, now);
  }

  /** @internal */
  ackImmediately(): void {
    output.ackImmediately(this);
  }

  /** @internal */
  buildAck(): Transmit {
    return output.buildAck(this);
  }

  /** @internal */
  sackOptions(max?: number): TcpOption[] {
    return output.sackOptions(this, max);
  }

  /** @internal */
  build(flags: number, seq: number, ack: number, options: readonly TcpOption[], dataOffset: number, dataLength: number, inline?: Uint8Array): Transmit {
    return output.build(this, flags, seq, ack, options, dataOffset, dataLength, inline);
  }

  /** @internal */
  queueReset(seq: number, ack: number, reason: number): void {
    output.queueReset(this, seq, ack, reason);
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

