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
  const params: Param[] = offerParams(a.localRandom, ips, [...(o.extraInitParams?.('init') ?? []), ...(a.takeoverState ? takeover.initParams(a) : [])], o.advertiseAuth);
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

/** An INIT for this association (§5.2.1, §5.2.2): answer with an INIT ACK, or SHUTDOWN ACK. */
export function handleInit(a: SctpAssociation, now: Instant, from: UdpAddress, raw: Uint8Array, init: InitChunk): void {
  let ours: { tag: number; tsn: number; tieLocal: number; tiePeer: number; random?: Uint8Array };
  switch (a.state) {
    case 'CLOSED':
      return;
    case 'COOKIE-WAIT':
    case 'COOKIE-ECHOED':
      // INIT collision: answer with our INIT's tag AND RANDOM, so both sides' AUTH key vectors agree.
      ours = { tag: a.localTag, tsn: a.localInitialTsn, tieLocal: 0, tiePeer: 0, random: a.localRandom };
      break;
    case 'SHUTDOWN-ACK-SENT':
      a.outbox.push({ source: a.local, destination: from, payload: packetBytes(a, [{ type: 8, reflectedTag: false }], a.peerTag) });
      return;
    default: {
      // §5.2.2: a restart that brings addresses this association does not have is refused.
      const added = init.params.flatMap((p) =>
        (p.kind === 'ipv4' || p.kind === 'ipv6') && inScope(p.address, from.address) && a.pathIndex({ address: p.address, port: from.port }) < 0 ? [p] : [],
      );
      if (added.length > 0) {
        const info = concat(added.map((p) => emitParam(p)));
        a.outbox.push({ source: a.local, destination: from, payload: packetBytes(a, [{ type: 6, reflectedTag: false, causes: [{ code: CauseCode.RESTART_WITH_NEW_ADDRESSES, info }] }], init.initiateTag) });
        return;
      }
      ours = { tag: nonZero(a.options.random.uint32()), tsn: a.options.random.uint32(), tieLocal: a.localTag, tiePeer: a.peerTag };
    }
  }
  const r = a.host.initAcks.answer(now, raw, init, ours, a.options);
  if (r.drop) a.toEndpoint({ type: 'drop', reason: r.drop });
  if (r.payload) a.outbox.push({ source: a.local, destination: from, payload: r.payload });
}

/**
 * A valid COOKIE ECHO for this association (§5.2.4). Returns 'restart' when the peer restarted
 * (case A): the endpoint then replaces this association. Otherwise handled here.
 */
export function handleCookieEcho(a: SctpAssociation, now: Instant, from: UdpAddress, cookie: CookieContents, peer: PeerInit, packet: Packet, raw: Uint8Array, index: number): 'restart' | 'handled' | 'discarded' {
  const L = a.localTag;
  const P = a.peerTag;
  if (cookie.localTag !== L && peer.tag !== P && cookie.tieLocal === L && cookie.tiePeer === P) {
    if (a.state === 'SHUTDOWN-ACK-SENT') {
      const err: Chunk = { type: 9, reflectedTag: false, causes: [{ code: CauseCode.COOKIE_RECEIVED_WHILE_SHUTTING_DOWN, info: new Uint8Array(0) }] };
      a.outbox.push({ source: a.local, destination: from, payload: packetBytes(a, [{ type: 8, reflectedTag: false }, err], a.peerTag) });
      return 'handled';
    }
    return 'restart';
  }
  if (cookie.localTag === L && peer.tag !== P) {
    // Case B: INIT collision; take the peer's tag and values from the cookie.
    learnPeer(a, peer, from);
    if (a.state === 'COOKIE-WAIT' || a.state === 'COOKIE-ECHOED') established(a, now);
  } else if (cookie.localTag !== L && peer.tag === P && cookie.tieLocal === 0 && cookie.tiePeer === 0) {
    return 'discarded'; // Case C
  } else if (cookie.localTag === L && peer.tag === P) {
    // Case D: a duplicate (or crossing) COOKIE ECHO.
    if (a.state === 'COOKIE-WAIT' || a.state === 'COOKIE-ECHOED') {
      if (!a.receiver) learnPeer(a, peer, from);
      established(a, now);
    }
  } else {
    return 'discarded';
  }
  a.outbox.push({ source: a.local, destination: from, payload: packetBytes(a, [{ type: 11, reflectedTag: false }], a.peerTag) });
  if (index + 1 < packet.chunks.length) a.handlePacket(now, from, packet, raw, undefined, index + 1);
  return 'handled';
}

export function nonZero(v: number): number {
  return v === 0 ? 1 : v;
}
