// SctpEndpoint: owns local UDP addresses and one SCTP port, routes datagrams to associations by
// verification tag (and by remote address + ports for INIT, T-bit ABORT / SHUTDOWN COMPLETE and
// COOKIE ECHO), answers INIT statelessly with a signed cookie, creates associations from valid
// COOKIE ECHOs, answers out-of-the-blue packets (RFC 9260 §8.4) and counts what it drops.
import { addressKey, type UdpAddress } from '../transport-abstraction/address.js';
import { LocalUsageError, TransportError } from '../transport-abstraction/errors.js';
import type { SctpState, TransportState } from '../transport-abstraction/state-types.js';
import type { DropReason, Instant, Transmit, TransportEndpoint } from '../transport-abstraction/transport.js';
import { cryptoRandom, type RandomSource } from '../transport-abstraction/random.js';
import { SctpAssociation, type AssociationHost } from './association.js';
import { InitAckIssuer } from './init-ack.js';
import { InitRateLimiter, type InitRateOptions } from './init-rate.js';
import { importFrom, TakeoverState, type Role } from './takeover-hooks.js';
import { asconfLookupAddress, lookupByAsconf, type LookupView } from '../addip/lookup.js';
import { checkCookie } from './cookie.js';
import { readPeerInit } from './handshake.js';
import { resolveOptions, SCTP_UDP_PORT, type ResolvedOptions, type SctpOptions } from './options.js';
import { EndpointScheduler } from '../transport-abstraction/scheduler.js';
import { PacketWriter } from './packet-writer.js';
import { parsePacket } from './wire/parse.js';
import { CauseCode, ChunkType, type Chunk, type InitChunk, type Packet } from './wire/types.js';
import { checkAddress, checkBytes, guardMethods } from '../transport-abstraction/guard.js';
import { checkTransportState } from '../transport-abstraction/state-shape.js';

export interface SctpEndpointOptions {
  /** Local UDP addresses (the first is the default source). */
  readonly addresses: readonly UdpAddress[];
  /** Our SCTP port inside the UDP payload; default 9899. */
  readonly sctpPort?: number;
  /** Accept associations the peer opens (answer INIT); default true. */
  readonly listen?: boolean;
  /** Key for signing state cookies; default 32 random bytes. */
  readonly secret?: Uint8Array;
  readonly random?: RandomSource;
  /** Defaults for every association of this endpoint. */
  readonly association?: SctpOptions;
  /** INIT-ACKs per source address (init-rate.ts); default 200 a second, 400 at once. */
  readonly initRate?: InitRateOptions;
  /**
   * A packet for no association of ours, from `client` (UDP address, SCTP port) with tag `tag`:
   * the tag to answer with when a member of our support group holds that association (it named
   * us in its INIT ACK: README "Clients behind NAT"), else undefined. Such a packet is not
   * refused: a HEARTBEAT gets its HEARTBEAT ACK (the client's keepalive), anything else is dropped.
   * With this set, a packet of HEARTBEATs only is never answered with an ABORT (RFC 9260 §8.4's
   * "should"): it may be a group client's keepalive that arrived before the member's announcement.
   */
  readonly heldByGroup?: (client: UdpAddress, clientPort: number, tag: number) => number | undefined;
}

/** Options resolveOptions passes through unchanged (options.ts resolveCounts). */
const COPIED_AS_IS = new Set(['remotePort', 'outboundStreams', 'inboundStreams']);

export class SctpEndpoint implements TransportEndpoint {
  readonly kind = 'sctp' as const;
  readonly sctpPort: number;
  readonly addresses: readonly UdpAddress[];
  readonly dropped = new Map<DropReason, number>();
  listen: boolean;
  private readonly secret: Uint8Array;
  private readonly random: RandomSource;
  private readonly defaults: SctpOptions;
  private resolvedDefaults: ResolvedOptions | undefined;
  private readonly byTag = new Map<number, SctpAssociation>();
  private readonly byAddress = new Map<string, SctpAssociation>();
  private readonly keysOf = new Map<SctpAssociation, { tag: number; keys: string[] }>();
  private readonly associations = new Set<SctpAssociation>();
  /** Associations that may have something to send or a changed deadline (woken since last drained). */
  private readonly scheduler = new EndpointScheduler<SctpAssociation>((a) => a.pollTimeout());
  private accepted: SctpAssociation[] = [];
  /** Associations called into since pollReady last returned them; kept from its first call on. */
  private ready: Set<SctpAssociation> | undefined;
  private outbox: Transmit[] = [];
  private readonly writer = new PacketWriter(1500);
  private readonly initAcks: InitAckIssuer;
  private readonly initRate: InitRateLimiter;
  /** What associations are given instead of this endpoint (see AssociationHost). */
  private readonly context: AssociationHost;
  private readonly heldByGroup: SctpEndpointOptions['heldByGroup'];

  constructor(options: SctpEndpointOptions) {
    if (options.addresses.length === 0) throw new LocalUsageError('an SCTP endpoint needs at least one local address');
    this.addresses = options.addresses;
    this.sctpPort = options.sctpPort ?? SCTP_UDP_PORT;
    this.listen = options.listen ?? true;
    this.random = options.random ?? options.association?.random ?? cryptoRandom;
    this.secret = options.secret ?? this.random.bytes(32);
    this.defaults = { random: this.random, ...options.association };
    this.initAcks = new InitAckIssuer(this.secret, this.sctpPort, this.addresses);
    this.initRate = new InitRateLimiter(options.initRate);
    this.heldByGroup = options.heldByGroup;
    this.context = { sctpPort: this.sctpPort, addresses: this.addresses, initAcks: this.initAcks, wake: (a) => this.wake(a) };
  }

  /** Associations currently known (open or closing). */
  get all(): readonly SctpAssociation[] {
    return [...this.associations];
  }

  /** An association has input, output or an app call to act on: poll it at the next drain. @internal */
  wake(a: SctpAssociation): void {
    if (this.associations.has(a)) this.scheduler.wake(a);
  }

  private drop(reason: DropReason): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
  }

  private resolve(options?: SctpOptions): ResolvedOptions {
    // A passive open differs from the defaults only in values resolveOptions copies as they are
    // (the peer's port, the streams a cookie carries): those are laid over the defaults resolved
    // once, instead of resolving everything again per association (5% of a set-up's CPU).
    if (options !== undefined && Object.entries(options).every(([k, v]) => COPIED_AS_IS.has(k) && v !== undefined)) {
      const base = (this.resolvedDefaults ??= resolveOptions(this.defaults));
      return { ...base, ...(options as Pick<ResolvedOptions, 'remotePort' | 'outboundStreams' | 'inboundStreams'>), rto: { ...base.rto } };
    }
    return resolveOptions({ ...this.defaults, ...options });
  }

  connect(now: Instant, remote: UdpAddress, options?: SctpOptions): SctpAssociation {
    checkAddress(remote, 'connect: remote');
    const a = new SctpAssociation(this.context, this.resolve(options), this.addresses[0]!, remote);
    this.installTakeover(a, 'initiator');
    a.start(now);
    this.register(a);
    this.settle(a);
    return a;
  }

  pollAccept(): SctpAssociation | undefined {
    return this.accepted.shift();
  }

  /**
   * The next association this endpoint called into (input, a timer, a poll) since it was last
   * returned here: the ones that may have events for the application. A server of 10,000
   * connections pumps these after each input cycle instead of polling every association's events
   * (issue 12). Never misses one; may name one with no new event. The first call names every
   * association and starts the record (an application that never calls it keeps none).
   */
  pollReady(): SctpAssociation | undefined {
    this.ready ??= new Set(this.associations);
    for (const a of this.ready) {
      this.ready.delete(a);
      return a;
    }
    return undefined;
  }

  importState(now: Instant, state: TransportState, options?: SctpOptions): SctpAssociation {
    checkTransportState(state, 'sctp');
    const s: SctpState = state.sctp!;
    const peer = s.peerAddresses[0] ?? { address: state.client.address, port: state.client.port, udpPort: state.client.udpPort };
    const a = new SctpAssociation(this.context, this.resolve({ remotePort: peer.port, ...options }), this.addresses[0]!, { address: peer.address, port: peer.udpPort }, s.localVerificationTag, s.localInitialTsn);
    a.restore(now, s);
    this.installTakeover(a, 'imported');
    importFrom(a, state);
    this.register(a);
    this.settle(a);
    return a;
  }

  /** AUTH / x25519 / ADD-IP / takeover state (src/sctp/takeover-hooks.ts). */
  private installTakeover(a: SctpAssociation, role: Role): void {
    a.takeoverState = new TakeoverState(this.secret, role);
  }

  private register(a: SctpAssociation): void {
    this.associations.add(a);
    this.scheduler.wake(a);
    this.routingChanged(a);
  }

  /** Act on what `a` queued for us while we (or the application) called into it; poll it next. */
  private settle(a: SctpAssociation): void {
    this.ready?.add(a);
    for (let e = a.pollEndpointEvent(); e !== undefined; e = a.pollEndpointEvent()) {
      if (e.type === 'drop') this.drop(e.reason);
      else this.routingChanged(a);
    }
    if (this.associations.has(a)) this.scheduler.wake(a);
  }

  private routingChanged(a: SctpAssociation): void {
    const old = this.keysOf.get(a);
    if (old) {
      if (this.byTag.get(old.tag) === a) this.byTag.delete(old.tag);
      for (const k of old.keys) if (this.byAddress.get(k) === a) this.byAddress.delete(k);
    }
    if (a.closed) {
      this.keysOf.delete(a);
      return;
    }
    const keys = a.paths.map((p) => `${addressKey(p.address)}/${a.remotePort}`);
    this.keysOf.set(a, { tag: a.localTag, keys });
    this.byTag.set(a.localTag, a);
    for (const k of keys) this.byAddress.set(k, a);
  }

  private lookupByAddress(from: UdpAddress, sctpPort: number): SctpAssociation | undefined {
    return this.byAddress.get(`${addressKey(from)}/${sctpPort}`);
  }

  // ---------------------------------------------------------------- input

  handleDatagram(now: Instant, from: UdpAddress, bytes: Uint8Array, local?: UdpAddress): void {
    checkAddress(from, 'handleDatagram: from');
    checkBytes(bytes, 'handleDatagram: bytes');
    if (local !== undefined) checkAddress(local, 'handleDatagram: local');
    const r = parsePacket(bytes);
    if (!r.ok) {
      this.drop(r.error.code === 'SCTP_WIRE_CHECKSUM' ? 'checksum' : 'malformed');
      return;
    }
    const p = r.packet;
    if (p.destinationPort !== this.sctpPort) {
      // Nobody listens on that SCTP port here: out of the blue (§8.4), an INIT is refused.
      this.drop('wrong-port');
      const init = p.chunks[0];
      if (init && init.type === ChunkType.INIT && !('kind' in init)) {
        if (p.chunks.length === 1 && init.initiateTag !== 0) this.reply(from, p.sourcePort, init.initiateTag, [{ type: 6, reflectedTag: false, causes: [] }], local, p.destinationPort);
        return;
      }
      this.outOfTheBlue(from, p, local);
      return;
    }
    const first = p.chunks[0]!;
    if (!('kind' in first)) {
      if (first.type === ChunkType.INIT) return this.onInit(now, from, p, bytes, first, local);
      if (first.type === ChunkType.INIT_ACK) return this.onInitAck(now, from, p, first);
      if (first.type === ChunkType.COOKIE_ECHO) return this.onCookieEcho(now, from, p, bytes, first.cookie, local);
    }
    const a = this.byTag.get(p.verificationTag);
    if (a && !a.closed) {
      // An ASCONF from an address the association does not know yet is found through its own
      // address parameter (RFC 5061 §4.1.1), which must name one of the association's peers
      // (or one a takeover deleted, so a losing taker still hears that it lost).
      if (a.pathIndex(from) < 0 && asconfLookupAddress(p) !== undefined && lookupByAsconf(p, [a], lookupView) === undefined) {
        this.drop('unknown-takeover');
        return;
      }
      a.handlePacket(now, from, p, bytes, local);
      this.settle(a);
      return;
    }
    const b = this.lookupByAddress(from, p.sourcePort);
    if (b && !b.closed) {
      if ((first.type === ChunkType.ABORT || first.type === ChunkType.SHUTDOWN_COMPLETE) && !('kind' in first) && (first as { reflectedTag: boolean }).reflectedTag) {
        b.handlePacket(now, from, p, bytes, local);
        this.settle(b);
        return;
      }
      if (first.type !== ChunkType.SHUTDOWN_ACK) {
        this.drop('wrong-tag');
        return;
      }
    }
    this.outOfTheBlue(from, p, local);
  }

  /** RFC 9260 §8.4. */
  private outOfTheBlue(from: UdpAddress, p: Packet, local: UdpAddress | undefined): void {
    this.drop('no-connection');
    if (this.heldByGroup !== undefined && p.verificationTag !== 0) {
      // A client of our support group keeps its NAT binding toward us (README "Clients behind
      // NAT"): never refused, even before the member's announcement of it arrived (a HEARTBEAT
      // alone is then dropped, and answered once the connection is known).
      const peerTag = this.heldByGroup(from, p.sourcePort, p.verificationTag);
      const beats = p.chunks.flatMap((c) => (c.type === ChunkType.HEARTBEAT && 'info' in c ? [{ type: 5 as const, info: c.info }] : []));
      if (peerTag !== undefined) {
        if (beats.length > 0) this.reply(from, p.sourcePort, peerTag, beats, local);
        return;
      }
      if (beats.length === p.chunks.length) return;
    }
    let reply: Chunk | undefined = { type: 6, reflectedTag: true, causes: [] };
    for (const c of p.chunks) {
      if (c.type === ChunkType.ABORT || c.type === ChunkType.SHUTDOWN_COMPLETE || c.type === ChunkType.COOKIE_ACK) return;
      if (c.type === ChunkType.ERROR && !('kind' in c) && (c as { causes: readonly { code: number }[] }).causes.some((x) => x.code === CauseCode.STALE_COOKIE)) return;
      if (c.type === ChunkType.SHUTDOWN_ACK) reply = { type: 14, reflectedTag: true };
    }
    this.reply(from, p.sourcePort, p.verificationTag, [reply], local, p.destinationPort);
  }

  private reply(to: UdpAddress, port: number, vtag: number, chunks: Chunk[], local: UdpAddress | undefined, ourPort = this.sctpPort): void {
    const w = this.writer;
    w.auth = undefined;
    w.begin(ourPort, port, vtag, 1 << 16);
    for (const c of chunks) w.addChunk(c, true);
    this.outbox.push({ source: local ?? this.addresses[0], destination: to, payload: w.finish() });
  }

  private onInit(now: Instant, from: UdpAddress, p: Packet, raw: Uint8Array, init: InitChunk, local: UdpAddress | undefined): void {
    if (p.chunks.length !== 1 || p.verificationTag !== 0) {
      this.drop('bad-handshake');
      return;
    }
    const existing = this.lookupByAddress(from, p.sourcePort);
    if (existing && !existing.closed) {
      existing.handleInit(now, from, raw, init);
      this.settle(existing);
      return;
    }
    if (!this.listen) {
      this.drop('not-listening');
      if (init.initiateTag !== 0) this.reply(from, p.sourcePort, init.initiateTag, [{ type: 6, reflectedTag: false, causes: [] }], local);
      return;
    }
    if (!this.initRate.allow(now, from.address)) {
      this.drop('rate-limited');
      return;
    }
    const options = this.resolve({ remotePort: p.sourcePort });
    const r = this.initAcks.answer(now, raw, init, { tag: this.freshTag(), tsn: this.random.uint32(), tieLocal: 0, tiePeer: 0 }, options);
    if (r.drop) this.drop(r.drop);
    if (r.payload) this.outbox.push({ source: r.kind === 'abort' ? this.addresses[0] : (local ?? this.addresses[0]), destination: from, payload: r.payload });
  }

  private freshTag(): number {
    for (;;) {
      const t = this.random.uint32();
      if (t !== 0 && !this.byTag.has(t)) return t;
    }
  }


  private onInitAck(now: Instant, from: UdpAddress, p: Packet, chunk: InitChunk): void {
    const a = this.byTag.get(p.verificationTag);
    if (!a || a.closed || a.state !== 'COOKIE-WAIT') {
      this.drop('bad-handshake');
      return;
    }
    const check = readPeerInit(chunk);
    if (!check.ok) {
      if (check.problem === 'zero-streams' && chunk.initiateTag !== 0) {
        this.reply(from, p.sourcePort, chunk.initiateTag, [{ type: 6, reflectedTag: false, causes: [{ code: CauseCode.INVALID_MANDATORY_PARAMETER, info: new Uint8Array(0) }] }], undefined);
        a.terminate(new TransportError('BATON_ERR_PROTOCOL', 'INIT ACK with zero streams', CauseCode.INVALID_MANDATORY_PARAMETER));
        this.settle(a);
      }
      this.drop('bad-handshake');
      return;
    }
    a.handleInitAck(now, from, p, chunk, check.init);
    this.settle(a);
  }

  private onCookieEcho(now: Instant, from: UdpAddress, p: Packet, raw: Uint8Array, cookieBytes: Uint8Array, local: UdpAddress | undefined): void {
    const check = checkCookie(this.secret, cookieBytes, now);
    if (!check.ok && check.reason !== 'stale') {
      this.drop('bad-handshake');
      return;
    }
    const cookie = check.cookie;
    // Its CRC32c was checked when the INIT arrived, and the cookie's HMAC covers it since.
    const initParsed = parsePacket(cookie.initPacket, { verifyChecksum: false });
    const initChunk = initParsed.ok ? initParsed.packet.chunks[0] : undefined;
    if (!initChunk || initChunk.type !== ChunkType.INIT || 'kind' in initChunk) {
      this.drop('bad-handshake');
      return;
    }
    const peerCheck = readPeerInit(initChunk as InitChunk);
    if (!peerCheck.ok) {
      this.drop('bad-handshake');
      return;
    }
    const peer = peerCheck.init;
    if (p.verificationTag !== cookie.localTag) {
      this.drop('wrong-tag');
      return;
    }
    if (!check.ok) {
      // §5.1.5 / §3.3.10.3: Stale Cookie error with the measure of staleness in microseconds.
      this.drop('stale-cookie');
      const info = new Uint8Array(4);
      new DataView(info.buffer).setUint32(0, check.stalenessMicros >>> 0);
      this.reply(from, p.sourcePort, peer.tag, [{ type: 9, reflectedTag: false, causes: [{ code: CauseCode.STALE_COOKIE, info }] }], local);
      return;
    }
    // A COOKIE ECHO for an association we have (RFC 9260 §5.2.4): a collision, a duplicate, a late
    // cookie, or the peer's restart, which the association carries out in place (restart.ts).
    const existing = this.byTag.get(cookie.localTag) ?? this.lookupByAddress(from, p.sourcePort);
    if (existing && !existing.closed) {
      const result = existing.handleCookieEcho(now, from, cookie, peer, p, raw, 0);
      this.settle(existing);
      if (result === 'discarded') this.drop('bad-handshake');
      return;
    }
    const options = this.resolve({ remotePort: p.sourcePort, outboundStreams: cookie.outboundStreams, inboundStreams: cookie.inboundStreams });
    const a = new SctpAssociation(this.context, options, local ?? this.addresses[0]!, from, cookie.localTag, cookie.localInitialTsn);
    this.installTakeover(a, 'responder');
    a.useLocalRandom(cookie.localRandom, cookie.localExtraParams);
    a.learnPeer(peer, from);
    a.established(now);
    this.register(a);
    this.accepted.push(a);
    a.sendCookieAck(from);
    if (p.chunks.length > 1) a.handlePacket(now, from, p, raw, local, 1);
    this.settle(a);
  }

  // ---------------------------------------------------------------- output and timers

  pollTransmit(now: Instant): Transmit | undefined {
    if (this.outbox.length > 0) return this.outbox.shift();
    // Only woken associations are polled; one that has nothing more leaves the woken set (or the
    // endpoint, once closed and drained).
    for (const a of this.scheduler.woken()) {
      this.settle(a); // events of application calls (abort, close) since the last poll
      const t = a.pollTransmit(now);
      this.settle(a);
      if (t) {
        this.scheduler.sent(a);
        return t;
      }
      this.scheduler.idle(a);
      if (a.finished) this.forget(a);
    }
    return undefined;
  }

  /** Forget an association that is closed and has nothing left to send. */
  private forget(a: SctpAssociation): void {
    this.associations.delete(a);
    this.scheduler.forget(a);
    this.routingChanged(a);
  }

  pollTimeout(): Instant | undefined {
    return this.scheduler.pollTimeout();
  }

  handleTimeout(now: Instant): void {
    for (const a of this.scheduler.due(now)) {
      a.handleTimeout(now);
      this.settle(a);
    }
  }
}

/** What RFC 5061's lookup by address parameter needs to know of an association. */
function lookupView(a: SctpAssociation): LookupView {
  return { localVerificationTag: a.localTag, localPort: a.host.sctpPort, peerPort: a.remotePort, peerAddresses: [...a.paths.map((p) => p.address), ...a.formerPeerAddresses] };
}

guardMethods(SctpEndpoint.prototype, ['handleDatagram', 'handleTimeout', 'pollTransmit', 'pollTimeout', 'pollAccept', 'pollReady', 'connect', 'importState'], 'SctpEndpoint');
