// TcpMigrateConnection: the receive side's windows — the initial congestion window and effective
// MSS, the receive buffer and window, receiver SWS avoidance, and the acknowledge limit.
import { LocalUsageError } from '../../transport-abstraction/errors.js';
import type { Instant } from '../../transport-abstraction/transport.js';
import type { TcpMigrateConnection } from '../connection.js';
import { MAX_WINDOW_SHIFT } from '../options.js';
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

/**
 * Eff.snd.MSS (RFC 9293 §3.7.1): the MSS less the options every segment carries (12 bytes of
 * Timestamps when in use, RFC 7323 §3.2), so segments keep the size the MSS was chosen for.
 */
export function effectiveMss(c: TcpMigrateConnection): number {
  return Math.max(64, Math.min(c.config.mss, c.peerMss) - (c.tsOk ? TIMESTAMPS_SPACE : 0));
}

/** The Timestamps option's room in a header (10 bytes, padded to 12). */
const TIMESTAMPS_SPACE = 12;

/**
 * The receive buffer: the auto-tuned space (growReceiveSpace), at most the configured window and
 * what the window field can say (65535 << Rcv.Wind.Shift).
 */
export function receiveBuffer(c: TcpMigrateConnection): number {
  if (c.rcvSpace === 0) c.rcvSpace = Math.min(c.config.receiveWindowInitial, c.config.receiveWindow);
  return Math.min(65535 * 2 ** c.rcvShift, c.config.receiveWindow, c.rcvSpace);
}

/**
 * Receive-buffer auto-tuning (as Linux's tcp_rcv_space_adjust, after Dynamic Right-Sizing): once
 * per smoothed round trip, the bytes the application read in it are measured; a buffer less than
 * twice that grows to twice that (at most the configured window), so a window-limited transfer
 * whose reader keeps up doubles its window each round trip, like slow start. A reader that stops
 * reads nothing, and the buffer it holds stays what it was: memory follows the reader's pace, not
 * the configured maximum (a client whose output nobody reads holds 256 KiB, not 16 MiB).
 */
export function growReceiveSpace(c: TcpMigrateConnection, now: Instant): void {
  const read = c.rcvNxt - c.rcvUnread;
  if (c.rcvSpaceAt === undefined) {
    c.rcvSpaceAt = now;
    c.rcvSpaceRead = read;
    return;
  }
  const rtt = c.rtt.srtt ?? c.rtt.rto;
  if (now - c.rcvSpaceAt < rtt) return;
  const copied = read - c.rcvSpaceRead;
  c.rcvSpaceAt = now;
  c.rcvSpaceRead = read;
  const space = receiveBuffer(c);
  if (2 * copied > space) c.rcvSpace = Math.min(c.config.receiveWindow, 2 * copied);
}

/** The window scale shift we offer on a SYN: the smallest that lets the field say our buffer (RFC 7323 §2.3). */
export function offeredShift(c: TcpMigrateConnection): number {
  let shift = 0;
  while (shift < MAX_WINDOW_SHIFT && c.config.receiveWindow > 65535 * 2 ** shift) shift++;
  return shift;
}

/**
 * Window scaling from the SYN or SYN/ACK that settles it (RFC 7323 §2.2): in use when both had the
 * option; the peer's shift is taken at most 14 (§2.3).
 */
export function negotiateScale(c: TcpMigrateConnection, peerShift: number | undefined): void {
  c.windowScaling = peerShift !== undefined;
  c.sndShift = peerShift === undefined ? 0 : Math.min(MAX_WINDOW_SHIFT, peerShift);
  c.rcvShift = peerShift === undefined ? 0 : offeredShift(c);
}

/** Room for in-order bytes: the buffer less what the application has not read yet. */
export function receiveWindow(c: TcpMigrateConnection): number {
  return Math.max(0, c.receiveBuffer() - c.rcvUnread);
}

/**
 * The window field to put in a segment, with receiver SWS avoidance (RFC 9293 §3.8.6.2.2, RFC 1122
 * §4.2.3.3): the right edge (rcvWndEdge) advances only when it can move by min(MSS, buffer/2);
 * never shrinks. Scaled by Rcv.Wind.Shift except on a SYN (RFC 7323 §2.2), rounded up, so that the
 * peer's edge is at most 2^shift - 1 bytes past ours; rcvAdvEdge keeps the furthest edge the peer
 * was told, and the receiver accepts up to it.
 *
 * The rounding starts from the unscaled edge every time, never from the last rounded one: rounded
 * up again from each new acknowledged point, the promise crept up to 2^shift - 1 bytes per ACK
 * past the buffer, so a reader that stopped let the sender fill the buffer and then some (377 kB
 * past a 16 MiB buffer with shift 9, more at every refill). The price: when the acknowledged point
 * moves by less than 2^shift while our edge stands still, the peer's edge can move left by less
 * than 2^shift (the retraction RFC 7323 §2.4 describes); what it sent up to its old edge is still
 * accepted.
 */
export function advertisedWindow(c: TcpMigrateConnection, syn: boolean): number {
  const edge = c.rcvNxt + c.receiveWindow();
  if (edge - c.rcvWndEdge >= Math.min(c.effectiveMss(), c.receiveBuffer() >> 1)) c.rcvWndEdge = edge;
  // Measured from the acknowledged point, so that held bytes do not move the right edge.
  const acked = c.acknowledgedOffset();
  const window = Math.max(0, c.rcvWndEdge - acked);
  if (syn || c.rcvShift === 0) {
    c.rcvAdvEdge = Math.max(c.rcvAdvEdge, c.rcvWndEdge);
    return Math.min(65535, window);
  }
  const unit = 2 ** c.rcvShift;
  const field = Math.min(65535, Math.ceil(window / unit));
  c.rcvAdvEdge = Math.max(c.rcvAdvEdge, acked + field * unit);
  return field;
}
