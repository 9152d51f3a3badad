// SctpAssociation: timers — the next deadline over the timer table, the paths' T3-rtx / HEARTBEAT
// deadlines, the hooks and the byte-stream cork; expiry of T1 (INIT, COOKIE ECHO), T2, T5,
// delayed SACK, T3-rtx (§6.3.3) and HEARTBEAT (§8.3, idle paths only), with path and association
// error counting (§8).
import { TransportError } from '../../transport-abstraction/errors.js';
import type { Instant } from '../../transport-abstraction/transport.js';
import type { SctpAssociation } from '../association.js';
import { Timer } from '../timers.js';
import { CauseCode } from '../wire/types.js';
import { packetBytes } from './output.js';
import { sendAbort, sendShutdown, sendShutdownAck, terminate } from './shutdown.js';
import * as takeover from '../takeover-hooks.js';
import * as pmtu from './pmtu.js';

export function pollTimeout(a: SctpAssociation): Instant | undefined {
  let t = a.timers.earliest() ?? Infinity;
  const h = a.takeoverState ? takeover.pollTimeout(a) : undefined;
  if (h !== undefined && h < t) t = h;
  const cork = a.sender.queue.corkDeadline;
  if (cork !== undefined && cork < t) t = cork;
  if (a.eventsDueAt !== undefined && a.eventsDueAt < t) t = a.eventsDueAt;
  for (const p of a.paths) {
    if (p.t3 < t) t = p.t3;
    if (p.heartbeatAt < t) t = p.heartbeatAt;
  }
  const m = a.options.plpmtud && a.state !== 'CLOSED' ? pmtu.pollTimeout(a) : undefined;
  if (m !== undefined && m < t) t = m;
  return t === Infinity ? undefined : t;
}

export function handleTimeout(a: SctpAssociation, now: Instant): void {
  // An input cycle is all it takes: the app polls the events after it.
  if (a.eventsDueAt !== undefined && a.eventsDueAt <= now) a.eventsDueAt = undefined;
  if (a.state === 'CLOSED') return;
  if (a.takeoverState) takeover.handleTimeout(a, now);
  if (a.closed) return;
  const q = a.sender.queue;
  if (q.corkDeadline !== undefined && q.corkDeadline <= now) {
    q.corkDeadline = undefined;
    q.flushShort = true; // the held short tail goes with the next packet
  }
  const o = a.options;
  if (a.timers.expire(Timer.T1_INIT, now) && a.state === 'COOKIE-WAIT') {
    if (++a.initRetransmits > o.maxInitRetransmits) return terminate(a, new TransportError('BATON_ERR_TIMEOUT', 'no answer to INIT'));
    const p = a.paths[0]!;
    p.rto.backOff();
    a.outbox.push({ source: a.local, destination: p.address, payload: a.initPacket! });
    a.timers.set(Timer.T1_INIT, now + p.rto.rto);
  }
  if (a.timers.expire(Timer.T1_COOKIE, now) && a.state === 'COOKIE-ECHOED') {
    if (++a.initRetransmits > o.maxInitRetransmits) return terminate(a, new TransportError('BATON_ERR_TIMEOUT', 'no answer to COOKIE ECHO'));
    const p = a.paths[a.primary]!;
    p.rto.backOff();
    a.outbox.push({ source: a.local, destination: p.address, payload: a.cookieEcho! });
    a.timers.set(Timer.T1_COOKIE, now + p.rto.rto);
  }
  if (a.timers.expire(Timer.T2_SHUTDOWN, now)) {
    const p = a.paths[a.sendPath]!;
    p.rto.backOff();
    if (countError(a, now, a.sendPath)) return;
    if (a.state === 'SHUTDOWN-SENT') sendShutdown(a, now);
    else if (a.state === 'SHUTDOWN-ACK-SENT') sendShutdownAck(a, now);
  }
  if (a.timers.expire(Timer.T5_SHUTDOWN_GUARD, now)) {
    sendAbort(a, { code: CauseCode.USER_INITIATED_ABORT, info: new Uint8Array(0) });
    return terminate(a, new TransportError('BATON_ERR_TIMEOUT', 'shutdown guard timer expired'));
  }
  if (a.timers.expire(Timer.DELAYED_SACK, now) && a.receiver) a.receiver.sackNow = true;
  for (let i = 0; i < a.paths.length && !a.closed; i++) {
    const p = a.paths[i]!;
    if (p.t3 <= now) {
      p.t3 = NaN;
      // A zero-window probe that times out is not a path error (§6.1).
      const probing = a.sender.peerAdvertised === 0;
      a.sender.onRetransmissionTimeout(i);
      if (!probing) pmtu.onRetransmissionTimeout(a, now, i);
      if (!probing && countError(a, now, i)) return;
    }
    if (p.heartbeatAt <= now) heartbeat(a, now, i);
  }
  if (a.options.plpmtud && !a.closed) pmtu.handleTimeout(a, now);
}

/**
 * Every path of an association past its handshake is supervised (RFC 9260 §8.3), however it was
 * added: the INIT / INIT ACK address lists, an ASCONF Add IP Address (RFC 5061), an imported state.
 * A path without a HEARTBEAT deadline gets one — HB.interval + RTO for a confirmed address, at once
 * for an unconfirmed one (§5.4) — so unanswered HEARTBEATs count against Path.Max.Retrans and
 * Association.Max.Retrans even on a side that sends no DATA (a receive-only client).
 */
export function supervisePaths(a: SctpAssociation, now: Instant): void {
  if (a.state === 'CLOSED' || a.state === 'COOKIE-WAIT' || a.state === 'COOKIE-ECHOED') return;
  for (const p of a.paths) {
    if (Number.isNaN(p.heartbeatAt)) p.heartbeatAt = p.confirmed ? now + a.options.heartbeatInterval + p.rto.rto : now;
  }
  if (a.options.plpmtud) pmtu.startDiscovery(a, now);
}

/** Count an error against path i and the association; true when the association died. */
export function countError(a: SctpAssociation, now: Instant, i: number): boolean {
  const p = a.paths[i]!;
  p.errorCount++;
  a.errorCount++;
  if (a.errorCount > a.options.associationMaxRetrans) {
    terminate(a, new TransportError('BATON_ERR_TIMEOUT', `peer unreachable: ${a.errorCount} consecutive retransmission timeouts`));
    return true;
  }
  if (p.errorCount > a.options.pathMaxRetrans && p.active) {
    p.active = false;
    a.sender.failOver(i);
    if (Number.isNaN(p.heartbeatAt)) p.heartbeatAt = now + p.rto.rto;
  }
  return false;
}

export function heartbeat(a: SctpAssociation, now: Instant, i: number): void {
  const p = a.paths[i]!;
  // §8.3: only an idle address is probed — one that got no HEARTBEAT and no new DATA chunk (a
  // chunk that measures the RTT) within its heartbeat period. A path carrying DATA is supervised
  // by T3-rtx instead; its heartbeat is due HB.interval + RTO after its last new DATA chunk. An
  // unanswered HEARTBEAT still counts, and an unconfirmed address is still probed (§5.4).
  // The deadline itself is compared, not `now - lastNewDataAt` with the period: in floating point
  // the difference can fall short of the period while the sum rounds to `now` (5199.999999999999 <
  // 5200, yet 5665.845978284583 + 5200 === 10865.845978284582), and the timer then fired at `now`
  // forever (torture seed sctp 195).
  const due = p.lastNewDataAt + a.options.heartbeatInterval + p.rto.rto;
  if (Number.isNaN(p.heartbeatSentAt) && p.confirmed && due > now) {
    p.heartbeatAt = due;
    return;
  }
  if (!Number.isNaN(p.heartbeatSentAt)) {
    p.heartbeatSentAt = NaN;
    p.rto.backOff();
    if (countError(a, now, i)) return;
  }
  const info = new Uint8Array(16);
  const v = new DataView(info.buffer);
  p.heartbeatNonce = a.options.random.uint32();
  v.setUint32(0, p.heartbeatNonce);
  v.setUint32(4, i);
  v.setFloat64(8, now);
  p.heartbeatSentAt = now;
  a.outbox.push({ source: a.local, destination: p.address, payload: packetBytes(a, [{ type: 4, info }], a.peerTag) });
  const jitter = p.rto.rto * (a.options.random.float() - 0.5);
  p.heartbeatAt = now + p.rto.rto + (p.active && p.confirmed ? a.options.heartbeatInterval + jitter : 0);
}
