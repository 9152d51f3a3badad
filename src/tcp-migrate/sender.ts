// The sending half of a connection: ACK processing, the SACK scoreboard, congestion control
// (RFC 5681 slow start / congestion avoidance, fast retransmit on 3 duplicate ACKs, recovery that
// retransmits the holes the scoreboard shows — RFC 6675's pipe, with NewReno's one-segment-per-
// partial-ACK when the peer does not SACK), RFC 6298 timer handling and segment selection, with
// sender SWS avoidance and the persist timer (RFC 9293 §3.8.6.1, §3.8.6.2.1) for a closed window.
import type { Instant, Transmit } from '../transport-abstraction/transport.js';
import type { TcpMigrateConnection } from './connection.js';
import { findOption } from './options.js';
import { BATCH_ACK_STRETCH, batonPeer } from './receiver.js';
import { echoedRtt } from './timestamps.js';
import { ACK, FIN, PSH, SYN, type TcpSegment } from './wire.js';

const MAX_CWND = 16 * 1024 * 1024;
const DUP_THRESH = 3;

/** RFC 6675 pipe: bytes we believe are in the network. */
export function pipe(c: TcpMigrateConnection): number {
  if (c.inRecovery) {
    const hi = Math.max(c.recoveryHigh, c.sndUna);
    return c.scoreboard.unsacked(c.sndUna, Math.min(Math.max(c.rtxNext, c.sndUna), hi)) + c.scoreboard.unsacked(hi, c.sndNxt);
  }
  return c.scoreboard.unsacked(c.sndUna, c.sndNxt);
}

/**
 * Processes the ACK of a segment; false when the ACK is not acceptable (RFC 5961 §5.2: outside
 * SND.UNA - MAX.SND.WND ..= SND.NXT), and then the whole segment, data too, must be discarded and
 * answered with a (rate-limited) challenge ACK: a blind attacker has to guess the acknowledgement
 * number as well as the sequence number to inject data (RFC 5961 §6).
 */
export function processAck(c: TcpMigrateConnection, now: Instant, seg: TcpSegment): boolean {
  const ackOff = c.sndOffset(seg.ack);
  // After a gap-fill takeover the client's cumulative ACK and SACK blocks may cover ranges it held
  // before we took over and that we never sent (up to heldHigh); beyond that nobody sent it.
  const limit = Math.max(c.sndMax, c.heldHigh);
  if (ackOff > limit || ackOff < c.sndUna - Math.max(c.maxPeerWindow, c.peerWindow)) return false;
  const oldWindow = c.peerWindow;
  const window = seg.window * 2 ** c.sndShift; // RFC 7323 §2.3: SND.WND = SEG.WND << Snd.Wind.Shift
  if (ackOff >= c.sndUna) {
    // RFC 9293 §3.10.7.4: an older ACK (reordered) does not update the window; its window, taken
    // from today's SND.UNA, would reach past the edge the receiver offers now.
    c.peerWindow = window;
    if (window > c.maxPeerWindow) c.maxPeerWindow = window;
  }
  c.persistUnanswered = 0;
  const mss = c.effectiveMss();
  let sacked = false;
  if (c.sackOk && seg.options.length > 0) {
    const sack = findOption(seg.options, 'sack');
    if (sack) {
      sacked = true;
      for (const b of sack.blocks) {
        const l = c.sndOffset(b.left);
        const r = c.sndOffset(b.right);
        if (r > l && l >= c.sndUna && r <= limit) c.scoreboard.add(l, r);
      }
    }
  }
  if (ackOff > c.sndUna) {
    const acked = ackOff - c.sndUna;
    if (c.rttEnd >= 0 && ackOff >= c.rttEnd) {
      c.rtt.sample(echoedRtt(c, now, seg) ?? now - c.rttSentAt);
      c.rttEnd = -1;
    }
    c.sndUna = ackOff;
    if (c.sndNxt < ackOff) c.sndNxt = ackOff;
    if (c.sndMax < ackOff) c.sndMax = ackOff;
    c.snd.release(Math.min(ackOff, c.snd.end));
    // An ACK that fills a hole (SACKed data above SND.UNA) or answers a retransmission timeout
    // acknowledges what the receiver held out of order, not a batch of new segments.
    const afterLoss = !c.scoreboard.isEmpty || c.retries > 0;
    c.scoreboard.ackTo(ackOff);
    c.retries = 0;
    c.rtt.clearBackoff();
    c.dupAcks = 0;
    if (c.inRecovery) {
      if (ackOff >= c.recoverPoint) {
        c.inRecovery = false;
        c.cwnd = c.ssthresh;
      } else {
        if (c.rtxNext < ackOff) c.rtxNext = ackOff;
        if (c.scoreboard.isEmpty) {
          // NewReno (RFC 6582): the partial ACK points at the next hole; resend it.
          c.rtxNext = ackOff;
          c.recoveryHigh = Math.min(c.sndMax, ackOff + mss);
        }
      }
    } else if (c.cwnd < c.ssthresh) {
      // RFC 3465, L = 2 per ACK; a baton peer's batch ACK (receiver.ts) counts as the ACKs of two
      // segments each that it stands for, up to the stretch bound. Not after a loss: a filled hole
      // or the answer to a timeout acknowledges more at once, and weighting it so grew cwnd by up
      // to 16 segments in one step, a burst that overflowed a 14 KB queue again.
      const acks = batonPeer(c) && !afterLoss ? Math.min(BATCH_ACK_STRETCH >> 1, Math.max(1, Math.ceil(acked / (2 * mss)))) : 1;
      c.cwnd = Math.min(MAX_CWND, c.cwnd + Math.min(acked, 2 * mss * acks));
    } else {
      c.caAcked += acked;
      if (c.caAcked >= c.cwnd) {
        c.caAcked -= c.cwnd;
        c.cwnd = Math.min(MAX_CWND, c.cwnd + mss);
      }
    }
    if (c.finQueued && !c.finAcked && ackOff >= c.snd.end + 1) finAcked(c, now);
    if (c.released) return true;
    c.rtoAt = c.sndUna >= c.sndMax ? undefined : now + c.rtt.rto;
    if (c.wantWritable && c.snd.space > 0 && !c.finQueued) {
      c.wantWritable = false;
      c.emit({ type: 'writable' });
    }
  } else if (
    ackOff === c.sndUna &&
    c.sndMax > c.sndUna &&
    seg.payload.length === 0 &&
    (seg.flags & (SYN | FIN)) === 0 &&
    // RFC 5681: the same window; or (RFC 6675) SACK blocks. A pure window update is no duplicate.
    (window === oldWindow || sacked) &&
    !c.isProbe(seg)
  ) {
    c.dupAcks++;
    if (!c.inRecovery && c.dupAcks >= DUP_THRESH && c.sndUna >= c.recoverPoint) enterRecovery(c);
  }
  if (c.inRecovery) c.recoveryHigh = Math.max(c.recoveryHigh, c.scoreboard.lossBoundary(DUP_THRESH * mss, c.sndMax));
  // The dead-peer clock stops when the peer acknowledged new data, or answers with a closed
  // window (a live receiver that does not read: the persist timer's probes watch it from now on).
  if (c.retries === 0 || c.peerWindow === 0) c.stopGiveUpClock();
  return true;
}

function finAcked(c: TcpMigrateConnection, now: Instant): void {
  c.finAcked = true;
  switch (c.state) {
    case 'FIN-WAIT-1':
      c.transition('FIN-WAIT-2', 'our FIN acknowledged');
      break;
    case 'CLOSING':
      c.enterTimeWait(now);
      break;
    case 'LAST-ACK':
      c.finish(now, undefined);
      break;
  }
}

/** Fast retransmit / fast recovery entry (RFC 5681 §3.2 with RFC 6675's pipe). */
function enterRecovery(c: TcpMigrateConnection): void {
  const mss = c.effectiveMss();
  const flight = c.sndMax - c.sndUna;
  c.ssthresh = Math.max(Math.floor(flight / 2), 2 * mss);
  c.cwnd = c.ssthresh;
  c.caAcked = 0;
  c.inRecovery = true;
  c.recoverPoint = c.sndMax;
  c.rtxNext = c.sndUna;
  // RFC 6675 §5: the first unacknowledged segment is resent at once, then every hole IsLost marks.
  c.recoveryHigh = Math.max(c.scoreboard.lossBoundary(DUP_THRESH * mss, c.sndMax), Math.min(c.sndMax, c.sndUna + mss));
  c.rttEnd = -1;
}

/** RFC 6298 §5.4-5.7 / RFC 5681 §3.1: loss window, go back to the first unacknowledged byte. */
export function onRto(c: TcpMigrateConnection, now: Instant): void {
  if (c.sndUna >= c.sndMax) return;
  const mss = c.effectiveMss();
  if (c.retries === 1) c.ssthresh = Math.max(Math.floor((c.sndMax - c.sndUna) / 2), 2 * mss);
  c.cwnd = mss;
  c.caAcked = 0;
  c.inRecovery = false;
  c.recoverPoint = c.sndMax;
  c.dupAcks = 0;
  c.scoreboard.clear(); // RFC 2018 §8: the receiver may have reneged
  c.sndNxt = c.sndUna;
  c.rtxNext = c.sndUna;
  c.rtoAt = now + c.rtt.rto;
  c.probeDue = true; // a window that shrank under the outstanding data still gets a probe, or what fits
}

/** The next data (or FIN) segment the windows allow, or undefined. */
export function nextSegment(c: TcpMigrateConnection, now: Instant): Transmit | undefined {
  const end = c.snd.end;
  const mss = c.effectiveMss();
  if (c.inRecovery) {
    const off = c.scoreboard.nextUnsacked(Math.max(c.rtxNext, c.sndUna));
    if (off < c.recoveryHigh && off < end) {
      if (pipe(c) >= c.cwnd) return undefined;
      const len = Math.min(mss, c.recoveryHigh - off, c.scoreboard.nextSackedStart(off) - off, end - off);
      c.rtxNext = off + len;
      // The first hole's retransmission restarts the timer (as Linux does): its ACK cannot come
      // back sooner than the queue it waits in behind the window that was lost into, and the
      // timer armed for the original would fire while it waits (a spurious timeout).
      if (off === c.sndUna) c.rtoAt = now + c.rtt.rto;
      return dataSegment(c, now, off, len, true, false);
    }
  }
  let off = c.sndNxt;
  if (off < end) off = c.scoreboard.nextUnsacked(off);
  if (off < end) {
    let len = Math.min(mss, end - off, c.scoreboard.nextSackedStart(off) - off);
    const usable = c.sndUna + c.peerWindow - off;
    if (usable < len) {
      // Sender SWS avoidance (RFC 9293 §3.8.6.2.1): into a window smaller than the segment we
      // would send, send only at least half the largest window the peer offered, or when the
      // persist timer has run out (its override); a closed window gets probes instead.
      if (usable <= 0 || (!c.probeDue && usable < Math.max(c.maxPeerWindow, c.peerWindow) >> 1)) return windowStall(c, now);
      len = usable;
    }
    if (c.cwnd - pipe(c) < len) return undefined;
    const isRtx = off < c.sndMax;
    const fin = c.finQueued && off + len === end;
    c.sndNxt = off + len + (fin ? 1 : 0);
    if (c.sndNxt > c.sndMax) c.sndMax = c.sndNxt;
    return dataSegment(c, now, off, len, isRtx, fin);
  }
  if (c.finQueued && c.sndNxt <= end) {
    const isRtx = end < c.sndMax;
    c.sndNxt = end + 1;
    if (c.sndNxt > c.sndMax) c.sndMax = c.sndNxt;
    return dataSegment(c, now, end, 0, isRtx, true);
  }
  return undefined;
}

/**
 * The peer's window stops us. Nothing in flight means no ACK will come to reopen it, so the persist
 * timer runs; when it has fired, a zero-window probe goes out and the timer re-arms, backed off.
 * The probe is an empty segment at SND.UNA - 1 (Linux's form): unacceptable to the receiver, so it
 * answers with an ACK carrying its window (RFC 9293 §3.10.7.4), whether or not the window opened.
 */
function windowStall(c: TcpMigrateConnection, now: Instant): Transmit | undefined {
  if (c.probeDue) {
    c.probeDue = false;
    if (c.sndUna >= c.sndMax) armPersist(c, now); // else the retransmission timer is running
    return c.build(ACK, (c.sndWire(c.sndUna) - 1) >>> 0, c.ackNumber(), c.sackOptions(), 0, 0);
  }
  if (c.persistAt === undefined && c.sndUna >= c.sndMax) armPersist(c, now);
  return undefined;
}

/** The persist interval: the RTO, doubled per probe since the window last opened, at most rtoMax. */
function armPersist(c: TcpMigrateConnection, now: Instant): void {
  c.persistAt = now + Math.min(c.config.rtoMax, c.rtt.rto * 2 ** Math.min(c.persistShift, 16));
}

/** The persist timer fired: the next segment probes (or, into a small window, sends what fits). */
export function onPersistTimeout(c: TcpMigrateConnection, now: Instant): void {
  if (++c.persistUnanswered > c.config.maxRetransmissions) {
    c.fail(now, 'BATON_ERR_TIMEOUT', `${c.remote.address} answered none of ${c.persistUnanswered - 1} zero-window probes`);
    return;
  }
  c.startGiveUpClock(now); // the time bound beside the count (userTimeoutMs)
  c.persistShift++;
  c.probeDue = true;
}

function dataSegment(c: TcpMigrateConnection, now: Instant, off: number, len: number, isRtx: boolean, fin: boolean): Transmit {
  let flags = ACK;
  if (fin) flags |= FIN;
  if (len > 0 && off + len === c.snd.end) flags |= PSH;
  const tx = c.build(flags, c.sndWire(off), c.ackNumber(), c.sackOptions(), off, len);
  if (isRtx) {
    if (c.rttEnd >= 0 && off < c.rttEnd) c.rttEnd = -1; // Karn
  } else if (c.rttEnd < 0) {
    c.rttEnd = off + len + (fin ? 1 : 0);
    c.rttSentAt = now;
  }
  if (c.rtoAt === undefined) c.rtoAt = now + c.rtt.rto;
  c.persistAt = undefined;
  c.persistShift = 0;
  c.probeDue = false;
  return tx;
}
