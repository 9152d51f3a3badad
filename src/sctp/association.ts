// The sans-IO SCTP association (RFC 9260): handshake, data transfer, path management, SHUTDOWN
// and ABORT. Created by SctpEndpoint (connect, accepted COOKIE ECHO, imported state), driven by
// handlePacket()/handleTimeout(), drained by pollTransmit()/pollEvent(). Hooks for AUTH, ADD-IP
// and takeover are described in /work/notes/sctp-association-hooks.md.
//
// This file holds the state and the public API; the work is done by the modules in ./association/:
// handshake.ts (INIT, INIT ACK, COOKIE ECHO, restart), input.ts (inbound chunk dispatch),
// output.ts (packet assembly and bundling), timers.ts (T1/T2/T3/T5, HEARTBEAT, error counting),
// shutdown.ts (SHUTDOWN sequence, ABORT, CLOSED) and state.ts (export / import for takeover).
import { addressKey, sameAddress, type UdpAddress } from '../transport-abstraction/address.js';
import { LocalUsageError, TransportError } from '../transport-abstraction/errors.js';
import type { SctpState, TransportState } from '../transport-abstraction/state-types.js';
import { checkResumeMode, validateTakeoverNumber, type DropReason, type Instant, type MigratableTransport, type ReceiverState, type ResumeMode, type SendOptions, type Transmit, type TransitionTracer, type TransportEvent } from '../transport-abstraction/transport.js';
import { established, handleCookieEcho, handleInit, handleInitAck, learnPeer, nonZero, sendInit } from './association/handshake.js';
import { restartInPlace } from './restart.js';
import { handleDatagram, handlePacket, onSack } from './association/input.js';
import { packetBytes, pollTransmit } from './association/output.js';
import { progressShutdown, protocolViolation, sendAbort, terminate } from './association/shutdown.js';
import { exportState, restore } from './association/state.js';
import { handleTimeout, pollTimeout, supervisePaths } from './association/timers.js';
import type { CookieContents } from './cookie.js';
import { keyVector, offerParams, type PeerInit } from './handshake.js';
import { chunkSizeFor, type ResolvedOptions } from './options.js';
import { PacketWriter, type AuthSigner } from './packet-writer.js';
import { Path } from './path.js';
import type { Receiver } from './receiver.js';
import { Sender } from './sender.js';
import { PrState } from './pr-sctp.js';
import { TimerTable } from './timers.js';
import { CauseCode, type AsconfAckChunk, type AsconfChunk, type Chunk, type ErrorCause, type InitChunk, type Packet, type Param, type SackChunk } from './wire/types.js';
import { checkAddress, checkBytes, checkStream, guardMethods } from '../transport-abstraction/guard.js';
import type { InitAckIssuer } from './init-ack.js';
import * as takeover from './takeover-hooks.js';
import type { TakeoverState } from './takeover-hooks.js';

export type AssociationState =
  | 'CLOSED'
  | 'COOKIE-WAIT'
  | 'COOKIE-ECHOED'
  | 'ESTABLISHED'
  | 'SHUTDOWN-PENDING'
  | 'SHUTDOWN-SENT'
  | 'SHUTDOWN-RECEIVED'
  | 'SHUTDOWN-ACK-SENT';

/**
 * What an association is given by its endpoint: values and narrow services, not the endpoint.
 * What the association has to tell the endpoint goes through its EndpointEvent queue instead.
 */
export interface AssociationHost {
  /** Our SCTP port. */
  readonly sctpPort: number;
  /** Our local UDP addresses (listed in our INIT when there are several). */
  readonly addresses: readonly UdpAddress[];
  /** Answers an INIT that reaches this association (restart, collision) with an INIT ACK. */
  readonly initAcks: Pick<InitAckIssuer, 'answer'>;
  /**
   * After an application call (send, close, abort, takeover, reading data): poll this association
   * at the next drain. Never called while the endpoint feeds it a datagram or a timeout.
   */
  wake(a: SctpAssociation): void;
}

/** What an association tells its endpoint, queued (quinn's EndpointEvent); see pollEndpointEvent. */
export type EndpointEvent =
  /** A datagram routed here was dropped: count it. */
  | { readonly type: 'drop'; readonly reason: DropReason }
  /** Peer addresses, tag or state changed: update routing (by tag and address) for this association. */
  | { readonly type: 'routing-changed' };

/** The AUTH module's part in reading and writing packets (see takeover-hooks.ts). */
export interface AuthHook extends AuthSigner {
  /** Chunks of this type must arrive after a valid AUTH chunk (our CHUNKS list). */
  requiredOnReceive(chunkType: number): boolean;
  /** Verify the AUTH chunk packet.chunks[authIndex] against the raw datagram. */
  verify(raw: Uint8Array, packet: Packet, authIndex: number): boolean;
}


export class SctpAssociation implements MigratableTransport {
  readonly kind = 'sctp' as const;
  private current: AssociationState = 'CLOSED';
  /** Sees every state change (see transition). */
  tracer: TransitionTracer | undefined;

  /** The protocol state (RFC 9260 §4); it changes only through transition(). */
  get state(): AssociationState {
    return this.current;
  }

  /** The one place the state changes: to `to`, because of `why` (reported to the tracer). @internal */
  transition(to: AssociationState, why: string): void {
    const from = this.current;
    this.current = to;
    this.tracer?.(from, to, why);
  }
  /** @internal */
  localTag: number;
  /** @internal */
  peerTag = 0;
  /** Our initial TSN (a peer restart, §5.2.4 A, gives a new one). @internal */
  localInitialTsn: number;
  /** @internal */
  peerInitialTsn = 0;
  /** Paths to the peer's addresses; `primary` indexes the preferred one. @internal */
  readonly paths: Path[] = [];
  /** @internal */
  primary = 0;
  /** The outbound data path (replaced, with its queue, by a peer restart). @internal */
  sender: Sender;
  /** @internal */
  receiver: Receiver | undefined;
  /** @internal */
  readonly timers = new TimerTable();
  /** PR-SCTP state and counters (pr-sctp.ts). @internal */
  readonly pr: PrState;
  /** Takeover, AUTH and x25519 state (src/sctp/takeover-hooks.ts); undefined without an endpoint. @internal */
  takeoverState: TakeoverState | undefined;
  /** AUTH key vectors (RANDOM, CHUNKS, HMAC-ALGO parameters as sent) and the peer's INIT params. @internal */
  localKeyVector: Uint8Array;
  /** @internal */
  peerKeyVector: Uint8Array = new Uint8Array(0);
  /** @internal */
  peerInitParams: readonly Param[] = [];
  /** @internal */
  peerSupportedExtensions: readonly number[] = [];
  /** Streams in use: min(our OS, peer MIS) outbound, min(peer OS, our MIS) inbound. @internal */
  outboundStreams: number;
  /** @internal */
  inboundStreams: number;
  /** @internal */
  remotePort: number;
  /** Consecutive errors over all paths (§8.1). @internal */
  errorCount = 0;

  /** Extra INIT ACK parameter bytes carried in our cookie (for the x25519 hook). @internal */
  cookieExtraParams: Uint8Array = new Uint8Array(0);

  // Internal state, shared with the modules in ./association/ (not part of the API).
  /** @internal */ readonly writer: PacketWriter;
  /** @internal Packets built ahead of pollTransmit (handshake, SACKs, replies). */ outbox: Transmit[] = [];
  /** @internal Index of the next outbox entry to hand out (a queue without shift()). */ outboxHead = 0;
  /** @internal Control chunks for the next packet, per path (undefined: the send path). */ control: Array<{ chunk: Chunk; path: number | undefined }> = [];
  /** @internal */ events: TransportEvent[] = [];
  /** @internal */ eventHead = 0;
  /** @internal Our INIT packet while T1-init may resend it. */ initPacket: Uint8Array | undefined;
  /** @internal */ cookieEcho: Uint8Array | undefined;
  /** @internal */ initRetransmits = 0;
  /** @internal */ localRandom: Uint8Array;
  /** @internal A send() was cut short: emit 'writable' when the buffer drains to half. */ wantWritable = false;
  /** @internal */ endEmitted = false;
  /**
   * @internal An event was raised while packets were built (after the app's last poll of this
   * cycle): a timer at once makes the driver run an input cycle, so the app polls it (a 'state-changed'
   * the export barrier waits on must not sit until the next datagram).
   */ eventsDueAt: Instant | undefined;
  /** @internal */ closeError: TransportError | undefined;
  /** @internal Cookie Preservative (ms) for the next INIT after a stale cookie (§5.2.6). */ cookiePreservative = 0;
  /** @internal The Tie-Tags (§5.2.2) our INIT ACKs for this association carried, once made (handshake.ts tieTags). */ tieTags: { readonly local: number; readonly peer: number } | undefined;

  constructor(
    /** @internal */ readonly host: AssociationHost,
    readonly options: ResolvedOptions,
    public local: UdpAddress,
    remote: UdpAddress,
    localTag?: number,
    localInitialTsn?: number,
  ) {
    const rnd = options.random;
    this.localTag = localTag ?? nonZero(rnd.uint32());
    this.localInitialTsn = localInitialTsn ?? rnd.uint32();
    this.localRandom = rnd.bytes(32);
    this.localKeyVector = options.advertiseAuth ? keyVector(offerParams(this.localRandom, [], [], true, options.authChunks)) : new Uint8Array(0);
    this.outboundStreams = options.outboundStreams;
    this.inboundStreams = options.inboundStreams;
    this.remotePort = options.remotePort ?? host.sctpPort;
    this.paths.push(new Path(remote, options.mtu, options.rto, options.receiveWindow, false, options.plpmtud));
    this.sender = new Sender(options.mode, chunkSizeFor(options, this.paths[0]!.mtu), this.localInitialTsn, options.outboundStreams, options.receiveWindow, this.paths);
    this.sender.ppid = options.ppid;
    this.sender.maxBurst = options.maxBurst;
    this.writer = new PacketWriter(options.mtu);
    this.pr = new PrState(options.partialReliability);
  }

  // ---------------------------------------------------------------- public contract

  get stateName(): string {
    return this.state;
  }
  get remote(): UdpAddress {
    return this.paths[this.primary]!.address;
  }
  get bufferedAmount(): number {
    return this.sender.queue.pendingBytes + this.sender.queue.outstandingBytes;
  }
  get streamOffset(): number {
    return this.sender.queue.acceptedOffset;
  }
  /** In state CLOSED (a getter, so that narrowing of `state` does not hide later changes). @internal */
  get closed(): boolean {
    return this.state === 'CLOSED';
  }
  /** Closed and nothing left to send: the endpoint may forget it. @internal */
  get finished(): boolean {
    return this.state === 'CLOSED' && this.outbox.length === 0;
  }
  /** Our local random (AUTH RANDOM parameter value) as offered in INIT / INIT ACK. @internal */
  get authRandom(): Uint8Array {
    return this.localRandom;
  }

  pollEvent(): TransportEvent | undefined {
    if (this.eventHead >= this.events.length) {
      this.eventsDueAt = undefined;
      if (this.events.length > 0) {
        this.events = [];
        this.eventHead = 0;
      }
      return undefined;
    }
    const e = this.events[this.eventHead]!;
    this.events[this.eventHead++] = undefined as unknown as TransportEvent;
    if (e.type === 'data' && this.receiver && this.receiver.consumed(e.bytes.length, this.options.mtu)) this.host.wake(this);
    return e;
  }

  /** Queue bytes; in message mode `unordered: true` sends the message unordered (U bit). */
  send(bytes: Uint8Array, options?: SendOptions & { readonly unordered?: boolean }): number {
    checkBytes(bytes, 'send: bytes');
    checkStream(options?.stream);
    this.host.wake(this);
    if (this.state !== 'COOKIE-WAIT' && this.state !== 'COOKIE-ECHOED' && this.state !== 'ESTABLISHED') {
      throw new LocalUsageError(`cannot send in state ${this.state}`);
    }
    const stream = options?.stream ?? 0;
    if (this.options.mode === 'message' && (stream < 0 || stream >= this.outboundStreams)) {
      throw new LocalUsageError(`stream ${stream} outside the ${this.outboundStreams} outbound streams`);
    }
    const room = this.options.sendBufferSize - this.bufferedAmount;
    let n: number;
    if (this.options.mode === 'stream') n = Math.max(0, Math.min(room, bytes.length));
    else n = bytes.length <= room || this.bufferedAmount === 0 ? bytes.length : 0;
    if (n < bytes.length) this.wantWritable = true;
    if (n > 0) this.sender.queue.push(n === bytes.length ? bytes : bytes.subarray(0, n), stream, this.options.mode === 'message' && options?.unordered === true);
    return n;
  }

  close(now: Instant): void {
    this.host.wake(this);
    switch (this.state) {
      case 'COOKIE-WAIT':
      case 'COOKIE-ECHOED':
        this.terminate(undefined);
        return;
      case 'ESTABLISHED':
        this.transition('SHUTDOWN-PENDING', 'close() called');
        progressShutdown(this, now);
        return;
      default:
        return;
    }
  }

  abort(now: Instant, reason?: string): void {
    this.host.wake(this);
    if (this.state === 'CLOSED') return;
    const info = new TextEncoder().encode(reason ?? 'user abort');
    sendAbort(this, { code: CauseCode.USER_INITIATED_ABORT, info });
    this.terminate(new TransportError('BATON_ERR_LOCAL_ABORT', reason ?? 'aborted locally', CauseCode.USER_INITIATED_ABORT));
    void now;
  }

  exportState(now: Instant): TransportState {
    return exportState(this, now);
  }

  /** Stream offset up to which the peer acknowledged everything (byte-stream mode). @internal */
  ackedStreamOffset(): number {
    const q = this.sender.queue;
    return q.offsetOfTsn(q.firstTsn) ?? q.chunkedOffset;
  }

  takeover(now: Instant, requestNumber: number, mode?: ResumeMode, resumeFrom?: Uint8Array, resumeAt?: number): void {
    validateTakeoverNumber(requestNumber);
    if (resumeFrom !== undefined) checkBytes(resumeFrom, 'takeover: resumeFrom');
    mode = checkResumeMode(mode);
    this.host.wake(this);
    if (!this.takeoverState) throw new LocalUsageError('takeover() needs an endpoint-built association');
    takeover.takeover(this, now, requestNumber, mode, resumeFrom, resumeAt);
  }

  receiverState(): ReceiverState | undefined {
    return this.takeoverState && takeover.receiverState(this);
  }

  /**
   * Peer→local bytes of every DATA chunk up to the cumulative TSN received. On an association
   * built by importState() it counts from the imported point (SctpState carries no inbound offset).
   */
  get receivedOffset(): number {
    return this.receiver?.ackPoint.receivedOffset ?? 0;
  }

  /** The acknowledge limit (ack-point.ts): the SACK's cumulative TSN stays at the last message end below it. */
  setAcknowledgeLimit(now: Instant, offset: number | undefined): void {
    if (offset !== undefined && (!Number.isSafeInteger(offset) || offset < 0)) {
      throw new LocalUsageError(`setAcknowledgeLimit: offset ${String(offset)} is not a non-negative integer`);
    }
    const r = this.receiver;
    if (r === undefined) throw new LocalUsageError(`setAcknowledgeLimit before the association knows its peer (state ${this.state})`);
    r.ackPoint.limit = offset;
    // Raising the limit acknowledges at once (a delayed SACK at most, for the peer's congestion control).
    if (r.ackPoint.settle() && this.state !== 'CLOSED') {
      r.sackNow = true;
      this.host.wake(this);
    }
    void now;
  }

  /** The export barrier (contract): short chunks wait for a confirmed export that maps them. */
  setExportBarrier(now: Instant, enabled: boolean): void {
    const q = this.sender.queue;
    q.barrier = enabled;
    // Turned off: whatever is held goes now.
    if (!enabled) q.confirmedGeneration = q.generation;
    this.host.wake(this);
    void now;
  }

  get exportGeneration(): number {
    return this.sender.queue.generation;
  }

  confirmExport(now: Instant, generation: number): void {
    const q = this.sender.queue;
    if (!Number.isSafeInteger(generation) || generation < 0 || generation > q.generation) {
      throw new LocalUsageError(`confirmExport: generation ${String(generation)} was never exported (the latest is ${q.generation})`);
    }
    if (generation <= q.confirmedGeneration) return;
    q.confirmedGeneration = generation;
    this.host.wake(this);
    void now;
  }

  /** Send these chunks in one packet to `destination` now (AUTH added as the peer requires). @internal */
  queuePacket(destination: UdpAddress, chunks: Chunk[], verificationTag = this.peerTag): void {
    this.outbox.push({ source: this.local, destination, payload: packetBytes(this, chunks, verificationTag) });
  }

  /** @internal */
  pushEvent(e: TransportEvent): void {
    this.events.push(e);
  }

  /** The TSN the next new DATA chunk gets. @internal */
  get outboundNextTsn(): number {
    return this.sender.queue.nextTsn;
  }

  /** @internal */
  get primaryRto(): number {
    return this.paths[this.primary]!.rto.rto;
  }

  /** Takeover resume: continue the outbound stream at (tsn, ssn, offset), replaying these chunk sizes first. @internal */
  resumeSending(tsn: number, ssn: number, offset: number, replay: ReadonlyArray<{ length: number; held: boolean }>): void {
    this.sender.queue.resume(tsn, ssn, offset, replay);
  }

  // ---------------------------------------------------------------- hooks for AUTH / ADD-IP / takeover

  /** Queue a control chunk for the next packet to `path` (default: the current send path). @internal */
  sendControl(chunk: Chunk, path?: number): void {
    this.control.push({ chunk, path });
  }

  /**
   * Peer addresses deleted by ADD-IP: an ASCONF may still name one as its sender (a takeover that
   * lost the race names the server it meant to replace), and must then reach the takeover rules.
   * @internal
   */
  readonly formerPeerAddresses: UdpAddress[] = [];

  /** Add a peer address (ADD-IP); returns its path index. @internal */
  addPeerAddress(address: UdpAddress, confirmed = false): number {
    const i = this.pathIndex(address);
    if (i >= 0) return i;
    this.paths.push(new Path(address, this.options.mtu, this.options.rto, this.sender.peerAdvertised, confirmed, this.options.plpmtud));
    this.toEndpoint({ type: 'routing-changed' });
    if (this.state !== 'CLOSED') this.events.push({ type: 'state-changed' });
    return this.paths.length - 1;
  }

  /** Remove a peer address (ADD-IP delete); its outstanding chunks move to the send path. @internal */
  removePeerAddress(address: UdpAddress): boolean {
    const i = this.pathIndex(address);
    if (i < 0 || this.paths.length === 1) return false;
    this.sender.failOver(i);
    const primaryAddress = this.paths[this.primary]!.address;
    this.formerPeerAddresses.push(address);
    if (this.formerPeerAddresses.length > 16) this.formerPeerAddresses.shift();
    this.paths.splice(i, 1);
    // Chunk records name paths by index: shift the later ones down.
    const q = this.sender.queue;
    for (let k = 0; k < q.outstandingCount; k++) {
      const c = q.at(k);
      if (c.path > i) c.path--;
      else if (c.path === i) c.path = 0;
    }
    const p = this.pathIndex(primaryAddress);
    this.primary = p >= 0 ? p : 0;
    this.toEndpoint({ type: 'routing-changed' });
    this.events.push({ type: 'state-changed' });
    return true;
  }

  /** @internal */
  setPrimary(address: UdpAddress): boolean {
    const i = this.pathIndex(address);
    if (i < 0) return false;
    this.primary = i;
    this.events.push({ type: 'state-changed' });
    return true;
  }

  /** @internal */
  pathIndex(address: UdpAddress): number {
    return this.paths.findIndex((p) => sameAddress(p.address, address));
  }

  /** The path data goes to: the primary while it is active, else the first active one. @internal */
  get sendPath(): number {
    if (this.paths[this.primary]!.active) return this.primary;
    // Only to a confirmed address (§5.4): unverified ones get HEARTBEATs, not data.
    const i = this.paths.findIndex((p) => p.active && p.confirmed);
    return i >= 0 ? i : this.primary;
  }

  // ---------------------------------------------------------------- handshake (initiator side)

  /** Adopt the RANDOM (and extra parameters) our INIT ACK carried, recovered from the cookie. @internal */
  useLocalRandom(random: Uint8Array, extraParams: Uint8Array): void {
    this.localRandom = random;
    this.localKeyVector = this.options.advertiseAuth ? keyVector(offerParams(random, [], [], true, this.options.authChunks)) : new Uint8Array(0);
    this.cookieExtraParams = extraParams;
  }

  /** @internal */
  sendCookieAck(to: UdpAddress): void {
    this.outbox.push({ source: this.local, destination: to, payload: packetBytes(this, [{ type: 11, reflectedTag: false }], this.peerTag) });
  }

  /**
   * Rebuild from exported state (importState): ESTABLISHED, tags and TSNs as exported, the peer's
   * data acknowledged through peerCumulativeTsn. The takeover module completes the rest.
   * @internal
   */
  restore(now: Instant, s: SctpState): void {
    restore(this, now, s);
    supervisePaths(this, now); // the imported paths are supervised like any other (RFC 9260 §8.3)
  }

  /** Start the handshake: send INIT (state COOKIE-WAIT). @internal */
  start(now: Instant): void {
    this.transition('COOKIE-WAIT', 'INIT sent');
    sendInit(this, now);
  }

  /** Learn the peer's INIT / INIT ACK values. @internal */
  learnPeer(peer: PeerInit, from: UdpAddress): void {
    learnPeer(this, peer, from);
  }

  /** Entered ESTABLISHED (COOKIE ACK received, or a valid COOKIE ECHO accepted). @internal */
  established(now: Instant): void {
    established(this, now);
  }

  /** Called by the endpoint when the INIT ACK answering our INIT arrives (already parsed and checked). @internal */
  handleInitAck(now: Instant, from: UdpAddress, packet: Packet, chunk: InitChunk, peer: PeerInit): void {
    handleInitAck(this, now, from, packet, chunk, peer);
  }

  /** An INIT for this association (§5.2.1, §5.2.2): answer with an INIT ACK, or SHUTDOWN ACK. @internal */
  handleInit(now: Instant, from: UdpAddress, raw: Uint8Array, init: InitChunk): void {
    handleInit(this, now, from, raw, init);
  }

  /**
   * A valid COOKIE ECHO for this association (§5.2.4, cases A-D). A peer restart (case A) restarts
   * this very association in place (restart.ts). 'discarded' when the table says to drop it.
   * @internal
   */
  handleCookieEcho(now: Instant, from: UdpAddress, cookie: CookieContents, peer: PeerInit, packet: Packet, raw: Uint8Array, index: number): 'handled' | 'discarded' {
    const r = handleCookieEcho(this, now, from, cookie, peer, packet, raw, index);
    if (r !== 'restart') return r;
    restartInPlace(this, now, from, cookie, peer, packet, raw, index);
    return 'handled';
  }

  // ---------------------------------------------------------------- input, timers, output, close

  /** A datagram fed to this association directly (not routed by its endpoint). */
  handleDatagram(now: Instant, from: UdpAddress, bytes: Uint8Array, local?: UdpAddress): void {
    checkAddress(from, 'handleDatagram: from');
    checkBytes(bytes, 'handleDatagram: bytes');
    if (local !== undefined) checkAddress(local, 'handleDatagram: local');
    handleDatagram(this, now, from, bytes, local);
    this.host.wake(this);
  }

  private endpointEvents: EndpointEvent[] = [];

  /** Queue an event for the endpoint. @internal */
  toEndpoint(e: EndpointEvent): void {
    this.endpointEvents.push(e);
  }

  /** The next event for the endpoint, which drains these after every call into the association. @internal */
  pollEndpointEvent(): EndpointEvent | undefined {
    return this.endpointEvents.shift();
  }

  /** A parsed packet routed here by the endpoint (INIT and COOKIE ECHO come via handleInit / the endpoint). @internal */
  handlePacket(now: Instant, from: UdpAddress, packet: Packet, raw: Uint8Array, local?: UdpAddress, startIndex = 0): void {
    handlePacket(this, now, from, packet, raw, local, startIndex);
  }

  pollTimeout(): Instant | undefined {
    return pollTimeout(this);
  }

  handleTimeout(now: Instant): void {
    handleTimeout(this, now);
  }

  pollTransmit(now: Instant): Transmit | undefined {
    const packet = pollTransmit(this, now);
    // Taker: the client's SACK clipped before the chunks it acknowledges were made, processed
    // again once the sender made them (takeover-hooks afterFill); after the packet is built, as
    // the SHUTDOWN it may trigger needs the writer.
    const early = this.takeoverState ? takeover.afterFill(this) : undefined;
    if (early === undefined) return packet;
    onSack(this, now, early);
    progressShutdown(this, now);
    return packet ?? pollTransmit(this, now);
  }

  /** The peer broke the rules: ABORT with the cause and close with BATON_ERR_PROTOCOL. @internal */
  protocolViolation(code: number, text: string, info?: Uint8Array): void {
    protocolViolation(this, code, text, info);
  }

  /** Enter CLOSED and report it (error undefined = clean). @internal */
  terminate(error: TransportError | undefined): void {
    terminate(this, error);
  }

  /** Routing keys for the endpoint. @internal */
  get peerAddressKeys(): string[] {
    return this.paths.map((p) => addressKey(p.address));
  }
}

guardMethods(
  SctpAssociation.prototype,
  ['handleDatagram', 'handleTimeout', 'pollTransmit', 'pollTimeout', 'pollEvent', 'send', 'close', 'abort', 'exportState', 'takeover', 'receiverState', 'setAcknowledgeLimit', 'setExportBarrier', 'confirmExport'],
  'SctpAssociation',
);

export { inScope } from './path.js';
