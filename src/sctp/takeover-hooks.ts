// TakeoverAgent: the AUTH, x25519, ADD-IP and takeover hooks of one SctpAssociation. The endpoint
// installs one on every association it creates (connect, accepted COOKIE ECHO, importState); the
// association calls the hooks at a few fixed points (see AssociationHooks in association.ts).
//
//  - Handshake: our 0xbaf1 x25519 key goes in INIT / INIT-ACK (derived from the endpoint secret,
//    our tag and our RANDOM, so the stateless cookie needs no private key); when the peer's INIT /
//    INIT-ACK is learned, the AUTH context is built with the x25519-derived endpoint-pair key, or
//    RFC 4895's empty one for a standard peer (`keySource`).
//  - Every association answers ASCONFs (TakeoverGuard: RFC 5061 + the at-most-once rule) and,
//    once taken over, refuses packets from addresses no longer in it with an OOTB ABORT.
//  - An imported association drives TakeoverInitiator: ASCONF, probe, resume.
import type { UdpAddress } from '../transport-abstraction/address.js';
import { LocalUsageError, TransportError } from '../transport-abstraction/errors.js';
import type { TransportState, TsnRun } from '../transport-abstraction/state-types.js';
import { DEFAULT_RESUME_MODE, validateTakeoverNumber, type Instant, type ReceiverState, type ResumeMode } from '../transport-abstraction/transport.js';
import type { PeerAddressTable } from '../addip/addresses.js';
import { AuthContext, authContextFromVectors, authParamsFrom, parseKeyVector, unsupportedHmacCause } from './auth.js';
import { canonicalSalt, endpointPairKey, peerPublicKeyFrom, responderKeyPair, x25519Param, type KeySource, type X25519KeyPair } from './x25519.js';
import { TakeoverGuard, TakeoverInitiator, abortError, type InitiatorOutput } from './takeover.js';
import { CauseCode, type AsconfAckChunk, type AsconfChunk, type Chunk, type ErrorCause, type Packet, type Param, type SackChunk } from './wire/types.js';
import { isNotAuthenticatedFor, notAuthenticatedCause } from '../addip/causes.js';
import type { PeerInit } from './handshake.js';
import { tsnAdd, tsnDiff, tsnLt } from './serial.js';

/** What the agent needs from its association (SctpAssociation provides all of it). */
export interface TakeoverHost {
  readonly localTag: number;
  readonly localInitialTsn: number;
  readonly authRandom: Uint8Array;
  readonly localKeyVector: Uint8Array;
  readonly peerKeyVector: Uint8Array;
  readonly local: UdpAddress;
  readonly remote: UdpAddress;
  readonly paths: ReadonlyArray<{ address: UdpAddress; confirmed: boolean }>;
  readonly primary: number;
  pathIndex(address: UdpAddress): number;
  addPeerAddress(address: UdpAddress, confirmed?: boolean): number;
  removePeerAddress(address: UdpAddress): boolean;
  setPrimary(address: UdpAddress): boolean;
  /** Send these chunks in one packet to `destination` now (AUTH added as the peer requires). */
  queuePacket(destination: UdpAddress, chunks: Chunk[], verificationTag?: number): void;
  pushEvent(e: import('../transport-abstraction/transport.js').TransportEvent): void;
  terminate(error: TransportError | undefined): void;
  /** Continue the outbound stream at (tsn, ssn, offset), replaying these chunk sizes first. */
  resumeSending(tsn: number, ssn: number, offset: number, replay: ReadonlyArray<{ length: number; held: boolean }>): void;
  /** Current RTO of the primary path. */
  readonly primaryRto: number;
  /** The TSN the next new DATA chunk gets. */
  readonly outboundNextTsn: number;
  readonly options: { readonly mode: string; readonly chunkSize: number; readonly receiveWindow: number };
  readonly sender: { readonly cumulativeAck: number };
}

/** The AUTH hook in the shape association.ts and packet-writer.ts call. */
export interface AuthAdapter {
  needsAuth(chunkType: number): boolean;
  readonly authChunkLength: number;
  writeAuthChunk(packet: Uint8Array, offset: number): void;
  sign(packet: Uint8Array, offset: number): void;
  requiredOnReceive(chunkType: number): boolean;
  verify(raw: Uint8Array, packet: Packet, authIndex: number): boolean;
}

export type Role = 'initiator' | 'responder' | 'imported';

export class TakeoverAgent {
  auth: AuthAdapter | undefined;
  context: AuthContext | undefined;
  keySource: KeySource = 'rfc4895-default';
  guard: TakeoverGuard | undefined;
  initiator: TakeoverInitiator | undefined;
  /** Takeover number of the imported state (the next taker uses this + 1). */
  private importedTakeoverNumber = 0;
  /** The state we were built from (importState), for exports before our takeover completes. */
  private imported: TransportState | undefined;
  /** Datagrams refused by the agent, by reason (for tests and diagnostics). */
  readonly refused = new Map<string, number>();
  private keyPair: (X25519KeyPair & { tag: number; random: Uint8Array }) | undefined;
  /** Client side: our outbound cumulative ack point when we accepted the last takeover. */
  private ackPointAtTakeover: number | undefined;
  /** Where the outbound stream resumed after our takeover (for exports before the next chunk). */
  private resumedAt: { tsn: number; ssn: number } | undefined;

  constructor(
    private readonly host: TakeoverHost,
    private readonly secret: Uint8Array,
    readonly role: Role,
  ) {}

  private count(reason: string): void {
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1);
  }

  /** Our x25519 key pair: a function of the endpoint secret, our tag and our RANDOM (recomputed if
   * the association adopted another RANDOM, e.g. the one its cookie carried). */
  private ownKeyPair(): X25519KeyPair {
    const k = this.keyPair;
    if (k === undefined || k.tag !== this.host.localTag || k.random !== this.host.authRandom) {
      this.keyPair = { ...responderKeyPair(this.secret, this.host.localTag, this.host.authRandom), tag: this.host.localTag, random: this.host.authRandom };
    }
    return this.keyPair!;
  }

  // ------------------------------------------------------------ handshake

  /** Extra parameters for our INIT (the INIT-ACK's come from initAckParams on the endpoint). */
  initParams(): Param[] {
    return [x25519Param(this.ownKeyPair().publicKey)];
  }

  /** The peer's INIT / INIT-ACK is known: build AUTH with the endpoint-pair key in force. */
  onPeerInit(peer: PeerInit): void {
    this.guard = new TakeoverGuard(tsnAdd(peer.initialTsn, -1));
    const local = parseKeyVector(this.host.localKeyVector);
    const remote = authParamsFrom(peer.params);
    if (local === undefined || remote === undefined) return; // no AUTH with this peer
    const salt = canonicalSalt({ tag: this.host.localTag, random: local.random }, { tag: peer.tag, random: remote.random });
    const epk = endpointPairKey(this.ownKeyPair(), peerPublicKeyFrom(peer.params), salt);
    try {
      this.useContext(new AuthContext(local, remote, epk.key, 0, this.host.localKeyVector, this.host.peerKeyVector), epk.keySource);
    } catch {
      // no HMAC in common: AUTH stays off, ASCONFs will be refused as unauthenticated
    }
  }

  private useContext(ctx: AuthContext, source: KeySource): void {
    this.context = ctx;
    this.keySource = source;
    this.auth = {
      needsAuth: (t) => ctx.needsAuth(t),
      authChunkLength: ctx.authChunkLength,
      writeAuthChunk: (p, o) => ctx.writeAuthChunk(p, o),
      sign: (p, o) => ctx.sign(p, o),
      requiredOnReceive: (t) => ctx.mustBeAuthenticated(t),
      verify: (raw) => {
        const v = ctx.verify(raw);
        if (!v.ok && v.reason === 'unsupported-hmac' && v.hmacId !== undefined) {
          // RFC 4895 §6.3: report an HMAC identifier we did not offer.
          this.host.queuePacket(this.host.remote, [{ type: 9, reflectedTag: false, causes: [unsupportedHmacCause(v.hmacId)] }]);
        }
        if (!v.ok) this.count(`auth-${v.reason}`);
        return v.ok;
      },
    };
  }

  // ------------------------------------------------------------ import / export

  /** Preload from exported state (importState): AUTH from the vectors, serials, the initiator. */
  importFrom(state: TransportState): void {
    const s = state.sctp!;
    const ctx = authContextFromVectors(s.localKeyVector, s.peerKeyVector, s.endpointPairKey, s.sharedKeyId);
    if (ctx !== undefined) this.useContext(ctx, s.x25519Agreed ? 'x25519' : 'rfc4895-default');
    this.guard = new TakeoverGuard(s.peerAsconfSerial);
    this.importedTakeoverNumber = state.takeoverNumber;
    this.imported = state;
    this.initiator = new TakeoverInitiator({ state: s, streamBytesAcked: state.streamBytesAcked, newAddress: this.host.local, client: this.host.remote });
  }

  exportInto(state: TransportState): void {
    const s = state.sctp;
    if (!s) return;
    const ctx = this.context;
    if (ctx) {
      s.endpointPairKey = ctx.endpointPairKey;
      s.hmacId = ctx.sendHmacId;
      s.sharedKeyId = ctx.sharedKeyId;
      s.x25519Agreed = this.keySource === 'x25519';
    }
    const pending = this.initiator !== undefined && this.initiator.phase !== 'complete' ? this.imported : undefined;
    if (pending) {
      // Not resumed yet: the outbound stream is still exactly as imported. Keep the old server's
      // addresses too, so that a later taker deletes them whether or not our ASCONF got through.
      const ps = pending.sctp!;
      s.tsnMap = ps.tsnMap.map((r) => ({ ...r }));
      state.streamBytesSent = pending.streamBytesSent;
      state.streamBytesAcked = pending.streamBytesAcked;
      const mine = s.localAddresses;
      s.localAddresses = [...ps.localAddresses.filter((a) => !mine.some((m) => m.address === a.address)), ...mine];
      s.nextAsconfSerial = this.initiator!.sender.nextSerial;
      s.peerAsconfSerial = this.guard?.receiver.peerSerial ?? 0;
      state.takeoverNumber = this.initiator!.requestNumber ?? this.importedTakeoverNumber;
      return;
    }
    const emptySsn = this.resumedAt === undefined ? (state.streamBytesSent === 0 ? 0 : undefined) : this.resumedAt.tsn === this.host.outboundNextTsn ? this.resumedAt.ssn : undefined;
    s.tsnMap = withContinuation(s.tsnMap, this.host.outboundNextTsn, state.streamBytesSent, this.host.options, emptySsn);
    s.nextAsconfSerial = this.initiator?.sender.nextSerial ?? this.host.localInitialTsn;
    s.peerAsconfSerial = this.guard?.receiver.peerSerial ?? 0;
    state.takeoverNumber = this.initiator?.requestNumber ?? this.importedTakeoverNumber;
  }

  // ------------------------------------------------------------ takeover (new server)

  takeover(now: Instant, requestNumber: number, mode: ResumeMode = DEFAULT_RESUME_MODE): void {
    validateTakeoverNumber(requestNumber);
    if (!this.initiator) throw new LocalUsageError('takeover() needs an association built by importState()');
    if (!this.context) throw new LocalUsageError('takeover() needs AUTH: the exported state has no usable key vectors');
    this.apply(now, this.initiator.start(now, requestNumber, mode, this.host.primaryRto));
  }

  receiverState(): ReceiverState | undefined {
    return this.initiator?.receiver;
  }

  private apply(now: Instant, out: InitiatorOutput | undefined): void {
    if (out === undefined) return;
    switch (out.kind) {
      case 'send-asconf':
        this.host.queuePacket(out.destination, [out.chunk]);
        return;
      case 'send-probe': {
        // With the probe, a SACK of what we (from the state) hold of the client's data: a baton
        // client learns at once whether data it sent after the state was taken is missing here;
        // a standard one ignores a SACK below its ack point (RFC 9260 §6.2.1).
        const s = this.initiator!.setup.state;
        const sack: SackChunk = { type: 3, cumulativeTsnAck: s.peerCumulativeTsn, advertisedReceiverWindow: this.host.options.receiveWindow, gapBlocks: [], duplicateTsns: [] };
        this.host.queuePacket(out.destination, [sack, out.chunk]); // control chunks before DATA (RFC 9260 §6.10)
        return;
      }
      case 'failed':
        this.host.terminate(out.error);
        return;
      case 'stale-state':
        // The client took us as its server: tell it plainly instead of leaving it hanging.
        this.host.queuePacket(this.host.remote, [{ type: 6, reflectedTag: false, causes: [{ code: CauseCode.USER_INITIATED_ABORT, info: new TextEncoder().encode(out.reason) }] }]);
        this.host.terminate(out.error);
        return;
      case 'complete':
        // The plan's chunks start right after the client's cumulative TSN; then `next` follows.
        this.resumedAt = { tsn: tsnAdd(out.receiver.cumulativeAck, 1), ssn: out.chunks[0]?.ssn ?? out.next.ssn };
        this.host.resumeSending(this.resumedAt.tsn, this.resumedAt.ssn, out.chunks[0]?.offset ?? out.next.offset, out.chunks);
        this.host.pushEvent({ type: 'connected' });
        this.host.pushEvent({ type: 'takeover-complete', receiver: out.receiver });
        this.host.pushEvent({ type: 'state-changed' }); // new owner, takeover number, TSN map
        return;
    }
    void now;
  }

  // ------------------------------------------------------------ hooks the association calls

  /**
   * Before a packet's chunks are processed. 'consumed' when the agent answered it itself: a packet
   * from an address that is not the peer's once the association was taken over (OOTB → ABORT).
   */
  onPacket(now: Instant, from: UdpAddress, packet: Packet, raw: Uint8Array): 'consumed' | undefined {
    void now;
    const asconfIndex = packet.chunks.findIndex((c) => c.type === 0xc1);
    if (asconfIndex >= 0) {
      // Report a takeover ASCONF that fails authentication (the association then skips it).
      const ctx = this.context;
      const acceptable = ctx ? ctx.acceptable(raw).accept : [];
      if (!acceptable[asconfIndex]) {
        const c = packet.chunks[asconfIndex] as AsconfChunk;
        const t = 'params' in c ? c.params.find((p) => p.kind === 'baton-takeover') : undefined;
        this.count('asconf-unauthenticated');
        if (t?.kind === 'baton-takeover') {
          this.host.pushEvent({ type: 'takeover-refused', requestNumber: t.requestNumber, peer: from, reason: 'not-authenticated' });
          // Tell a baton taker at once (an ERROR needs no AUTH), instead of letting it time out.
          this.host.queuePacket(from, [{ type: 9, reflectedTag: false, causes: [notAuthenticatedCause(c.serial)] }]);
        }
      }
      return undefined;
    }
    if (this.host.pathIndex(from) >= 0) return undefined;
    if (!this.guard || this.guard.lastTakeover === 0) {
      // Not one of the association's addresses and no takeover to speak of: out of the blue for
      // this association (RFC 9260 §8.4 identifies associations by addresses), dropped silently so
      // a spoofed source cannot draw ABORTs at a third party.
      this.count('unknown-source');
      return 'consumed';
    }
    this.count('stranger');
    const abort = this.guard.refuseStranger(packet.chunks.map((c) => c.type));
    if (abort) this.host.queuePacket(from, [abort], packet.verificationTag);
    return 'consumed';
  }

  onAsconf(now: Instant, chunk: AsconfChunk | AsconfAckChunk, from: UdpAddress, authenticated: boolean): void {
    if (chunk.type === 0xc1) {
      if (!this.guard) return;
      const r = this.guard.handleAsconf(chunk, from, authenticated, this.table(from));
      for (const e of r.events) this.host.pushEvent(e);
      if (r.events.some((e) => e.type === 'taken-over')) this.ackPointAtTakeover = this.host.sender.cumulativeAck;
      if (r.ack) this.host.queuePacket(r.ack.destination, [r.ack.chunk]);
      return;
    }
    if (this.initiator && authenticated) this.apply(now, this.initiator.handleAsconfAck(now, chunk));
  }

  /**
   * True when the SACK is the taker's business (probing, or not yet resumed). After resuming, a
   * SACK may acknowledge TSNs of the replay region the taker has not re-sent yet (the client held
   * them, or got them from the old server): those parts are clipped until the TSNs are sent again.
   */
  onSack(now: Instant, sack: SackChunk): boolean | SackChunk {
    const i = this.initiator;
    if (!i) return this.checkTakerCaughtUp(sack);
    if (i.phase !== 'complete') {
      if (i.phase === 'probing') this.apply(now, i.handleSack(sack));
      return true;
    }
    return clipSack(sack, this.host.outboundNextTsn);
  }

  /**
   * Client side, after a takeover: a SACK from the new server whose cumulative TSN is below what
   * the old server had acknowledged means the exported state predates data this side sent; that
   * data reached the old server's application only and is lost for the new one. Stop with a clear
   * error rather than carry on with a hole (RFC 9260 would just ignore such a SACK).
   */
  private checkTakerCaughtUp(sack: SackChunk): boolean {
    const mark = this.ackPointAtTakeover;
    if (mark === undefined || !tsnLt(sack.cumulativeTsnAck, mark)) return false;
    const reason = `baton: the server that took over (request ${this.guard?.lastTakeover}) lacks data this side sent before the takeover: it acknowledges TSN ${sack.cumulativeTsnAck >>> 0}, the old server had acknowledged up to ${mark}`;
    this.count('taker-behind');
    this.host.queuePacket(this.host.remote, [{ type: 6, reflectedTag: false, causes: [{ code: CauseCode.USER_INITIATED_ABORT, info: new TextEncoder().encode(reason) }] }]);
    this.host.terminate(new TransportError('BATON_ERR_PROTOCOL', reason, CauseCode.USER_INITIATED_ABORT));
    return true;
  }

  /** ERROR causes: a baton client that could not authenticate our takeover ASCONF. */
  onErrorCauses(now: Instant, causes: readonly ErrorCause[]): void {
    const i = this.initiator;
    const outstanding = i?.sender.outstanding;
    if (!i || i.phase !== 'asconf-sent' || !outstanding) return;
    if (!causes.some((c) => isNotAuthenticatedFor(c, outstanding.chunk.serial))) return;
    i.phase = 'rejected';
    this.host.terminate(new TransportError('BATON_ERR_TAKEOVER_REJECTED', `the client could not authenticate takeover request ${i.requestNumber} (wrong key)`, CauseCode.REQUEST_REFUSED_NO_AUTHORIZATION));
    void now;
  }

  abortError(causes: readonly ErrorCause[]): TransportError | undefined {
    const e = abortError({ type: 6, reflectedTag: false, causes });
    return e.code === 'BATON_ERR_TAKEN_OVER' ? e : undefined;
  }

  pollTimeout(): Instant | undefined {
    return this.initiator?.deadline;
  }

  handleTimeout(now: Instant): void {
    const d = this.initiator?.deadline;
    if (d !== undefined && d <= now) this.apply(now, this.initiator!.handleTimeout(now));
  }

  /** The association's paths as RFC 5061 sees them; addresses from an ASCONF's source are confirmed. */
  private table(source: UdpAddress): PeerAddressTable {
    const h = this.host;
    const byIp = (ip: string) => h.paths.find((p) => p.address.address === ip)?.address;
    return {
      list: () => h.paths.map((p) => p.address),
      get size() {
        return h.paths.length;
      },
      get primary() {
        return h.paths[h.primary]!.address;
      },
      find: byIp,
      has: (ip) => byIp(ip) !== undefined,
      add: (a) => {
        if (byIp(a.address) !== undefined) return false;
        h.addPeerAddress(a, a.address === source.address);
        return true;
      },
      remove: (ip) => {
        const a = byIp(ip);
        return a !== undefined && h.removePeerAddress(a);
      },
      setPrimary: (ip) => {
        const a = byIp(ip);
        return a !== undefined && h.setPrimary(a);
      },
    };
  }
}

/**
 * The exported map ends with an open run: when the owner's last run is closed (its queue ran dry)
 * or there is none yet, append the run its next chunks will form. Exporting turns the byte-stream
 * cork on (SendQueue.corkMs), so from now on the owner sends full-size chunks while it is fed; a
 * short chunk after an idle cork delay changes the map and raises 'state-changed' (re-export).
 * A taker holding this state can then place every later TSN.
 */
export function withContinuation(
  runs: TsnRun[],
  nextTsn: number,
  chunkedOffset: number,
  options: { readonly mode: string; readonly chunkSize: number },
  /** SSN of the next chunk when there are no runs (0 for a fresh association), undefined if unknown. */
  emptySsn: number | undefined,
): TsnRun[] {
  if (options.mode !== 'stream') return runs;
  const last = runs[runs.length - 1];
  if (last !== undefined && last.tsnCount === 0) return runs;
  if (last === undefined && emptySsn === undefined) return runs;
  const ssn = last === undefined ? emptySsn! : (last.firstSsn + last.tsnCount) & 0xffff;
  // Replaying after a takeover (chunk sizes not yet known to the map): leave the map as it is.
  if (last !== undefined && (tsnAdd(last.firstTsn, last.tsnCount) !== nextTsn >>> 0 || last.streamOffset + last.tsnCount * last.bytesPerTsn !== chunkedOffset)) return runs;
  return [...runs, { firstTsn: nextTsn >>> 0, streamOffset: chunkedOffset, bytesPerTsn: options.chunkSize, tsnCount: 0, streamId: 0, firstSsn: ssn }];
}

/** A SACK restricted to TSNs below `nextTsn` (the original when nothing needs clipping). */
export function clipSack(sack: SackChunk, nextTsn: number): SackChunk {
  const last = tsnAdd(nextTsn, -1);
  const cum = sack.cumulativeTsnAck;
  if (tsnLt(last, cum)) return { ...sack, cumulativeTsnAck: last, gapBlocks: [] };
  const room = tsnDiff(last, cum);
  if (sack.gapBlocks.every((g) => g.end <= room)) return sack;
  const gapBlocks = sack.gapBlocks.filter((g) => g.start <= room).map((g) => ({ start: g.start, end: Math.min(g.end, room) }));
  return { ...sack, gapBlocks };
}

/** The x25519 parameter for an INIT-ACK the endpoint builds statelessly (our tag, our RANDOM). */
export function initAckParams(secret: Uint8Array, localTag: number, localRandom: Uint8Array): Param[] {
  return [x25519Param(responderKeyPair(secret, localTag, localRandom).publicKey)];
}

/**
 * Which AUTH endpoint-pair key an association uses: 'x25519' (both sides are baton), or
 * 'rfc4895-default' (a standard peer: RFC 4895's empty key); undefined when AUTH is not in use.
 */
export function authKeySource(a: { hooks: unknown }): KeySource | undefined {
  const agent = a.hooks;
  return agent instanceof TakeoverAgent && agent.context !== undefined ? agent.keySource : undefined;
}
