// TcpMigrateConnection: the receive side's windows — the initial congestion window and effective
// MSS, the receive buffer and window, receiver SWS avoidance, and the acknowledge limit.
import { LocalUsageError } from '../../transport-abstraction/errors.js';
import type { Instant } from '../../transport-abstraction/transport.js';
import type { TcpMigrateConnection } from '../connection.js';
import { SYNCHRONIZED } from './states.js';

export function setAcknowledgeLimit(c: TcpMigrateConnection, now: Instant, offset: number | undefined): void {
  if (offset !== undefined && (!Number.isSafeInteger(offset) || offset < 0)) {
    throw new LocalUsageError(`setAcknowledgeLimit: offset ${String(offset)} is not a non-negative integer`);
  }
  const before = c.acknowledgedOffset();
  c.rcvAckSent = Math.max(c.rcvAckSent, before);
  c.ackLimit = offset;
  // Raising the limit acknowledges at once: the peer's congestion control sees no more than a
  // delayed ACK, and its RTO stops.
  if (c.acknowledgedOffset() > before && SYNCHRONIZED.has(c.state) && !c.released) {
    c.ackNow = true;
    c.owner?.wake(c);
  }
  void now;
}

/**
 * The peer's bytes we acknowledge: RCV.NXT, or less under an acknowledge limit, but never less
 * than an ACK already said (src/tcp-migrate/README.md, "Holding acknowledgements").
 */
export function acknowledgedOffset(c: TcpMigrateConnection): number {
  const limit = c.ackLimit;
  if (limit === undefined || limit >= c.rcvNxt) return c.rcvNxt;
  return Math.max(c.rcvAckSent, limit);
}

export function initialWindow(c: TcpMigrateConnection): number {
  // RFC 5681 §3.1: IW = min(4 * SMSS, max(2 * SMSS, 4380)).
  const smss = c.effectiveMss();
  return Math.min(4 * smss, Math.max(2 * smss, 4380));
}

export function effectiveMss(c: TcpMigrateConnection): number {
  return Math.max(64, Math.min(c.config.mss, c.peerMss));
}

/** The receive buffer: the configured window, at most 65535 (no window scale). */
export function receiveBuffer(c: TcpMigrateConnection): number {
  return Math.min(65535, c.config.receiveWindow);
}

/** Room for in-order bytes: the buffer less what the application has not read yet. */
export function receiveWindow(c: TcpMigrateConnection): number {
  return Math.max(0, c.receiveBuffer() - c.rcvUnread);
}

/**
 * RCV.WND to put in a segment, with receiver SWS avoidance (RFC 9293 §3.8.6.2.2, RFC 1122
 * §4.2.3.3): the right edge advances only when it can move by min(MSS, buffer/2); never shrinks.
 */
export function advertisedWindow(c: TcpMigrateConnection): number {
  const edge = c.rcvNxt + c.receiveWindow();
  if (edge - c.rcvAdvEdge >= Math.min(c.effectiveMss(), c.receiveBuffer() >> 1)) c.rcvAdvEdge = edge;
  // Measured from the acknowledged point, so that held bytes do not move the right edge.
  return Math.min(65535, Math.max(0, c.rcvAdvEdge - c.acknowledgedOffset()));
}
