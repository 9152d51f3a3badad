// The receiving half of a connection: the acceptability test of RFC 9293 §3.10.7.4 on stream
// offsets, in-order delivery, the out-of-order queue, delayed ACKs (RFC 1122 §4.2.3.2 / RFC 5681
// §4.2: every second full segment, at most delayedAckMs later, at once when out of order or when a
// gap fills) and the FIN. Those immediate ACKs are built when the segment is processed, not when
// the driver next drains: a driver that feeds a burst of datagrams before draining still gets one
// duplicate ACK per out-of-order segment (fast retransmit counts them) and one ACK per two segments.
//
// Between baton ends (`batonPeer`: the Migrate-Permitted keys were agreed) the every-second-segment
// ACK waits for the end of the receive batch instead: the segments a driver hands over before it
// next polls transmits (one event-loop turn, transport-abstraction/runtime.ts), and then one ACK
// (or the next data segment) acknowledges them all; at most BATCH_ACK_STRETCH segments per ACK.
// Out-of-order segments, a filled gap and a nearly closed window are still acknowledged at once.
// The sender counts such an ACK as the ACKs it stands for in slow start (sender.ts).
//
// Holding acknowledgements (setAcknowledgeLimit; README.md): bytes at or beyond the limit are
// delivered as usual but not acknowledged. New data that only adds held bytes elicits no ACK at
// all (it would be a duplicate ACK, and three of them a needless fast retransmit at the peer);
// a retransmission of delivered bytes is answered (a duplicate ACK, one per peer RTO), never
// delivered again. Raising the limit acknowledges at once (connection.ts).
//
// Flow control: the window is the receive buffer less the in-order bytes delivered as 'data'
// events that the application has not polled (connection.ts receiveWindow/advertisedWindow), so a
// reader that stops polling closes the window; readerTook() sends the window update when it reads.
import type { Instant } from '../transport-abstraction/transport.js';
import type { TcpMigrateConnection } from './connection.js';
import { FIN, type TcpSegment } from './wire.js';

/** Between baton ends, the most full segments one ACK acknowledges in a receive batch (the stretch bound). */
export const BATCH_ACK_STRETCH = 16;

/** The peer is baton: the Migrate-Permitted x25519 keys were agreed (handshake.ts), so it batches ACKs too. */
export function batonPeer(c: TcpMigrateConnection): boolean {
  return c.key !== undefined;
}

export function processData(c: TcpMigrateConnection, now: Instant, seg: TcpSegment): void {
  if (c.finReceived) {
    c.ackNow = true;
    return;
  }
  const payload = seg.payload;
  let start = c.rcvOffset(seg.seq);
  const end = start + payload.length;
  if (seg.flags & FIN) c.finOffset = end;
  // The buffer's room, or the edge we promised if further (a scaled window rounds up, window.ts).
  const wnd = Math.max(c.receiveWindow(), c.rcvAdvEdge - c.rcvNxt);
  if (end <= c.rcvNxt && !(seg.flags & FIN && end === c.rcvNxt)) {
    c.ackNow = true; // duplicate
    return;
  }
  if (start >= c.rcvNxt + wnd) {
    c.ackNow = true;
    return;
  }
  let bytes = payload;
  if (start < c.rcvNxt) {
    bytes = bytes.subarray(c.rcvNxt - start);
    start = c.rcvNxt;
  }
  if (start + bytes.length > c.rcvNxt + wnd) bytes = bytes.subarray(0, c.rcvNxt + wnd - start);
  if (start === c.rcvNxt) {
    if (c.config.receiveWindowInitial < c.config.receiveWindow) c.growReceiveSpace(now);
    if (bytes.length > 0) {
      c.rcvNxt += bytes.length;
      c.emit({ type: 'data', stream: 0, bytes });
    }
    if (!c.reasm.isEmpty) {
      let filled = false;
      for (let piece = c.reasm.takeAt(c.rcvNxt); piece !== undefined; piece = c.reasm.takeAt(c.rcvNxt)) {
        c.rcvNxt += piece.length;
        c.emit({ type: 'data', stream: 0, bytes: piece });
        filled = true;
      }
      if (filled) {
        if (c.heldBytes === 0) c.ackImmediately(); // RFC 5681 §4.2: ACK at once when a gap fills
        return finCheck(c, now);
      }
    }
    if (c.heldBytes > 0) return finCheck(c, now); // only held bytes: nothing to acknowledge
    // A window too small for another full segment is not delayed: the sender waits for this ACK.
    const unacked = ++c.unackedSegments;
    if (c.receiveWindow() < c.effectiveMss()) c.ackImmediately();
    else if (unacked >= 2) {
      // A baton peer's ACK waits for the end of the batch: pollTransmit builds it (ackNow).
      if (unacked < BATCH_ACK_STRETCH && batonPeer(c)) c.ackNow = true;
      else c.ackImmediately();
    } else if (c.delackAt === undefined) c.delackAt = now + c.config.delayedAckMs;
  } else {
    if (bytes.length > 0) c.reasm.insert(start, bytes);
    // Out of order: a duplicate ACK with SACK for each such segment (none while bytes are held:
    // the hole is beyond the acknowledged point, and the peer's RTO resends from there).
    if (c.heldBytes === 0) c.ackImmediately();
  }
  finCheck(c, now);
}

/**
 * The application polled 'data': send a window update (a pure ACK) when the right edge can move by
 * the SWS step, min(MSS, buffer/2) (RFC 9293 §3.8.6.2.2), and the window the peer knows is below
 * half the buffer (Linux's tcp_cleanup_rbuf rule: a prompt reader costs no extra ACKs, since the
 * ACKs its data elicits carry the window anyway).
 */
export function readerTook(c: TcpMigrateConnection): void {
  if (c.ackNow || c.finReceived || c.released || !OPEN.has(c.state)) return;
  const buffer = c.receiveBuffer();
  const known = c.rcvAdvEdge - c.rcvNxt;
  if (known >= buffer >> 1) return;
  if (c.receiveWindow() - known < Math.min(c.effectiveMss(), buffer >> 1)) return;
  c.ackNow = true;
  c.owner?.wake(c);
}

const OPEN: ReadonlySet<string> = new Set(['ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2']);

function finCheck(c: TcpMigrateConnection, now: Instant): void {
  if (c.finOffset >= 0 && c.finOffset === c.rcvNxt && !c.finReceived) receiveFin(c, now);
}

export function receiveFin(c: TcpMigrateConnection, now: Instant): void {
  c.finReceived = true;
  c.ackNow = true;
  c.emit({ type: 'end' });
  switch (c.state) {
    case 'ESTABLISHED':
      c.transition('CLOSE-WAIT', 'FIN received');
      break;
    case 'FIN-WAIT-1':
      c.transition(c.finAcked ? 'TIME-WAIT' : 'CLOSING', 'FIN received after ours');
      break;
    case 'FIN-WAIT-2':
      c.transition('TIME-WAIT', 'FIN received in FIN-WAIT-2');
      break;
  }
  if (c.state === 'TIME-WAIT') c.enterTimeWait(now);
}

