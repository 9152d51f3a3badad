// SctpAssociation: inbound packets — verification tag checks (§8.5), the AUTH rule (RFC 4895),
// dispatch of each chunk to the receiver, the sender (SACK), HEARTBEAT, ABORT, ERROR, SHUTDOWN and
// the ASCONF hooks, and the SACK decision at the end of a packet carrying DATA (§6.2).
import { sameAddress, type UdpAddress } from '../../transport-abstraction/address.js';
import { TransportError, type TransportErrorCode } from '../../transport-abstraction/errors.js';
import type { Instant } from '../../transport-abstraction/transport.js';
import type { SctpAssociation } from '../association.js';
import { Timer } from '../timers.js';
import { parsePacket } from '../wire/parse.js';
import { unknownChunkAction } from '../wire/params.js';
import { CauseCode, ChunkType, type ErrorCause, type Packet, type SackChunk } from '../wire/types.js';
import { established, sendInit } from './handshake.js';
import { buildPacket, DATA_STATES, packetBytes } from './output.js';
import { onShutdown, onShutdownAck, progressShutdown, protocolViolation, sendShutdown, SHUTDOWN_ACKS, terminate } from './shutdown.js';
import * as takeover from '../takeover-hooks.js';
import * as pr from '../pr-sctp.js';
import { chunkValueLength, emitChunk } from '../wire/emit.js';
import { supervisePaths } from './timers.js';
import { onProbeAck, PROBE_INFO_LENGTH } from './pmtu.js';

export function handleDatagram(a: SctpAssociation, now: Instant, from: UdpAddress, bytes: Uint8Array, local?: UdpAddress): void {
  const r = parsePacket(bytes);
  if (!r.ok) {
    a.toEndpoint({ type: 'drop', reason: 'malformed' });
    return;
  }
  handlePacket(a, now, from, r.packet, bytes, local);
}

/** A parsed packet routed here by the endpoint (INIT and COOKIE ECHO come via handleInit / the endpoint). */
export function handlePacket(a: SctpAssociation, now: Instant, from: UdpAddress, packet: Packet, raw: Uint8Array, local?: UdpAddress, startIndex = 0): void {
  if (a.state === 'CLOSED') return;
  const first = packet.chunks[startIndex]!;
  const vt = packet.verificationTag;
  if (startIndex === 0) {
    if (first.type === ChunkType.ABORT || first.type === ChunkType.SHUTDOWN_COMPLETE) {
      const t = (first as { reflectedTag: boolean }).reflectedTag;
      if (!(t ? vt === a.peerTag && a.peerTag !== 0 : vt === a.localTag)) {
        a.toEndpoint({ type: 'drop', reason: 'wrong-tag' });
        return;
      }
    } else if (vt !== a.localTag) {
      a.toEndpoint({ type: 'drop', reason: 'wrong-tag' });
      return;
    }
    if (a.pathIndex(from) < 0) followPortChange(a, from);
    if (a.takeoverState && takeover.onPacket(a, now, from, packet, raw) === 'consumed') return;
  }
  // Answer from the address the peer reached us on (a multihomed endpoint's paths differ by source).
  if (local !== undefined && !sameAddress(local, a.local)) a.local = local;
  let hadData = false;
  let authenticated = false;
  const auth = a.takeoverState?.auth;
  for (let i = startIndex; i < packet.chunks.length && !a.closed; i++) {
    const c = packet.chunks[i]!;
    if (auth && c.type !== ChunkType.AUTH && !authenticated && auth.requiredOnReceive(c.type)) {
      // RFC 4895 §6.3: a chunk listed in our CHUNKS without a valid AUTH before it is discarded
      // (a forged DATA chunk from an on-path attacker); counted once per chunk.
      a.toEndpoint({ type: 'drop', reason: 'not-authenticated' });
      const refused = a.takeoverState?.refused;
      if (refused && c.type === ChunkType.DATA) refused.set('data-unauthenticated', (refused.get('data-unauthenticated') ?? 0) + 1);
      continue;
    }
    if ('kind' in c) {
      onUnknownChunk(a, c.type, c.raw);
      continue;
    }
    switch (c.type) {
      case ChunkType.DATA:
        if (!DATA_STATES.has(a.state) && a.state !== 'SHUTDOWN-SENT') break;
        if (c.userData.length === 0) {
          protocolViolation(a, CauseCode.NO_USER_DATA, `DATA chunk TSN ${c.tsn} without user data`, u32Bytes(c.tsn));
          return;
        }
        hadData = true;
        if (a.receiver!.onData(c) === 'bad-stream') {
          const info = new Uint8Array(4);
          info[0] = c.streamId >>> 8;
          info[1] = c.streamId & 0xff;
          a.control.push({ chunk: { type: 9, reflectedTag: false, causes: [{ code: CauseCode.INVALID_STREAM_IDENTIFIER, info }] }, path: undefined });
        }
        break;
      case ChunkType.SACK:
        onSack(a, now, c);
        break;
      case ChunkType.HEARTBEAT:
        a.outbox.push({ source: a.local, destination: from, payload: packetBytes(a, [{ type: 5, info: c.info }], a.peerTag) });
        break;
      case ChunkType.HEARTBEAT_ACK:
        onHeartbeatAck(a, now, c.info);
        break;
      case ChunkType.ABORT:
        onAbort(a, c.causes);
        return;
      case ChunkType.SHUTDOWN:
        if (SHUTDOWN_ACKS.has(a.state)) {
          onSack(a, now, { type: 3, cumulativeTsnAck: c.cumulativeTsnAck, advertisedReceiverWindow: a.sender.peerAdvertised, gapBlocks: [], duplicateTsns: [] });
        }
        onShutdown(a, now);
        break;
      case ChunkType.SHUTDOWN_ACK:
        onShutdownAck(a, now, from, vt);
        break;
      case ChunkType.SHUTDOWN_COMPLETE:
        if (a.state === 'SHUTDOWN-ACK-SENT') terminate(a, undefined);
        return;
      case ChunkType.ERROR:
        onError(a, now, c.causes);
        break;
      case ChunkType.COOKIE_ACK:
        if (a.state === 'COOKIE-ECHOED') established(a, now);
        break;
      case ChunkType.INIT_ACK:
        if (a.state === 'COOKIE-WAIT') a.toEndpoint({ type: 'drop', reason: 'bad-handshake' });
        break;
      case ChunkType.FORWARD_TSN:
        // RFC 3758 §3.3: only for an association that announced PR-SCTP; otherwise an unknown chunk.
        if (!a.pr.enabled) {
          onUnknownChunk(a, c.type, emitChunk(c).subarray(0, chunkValueLength(c)));
          break;
        }
        if (!DATA_STATES.has(a.state) && a.state !== 'SHUTDOWN-SENT') break;
        hadData = true; // the SACK rules of a packet with DATA: a SACK goes at once
        if (a.receiver!.onForwardTsn(c.newCumulativeTsn, c.streams)) pr.forwardAccepted(a);
        break;
      case ChunkType.AUTH:
        authenticated = auth ? auth.verify(raw, packet, i) : false;
        if (auth && !authenticated) a.toEndpoint({ type: 'drop', reason: 'not-authenticated' });
        break;
      case ChunkType.ASCONF:
      case ChunkType.ASCONF_ACK:
        if (a.takeoverState) takeover.onAsconf(a, now, c, from, authenticated);
        else onUnknownChunk(a, c.type, undefined);
        // An ASCONF that left its source outside the association (a takeover refused: a loser
        // that came after the winner) speaks for that source only: the SACK and DATA bundled
        // behind it are the loser's, from an older state, and must not act on the winner's
        // association (a lower cumulative TSN read as the taker's would abort it).
        if (c.type === ChunkType.ASCONF && a.pathIndex(from) < 0) {
          if (i + 1 < packet.chunks.length) a.toEndpoint({ type: 'drop', reason: 'stale-address' });
          return;
        }
        break;
      default:
        break;
    }
  }
  if (hadData && a.receiver) {
    const stuck = a.receiver.stuck();
    if (stuck !== undefined) {
      protocolViolation(a, CauseCode.PROTOCOL_VIOLATION, stuck);
      return;
    }
    a.receiver.endOfPacket(batonPeer(a));
    if (a.state === 'SHUTDOWN-SENT') {
      // §9.2: answer each packet with DATA by SACK + SHUTDOWN at once and restart T2-shutdown.
      a.receiver.sackNow = true;
      sendShutdown(a, now);
    }
    if (a.receiver.sackNow) {
      // Build the SACK now, not at the next drain: a driver that feeds a burst of datagrams
      // before draining must still send one SACK per second packet (and per packet on gaps),
      // or a Max.Burst-limited sender (usrsctp) starves for ACK clock after a lost SACK. A baton
      // peer's SACK waits for the end of the batch instead (receiver.ts sackAtBatchEnd): the next
      // pollTransmit builds it. The timer stays armed as a safety net for a driver that never polls.
      const t = buildPacket(a, now);
      if (t) a.outbox.push(t);
    } else if (!a.timers.isArmed(Timer.DELAYED_SACK)) a.timers.set(Timer.DELAYED_SACK, now + a.options.delayedSackTime);
  }
  progressShutdown(a, now);
  supervisePaths(a, now); // a path an ASCONF added in this packet
}

/**
 * RFC 6951 §5.4: once a packet has found its association and passed the verification tag check,
 * its UDP source port is the encapsulation port of the address it came from. A NAT in front of
 * the peer that rebinds (a new external UDP port for the same address) thus moves the path instead
 * of cutting it off. Only when exactly one path has that IP address, and never back to an address
 * a takeover deleted (that old server keeps the tag, and would otherwise win its path back).
 */
function followPortChange(a: SctpAssociation, from: UdpAddress): void {
  let found = -1;
  for (let i = 0; i < a.paths.length; i++) {
    if (a.paths[i]!.address.address !== from.address) continue;
    if (found >= 0) return;
    found = i;
  }
  if (found < 0 || a.formerPeerAddresses.some((x) => sameAddress(x, from))) return;
  a.paths[found]!.address = { address: from.address, port: from.port };
  a.toEndpoint({ type: 'routing-changed' });
  a.pushEvent({ type: 'state-changed' }); // an exported state names the peer's UDP port
}

export function onUnknownChunk(a: SctpAssociation, type: number, raw: Uint8Array | undefined): void {
  const action = unknownChunkAction(type);
  if ((action === 'stop-report' || action === 'skip-report') && raw && a.peerTag !== 0) {
    a.control.push({ chunk: { type: 9, reflectedTag: false, causes: [{ code: CauseCode.UNRECOGNIZED_CHUNK_TYPE, info: raw }] }, path: undefined });
  }
}

/**
 * The peer is baton: its x25519 key was agreed (takeover-hooks.ts keySource), so it acknowledges a
 * receive batch with one SACK (receiver.ts batchAck) and expects its SACKs to be weighed as such.
 */
export function batonPeer(a: SctpAssociation): boolean {
  const t = a.takeoverState;
  return t !== undefined && t.context !== undefined && t.keySource === 'x25519';
}

export function onSack(a: SctpAssociation, now: Instant, sack: SackChunk): void {
  if (!DATA_STATES.has(a.state) && a.state !== 'SHUTDOWN-SENT') return;
  const hooked = a.takeoverState ? takeover.onSack(a, now, sack) : undefined;
  if (hooked === true) return;
  if (hooked) sack = hooked;
  a.sender.batchAcks = batonPeer(a);
  const r = a.sender.handleSack(now, sack);
  if (r.kind === 'violation') {
    protocolViolation(a, CauseCode.PROTOCOL_VIOLATION, r.reason);
    return;
  }
  pr.afterSack(a, sack.cumulativeTsnAck, now);
  if (r.kind === 'processed' && r.newlyAckedBytes > 0) {
    a.errorCount = 0;
    if (a.wantWritable && a.bufferedAmount <= a.options.sendBufferSize / 2) {
      a.wantWritable = false;
      a.events.push({ type: 'writable' });
    }
  }
}

export function onHeartbeatAck(a: SctpAssociation, now: Instant, info: Uint8Array): void {
  if (info.length === PROBE_INFO_LENGTH) return onProbeAck(a, now, info); // a path MTU probe (pmtu.ts)
  if (info.length !== 16) return;
  const v = new DataView(info.buffer, info.byteOffset, 16);
  const i = v.getUint32(4);
  const p = a.paths[i];
  if (!p || v.getUint32(0) !== p.heartbeatNonce || Number.isNaN(p.heartbeatSentAt)) return;
  p.rto.sample(now - v.getFloat64(8));
  p.heartbeatSentAt = NaN;
  p.errorCount = 0;
  p.active = true;
  p.confirmed = true;
  a.errorCount = 0;
}

export function onAbort(a: SctpAssociation, causes: readonly ErrorCause[]): void {
  if (a.takeoverState && takeover.abortPrecedesOurRequest(a, causes)) return;
  const special = a.takeoverState ? takeover.takenOverError(causes) : undefined;
  if (special) return terminate(a, special);
  const cause = causes[0]?.code;
  const refused = a.state === 'COOKIE-WAIT' || a.state === 'COOKIE-ECHOED';
  const code: TransportErrorCode = refused ? 'BATON_ERR_REFUSED' : 'BATON_ERR_ABORTED';
  terminate(a, new TransportError(code, refused ? 'the peer refused the association (ABORT)' : `the peer aborted the association (cause ${cause ?? 'none'})`, cause));
}

export function onError(a: SctpAssociation, now: Instant, causes: readonly ErrorCause[]): void {
  for (const cause of causes) {
    if (cause.code === CauseCode.STALE_COOKIE && a.state === 'COOKIE-ECHOED' && cause.info.length >= 4) {
      // §5.2.6: retry with a Cookie Preservative asking for twice the measured staleness.
      if (++a.initRetransmits > a.options.maxInitRetransmits) {
        terminate(a, new TransportError('BATON_ERR_TIMEOUT', 'state cookie kept going stale'));
        return;
      }
      const staleMicros = new DataView(cause.info.buffer, cause.info.byteOffset, 4).getUint32(0);
      a.cookiePreservative = Math.ceil((staleMicros * 2) / 1000);
      a.timers.stop(Timer.T1_COOKIE);
      a.transition('COOKIE-WAIT', 'restart: INIT again');
      sendInit(a, now);
      return;
    }
  }
  if (a.takeoverState) takeover.onErrorCauses(a, now, causes);
}

function u32Bytes(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0);
  return b;
}
