// TcpMigrateConnection: inbound segments — the checked parse of a datagram for a connection bound
// without an endpoint, dispatch by state (handshake, Migrate SYN and reply, synchronized states),
// the RFC 5961 acceptance checks with rate-limited challenge ACKs, and resets (Migrate-Reset reasons).
import { sameAddress, type UdpAddress } from '../../transport-abstraction/address.js';
import { TransportError } from '../../transport-abstraction/errors.js';
import { checkAddress, checkBytes } from '../../transport-abstraction/guard.js';
import type { Instant } from '../../transport-abstraction/transport.js';
import type { TcpMigrateConnection } from '../connection.js';
import * as handshake from '../handshake.js';
import * as keepalive from '../keepalive.js';
import * as migrate from '../migrate.js';
import { findOption, RESET_ABORT, RESET_TAKEN_OVER } from '../options.js';
import * as receiver from '../receiver.js';
import { stopTimers } from './shutdown.js';
import * as sender from '../sender.js';
import { pawsRejects, updateRecent } from '../timestamps.js';
import { ACK, FIN, RST, SYN, checksumValid, parseSegment, pseudoHeaderSum, type TcpSegment } from '../wire.js';

/** A segment routed to this connection by its 4-tuple (or, for a Migrate SYN, by token). */
export function handleSegment(c: TcpMigrateConnection, now: Instant, seg: TcpSegment, from: UdpAddress, local: UdpAddress): void {
  c.clock = now;
  if (c.released) return;
  const mig = (seg.flags & (SYN | ACK)) === SYN ? findOption(seg.options, 'migrate') : undefined;
  if (mig !== undefined) {
    migrate.handleMigrateSyn(c, now, seg, mig, from, local);
    return;
  }
  if (!sameAddress(from, c.remote)) return; // routed by token only for Migrate SYNs
  switch (c.state) {
    case 'CLOSED':
      return;
    case 'SYN-SENT':
      if (c.migrateRequest !== undefined) migrate.handleMigrateReply(c, now, seg);
      else handshake.handleSynSent(c, now, seg);
      break;
    case 'SYN-RECEIVED':
      handshake.handleSynReceived(c, now, seg);
      break;
    case 'MIGRATE-WAIT':
      return;
    default:
      if (!c.handleSynchronized(now, seg)) return; // a spoofed segment proves nobody alive
  }
  // Any segment from the peer shows it alive: restart the keep-alive clock (also arms it when
  // the segment completed a handshake or a takeover).
  if (!c.released) keepalive.restart(c, now);
}

/**
 * A segment in a synchronized state, checked as RFC 5961 asks, so that a blind attacker who
 * knows the 4-tuple must guess RCV.NXT exactly to reset the connection and SND.NXT to within a
 * window to inject data. False when the segment was not acceptable.
 */
export function handleSynchronized(c: TcpMigrateConnection, now: Instant, seg: TcpSegment): boolean {
  const f = seg.flags;
  if (f & RST) {
    // RFC 5961 §3.2: reset only at exactly RCV.NXT; elsewhere in the window a challenge ACK (a
    // genuine peer answers it with a RST at the number it carries); outside the window, drop.
    const d = (seg.seq - c.ackNumber()) | 0;
    if (d === 0) {
      const reason = findOption(seg.options, 'migrate-reset')?.reason ?? 0;
      handleReset(c, now, reason);
      return true;
    }
    if (d > 0 && d < Math.max(1, c.receiveWindow())) c.challengeAck(now);
    return false;
  }
  if (pawsRejects(c, seg)) {
    // RFC 7323 §5.3 R1: an old duplicate; answered with an ACK (rate-limited as a challenge ACK).
    c.pawsRejected++;
    c.challengeAck(now);
    return false;
  }
  if (c.state === 'TIME-WAIT') {
    if (f & FIN) {
      c.ackNow = true;
      c.lingerAt = now + c.config.timeWaitMs;
    }
    return true;
  }
  if (f & SYN) {
    // RFC 5961 §4.2: a SYN (not a Migrate SYN: migrate.ts has those) in a synchronized state,
    // whatever its number, gets a challenge ACK and changes nothing. It also answers a
    // retransmitted SYN/ACK whose ACK we sent was lost.
    c.challengeAck(now);
    return false;
  }
  if (!(f & ACK)) return false;
  if (!sender.processAck(c, now, seg)) {
    c.challengeAck(now); // RFC 5961 §5.2: discard, data and all, and ACK
    return false;
  }
  c.echoKey = false; // the listener has made the connection: it knows our key
  updateRecent(c, seg);
  if (c.released) return true;
  if (seg.payload.length > 0 || f & FIN) receiver.processData(c, now, seg);
  else if (c.isProbe(seg)) c.ackNow = true; // RFC 9293 §3.10.7.4: an unacceptable segment is answered
  return true;
}

/**
 * A challenge ACK (RFC 5961 §3.2, §4.2, §5.2), at most `challengeAckLimit` per second on this
 * connection (RFC 5961 §7). The count is per connection, not per endpoint: a shared counter is
 * the side channel of CVE-2016-5696 (an off-path attacker learns from its own connection when
 * another one spent the budget).
 */
export function challengeAck(c: TcpMigrateConnection, now: Instant): void {
  if (now - c.challengeWindowAt >= 1000) {
    c.challengeWindowAt = now;
    c.challengeCount = 0;
  }
  if (c.challengeCount >= c.config.challengeAckLimit) {
    c.challengeAcksSuppressed++;
    return;
  }
  c.challengeCount++;
  c.challengeAcksSent++;
  c.ackImmediately();
}

export function handleReset(c: TcpMigrateConnection, now: Instant, reason: number): void {
  if (reason === RESET_TAKEN_OVER) {
    c.finish(now, new TransportError('BATON_ERR_TAKEN_OVER', `the client accepted another server's takeover; ${c.remote.address} refuses us`));
  } else if (reason === RESET_ABORT || !c.key) {
    c.finish(now, new TransportError('BATON_ERR_ABORTED', `connection reset by ${c.remote.address}:${c.remote.port}`));
  } else if (c.state === 'LAST-ACK' || c.state === 'CLOSING') {
    c.finish(now, undefined);
  } else {
    // The draft: a migratable connection reset by a peer that lost its state waits for a Migrate SYN.
    c.stateBeforeWait = c.state;
    c.transition('MIGRATE-WAIT', 'plain RST: waiting for a takeover');
    stopTimers(c);
    c.ackNow = false;
    c.lingerAt = now + c.config.migrateWaitMs;
  }
}

/**
 * A connection bound to a driver on its own (without an endpoint): checked parse, checksum,
 * then the same path as a routed segment. Bad datagrams are dropped and counted.
 */
export function handleDatagram(c: TcpMigrateConnection, now: Instant, from: UdpAddress, bytes: Uint8Array, local?: UdpAddress): void {
  checkAddress(from, 'handleDatagram: from');
  checkBytes(bytes, 'handleDatagram: bytes');
  if (local !== undefined) checkAddress(local, 'handleDatagram: local');
  const parsed = parseSegment(bytes);
  if (!parsed.ok) {
    c.droppedDatagrams++;
    return;
  }
  const to = local ?? c.local;
  if (!checksumValid(bytes, pseudoHeaderSum(from.address, to.address))) {
    c.droppedDatagrams++;
    return;
  }
  c.handleSegment(now, parsed.segment, from, to);
}
