// SCTP's takeover, AUTH and x25519 as one plain module, in the shape of TCP-Migrate's migrate.ts:
// the association holds a TakeoverState (plain data, `a.takeoverState`; the endpoint gives one to every
// association it creates: connect, accepted COOKIE ECHO, importState) and calls these functions
// at a few fixed points of its input, output, timers and export, passing itself.
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
import { isWildcard, type PeerAddressTable } from '../addip/addresses.js';
import { AuthContext, authContextFromVectors, authParamsFrom, parseKeyVector, unsupportedHmacCause } from './auth.js';
import type { SctpAssociation } from './association.js';
import { canonicalSalt, endpointKeyPair, endpointPairKey, peerPublicKeyFrom, x25519Param, type KeySource, type X25519KeyPair } from './x25519.js';
import { TakeoverGuard, TakeoverInitiator, abortError, type InitiatorOutput } from './takeover.js';
import { CauseCode, type AsconfAckChunk, type AsconfChunk, type Chunk, type ErrorCause, type Packet, type Param, type SackChunk } from './wire/types.js';
import { isNotAuthenticatedFor, notAuthenticatedCause, takenOverBy } from '../addip/causes.js';
import { isIllegalAsconfAck } from '../addip/sender.js';
import type { PeerInit } from './handshake.js';
import { tsnAdd, tsnDiff, tsnLt } from './serial.js';
import { afterSack, continueStreams, prActive } from './pr-sctp.js';
import { clientKey, resendsRequest, pendingRekey, rekeyParam, takerPublicKeyOf, type PreviousKey } from './rekey.js';
import { GroupKeepalive, isKeepaliveAnswer, keepaliveTargets } from '../addip/keepalive.js';

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

/** The takeover / AUTH state of one association. */
export class TakeoverState {
  auth: AuthAdapter | undefined;
  context: AuthContext | undefined;
  keySource: KeySource = 'rfc4895-default';
  guard: TakeoverGuard | undefined;
  initiator: TakeoverInitiator | undefined;
  /** Takeover number of the imported state (the next taker uses this + 1). */
  importedTakeoverNumber = 0;
  /** The state we were built from (importState), for exports before our takeover completes. */
  imported: TransportState | undefined;
  /** Datagrams refused by the takeover rules, by reason (for tests and diagnostics). */
  readonly refused = new Map<string, number>();
  /** Client side: our outbound cumulative ack point when we accepted the last takeover. */
  ackPointAtTakeover: number | undefined;
  /** Where the outbound stream resumed after our takeover (for exports before the next chunk). */
  resumedAt: { tsn: number; ssn: number } | undefined;
  /** The peer's x25519 public key (its INIT / INIT-ACK, or the imported state): takers re-key with it (rekey.ts). */
  peerPublicKey: Uint8Array | undefined;
  /** Taker: the AUTH context of K' while our re-keying takeover request is outstanding (rekey.ts). */
  pendingRekey: AuthContext | undefined;
  /** Client: the AUTH context before the last re-keying takeover (rekey.ts). */
  previousKey: PreviousKey | undefined;
  /** The other context that authenticated the packet being processed (undefined: the current one). */
  verifiedBy: AuthContext | undefined;
  /**
   * Taker: the client's latest SACK that clipSack cut down (it acknowledged replay TSNs not made
   * yet), and our next TSN then. Replayed once those TSNs exist (afterFill): a held chunk is never
   * sent, so the client would never acknowledge it again.
   */
  clipped: { sack: SackChunk; nextTsn: number } | undefined;
  /** Client: keepalives toward the addresses a takeover deleted (src/addip/keepalive.ts). */
  readonly keepalive = new GroupKeepalive();

  constructor(
    /** The endpoint secret our INIT-ACK key pair derives from. */
    readonly secret: Uint8Array,
    readonly role: Role,
  ) {}
}


function count(a: SctpAssociation, reason: string): void {
  const t = a.takeoverState!;
  t.refused.set(reason, (t.refused.get(reason) ?? 0) + 1);
}

/** Our x25519 key pair: the endpoint's, a function of its secret (x25519.ts endpointKeyPair). */
function ownKeyPair(a: SctpAssociation): X25519KeyPair {
  return endpointKeyPair(a.takeoverState!.secret);
}

// ------------------------------------------------------------ handshake

/** Extra parameters for our INIT (the INIT-ACK's come from initAckParams on the endpoint). */
export function initParams(a: SctpAssociation): Param[] {
  return [x25519Param(ownKeyPair(a).publicKey)];
}

/** The peer's INIT / INIT-ACK is known: build AUTH with the endpoint-pair key in force. */
export function onPeerInit(a: SctpAssociation, peer: PeerInit): void {
  const t = a.takeoverState!;
  t.guard = new TakeoverGuard(tsnAdd(peer.initialTsn, -1));
  const local = parseKeyVector(a.localKeyVector);
  const remote = authParamsFrom(peer.params);
  if (local === undefined || remote === undefined) return; // no AUTH with this peer
  const salt = canonicalSalt({ tag: a.localTag, random: local.random }, { tag: peer.tag, random: remote.random });
  const peerPublic = peerPublicKeyFrom(peer.params);
  t.peerPublicKey = peerPublic?.slice();
  const epk = endpointPairKey(ownKeyPair(a), peerPublic, salt);
  try {
    useContext(a, new AuthContext(local, remote, epk.key, 0, a.localKeyVector, a.peerKeyVector), epk.keySource);
  } catch {
    // no HMAC in common: AUTH stays off, ASCONFs will be refused as unauthenticated
  }
}

function useContext(a: SctpAssociation, ctx: AuthContext, source: KeySource): void {
  const t = a.takeoverState!;
  t.context = ctx;
  t.keySource = source;
  t.auth = {
    needsAuth: (type) => ctx.needsAuth(type),
    authChunkLength: ctx.authChunkLength,
    writeAuthChunk: (p, o) => ctx.writeAuthChunk(p, o),
    sign: (p, o) => ctx.sign(p, o),
    requiredOnReceive: (type) => ctx.mustBeAuthenticated(type),
    verify: (raw, packet) => {
      const v = ctx.verify(raw);
      t.verifiedBy = undefined;
      if (!v.ok) {
        const alt = alternativeContext(a, packet);
        if (alt?.verify(raw).ok === true) {
          t.verifiedBy = alt;
          return true;
        }
      }
      if (!v.ok && v.reason === 'unsupported-hmac' && v.hmacId !== undefined) {
        // RFC 4895 §6.3: report an HMAC identifier we did not offer.
        a.queuePacket(a.remote, [{ type: 9, reflectedTag: false, causes: [unsupportedHmacCause(v.hmacId)] }]);
      }
      if (!v.ok) count(a, `auth-${v.reason}`);
      return v.ok;
    },
  };
}

// ------------------------------------------------------------ import / export

/** Preload from exported state (importState): AUTH from the vectors, serials, the initiator. */
export function importFrom(a: SctpAssociation, state: TransportState): void {
  const t = a.takeoverState!;
  const s = state.sctp!;
  const ctx = authContextFromVectors(s.localKeyVector, s.peerKeyVector, s.endpointPairKey, s.sharedKeyId);
  if (ctx !== undefined) useContext(a, ctx, s.x25519Agreed ? 'x25519' : 'rfc4895-default');
  t.guard = new TakeoverGuard(s.peerAsconfSerial);
  t.peerPublicKey = s.peerX25519Key?.slice();
  t.importedTakeoverNumber = state.takeoverNumber;
  t.imported = state;
  // An unanswered takeover gives up like any unanswered retransmission (bounds.ts): after
  // Association.Max.Retrans, backing off up to RTO.Max, with BATON_ERR_TIMEOUT.
  t.initiator = new TakeoverInitiator({
    state: s,
    streamBytesAcked: state.streamBytesAcked,
    streamBytesSent: state.streamBytesSent,
    newAddress: a.local,
    client: a.remote,
    bundleProbe: s.x25519Agreed, // a baton client (x25519 agreed): the probe rides with the ASCONF
    initialWindow: Math.min(4 * a.options.mtu, Math.max(2 * a.options.mtu, 4380)),
    ppid: a.options.ppid,
    maxChunk: a.options.chunkSize,
    messages: a.options.mode === 'message',
    forwardTsn: prActive(a),
    maxRetransmissions: a.options.associationMaxRetrans,
    rtoMax: a.options.rto.max,
  });
}

export function exportInto(a: SctpAssociation, state: TransportState): void {
  const t = a.takeoverState!;
  const s = state.sctp;
  if (!s) return;
  const ctx = t.context;
  if (ctx) {
    s.endpointPairKey = ctx.endpointPairKey;
    s.hmacId = ctx.sendHmacId;
    s.sharedKeyId = ctx.sharedKeyId;
    s.x25519Agreed = t.keySource === 'x25519';
  }
  if (t.peerPublicKey !== undefined && t.peerPublicKey.length > 0) s.peerX25519Key = t.peerPublicKey.slice();
  const pending = t.initiator !== undefined && t.initiator.phase !== 'complete' ? t.imported : undefined;
  if (pending) {
    // Not resumed yet: the outbound stream is still exactly as imported. Keep the old server's
    // addresses too, so that a later taker deletes them whether or not our ASCONF got through.
    const ps = pending.sctp!;
    s.tsnMap = ps.tsnMap.map((r) => ({ ...r }));
    state.streamBytesSent = pending.streamBytesSent;
    state.streamBytesAcked = pending.streamBytesAcked;
    const mine = s.localAddresses;
    s.localAddresses = [...ps.localAddresses.filter((a) => !mine.some((m) => m.address === a.address)), ...mine];
    s.nextAsconfSerial = t.initiator!.sender.nextSerial;
    s.peerAsconfSerial = t.guard?.receiver.peerSerial ?? 0;
    state.takeoverNumber = t.initiator!.requestNumber ?? t.importedTakeoverNumber;
    if (ps.outboundSsns !== undefined) s.outboundSsns = { nextTsn: ps.outboundSsns.nextTsn, nextSsn: [...ps.outboundSsns.nextSsn] };
    else delete s.outboundSsns;
    return;
  }
  const emptySsn = t.resumedAt === undefined ? (state.streamBytesSent === 0 ? 0 : undefined) : t.resumedAt.tsn === a.outboundNextTsn ? t.resumedAt.ssn : undefined;
  // The continuation starts after every recorded chunk, a short one the export barrier holds too.
  const end = a.sender.queue.mappedEnd;
  // The continuation is cut as the queue cuts now (path MTU discovery may have changed the size).
  s.tsnMap = withContinuation(s.tsnMap, end.tsn, end.offset, { mode: a.options.mode, chunkSize: a.sender.queue.chunkSize }, emptySsn);
  s.nextAsconfSerial = t.initiator?.sender.nextSerial ?? a.localInitialTsn;
  s.peerAsconfSerial = t.guard?.receiver.peerSerial ?? 0;
  state.takeoverNumber = t.initiator?.requestNumber ?? t.importedTakeoverNumber;
}

// ------------------------------------------------------------ takeover (new server)

export function takeover(a: SctpAssociation, now: Instant, requestNumber: number, mode: ResumeMode = DEFAULT_RESUME_MODE, resumeFrom?: Uint8Array, resumeAt?: number): void {
  const t = a.takeoverState!;
  validateTakeoverNumber(requestNumber);
  if (!t.initiator) throw new LocalUsageError('takeover() needs an association built by importState()');
  if (!t.context) throw new LocalUsageError('takeover() needs AUTH: the exported state has no usable key vectors');
  // The client accepts a takeover only from the address its ASCONF adds (a relay defence, see
  // addip/receiver.ts): a wildcard local address would add "the packet's source", which binds
  // nothing, and is refused. Behind a NAT the taker must use the address the client sees.
  if (isWildcard(a.local.address)) throw new LocalUsageError(`takeover() needs a specific local address, not ${a.local.address}: the client accepts a takeover only from the address it adds`);
  const rekey = pendingRekey(a.options.random, t.context.endpointPairKey, requestNumber, t.peerPublicKey);
  if (rekey) t.pendingRekey = rekeyedContext(a, t.context, rekey.key);
  apply(a, now, t.initiator.start(now, requestNumber, mode, a.primaryRto, resumeFrom, rekey ? [rekeyParam(rekey.publicKey)] : [], resumeAt));
}

export function receiverState(a: SctpAssociation): ReceiverState | undefined {
  const t = a.takeoverState!;
  return t.initiator?.receiver;
}

function apply(a: SctpAssociation, now: Instant, out: InitiatorOutput | undefined): void {
  const t = a.takeoverState!;
  if (out === undefined) return;
  switch (out.kind) {
    case 'send-asconf':
      a.queuePacket(out.destination, out.probe ? [out.chunk, probeSack(a), out.probe] : [out.chunk]);
      // The blind resume, once. It reaches the client after it accepted the request and switched
      // to K' (rekey.ts), and DATA is under AUTH (a baton client lists it): signed under K it
      // would be dropped as unauthenticated. Before acceptance K' fails there too: dropped, as
      // any blind chunk the client cannot take yet.
      underContext(a, t.pendingRekey, () => {
        for (const c of out.blind ?? []) a.queuePacket(out.destination, [c]);
      });
      return;
    case 'send-probe':
      a.queuePacket(out.destination, [probeSack(a), out.chunk]); // control chunks before DATA (RFC 9260 §6.10)
      return;
    case 'failed':
      a.terminate(out.error);
      return;
    case 'stale-state':
      // The client took us as its server: tell it plainly instead of leaving it hanging.
      a.queuePacket(a.remote, [{ type: 6, reflectedTag: false, causes: [{ code: CauseCode.USER_INITIATED_ABORT, info: new TextEncoder().encode(out.reason) }] }]);
      a.terminate(out.error);
      return;
    case 'complete':
      // The plan's chunks start right after the client's cumulative TSN; then `next` follows.
      t.resumedAt = { tsn: out.chunks[0]?.tsn ?? out.next.tsn, ssn: out.chunks[0]?.ssn ?? out.next.ssn };
      a.resumeSending(t.resumedAt.tsn, t.resumedAt.ssn, out.chunks[0]?.offset ?? out.next.offset, out.chunks);
      if (out.messages !== undefined) continueStreams(a, out.messages); // message mode: SSNs, fillers
      // Message mode: the holes the old server left below the resume point are skipped (PR-SCTP).
      afterSack(a, out.receiver.cumulativeAck, now);
      a.pushEvent({ type: 'connected' });
      a.pushEvent({ type: 'takeover-complete', receiver: out.receiver });
      a.pushEvent({ type: 'state-changed' }); // new owner, takeover number, TSN map
      return;
  }
  void now;
}

/**
 * Sent with the probe: a SACK of what we (from the state) hold of the client's data, so a baton
 * client learns at once whether data it sent after the state was taken is missing here; a
 * standard one ignores a SACK below its ack point (RFC 9260 §6.2.1).
 */
function probeSack(a: SctpAssociation): SackChunk {
  const s = a.takeoverState!.initiator!.setup.state;
  return { type: 3, cumulativeTsnAck: s.peerCumulativeTsn, advertisedReceiverWindow: a.options.receiveWindow, gapBlocks: [], duplicateTsns: [] };
}

// ------------------------------------------------------------ hooks the association calls

/**
 * Before a packet's chunks are processed. 'consumed' when the agent answered it itself: a packet
 * from an address that is not the peer's once the association was taken over (OOTB → ABORT).
 */
export function onPacket(a: SctpAssociation, now: Instant, from: UdpAddress, packet: Packet, raw: Uint8Array): 'consumed' | undefined {
  const t = a.takeoverState!;
  void now;
  const asconfIndex = packet.chunks.findIndex((c) => c.type === 0xc1);
  if (asconfIndex >= 0) {
    // Report a takeover ASCONF that fails authentication (the association then skips it).
    const ctx = t.context;
    const acceptable = ctx ? ctx.acceptable(raw).accept : [];
    if (!acceptable[asconfIndex]) acceptable[asconfIndex] = alternativeContext(a, packet)?.acceptable(raw).accept[asconfIndex] === true;
    if (!acceptable[asconfIndex]) {
      const c = packet.chunks[asconfIndex] as AsconfChunk;
      const t = 'params' in c ? c.params.find((p) => p.kind === 'baton-takeover') : undefined;
      count(a, 'asconf-unauthenticated');
      if (t?.kind === 'baton-takeover') {
        a.pushEvent({ type: 'takeover-refused', requestNumber: t.requestNumber, peer: from, reason: 'not-authenticated' });
        // Tell a baton taker at once (an ERROR needs no AUTH), instead of letting it time out.
        a.queuePacket(from, [{ type: 9, reflectedTag: false, causes: [notAuthenticatedCause(c.serial)] }]);
      }
    }
    return undefined;
  }
  if (a.pathIndex(from) >= 0) return undefined;
  if (t.guard !== undefined && t.guard.lastTakeover !== 0 && isKeepaliveAnswer(packet.chunks.map((c) => c.type)) && a.formerPeerAddresses.some((x) => x.address === from.address)) {
    t.keepalive.answered++; // a member's answer to our keepalive: taken, and nothing more
    return 'consumed';
  }
  if (!t.guard || t.guard.lastTakeover === 0) {
    // Not one of the association's addresses and no takeover to speak of: out of the blue for
    // this association (RFC 9260 §8.4 identifies associations by addresses), dropped silently so
    // a spoofed source cannot draw ABORTs at a third party.
    count(a, 'unknown-source');
    return 'consumed';
  }
  count(a, 'stranger');
  const abort = t.guard.refuseStranger(packet.chunks.map((c) => c.type));
  if (abort) a.queuePacket(from, [abort], packet.verificationTag);
  return 'consumed';
}

export function onAsconf(a: SctpAssociation, now: Instant, chunk: AsconfChunk | AsconfAckChunk, from: UdpAddress, authenticated: boolean): void {
  const t = a.takeoverState!;
  if (chunk.type === 0xc1) {
    if (!t.guard) return;
    const r = t.guard.handleAsconf(chunk, from, authenticated, table(a, from));
    for (const e of r.events) a.pushEvent(e);
    if (r.events.some((e) => e.type === 'taken-over')) {
      t.ackPointAtTakeover = a.sender.cumulativeAck;
      t.keepalive.start(now, a.options.heartbeatInterval);
    }
    // The answer goes under the key the request came with: a resent re-keying request or a loser
    // of its race signed with the previous key, and could not read an answer under K'.
    if (r.ack) underContext(a, t.verifiedBy, () => a.queuePacket(r.ack!.destination, [r.ack!.chunk]));
    const accepted = r.events.find((e) => e.type === 'taken-over');
    if (accepted?.type === 'taken-over') rekeyAccepted(a, chunk, accepted.requestNumber);
    return;
  }
  if (!authenticated) return;
  // Our ASCONF serials start at our Initial TSN (RFC 5061 §4.1); only an imported association
  // has ever sent one.
  const sender = t.initiator?.sender;
  if (isIllegalAsconfAck(chunk.serial, sender?.nextSerial ?? a.localInitialTsn, sender?.outstanding !== undefined)) {
    count(a, 'illegal-asconf-ack');
    a.protocolViolation(CauseCode.ASSOCIATION_ABORTED_ILLEGAL_ASCONF_ACK, `illegal ASCONF-ACK: serial ${chunk.serial >>> 0} was never sent (RFC 5061 §5.3)`, new Uint8Array(0));
    return;
  }
  if (t.initiator) apply(a, now, t.initiator.handleAsconfAck(now, chunk));
  const phase = t.initiator?.phase;
  if (t.pendingRekey !== undefined && (phase === 'probing' || phase === 'complete')) {
    useContext(a, t.pendingRekey, t.keySource); // the client switched to K' when it accepted
    t.pendingRekey = undefined;
  }
}

// ------------------------------------------------------------ re-keying (rekey.ts)

/** The other key a packet may be signed with: K' while our request is out, or K for its own retransmission. */
function alternativeContext(a: SctpAssociation, packet: Packet): AuthContext | undefined {
  const t = a.takeoverState!;
  if (t.pendingRekey !== undefined) return t.pendingRekey;
  const p = t.previousKey;
  return p !== undefined && resendsRequest(packet, p) ? p.context : undefined;
}

function underContext(a: SctpAssociation, ctx: AuthContext | undefined, send: () => void): void {
  const t = a.takeoverState!;
  const current = t.context;
  if (ctx === undefined || current === undefined) return send();
  useContext(a, ctx, t.keySource);
  send();
  useContext(a, current, t.keySource);
}

function rekeyedContext(a: SctpAssociation, ctx: AuthContext, key: Uint8Array): AuthContext {
  return new AuthContext(ctx.local, ctx.peer, key, ctx.sharedKeyId, a.localKeyVector, a.peerKeyVector);
}

/** Client: a takeover carrying the taker's E was accepted; switch to K' (the ACK went under K). */
function rekeyAccepted(a: SctpAssociation, asconf: AsconfChunk, requestNumber: number): void {
  const t = a.takeoverState!;
  const e = takerPublicKeyOf(asconf);
  const ctx = t.context;
  if (e === undefined || ctx === undefined) return;
  const key = clientKey(ctx.endpointPairKey, requestNumber, ownKeyPair(a).privateKey, e);
  if (key === undefined) return count(a, 'rekey-invalid-key');
  t.previousKey = { context: ctx, serial: asconf.serial, requestNumber };
  useContext(a, rekeyedContext(a, ctx, key), t.keySource);
}

/**
 * True when the SACK is the taker's business (probing, or not yet resumed). After resuming, a
 * SACK may acknowledge TSNs of the replay region the taker has not re-sent yet (the client held
 * them, or got them from the old server): those parts are clipped until the TSNs are sent again.
 */
export function onSack(a: SctpAssociation, now: Instant, sack: SackChunk): boolean | SackChunk {
  const t = a.takeoverState!;
  const i = t.initiator;
  if (!i) return checkTakerCaughtUp(a, sack);
  if (i.phase !== 'complete') {
    if (i.phase === 'probing' || i.phase === 'asconf-sent') apply(a, now, i.handleSack(sack));
    return true;
  }
  const next = a.outboundNextTsn;
  const clipped = clipSack(sack, next);
  const kept = t.clipped?.sack.cumulativeTsnAck;
  if (kept === undefined || !tsnLt(sack.cumulativeTsnAck, kept)) t.clipped = clipped === sack ? undefined : { sack, nextTsn: next };
  return clipped;
}

/**
 * Taker, after the sender made new chunks: the client's SACK that was clipped before they existed,
 * to be processed again now (undefined when there is none or no new TSN since). Without it a held
 * chunk the client acknowledged early stays outstanding, never sent, with no timer to draw a SACK.
 */
export function afterFill(a: SctpAssociation): SackChunk | undefined {
  const t = a.takeoverState!;
  const c = t.clipped;
  if (c === undefined || c.nextTsn === a.outboundNextTsn) return undefined;
  if (tsnLt(c.sack.cumulativeTsnAck, a.sender.cumulativeAck)) {
    t.clipped = undefined; // superseded
    return undefined;
  }
  // The window is the client's latest, not the stale SACK's.
  return { ...c.sack, advertisedReceiverWindow: a.sender.peerAdvertised, duplicateTsns: [] };
}

/**
 * Client side, after a takeover: a SACK from the new server whose cumulative TSN is below what
 * the old server had acknowledged means the old server acknowledged data its exported state does
 * not describe; that data reached the old server's application only and is lost for the new one.
 * Stop with a clear error rather than carry on with a hole (RFC 9260 would just ignore such a SACK).
 *
 * The rule that keeps this from happening (transport.ts setAcknowledgeLimit): a server that
 * exports holds its acknowledgement at the exported point until it exports again, so nothing it
 * acknowledged is missing at a taker holding its latest state. Data sent after that point is
 * still unacknowledged here: the taker's SACK (the exported peer cumulative TSN) equals the old
 * server's, and this side resends the rest to the taker, which accepts it as new.
 */
function checkTakerCaughtUp(a: SctpAssociation, sack: SackChunk): boolean {
  const t = a.takeoverState!;
  const mark = t.ackPointAtTakeover;
  if (mark === undefined || !tsnLt(sack.cumulativeTsnAck, mark)) return false;
  // PR-SCTP: that data reached the old server only; a FORWARD-TSN (pr-sctp.ts afterSack) tells the
  // taker to skip it, and the association carries on.
  if (prActive(a)) return false;
  const reason = `baton: the server that took over (request ${t.guard?.lastTakeover}) lacks data this side sent before the takeover: it acknowledges TSN ${sack.cumulativeTsnAck >>> 0}, the old server had acknowledged up to ${mark} (it acknowledged beyond the state it exported: no acknowledge limit, or a state older than its limit)`;
  count(a, 'taker-behind');
  a.queuePacket(a.remote, [{ type: 6, reflectedTag: false, causes: [{ code: CauseCode.USER_INITIATED_ABORT, info: new TextEncoder().encode(reason) }] }]);
  a.terminate(new TransportError('BATON_ERR_PROTOCOL', reason, CauseCode.USER_INITIATED_ABORT));
  return true;
}

/** ERROR causes: a baton client that could not authenticate our takeover ASCONF. */
export function onErrorCauses(a: SctpAssociation, now: Instant, causes: readonly ErrorCause[]): void {
  const t = a.takeoverState!;
  const i = t.initiator;
  const outstanding = i?.sender.outstanding;
  if (!i || i.phase !== 'asconf-sent' || !outstanding) return;
  if (!causes.some((c) => isNotAuthenticatedFor(c, outstanding.chunk.serial))) return;
  i.phase = 'rejected';
  a.terminate(new TransportError('BATON_ERR_TAKEOVER_REJECTED', `the client could not authenticate takeover request ${i.requestNumber} (wrong key)`, CauseCode.REQUEST_REFUSED_NO_AUTHORIZATION));
  void now;
}

/**
 * Taker, takeover not yet answered: an ABORT naming a takeover older than ours is the client's
 * answer to a blind-resume packet that overtook our ASCONF (or outlived its loss): the client has
 * not seen our request yet, so the ABORT is not for us. Ignored (counted); the ASCONF is resent
 * by its timer.
 */
export function abortPrecedesOurRequest(a: SctpAssociation, causes: readonly ErrorCause[]): boolean {
  const i = a.takeoverState?.initiator;
  if (i === undefined || i.phase !== 'asconf-sent' || i.requestNumber === undefined) return false;
  const n = takenOverBy(causes);
  if (n === undefined || !tsnLt(n, i.requestNumber)) return false;
  count(a, 'abort-before-our-asconf');
  return true;
}

/** An ABORT's causes that mean something else than a plain abort (taken over). */
export function takenOverError(causes: readonly ErrorCause[]): TransportError | undefined {
  const e = abortError({ type: 6, reflectedTag: false, causes });
  return e.code === 'BATON_ERR_TAKEN_OVER' ? e : undefined;
}

export function pollTimeout(a: SctpAssociation): Instant | undefined {
  const t = a.takeoverState!;
  const d = t.initiator?.deadline;
  const k = a.closed ? undefined : t.keepalive.deadline; // keepalives end with the association
  return d === undefined ? k : k === undefined ? d : Math.min(d, k);
}

export function handleTimeout(a: SctpAssociation, now: Instant): void {
  const t = a.takeoverState!;
  const d = t.initiator?.deadline;
  if (d !== undefined && d <= now) apply(a, now, t.initiator!.handleTimeout(now));
  const targets = keepaliveTargets(a.formerPeerAddresses, a.paths.map((p) => p.address));
  for (const k of t.keepalive.due(now, a.options.heartbeatInterval, targets)) a.queuePacket(k.to, [{ type: 4, info: k.info }]);
}

/** The association's paths as RFC 5061 sees them; addresses from an ASCONF's source are confirmed. */
function table(a: SctpAssociation, source: UdpAddress): PeerAddressTable {
  const h = a;
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

/**
 * The exported map ends with an open run: when the owner's last run is closed (its queue ran dry)
 * or there is none yet, append the run its next chunks will form. Exporting turns the byte-stream
 * cork on (SendQueue.corkMs), so from now on the owner sends full-size chunks while it is fed; a
 * short chunk after an idle cork delay changes the map and raises 'state-changed' (re-export);
 * under the export barrier (transport.ts) it is sent only once a re-export mapping it is
 * confirmed. A taker holding the latest confirmed state can then place every TSN the client holds.
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

/** The x25519 parameter for an INIT-ACK the endpoint builds statelessly (the endpoint's key: no scalar multiplication per INIT). */
export function initAckParams(secret: Uint8Array): Param[] {
  return [x25519Param(endpointKeyPair(secret).publicKey)];
}

/**
 * Which AUTH endpoint-pair key an association uses: 'x25519' (both sides are baton), or
 * 'rfc4895-default' (a standard peer: RFC 4895's empty key); undefined when AUTH is not in use.
 */
export function authKeySource(a: SctpAssociation): KeySource | undefined {
  return a.takeoverState?.context !== undefined ? a.takeoverState.keySource : undefined;
}
