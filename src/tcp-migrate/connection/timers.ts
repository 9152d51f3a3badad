// TcpMigrateConnection: deadlines — TIME-WAIT and MIGRATE-WAIT linger, delayed ACK, the dead-peer
// give-up clock, retransmission timeout (SYN, Migrate SYN or data), persist and keep-alive.
import type { Instant } from '../../transport-abstraction/transport.js';
import type { TcpMigrateConnection } from '../connection.js';
import * as handshake from '../handshake.js';
import * as group from '../group.js';
import * as keepalive from '../keepalive.js';
import * as migrate from '../migrate.js';
import * as sender from '../sender.js';
import { SYNCHRONIZED } from './states.js';

export function handleTimeout(c: TcpMigrateConnection, now: Instant): void {
  c.clock = now;
  if (c.released) return;
  if (c.lingerAt !== undefined && now >= c.lingerAt) {
    c.lingerAt = undefined;
    if (c.state === 'TIME-WAIT') c.finish(now, undefined);
    else if (c.state === 'MIGRATE-WAIT') c.fail(now, 'BATON_ERR_ABORTED', 'connection reset and no server migrated it in time');
    if (c.released) return;
  }
  if (c.delackAt !== undefined && now >= c.delackAt) {
    c.delackAt = undefined;
    c.ackNow = true;
  }
  if (c.giveUpAt !== undefined && now >= c.giveUpAt) {
    giveUp(c, now);
    return;
  }
  if (c.rtoAt !== undefined && now >= c.rtoAt) {
    c.rtoAt = undefined;
    onRetransmissionTimeout(c, now);
    if (c.released) return;
  }
  if (c.persistAt !== undefined && now >= c.persistAt) {
    c.persistAt = undefined;
    sender.onPersistTimeout(c, now);
    if (c.released) return;
  }
  if (c.keepaliveAt !== undefined && now >= c.keepaliveAt) keepalive.onTimeout(c, now);
  if (c.released) return;
  if (c.groupKeepaliveAt !== undefined && now >= c.groupKeepaliveAt) group.onTimeout(c, now);
}

export function onRetransmissionTimeout(c: TcpMigrateConnection, now: Instant): void {
  // Outstanding data behind a closed window: the retransmissions are zero-window probes, and a
  // peer that answers them is not dead (RFC 9293 §3.8.6.1): count them as probes, not retries.
  const probing = c.peerWindow === 0 && SYNCHRONIZED.has(c.state);
  if ((probing ? c.persistUnanswered : c.retries) >= c.config.maxRetransmissions) {
    giveUp(c, now);
    return;
  }
  if (probing) c.persistUnanswered++;
  else c.retries++;
  if (SYNCHRONIZED.has(c.state)) c.startGiveUpClock(now);
  c.rtt.backOff();
  c.rttEnd = -1;
  switch (c.state) {
    case 'SYN-SENT':
      if (c.migrateRequest) migrate.resendRequest(c, now);
      else handshake.sendSyn(c, now, false);
      return;
    case 'SYN-RECEIVED':
      handshake.sendSyn(c, now, true);
      return;
    default:
      sender.onRto(c, now);
  }
}

/**
 * The first retransmission timeout (or unanswered zero-window probe) since the peer last
 * acknowledged something: from now on it has userTimeoutMs to answer.
 */
export function startGiveUpClock(c: TcpMigrateConnection, now: Instant): void {
  if (c.giveUpAt === undefined && c.config.userTimeoutMs > 0) c.giveUpAt = now + c.config.userTimeoutMs;
}

/** The peer answered (acknowledged data, answered a probe, completed the handshake). */
export function stopGiveUpClock(c: TcpMigrateConnection): void {
  c.giveUpAt = undefined;
}

/** The dead-peer bound (time or count) ran out: close with the error for this state. */
export function giveUp(c: TcpMigrateConnection, now: Instant): void {
  const peer = `${c.remote.address}:${c.remote.port}`;
  const r = c.migrateRequest;
  if (r !== undefined) {
    c.fail(now, 'BATON_ERR_TIMEOUT', `the client ${peer} answered none of ${c.retries} Migrate SYNs for takeover number ${r.requestNumber} (${c.config.connectTimeoutMs / 1000} s)`);
  } else if (c.state === 'SYN-SENT') {
    c.fail(now, 'BATON_ERR_TIMEOUT', `no answer from ${peer} to ${c.retries} SYNs (connect timeout ${c.config.connectTimeoutMs / 1000} s)`);
  } else if (c.state === 'SYN-RECEIVED') {
    c.fail(now, 'BATON_ERR_TIMEOUT', `${peer} never completed the handshake (${c.config.connectTimeoutMs / 1000} s)`);
  } else if (c.persistUnanswered > 0 && c.retries === 0) {
    c.fail(now, 'BATON_ERR_TIMEOUT', `${peer} answered none of ${c.persistUnanswered} zero-window probes`);
  } else {
    c.fail(now, 'BATON_ERR_TIMEOUT', `no acknowledgement from ${peer} after ${c.retries} retransmissions (user timeout ${c.config.userTimeoutMs / 1000} s)`);
  }
}

export function pollTimeout(c: TcpMigrateConnection): Instant | undefined {
  let t = c.rtoAt;
  if (c.giveUpAt !== undefined && (t === undefined || c.giveUpAt < t)) t = c.giveUpAt;
  if (c.delackAt !== undefined && (t === undefined || c.delackAt < t)) t = c.delackAt;
  if (c.lingerAt !== undefined && (t === undefined || c.lingerAt < t)) t = c.lingerAt;
  if (c.persistAt !== undefined && (t === undefined || c.persistAt < t)) t = c.persistAt;
  if (c.keepaliveAt !== undefined && (t === undefined || c.keepaliveAt < t)) t = c.keepaliveAt;
  if (c.groupKeepaliveAt !== undefined && (t === undefined || c.groupKeepaliveAt < t)) t = c.groupKeepaliveAt;
  return t;
}
