// The sans-IO SCTP association (RFC 9260): handshake, data transfer, path management, SHUTDOWN
// and ABORT. Created by SctpEndpoint (connect, accepted COOKIE ECHO, imported state), driven by
// handlePacket()/handleTimeout(), drained by pollTransmit()/pollEvent(). Hooks for AUTH, ADD-IP
// and takeover are described in /work/notes/sctp-association-hooks.md.
import { addressKey, sameAddress, type UdpAddress } from '../transport-abstraction/address.js';
import { LocalUsageError, TransportError, type TransportErrorCode } from '../transport-abstraction/errors.js';
import type { SctpState, TransportState } from '../transport-abstraction/state-types.js';
import type { Instant, MigratableTransport, ReceiverState, ResumeMode, SendOptions, Transmit, TransportEvent } from '../transport-abstraction/transport.js';
import type { CookieContents } from './cookie.js';
import { keyVector, offerParams, type PeerInit } from './handshake.js';
import type { ResolvedOptions } from './options.js';
import { PacketWriter, type AuthSigner } from './packet-writer.js';
import { Path } from './path.js';
import { Receiver } from './receiver.js';
import { Sender } from './sender.js';
import { FAILOVER_CORK_MS } from './send-queue.js';
import { tsnAdd } from './serial.js';
import { Timer, TimerTable } from './timers.js';
import { parsePacket } from './wire/parse.js';
import { emitParam, unknownChunkAction } from './wire/params.js';
import { CauseCode, ChunkType, ParamType, type AsconfAckChunk, type AsconfChunk, type Chunk, type ErrorCause, type InitChunk, type Packet, type Param } from './wire/types.js';

export type AssociationState =
  | 'CLOSED'
  | 'COOKIE-WAIT'
  | 'COOKIE-ECHOED'
  | 'ESTABLISHED'
  | 'SHUTDOWN-PENDING'
  | 'SHUTDOWN-SENT'
  | 'SHUTDOWN-RECEIVED'
  | 'SHUTDOWN-ACK-SENT';

/** What the association needs from its endpoint. */
export interface AssociationHost {
  /** Our SCTP port. */
  readonly sctpPort: number;
  /** Our local UDP addresses (listed in our INIT when there are several). */
  readonly addresses: readonly UdpAddress[];
  /** Build an INIT ACK (with a signed cookie) answering `init`; undefined when the INIT is to be dropped. */
  initAck(now: Instant, from: UdpAddress, initPacket: Uint8Array, init: InitChunk, ours: { tag: number; tsn: number; tieLocal: number; tiePeer: number; random?: Uint8Array }, options: ResolvedOptions): Uint8Array | undefined;
  /** Peer addresses or tags changed: update routing. */
  routingChanged(a: SctpAssociation): void;
  /** Count a dropped datagram. */
  drop(reason: string): void;
  /** Something to act on (input, app call, timer): poll this association at the next drain. */
  wake(a: SctpAssociation): void;
}

/** Hooks for the AUTH / ADD-IP / takeover modules (see the hooks note). */
export interface AuthHook extends AuthSigner {
  /** Chunks of this type must arrive after a valid AUTH chunk (our CHUNKS list). */
  requiredOnReceive(chunkType: number): boolean;
  /** Verify the AUTH chunk packet.chunks[authIndex] against the raw datagram. */
  verify(raw: Uint8Array, packet: Packet, authIndex: number): boolean;
}

export interface AssociationHooks {
  auth?: AuthHook;
  /** Extra parameters for our INIT (baton's x25519 key). */
  initParams?(): Param[];
  /** The peer's INIT / INIT ACK values were learned (AUTH keys can be computed). */
  onPeerInit?(peer: PeerInit): void;
  /** Before a packet's chunks are processed; 'consumed' when the hook answered it itself. */
  onPacket?(now: Instant, from: UdpAddress, packet: Packet, raw: Uint8Array): 'consumed' | undefined;
  /** A SACK arrived: true when the hook consumed it (takeover probing), or a SACK to use instead. */
  onSack?(now: Instant, sack: import('./wire/types.js').SackChunk): boolean | import('./wire/types.js').SackChunk;
  /** An ABORT's causes that mean something else than a plain abort (taken over). */
  abortError?(causes: readonly ErrorCause[]): TransportError | undefined;
  pollTimeout?(): Instant | undefined;
  handleTimeout?(now: Instant): void;
  takeover?(now: Instant, requestNumber: number, mode?: ResumeMode): void;
  receiverState?(): ReceiverState | undefined;
  /** Fill in what the hooks own in an exported state (AUTH key, serials, takeover number). */
  exportInto?(state: TransportState): void;
  /** Received ASCONF / ASCONF-ACK (already authenticated if the auth hook requires it). */
  onAsconf?(now: Instant, chunk: AsconfChunk | AsconfAckChunk, from: UdpAddress, authenticated: boolean): void;
  /** Received ERROR causes not handled here. */
  onErrorCauses?(now: Instant, causes: readonly ErrorCause[]): void;
}

const DATA_STATES = new Set<AssociationState>(['ESTABLISHED', 'SHUTDOWN-PENDING', 'SHUTDOWN-RECEIVED']);

export class SctpAssociation implements MigratableTransport {
  readonly kind = 'sctp' as const;
  state: AssociationState = 'CLOSED';
  localTag: number;
  peerTag = 0;
  readonly localInitialTsn: number;
  peerInitialTsn = 0;
  /** Paths to the peer's addresses; `primary` indexes the preferred one. */
  readonly paths: Path[] = [];
  primary = 0;
  readonly sender: Sender;
  receiver: Receiver | undefined;
  readonly timers = new TimerTable();
  hooks: AssociationHooks = {};
  /** AUTH key vectors (RANDOM, CHUNKS, HMAC-ALGO parameters as sent) and the peer's INIT params. */
  localKeyVector: Uint8Array;
  peerKeyVector: Uint8Array = new Uint8Array(0);
  peerInitParams: readonly Param[] = [];
  peerSupportedExtensions: readonly number[] = [];
  /** Streams in use: min(our OS, peer MIS) outbound, min(peer OS, our MIS) inbound. */
  outboundStreams: number;
  inboundStreams: number;
  remotePort: number;
  /** Consecutive errors over all paths (§8.1). */
  errorCount = 0;

  private readonly writer: PacketWriter;
  private outbox: Transmit[] = [];
  /** Index of the next outbox entry to hand out (a queue without shift()). */
  private outboxHead = 0;
  private control: Array<{ chunk: Chunk; path: number | undefined }> = [];
  private events: TransportEvent[] = [];
  private eventHead = 0;
  private initPacket: Uint8Array | undefined;
  private cookieEcho: Uint8Array | undefined;
  private initRetransmits = 0;
  private localRandom: Uint8Array;
  /** Extra INIT ACK parameter bytes carried in our cookie (for the x25519 hook). */
  cookieExtraParams: Uint8Array = new Uint8Array(0);
  private wantWritable = false;
  private endEmitted = false;
  private closeError: TransportError | undefined;
  private cookiePreservative = 0;

  constructor(
    private readonly host: AssociationHost,
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
    this.localKeyVector = options.advertiseAuth ? keyVector(offerParams(this.localRandom, [], [], true)) : new Uint8Array(0);
    this.outboundStreams = options.outboundStreams;
    this.inboundStreams = options.inboundStreams;
    this.remotePort = options.remotePort ?? host.sctpPort;
    this.paths.push(new Path(remote, options.mtu, options.rto, options.receiveWindow, false));
    this.sender = new Sender(options.mode, options.chunkSize, this.localInitialTsn, options.outboundStreams, options.receiveWindow, this.paths);
    this.sender.ppid = options.ppid;
    this.writer = new PacketWriter(options.mtu);
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
  /** In state CLOSED (a getter, so that narrowing of `state` does not hide later changes). */
  get closed(): boolean {
    return this.state === 'CLOSED';
  }
  /** Closed and nothing left to send: the endpoint may forget it. */
  get finished(): boolean {
    return this.state === 'CLOSED' && this.outbox.length === 0;
  }
  /** Our local random (AUTH RANDOM parameter value) as offered in INIT / INIT ACK. */
  get authRandom(): Uint8Array {
    return this.localRandom;
  }

  pollEvent(): TransportEvent | undefined {
    if (this.eventHead >= this.events.length) {
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
        this.state = 'SHUTDOWN-PENDING';
        this.progressShutdown(now);
        return;
      default:
        return;
    }
  }

  abort(now: Instant, reason?: string): void {
    this.host.wake(this);
    if (this.state === 'CLOSED') return;
    const info = new TextEncoder().encode(reason ?? 'user abort');
    this.sendAbort({ code: CauseCode.USER_INITIATED_ABORT, info });
    this.terminate(new TransportError('BATON_ERR_LOCAL_ABORT', reason ?? 'aborted locally', CauseCode.USER_INITIATED_ABORT));
    void now;
  }

  exportState(now: Instant): TransportState {
    void now;
    const ep = (a: UdpAddress) => ({ address: a.address, port: this.remotePort, udpPort: a.port });
    const q = this.sender.queue;
    // A connection whose state is exported takes part in failover: keep its TSN map one open run
    // while it is fed continuously (short tails wait, see SendQueue.corkMs).
    q.corkMs = Math.max(q.corkMs, FAILOVER_CORK_MS);
    const sctp: SctpState = {
      localVerificationTag: this.localTag,
      peerVerificationTag: this.peerTag,
      localInitialTsn: this.localInitialTsn,
      peerInitialTsn: this.peerInitialTsn,
      tsnMap: q.exportRuns(),
      localKeyVector: this.localKeyVector,
      peerKeyVector: this.peerKeyVector,
      endpointPairKey: new Uint8Array(0),
      hmacId: 0,
      sharedKeyId: 0,
      x25519Agreed: false,
      peerAddresses: this.paths.map((p) => ep(p.address)),
      localAddresses: [{ address: this.local.address, port: this.host.sctpPort, udpPort: this.local.port }],
      nextAsconfSerial: 0,
      peerAsconfSerial: 0,
      outboundStreams: this.outboundStreams,
      inboundStreams: this.inboundStreams,
      peerCumulativeTsn: this.receiver?.tracker.cumulativeTsn ?? tsnAdd(this.peerInitialTsn, -1),
      peerReceiverWindow: this.sender.peerAdvertised,
      inboundNextSsn: this.receiver ? [...this.receiver.reassembly.nextSsn] : [],
      pathMtu: this.options.mtu,
    };
    const state: TransportState = {
      client: ep(this.remote),
      server: { address: this.local.address, port: this.host.sctpPort, udpPort: this.local.port },
      sctp,
      takeoverNumber: 0,
      ownerId: '',
      takenAtMs: 0,
      streamBytesSent: q.chunkedOffset,
      streamBytesAcked: this.ackedStreamOffset(),
    };
    this.hooks.exportInto?.(state);
    return state;
  }

  /** Stream offset up to which the peer acknowledged everything (byte-stream mode). */
  ackedStreamOffset(): number {
    const q = this.sender.queue;
    return q.offsetOfTsn(q.firstTsn) ?? q.chunkedOffset;
  }

  takeover(now: Instant, requestNumber: number, mode?: ResumeMode): void {
    this.host.wake(this);
    if (!this.hooks.takeover) throw new LocalUsageError('takeover() needs the takeover hooks (an endpoint-built association)');
    this.hooks.takeover(now, requestNumber, mode);
  }

  receiverState(): ReceiverState | undefined {
    return this.hooks.receiverState?.();
  }

  /** Send these chunks in one packet to `destination` now (AUTH added as the peer requires). */
  queuePacket(destination: UdpAddress, chunks: Chunk[], verificationTag = this.peerTag): void {
    this.host.wake(this);
    this.outbox.push({ source: this.local, destination, payload: this.packetBytes(chunks, verificationTag) });
  }

  pushEvent(e: TransportEvent): void {
    this.events.push(e);
  }

  /** The TSN the next new DATA chunk gets. */
  get outboundNextTsn(): number {
    return this.sender.queue.nextTsn;
  }

  get primaryRto(): number {
    return this.paths[this.primary]!.rto.rto;
  }

  /** Takeover resume: continue the outbound stream at (tsn, ssn, offset), replaying these chunk sizes first. */
  resumeSending(tsn: number, ssn: number, offset: number, replay: ReadonlyArray<{ length: number; held: boolean }>): void {
    this.host.wake(this);
    this.sender.queue.resume(tsn, ssn, offset, replay);
  }

  // ---------------------------------------------------------------- hooks for AUTH / ADD-IP / takeover

  /** Queue a control chunk for the next packet to `path` (default: the current send path). */
  sendControl(chunk: Chunk, path?: number): void {
    this.host.wake(this);
    this.control.push({ chunk, path });
  }

  /** Add a peer address (ADD-IP); returns its path index. */
  addPeerAddress(address: UdpAddress, confirmed = false): number {
    const i = this.pathIndex(address);
    if (i >= 0) return i;
    this.paths.push(new Path(address, this.options.mtu, this.options.rto, this.sender.peerAdvertised, confirmed));
    this.host.routingChanged(this);
    if (this.state !== 'CLOSED') this.events.push({ type: 'state-changed' });
    return this.paths.length - 1;
  }

  /** Remove a peer address (ADD-IP delete); its outstanding chunks move to the send path. */
  removePeerAddress(address: UdpAddress): boolean {
    const i = this.pathIndex(address);
    if (i < 0 || this.paths.length === 1) return false;
    this.sender.failOver(i);
    const primaryAddress = this.paths[this.primary]!.address;
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
    this.host.routingChanged(this);
    this.events.push({ type: 'state-changed' });
    return true;
  }

  setPrimary(address: UdpAddress): boolean {
    const i = this.pathIndex(address);
    if (i < 0) return false;
    this.primary = i;
    this.events.push({ type: 'state-changed' });
    return true;
  }

  pathIndex(address: UdpAddress): number {
    return this.paths.findIndex((p) => sameAddress(p.address, address));
  }

  /** The path data goes to: the primary while it is active, else the first active one. */
  get sendPath(): number {
    if (this.paths[this.primary]!.active) return this.primary;
    // Only to a confirmed address (§5.4): unverified ones get HEARTBEATs, not data.
    const i = this.paths.findIndex((p) => p.active && p.confirmed);
    return i >= 0 ? i : this.primary;
  }

  // ---------------------------------------------------------------- handshake (initiator side)

  /** Adopt the RANDOM (and extra parameters) our INIT ACK carried, recovered from the cookie. */
  useLocalRandom(random: Uint8Array, extraParams: Uint8Array): void {
    this.localRandom = random;
    this.localKeyVector = this.options.advertiseAuth ? keyVector(offerParams(random, [], [], true)) : new Uint8Array(0);
    this.cookieExtraParams = extraParams;
  }

  sendCookieAck(to: UdpAddress): void {
    this.outbox.push({ source: this.local, destination: to, payload: this.packetBytes([{ type: 11, reflectedTag: false }], this.peerTag) });
  }

  /**
   * Rebuild from exported state (importState): ESTABLISHED, tags and TSNs as exported, the peer's
   * data acknowledged through peerCumulativeTsn. The takeover module completes the rest.
   */
  restore(now: Instant, s: SctpState): void {
    this.peerTag = s.peerVerificationTag;
    this.peerInitialTsn = s.peerInitialTsn;
    this.outboundStreams = s.outboundStreams || this.options.outboundStreams;
    this.inboundStreams = s.inboundStreams || this.options.inboundStreams;
    this.localKeyVector = s.localKeyVector;
    this.peerKeyVector = s.peerKeyVector;
    this.receiver = new Receiver(tsnAdd(s.peerCumulativeTsn, 1), this.inboundStreams, this.options.receiveWindow, (stream, bytes) => {
      this.events.push({ type: 'data', stream, bytes });
    });
    s.inboundNextSsn.forEach((v, i) => {
      if (i < this.receiver!.reassembly.nextSsn.length) this.receiver!.reassembly.nextSsn[i] = v;
    });
    for (const a of s.peerAddresses.slice(1)) this.addPeerAddress({ address: a.address, port: a.udpPort }, true);
    this.paths[0]!.confirmed = true;
    this.sender.peerRwnd = s.peerReceiverWindow;
    this.sender.peerAdvertised = s.peerReceiverWindow;
    this.state = 'ESTABLISHED';
    void now;
  }

  /** Start the handshake: send INIT (state COOKIE-WAIT). */
  start(now: Instant): void {
    this.state = 'COOKIE-WAIT';
    this.sendInit(now);
  }

  private sendInit(now: Instant): void {
    const o = this.options;
    const ips = this.host.addresses.length > 1 ? this.host.addresses.map((a) => a.address) : [];
    const params: Param[] = offerParams(this.localRandom, ips, [...(o.extraInitParams?.('init') ?? []), ...(this.hooks.initParams?.() ?? [])], o.advertiseAuth);
    if (this.cookiePreservative > 0) params.push({ type: ParamType.COOKIE_PRESERVATIVE, kind: 'cookie-preservative', increment: this.cookiePreservative });
    const init: InitChunk = {
      type: 1,
      initiateTag: this.localTag,
      advertisedReceiverWindow: o.receiveWindow,
      outboundStreams: o.outboundStreams,
      inboundStreams: o.inboundStreams,
      initialTsn: this.localInitialTsn,
      params,
    };
    this.initPacket = this.packetBytes([init], 0);
    this.outbox.push({ source: this.local, destination: this.remote, payload: this.initPacket });
    this.timers.set(Timer.T1_INIT, now + this.paths[0]!.rto.rto);
  }

  /** Learn the peer's INIT / INIT ACK values. */
  learnPeer(peer: PeerInit, from: UdpAddress): void {
    this.peerTag = peer.tag;
    this.peerInitialTsn = peer.initialTsn;
    this.outboundStreams = Math.min(this.options.outboundStreams, peer.inboundStreams);
    this.inboundStreams = Math.min(this.options.inboundStreams, peer.outboundStreams);
    this.peerKeyVector = peer.keyVector;
    this.peerInitParams = peer.params;
    this.peerSupportedExtensions = peer.supportedExtensions;
    this.sender.peerRwnd = peer.rwnd;
    this.sender.peerAdvertised = peer.rwnd;
    for (const p of this.paths) p.ssthresh = peer.rwnd;
    this.receiver = new Receiver(peer.initialTsn, this.inboundStreams, this.options.receiveWindow, (stream, bytes) => {
      this.events.push({ type: 'data', stream, bytes });
    });
    const source = this.pathIndex(from);
    if (source < 0) this.paths[this.primary]!.address = from;
    this.paths[this.pathIndex(from)]!.confirmed = true;
    for (const ip of peer.addresses) {
      if (ip !== from.address && inScope(ip, from.address)) this.addPeerAddress({ address: ip, port: from.port });
    }
    this.host.routingChanged(this);
    this.hooks.onPeerInit?.(peer);
  }

  /** Entered ESTABLISHED (COOKIE ACK received, or a valid COOKIE ECHO accepted). */
  established(now: Instant): void {
    this.state = 'ESTABLISHED';
    this.timers.stop(Timer.T1_INIT);
    this.timers.stop(Timer.T1_COOKIE);
    this.initPacket = undefined;
    this.cookieEcho = undefined;
    this.events.push({ type: 'connected' });
    this.events.push({ type: 'state-changed' });
    for (const p of this.paths) {
      // Unconfirmed addresses are verified right away (§5.4), the rest after HB.interval.
      p.heartbeatAt = p.confirmed ? now + this.options.heartbeatInterval + p.rto.rto : now;
    }
  }

  /** The INIT ACK, the state cookie and everything a COOKIE ECHO from us needs. */
  private onInitAck(now: Instant, from: UdpAddress, chunk: InitChunk, peer: PeerInit): void {
    if (this.state !== 'COOKIE-WAIT' || peer.cookie === undefined) return;
    this.learnPeer(peer, from);
    this.timers.stop(Timer.T1_INIT);
    const chunks: Chunk[] = [{ type: 10, cookie: peer.cookie }];
    if (peer.unrecognized.length > 0) {
      chunks.push({ type: 9, reflectedTag: false, causes: peer.unrecognized.map((p) => ({ code: CauseCode.UNRECOGNIZED_PARAMETERS, info: p })) });
    }
    this.cookieEcho = this.packetBytes(chunks, this.peerTag);
    this.outbox.push({ source: this.local, destination: this.remote, payload: this.cookieEcho });
    this.state = 'COOKIE-ECHOED';
    this.timers.set(Timer.T1_COOKIE, now + this.paths[this.primary]!.rto.rto);
    void chunk;
  }

  // ---------------------------------------------------------------- input

  handleDatagram(now: Instant, from: UdpAddress, bytes: Uint8Array, local?: UdpAddress): void {
    const r = parsePacket(bytes);
    if (!r.ok) {
      this.host.drop('malformed');
      return;
    }
    this.handlePacket(now, from, r.packet, bytes, local);
  }

  /** A parsed packet routed here by the endpoint (INIT and COOKIE ECHO come via handleInit / the endpoint). */
  handlePacket(now: Instant, from: UdpAddress, packet: Packet, raw: Uint8Array, local?: UdpAddress, startIndex = 0): void {
    this.host.wake(this);
    if (this.state === 'CLOSED') return;
    const first = packet.chunks[startIndex]!;
    const vt = packet.verificationTag;
    if (startIndex === 0) {
      if (first.type === ChunkType.ABORT || first.type === ChunkType.SHUTDOWN_COMPLETE) {
        const t = (first as { reflectedTag: boolean }).reflectedTag;
        if (!(t ? vt === this.peerTag && this.peerTag !== 0 : vt === this.localTag)) {
          this.host.drop('bad-verification-tag');
          return;
        }
      } else if (vt !== this.localTag) {
        this.host.drop('bad-verification-tag');
        return;
      }
      if (this.hooks.onPacket?.(now, from, packet, raw) === 'consumed') return;
    }
    // Answer from the address the peer reached us on (a multihomed endpoint's paths differ by source).
    if (local !== undefined && !sameAddress(local, this.local)) this.local = local;
    let hadData = false;
    let authenticated = false;
    const auth = this.hooks.auth;
    for (let i = startIndex; i < packet.chunks.length && !this.closed; i++) {
      const c = packet.chunks[i]!;
      if (auth && c.type !== ChunkType.AUTH && !authenticated && auth.requiredOnReceive(c.type)) continue;
      if ('kind' in c) {
        this.onUnknownChunk(c.type, c.raw);
        continue;
      }
      switch (c.type) {
        case ChunkType.DATA:
          if (!DATA_STATES.has(this.state) && this.state !== 'SHUTDOWN-SENT') break;
          if (c.userData.length === 0) {
            this.protocolViolation(CauseCode.NO_USER_DATA, `DATA chunk TSN ${c.tsn} without user data`, u32Bytes(c.tsn));
            return;
          }
          hadData = true;
          if (this.receiver!.onData(c) === 'bad-stream') {
            const info = new Uint8Array(4);
            info[0] = c.streamId >>> 8;
            info[1] = c.streamId & 0xff;
            this.control.push({ chunk: { type: 9, reflectedTag: false, causes: [{ code: CauseCode.INVALID_STREAM_IDENTIFIER, info }] }, path: undefined });
          }
          break;
        case ChunkType.SACK:
          this.onSack(now, c);
          break;
        case ChunkType.HEARTBEAT:
          this.outbox.push({ source: this.local, destination: from, payload: this.packetBytes([{ type: 5, info: c.info }], this.peerTag) });
          break;
        case ChunkType.HEARTBEAT_ACK:
          this.onHeartbeatAck(now, c.info);
          break;
        case ChunkType.ABORT:
          this.onAbort(c.causes);
          return;
        case ChunkType.SHUTDOWN:
          this.onShutdown(now, c.cumulativeTsnAck);
          break;
        case ChunkType.SHUTDOWN_ACK:
          this.onShutdownAck(now, from, vt);
          break;
        case ChunkType.SHUTDOWN_COMPLETE:
          if (this.state === 'SHUTDOWN-ACK-SENT') this.terminate(undefined);
          return;
        case ChunkType.ERROR:
          this.onError(now, c.causes);
          break;
        case ChunkType.COOKIE_ACK:
          if (this.state === 'COOKIE-ECHOED') this.established(now);
          break;
        case ChunkType.INIT_ACK:
          if (this.state === 'COOKIE-WAIT') this.host.drop('init-ack-handled-by-endpoint');
          break;
        case ChunkType.AUTH:
          authenticated = auth ? auth.verify(raw, packet, i) : false;
          if (auth && !authenticated) this.host.drop('auth-failed');
          break;
        case ChunkType.ASCONF:
        case ChunkType.ASCONF_ACK:
          if (this.hooks.onAsconf) this.hooks.onAsconf(now, c, from, authenticated);
          else this.onUnknownChunk(c.type, undefined);
          break;
        default:
          break;
      }
    }
    if (hadData && this.receiver) {
      this.receiver.endOfPacket();
      if (this.state === 'SHUTDOWN-SENT') {
        // §9.2: answer each packet with DATA by SACK + SHUTDOWN at once and restart T2-shutdown.
        this.receiver.sackNow = true;
        this.sendShutdown(now);
      }
      if (this.receiver.sackNow) {
        // Build the SACK now, not at the next drain: a driver that feeds a burst of datagrams
        // before draining must still send one SACK per second packet (and per packet on gaps),
        // or a Max.Burst-limited sender (usrsctp) starves for ACK clock after a lost SACK.
        const t = this.buildPacket(now);
        if (t) this.outbox.push(t);
      } else if (!this.timers.isArmed(Timer.DELAYED_SACK)) this.timers.set(Timer.DELAYED_SACK, now + this.options.delayedSackTime);
    }
    this.progressShutdown(now);
  }

  /** Called by the endpoint when the INIT ACK answering our INIT arrives (already parsed and checked). */
  handleInitAck(now: Instant, from: UdpAddress, packet: Packet, chunk: InitChunk, peer: PeerInit): void {
    this.host.wake(this);
    if (packet.verificationTag !== this.localTag) {
      this.host.drop('bad-verification-tag');
      return;
    }
    this.onInitAck(now, from, chunk, peer);
  }

  /** An INIT for this association (§5.2.1, §5.2.2): answer with an INIT ACK, or SHUTDOWN ACK. */
  handleInit(now: Instant, from: UdpAddress, raw: Uint8Array, init: InitChunk): void {
    this.host.wake(this);
    let ours: { tag: number; tsn: number; tieLocal: number; tiePeer: number; random?: Uint8Array };
    switch (this.state) {
      case 'CLOSED':
        return;
      case 'COOKIE-WAIT':
      case 'COOKIE-ECHOED':
        // INIT collision: answer with our INIT's tag AND RANDOM, so both sides' AUTH key vectors agree.
        ours = { tag: this.localTag, tsn: this.localInitialTsn, tieLocal: 0, tiePeer: 0, random: this.localRandom };
        break;
      case 'SHUTDOWN-ACK-SENT':
        this.outbox.push({ source: this.local, destination: from, payload: this.packetBytes([{ type: 8, reflectedTag: false }], this.peerTag) });
        return;
      default: {
        // §5.2.2: a restart that brings addresses this association does not have is refused.
        const added = init.params.flatMap((p) =>
          (p.kind === 'ipv4' || p.kind === 'ipv6') && inScope(p.address, from.address) && this.pathIndex({ address: p.address, port: from.port }) < 0 ? [p] : [],
        );
        if (added.length > 0) {
          const info = concatBytes(added.map((p) => emitParam(p)));
          this.outbox.push({ source: this.local, destination: from, payload: this.packetBytes([{ type: 6, reflectedTag: false, causes: [{ code: CauseCode.RESTART_WITH_NEW_ADDRESSES, info }] }], init.initiateTag) });
          return;
        }
        ours = { tag: nonZero(this.options.random.uint32()), tsn: this.options.random.uint32(), tieLocal: this.localTag, tiePeer: this.peerTag };
      }
    }
    const ack = this.host.initAck(now, from, raw, init, ours, this.options);
    if (ack) this.outbox.push({ source: this.local, destination: from, payload: ack });
  }

  /**
   * A valid COOKIE ECHO for this association (§5.2.4). Returns 'restart' when the peer restarted
   * (case A): the endpoint then replaces this association. Otherwise handled here.
   */
  handleCookieEcho(now: Instant, from: UdpAddress, cookie: CookieContents, peer: PeerInit, packet: Packet, raw: Uint8Array, index: number): 'restart' | 'handled' | 'discarded' {
    this.host.wake(this);
    const L = this.localTag;
    const P = this.peerTag;
    if (cookie.localTag !== L && peer.tag !== P && cookie.tieLocal === L && cookie.tiePeer === P) {
      if (this.state === 'SHUTDOWN-ACK-SENT') {
        const err: Chunk = { type: 9, reflectedTag: false, causes: [{ code: CauseCode.COOKIE_RECEIVED_WHILE_SHUTTING_DOWN, info: new Uint8Array(0) }] };
        this.outbox.push({ source: this.local, destination: from, payload: this.packetBytes([{ type: 8, reflectedTag: false }, err], this.peerTag) });
        return 'handled';
      }
      return 'restart';
    }
    if (cookie.localTag === L && peer.tag !== P) {
      // Case B: INIT collision; take the peer's tag and values from the cookie.
      this.learnPeer(peer, from);
      if (this.state === 'COOKIE-WAIT' || this.state === 'COOKIE-ECHOED') this.established(now);
    } else if (cookie.localTag !== L && peer.tag === P && cookie.tieLocal === 0 && cookie.tiePeer === 0) {
      return 'discarded'; // Case C
    } else if (cookie.localTag === L && peer.tag === P) {
      // Case D: a duplicate (or crossing) COOKIE ECHO.
      if (this.state === 'COOKIE-WAIT' || this.state === 'COOKIE-ECHOED') {
        if (!this.receiver) this.learnPeer(peer, from);
        this.established(now);
      }
    } else {
      return 'discarded';
    }
    this.outbox.push({ source: this.local, destination: from, payload: this.packetBytes([{ type: 11, reflectedTag: false }], this.peerTag) });
    if (index + 1 < packet.chunks.length) this.handlePacket(now, from, packet, raw, undefined, index + 1);
    return 'handled';
  }

  private onUnknownChunk(type: number, raw: Uint8Array | undefined): void {
    const action = unknownChunkAction(type);
    if ((action === 'stop-report' || action === 'skip-report') && raw && this.peerTag !== 0) {
      this.control.push({ chunk: { type: 9, reflectedTag: false, causes: [{ code: CauseCode.UNRECOGNIZED_CHUNK_TYPE, info: raw }] }, path: undefined });
    }
  }

  private onSack(now: Instant, sack: import('./wire/types.js').SackChunk): void {
    if (!DATA_STATES.has(this.state) && this.state !== 'SHUTDOWN-SENT') return;
    const hooked = this.hooks.onSack?.(now, sack);
    if (hooked === true) return;
    if (hooked) sack = hooked;
    const r = this.sender.handleSack(now, sack);
    if (r.kind === 'violation') {
      this.protocolViolation(CauseCode.PROTOCOL_VIOLATION, r.reason);
      return;
    }
    if (r.kind === 'processed' && r.newlyAckedBytes > 0) {
      this.errorCount = 0;
      if (this.wantWritable && this.bufferedAmount <= this.options.sendBufferSize / 2) {
        this.wantWritable = false;
        this.events.push({ type: 'writable' });
      }
    }
  }

  private onHeartbeatAck(now: Instant, info: Uint8Array): void {
    if (info.length !== 16) return;
    const v = new DataView(info.buffer, info.byteOffset, 16);
    const i = v.getUint32(4);
    const p = this.paths[i];
    if (!p || v.getUint32(0) !== p.heartbeatNonce || Number.isNaN(p.heartbeatSentAt)) return;
    p.rto.update(now - v.getFloat64(8));
    p.heartbeatSentAt = NaN;
    p.errorCount = 0;
    p.active = true;
    p.confirmed = true;
    this.errorCount = 0;
  }

  private onAbort(causes: readonly ErrorCause[]): void {
    const special = this.hooks.abortError?.(causes);
    if (special) return this.terminate(special);
    const cause = causes[0]?.code;
    const refused = this.state === 'COOKIE-WAIT' || this.state === 'COOKIE-ECHOED';
    const code: TransportErrorCode = refused ? 'BATON_ERR_REFUSED' : 'BATON_ERR_ABORTED';
    this.terminate(new TransportError(code, refused ? 'the peer refused the association (ABORT)' : `the peer aborted the association (cause ${cause ?? 'none'})`, cause));
  }

  private onError(now: Instant, causes: readonly ErrorCause[]): void {
    for (const cause of causes) {
      if (cause.code === CauseCode.STALE_COOKIE && this.state === 'COOKIE-ECHOED' && cause.info.length >= 4) {
        // §5.2.6: retry with a Cookie Preservative asking for twice the measured staleness.
        if (++this.initRetransmits > this.options.maxInitRetransmits) {
          this.terminate(new TransportError('BATON_ERR_TIMEOUT', 'state cookie kept going stale'));
          return;
        }
        const staleMicros = new DataView(cause.info.buffer, cause.info.byteOffset, 4).getUint32(0);
        this.cookiePreservative = Math.ceil((staleMicros * 2) / 1000);
        this.timers.stop(Timer.T1_COOKIE);
        this.state = 'COOKIE-WAIT';
        this.sendInit(now);
        return;
      }
    }
    this.hooks.onErrorCauses?.(now, causes);
  }

  private onShutdown(now: Instant, cumAck: number): void {
    switch (this.state) {
      case 'ESTABLISHED':
      case 'SHUTDOWN-PENDING':
      case 'SHUTDOWN-RECEIVED':
        this.onSack(now, { type: 3, cumulativeTsnAck: cumAck, advertisedReceiverWindow: this.sender.peerAdvertised, gapBlocks: [], duplicateTsns: [] });
        if (this.closed) return;
        this.state = 'SHUTDOWN-RECEIVED';
        this.emitEnd();
        break;
      case 'SHUTDOWN-SENT':
        this.emitEnd();
        this.sendShutdownAck(now);
        break;
      case 'SHUTDOWN-ACK-SENT':
        this.sendShutdownAck(now);
        break;
      default:
        break;
    }
  }

  private onShutdownAck(now: Instant, from: UdpAddress, vt: number): void {
    if (this.state === 'SHUTDOWN-SENT' || this.state === 'SHUTDOWN-ACK-SENT') {
      this.outbox.push({ source: this.local, destination: from, payload: this.packetBytes([{ type: 14, reflectedTag: false }], this.peerTag) });
      this.emitEnd();
      this.terminate(undefined);
    } else if (this.state === 'COOKIE-WAIT' || this.state === 'COOKIE-ECHOED') {
      // §8.5.1 E / §8.4 item 5: answer as out of the blue.
      this.outbox.push({ source: this.local, destination: from, payload: this.packetBytes([{ type: 14, reflectedTag: true }], vt) });
    }
    void now;
  }

  private emitEnd(): void {
    if (this.endEmitted) return;
    this.endEmitted = true;
    this.events.push({ type: 'end' });
  }

  /** Move SHUTDOWN-PENDING / SHUTDOWN-RECEIVED on once everything sent was acknowledged. */
  private progressShutdown(now: Instant): void {
    if (!this.sender.idle) return;
    if (this.state === 'SHUTDOWN-PENDING') {
      this.state = 'SHUTDOWN-SENT';
      this.sendShutdown(now);
      this.timers.set(Timer.T5_SHUTDOWN_GUARD, now + 5 * this.options.rto.max);
    } else if (this.state === 'SHUTDOWN-RECEIVED') {
      this.sendShutdownAck(now);
    }
  }

  private sendShutdown(now: Instant): void {
    const r = this.receiver;
    const cum = r?.tracker.cumulativeTsn ?? 0;
    const chunks: Chunk[] = [];
    // A SACK still owed goes with it: some peers (node-sctp) take only a SACK, not SHUTDOWN's
    // cumulative TSN ack, as acknowledgement of their data, and would never answer.
    if (r && (r.sackNow || this.timers.isArmed(Timer.DELAYED_SACK))) {
      chunks.push(r.makeSack());
      this.timers.stop(Timer.DELAYED_SACK);
    }
    chunks.push({ type: 7, cumulativeTsnAck: cum });
    this.outbox.push({ source: this.local, destination: this.paths[this.sendPath]!.address, payload: this.packetBytes(chunks, this.peerTag) });
    this.timers.set(Timer.T2_SHUTDOWN, now + this.paths[this.sendPath]!.rto.rto);
  }

  private sendShutdownAck(now: Instant): void {
    this.state = 'SHUTDOWN-ACK-SENT';
    this.outbox.push({ source: this.local, destination: this.paths[this.sendPath]!.address, payload: this.packetBytes([{ type: 8, reflectedTag: false }], this.peerTag) });
    this.timers.set(Timer.T2_SHUTDOWN, now + this.paths[this.sendPath]!.rto.rto);
  }

  /** The peer broke the rules: ABORT with the cause and close with BATON_ERR_PROTOCOL. */
  protocolViolation(code: number, text: string, info?: Uint8Array): void {
    this.sendAbort({ code, info: info ?? new TextEncoder().encode(text) });
    this.terminate(new TransportError('BATON_ERR_PROTOCOL', text, code));
  }

  private sendAbort(cause: ErrorCause): void {
    if (this.peerTag === 0) return;
    this.outbox.push({ source: this.local, destination: this.remote, payload: this.packetBytes([{ type: 6, reflectedTag: false, causes: [cause] }], this.peerTag) });
  }

  /** Enter CLOSED and report it (error undefined = clean). */
  terminate(error: TransportError | undefined): void {
    this.host.wake(this);
    if (this.state === 'CLOSED' && this.closeError !== undefined) return;
    const wasClosed = this.state === 'CLOSED' && this.events.some((e) => e?.type === 'closed');
    this.state = 'CLOSED';
    this.timers.stopAll();
    for (const p of this.paths) {
      p.t3 = NaN;
      p.heartbeatAt = NaN;
    }
    this.control = [];
    this.closeError = error;
    if (!wasClosed) this.events.push(error ? { type: 'closed', error } : { type: 'closed' });
    this.host.routingChanged(this);
  }

  // ---------------------------------------------------------------- timers

  pollTimeout(): Instant | undefined {
    let t = this.timers.earliest() ?? Infinity;
    const h = this.hooks.pollTimeout?.();
    if (h !== undefined && h < t) t = h;
    const cork = this.sender.queue.corkDeadline;
    if (cork !== undefined && cork < t) t = cork;
    for (const p of this.paths) {
      if (p.t3 < t) t = p.t3;
      if (p.heartbeatAt < t) t = p.heartbeatAt;
    }
    return t === Infinity ? undefined : t;
  }

  handleTimeout(now: Instant): void {
    this.host.wake(this);
    if (this.state === 'CLOSED') return;
    this.hooks.handleTimeout?.(now);
    if (this.closed) return;
    const q = this.sender.queue;
    if (q.corkDeadline !== undefined && q.corkDeadline <= now) {
      q.corkDeadline = undefined;
      q.flushShort = true; // the held short tail goes with the next packet
    }
    const o = this.options;
    if (this.timers.expire(Timer.T1_INIT, now) && this.state === 'COOKIE-WAIT') {
      if (++this.initRetransmits > o.maxInitRetransmits) return this.terminate(new TransportError('BATON_ERR_TIMEOUT', 'no answer to INIT'));
      const p = this.paths[0]!;
      p.rto.backoff();
      this.outbox.push({ source: this.local, destination: p.address, payload: this.initPacket! });
      this.timers.set(Timer.T1_INIT, now + p.rto.rto);
    }
    if (this.timers.expire(Timer.T1_COOKIE, now) && this.state === 'COOKIE-ECHOED') {
      if (++this.initRetransmits > o.maxInitRetransmits) return this.terminate(new TransportError('BATON_ERR_TIMEOUT', 'no answer to COOKIE ECHO'));
      const p = this.paths[this.primary]!;
      p.rto.backoff();
      this.outbox.push({ source: this.local, destination: p.address, payload: this.cookieEcho! });
      this.timers.set(Timer.T1_COOKIE, now + p.rto.rto);
    }
    if (this.timers.expire(Timer.T2_SHUTDOWN, now)) {
      const p = this.paths[this.sendPath]!;
      p.rto.backoff();
      if (this.countError(now, this.sendPath)) return;
      if (this.state === 'SHUTDOWN-SENT') this.sendShutdown(now);
      else if (this.state === 'SHUTDOWN-ACK-SENT') this.sendShutdownAck(now);
    }
    if (this.timers.expire(Timer.T5_SHUTDOWN_GUARD, now)) {
      this.sendAbort({ code: CauseCode.USER_INITIATED_ABORT, info: new Uint8Array(0) });
      return this.terminate(new TransportError('BATON_ERR_TIMEOUT', 'shutdown guard timer expired'));
    }
    if (this.timers.expire(Timer.DELAYED_SACK, now) && this.receiver) this.receiver.sackNow = true;
    for (let i = 0; i < this.paths.length && !this.closed; i++) {
      const p = this.paths[i]!;
      if (p.t3 <= now) {
        p.t3 = NaN;
        // A zero-window probe that times out is not a path error (§6.1).
        const probing = this.sender.peerAdvertised === 0;
        this.sender.onRetransmissionTimeout(i);
        if (!probing && this.countError(now, i)) return;
      }
      if (p.heartbeatAt <= now) this.heartbeat(now, i);
    }
  }

  /** Count an error against path i and the association; true when the association died. */
  private countError(now: Instant, i: number): boolean {
    const p = this.paths[i]!;
    p.errorCount++;
    this.errorCount++;
    if (this.errorCount > this.options.associationMaxRetrans) {
      this.terminate(new TransportError('BATON_ERR_TIMEOUT', `peer unreachable: ${this.errorCount} consecutive retransmission timeouts`));
      return true;
    }
    if (p.errorCount > this.options.pathMaxRetrans && p.active) {
      p.active = false;
      this.sender.failOver(i);
      if (Number.isNaN(p.heartbeatAt)) p.heartbeatAt = now + p.rto.rto;
    }
    return false;
  }

  private heartbeat(now: Instant, i: number): void {
    const p = this.paths[i]!;
    if (!Number.isNaN(p.heartbeatSentAt)) {
      p.heartbeatSentAt = NaN;
      p.rto.backoff();
      if (this.countError(now, i)) return;
    }
    const info = new Uint8Array(16);
    const v = new DataView(info.buffer);
    p.heartbeatNonce = this.options.random.uint32();
    v.setUint32(0, p.heartbeatNonce);
    v.setUint32(4, i);
    v.setFloat64(8, now);
    p.heartbeatSentAt = now;
    this.outbox.push({ source: this.local, destination: p.address, payload: this.packetBytes([{ type: 4, info }], this.peerTag) });
    const jitter = p.rto.rto * (this.options.random.float() - 0.5);
    p.heartbeatAt = now + p.rto.rto + (p.active && p.confirmed ? this.options.heartbeatInterval + jitter : 0);
  }

  // ---------------------------------------------------------------- output

  private packetBytes(chunks: Chunk[], vtag: number): Uint8Array {
    const w = this.writer;
    w.auth = this.hooks.auth;
    w.begin(this.host.sctpPort, this.remotePort, vtag, 1 << 16);
    for (const c of chunks) w.addChunk(c, true);
    return w.finish();
  }

  pollTransmit(now: Instant): Transmit | undefined {
    if (this.outboxHead < this.outbox.length) {
      const t = this.outbox[this.outboxHead++]!;
      if (this.outboxHead === this.outbox.length) {
        this.outbox = [];
        this.outboxHead = 0;
      }
      return t;
    }
    return this.buildPacket(now);
  }

  /** The next packet from the control queue, the SACK schedule and the data sender, if any. */
  private buildPacket(now: Instant): Transmit | undefined {
    if (this.state === 'CLOSED' || this.receiver === undefined) return undefined;
    const i = this.sendPath;
    const path = this.paths[i]!;
    const r = this.receiver;
    const dataAllowed = DATA_STATES.has(this.state);
    // Byte-stream cork (send-queue corkMs): closing flushes at once, otherwise arm the timer.
    const q = this.sender.queue;
    if (this.state !== 'ESTABLISHED') q.flushShort = true;
    if (!q.corked) q.corkDeadline = undefined;
    else q.corkDeadline ??= now + q.corkMs;
    const canData = dataAllowed && this.sender.canSend(i);
    const sack = r.sackNow || (canData && this.timers.isArmed(Timer.DELAYED_SACK));
    if (!sack && !canData && this.control.length === 0) return undefined;
    const w = this.writer;
    w.auth = this.hooks.auth;
    w.begin(this.host.sctpPort, this.remotePort, this.peerTag, path.mtu - 28);
    let destination = path.address;
    if (this.control.length > 0) {
      const rest: typeof this.control = [];
      for (const item of this.control) {
        const target = item.path ?? i;
        if (target === i) {
          if (!w.addChunk(item.chunk, w.count === 0)) rest.push(item);
        } else rest.push(item);
      }
      // Control chunks for another path go out in their own packet, first.
      if (w.count === 0 && rest.length > 0) {
        const item = rest.shift()!;
        const p = this.paths[item.path ?? i] ?? path;
        destination = p.address;
        w.addChunk(item.chunk, true);
        this.control = rest;
        return { source: this.local, destination, payload: w.finish() };
      }
      this.control = rest;
    }
    if (sack) {
      // A SACK that no longer fits behind the control chunks goes in the next packet.
      if (w.addChunk(r.makeSack(), true)) this.timers.stop(Timer.DELAYED_SACK);
      else r.sackNow = true;
    }
    if (canData) this.sender.fill(now, w, i);
    if (this.sender.queue.runsChanged) {
      // The TSN map changed shape: a taker needs a fresh export (see send-queue runsChanged).
      this.sender.queue.runsChanged = false;
      this.events.push({ type: 'state-changed' });
    }
    if (w.count === 0) return undefined;
    return { source: this.local, destination, payload: w.finish() };
  }

  /** Routing keys for the endpoint. */
  get peerAddressKeys(): string[] {
    return this.paths.map((p) => addressKey(p.address));
  }
}

/**
 * Address scoping (RFC 9260 §5.1.2 and the UDP encapsulation): a listed peer address is used only
 * if it has the family of the address the association runs on (one UDP socket family) and the same
 * loopback-ness — an association over 127.0.0.1 never probes the peer's other host addresses.
 */
export function inScope(ip: string, reference: string): boolean {
  const v6 = ip.includes(':');
  if (v6 !== reference.includes(':')) return false;
  return isLoopback(ip) === isLoopback(reference);
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip === '0:0:0:0:0:0:0:1';
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function nonZero(v: number): number {
  return v === 0 ? 1 : v;
}

function u32Bytes(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0);
  return b;
}
