// SctpAssociation: association set-up (RFC 9260 §5) — our INIT, the peer's INIT ACK and our COOKIE
// ECHO, INITs for an existing association (collision, restart §5.2.2) and the COOKIE ECHO cases
// A-D of §5.2.4. The INIT / INIT ACK parameter codecs are in ../handshake.ts.
import type { UdpAddress } from '../../transport-abstraction/address.js';
import type { Instant } from '../../transport-abstraction/transport.js';
import type { SctpAssociation } from '../association.js';
import type { CookieContents } from '../cookie.js';
import { offerParams, type PeerInit } from '../handshake.js';
import { inScope } from '../path.js';
import { Receiver } from '../receiver.js';
import { Timer } from '../timers.js';
import { concat } from '../wire/bytes.js';
import { emitParam } from '../wire/params.js';
import { CauseCode, ParamType, type Chunk, type InitChunk, type Packet, type Param } from '../wire/types.js';
import { packetBytes } from './output.js';
import * as takeover from '../takeover-hooks.js';
import { supervisePaths } from './timers.js';

export function sendInit(a: SctpAssociation, now: Instant): void {
  const o = a.options;
  const ips = a.host.addresses.length > 1 ? a.host.addresses.map((x) => x.address) : [];
  const params: Param[] = offerParams(a.localRandom, ips, [...(o.extraInitParams?.('init') ?? []), ...(a.takeoverState ? takeover.initParams(a) : [])], o.advertiseAuth, o.authChunks);
  if (a.cookiePreservative > 0) params.push({ type: ParamType.COOKIE_PRESERVATIVE, kind: 'cookie-preservative', increment: a.cookiePreservative });
  const init: InitChunk = {
    type: 1,
    initiateTag: a.localTag,
    advertisedReceiverWindow: o.receiveWindow,
    outboundStreams: o.outboundStreams,
    inboundStreams: o.inboundStreams,
    initialTsn: a.localInitialTsn,
    params,
  };
  a.initPacket = packetBytes(a, [init], 0);
  a.outbox.push({ source: a.local, destination: a.remote, payload: a.initPacket });
  a.timers.set(Timer.T1_INIT, now + a.paths[0]!.rto.rto);
}

/** Learn the peer's INIT / INIT ACK values. */
export function learnPeer(a: SctpAssociation, peer: PeerInit, from: UdpAddress): void {
  a.peerTag = peer.tag;
  a.peerInitialTsn = peer.initialTsn;
  a.outboundStreams = Math.min(a.options.outboundStreams, peer.inboundStreams);
  a.inboundStreams = Math.min(a.options.inboundStreams, peer.outboundStreams);
  a.peerKeyVector = peer.keyVector;
  a.peerInitParams = peer.params;
  a.peerSupportedExtensions = peer.supportedExtensions;
  a.sender.peerRwnd = peer.rwnd;
  a.sender.peerAdvertised = peer.rwnd;
  for (const p of a.paths) p.ssthresh = peer.rwnd;
  a.receiver = new Receiver(peer.initialTsn, a.inboundStreams, a.options.receiveWindow, (stream, bytes) => {
    a.events.push({ type: 'data', stream, bytes });
  });
  const source = a.pathIndex(from);
  if (source < 0) a.paths[a.primary]!.address = from;
  a.paths[a.pathIndex(from)]!.confirmed = true;
  for (const ip of peer.addresses) {
    if (ip !== from.address && inScope(ip, from.address)) a.addPeerAddress({ address: ip, port: from.port });
  }
  a.toEndpoint({ type: 'routing-changed' });
  if (a.takeoverState) takeover.onPeerInit(a, peer);
}

/** Entered ESTABLISHED (COOKIE ACK received, or a valid COOKIE ECHO accepted). */
export function established(a: SctpAssociation, now: Instant): void {
  a.transition('ESTABLISHED', 'handshake complete');
  a.timers.stop(Timer.T1_INIT);
  a.timers.stop(Timer.T1_COOKIE);
  a.initPacket = undefined;
  a.cookieEcho = undefined;
  a.events.push({ type: 'connected' });
  a.events.push({ type: 'state-changed' });
  // Unconfirmed addresses are verified right away (§5.4), the rest after HB.interval.
  supervisePaths(a, now);
}

/** The INIT ACK, the state cookie and everything a COOKIE ECHO from us needs. */
export function onInitAck(a: SctpAssociation, now: Instant, from: UdpAddress, chunk: InitChunk, peer: PeerInit): void {
  if (a.state !== 'COOKIE-WAIT' || peer.cookie === undefined) return;
  learnPeer(a, peer, from);
  a.timers.stop(Timer.T1_INIT);
  const chunks: Chunk[] = [{ type: 10, cookie: peer.cookie }];
  if (peer.unrecognized.length > 0) {
    chunks.push({ type: 9, reflectedTag: false, causes: peer.unrecognized.map((p) => ({ code: CauseCode.UNRECOGNIZED_PARAMETERS, info: p })) });
  }
  a.cookieEcho = packetBytes(a, chunks, a.peerTag);
  a.outbox.push({ source: a.local, destination: a.remote, payload: a.cookieEcho });
  a.transition('COOKIE-ECHOED', 'INIT ACK received, COOKIE ECHO sent');
  a.timers.set(Timer.T1_COOKIE, now + a.paths[a.primary]!.rto.rto);
  void chunk;
}

/** Called by the endpoint when the INIT ACK answering our INIT arrives (already parsed and checked). */
export function handleInitAck(a: SctpAssociation, now: Instant, from: UdpAddress, packet: Packet, chunk: InitChunk, peer: PeerInit): void {
  if (packet.verificationTag !== a.localTag) {
    a.toEndpoint({ type: 'drop', reason: 'wrong-tag' });
    return;
  }
  onInitAck(a, now, from, chunk, peer);
}

/**
 * The association's Tie-Tags (RFC 9260 §2.5, §5.2.2): two random 32-bit numbers that link a
 * restarting peer's COOKIE ECHO to this association without putting its Verification Tags in a
 * cookie the peer can read. Made the first time an INIT ACK needs them, kept until a restart.
 */
export function tieTags(a: SctpAssociation): { readonly local: number; readonly peer: number } {
  a.tieTags ??= { local: nonZero(a.options.random.uint32()), peer: nonZero(a.options.random.uint32()) };
  return a.tieTags;
}

/**
 * The in-scope addresses an INIT lists that the association does not have (§5.2.2): a restart
 * that brings them is refused with cause 11, "Restart of an Association with New Addresses".
 */
export function newAddresses(a: SctpAssociation, params: readonly Param[], from: UdpAddress): Param[] {
  return params.filter((p) => (p.kind === 'ipv4' || p.kind === 'ipv6') && inScope(p.address, from.address) && a.pathIndex({ address: p.address, port: from.port }) < 0);
}

/** The ABORT refusing a restart with new addresses (§5.2.2, cause 11 of §3.3.10.11), listing them. */
export function refuseNewAddresses(a: SctpAssociation, to: UdpAddress, added: readonly Param[], peerTag: number): void {
  const info = concat(added.map((p) => emitParam(p)));
  a.outbox.push({ source: a.local, destination: to, payload: packetBytes(a, [{ type: 6, reflectedTag: false, causes: [{ code: CauseCode.RESTART_WITH_NEW_ADDRESSES, info }] }], peerTag) });
}

/** An INIT for this association (§5.2.1, §5.2.2): answer with an INIT ACK, or SHUTDOWN ACK. */
export function handleInit(a: SctpAssociation, now: Instant, from: UdpAddress, raw: Uint8Array, init: InitChunk): void {
  let ours: { tag: number; tsn: number; tieLocal: number; tiePeer: number; random?: Uint8Array };
  switch (a.state) {
    case 'CLOSED':
      return;
    case 'COOKIE-WAIT':
      // §5.2.1 INIT collision: answer with our INIT's tag, TSN AND RANDOM (so both sides' AUTH key
      // vectors agree); no TCB to tie to yet, so the Tie-Tags are 0 (§5.2.2 note).
      ours = { tag: a.localTag, tsn: a.localInitialTsn, tieLocal: 0, tiePeer: 0, random: a.localRandom };
      break;
    case 'COOKIE-ECHOED': {
      // §5.2.1 as in COOKIE-WAIT, but a TCB with the peer's tag exists: the Tie-Tags are populated.
      const tie = tieTags(a);
      ours = { tag: a.localTag, tsn: a.localInitialTsn, tieLocal: tie.local, tiePeer: tie.peer, random: a.localRandom };
      break;
    }
    case 'SHUTDOWN-ACK-SENT':
      // §9.2: the peer missed our SHUTDOWN COMPLETE; resend the SHUTDOWN ACK.
      a.outbox.push({ source: a.local, destination: from, payload: packetBytes(a, [{ type: 8, reflectedTag: false }], a.peerTag) });
      return;
    default: {
      // §5.2.2: a restart that brings addresses this association does not have is refused.
      const added = newAddresses(a, init.params, from);
      if (added.length > 0) {
        refuseNewAddresses(a, from, added, init.initiateTag);
        return;
      }
      // A new Initiate Tag and TSN, the Tie-Tags in the cookie; the association itself is not changed.
      const tie = tieTags(a);
      ours = { tag: nonZero(a.options.random.uint32()), tsn: a.options.random.uint32(), tieLocal: tie.local, tiePeer: tie.peer };
    }
  }
  const r = a.host.initAcks.answer(now, raw, init, ours, a.options);
  if (r.drop) a.toEndpoint({ type: 'drop', reason: r.drop });
  if (r.payload) a.outbox.push({ source: a.local, destination: from, payload: r.payload });
}

/**
 * A valid COOKIE ECHO for this association: the table of §5.2.4 (Local Tag, Peer's Tag,
 * Local-Tie-Tag, Peer's-Tie-Tag; M match, X differ, 0 none, A any):
 *   A  X X M M  the peer restarted: 'restart', which the caller carries out (../restart.ts)
 *   B  M X A A / M 0 A A  INIT collision: take the peer's values, ESTABLISHED, COOKIE ACK
 *   C  X M 0 0  our own cookie arrived late: discard, change nothing
 *   D  M M A A  a duplicate: ESTABLISHED if not yet, COOKIE ACK
 * anything else is discarded. In B and D the cookie must also carry our initial TSN (usrsctp's
 * "extension of case C": the same tag drawn twice is told apart by the TSN).
 */
export function handleCookieEcho(a: SctpAssociation, now: Instant, from: UdpAddress, cookie: CookieContents, peer: PeerInit, packet: Packet, raw: Uint8Array, index: number): 'restart' | 'handled' | 'discarded' {
  const L = a.localTag;
  const P = a.peerTag;
  const tie = a.tieTags;
  if (cookie.localTag !== L && peer.tag !== P && tie !== undefined && cookie.tieLocal === tie.local && cookie.tiePeer === tie.peer) {
    if (a.state === 'SHUTDOWN-ACK-SENT') {
      // §5.2.4: no restart while shutting down: the SHUTDOWN ACK again, and cause 10.
      const err: Chunk = { type: 9, reflectedTag: false, causes: [{ code: CauseCode.COOKIE_RECEIVED_WHILE_SHUTTING_DOWN, info: new Uint8Array(0) }] };
      a.outbox.push({ source: a.local, destination: from, payload: packetBytes(a, [{ type: 8, reflectedTag: false }, err], a.peerTag) });
      return 'handled';
    }
    return 'restart';
  }
  if (cookie.localTag === L && peer.tag !== P) {
    if (cookie.localInitialTsn !== a.localInitialTsn) return 'discarded';
    // Case B: INIT collision; take the peer's tag and values from the cookie.
    learnPeer(a, peer, from);
    if (a.state === 'COOKIE-WAIT' || a.state === 'COOKIE-ECHOED') established(a, now);
  } else if (cookie.localTag !== L && peer.tag === P && cookie.tieLocal === 0 && cookie.tiePeer === 0) {
    return 'discarded'; // Case C
  } else if (cookie.localTag === L && peer.tag === P) {
    if (cookie.localInitialTsn !== a.localInitialTsn) return 'discarded';
    // Case D: a duplicate (or crossing) COOKIE ECHO.
    if (a.state === 'COOKIE-WAIT' || a.state === 'COOKIE-ECHOED') {
      if (!a.receiver) learnPeer(a, peer, from);
      established(a, now);
    }
  } else {
    return 'discarded';
  }
  acknowledgeCookie(a, now, from, packet, raw, index);
  return 'handled';
}

/** COOKIE ACK, then the chunks bundled after the COOKIE ECHO. */
export function acknowledgeCookie(a: SctpAssociation, now: Instant, from: UdpAddress, packet: Packet, raw: Uint8Array, index: number): void {
  a.outbox.push({ source: a.local, destination: from, payload: packetBytes(a, [{ type: 11, reflectedTag: false }], a.peerTag) });
  if (index + 1 < packet.chunks.length) a.handlePacket(now, from, packet, raw, undefined, index + 1);
}

export function nonZero(v: number): number {
  return v === 0 ? 1 : v;
}
