// Outbound data path: SACK processing (RFC 9260 §6.2.1), retransmission (§6.3.3 T3-rtx, §7.2.4
// fast retransmit with the HTNA rule and fast recovery), congestion and flow control on send
// (§6.1, §7.2, Max.Burst §6.1 D), and filling packets with retransmissions first, then new chunks.
import type { Path } from './path.js';
import type { PacketWriter } from './packet-writer.js';
import { SendQueue, type OutChunk, type SendMode } from './send-queue.js';
import { tsnAdd, tsnDiff, tsnGt, tsnLt } from './serial.js';
import type { SackChunk } from './wire/types.js';
import { BATCH_ACK_STRETCH } from './receiver.js';

export type SackOutcome =
  | { readonly kind: 'ignored' }
  | { readonly kind: 'violation'; readonly reason: string }
  | { readonly kind: 'processed'; readonly cumAdvanced: boolean; readonly newlyAckedBytes: number };

/**
 * How many SACKs of the RFC's schedule (one per second packet, §6.2) a SACK that newly acknowledged
 * `bytes` on a path stands for: a baton receiver's batch SACK of 16 full packets counts as 8, so slow
 * start grows and Max.Burst lets out as much as those 8 SACKs would have (and never less than one).
 * Rounded up: a full packet carries a little less than `mtu` bytes of DATA (headers, AUTH). At most
 * the stretch bound's worth: a SACK that fills a hole acknowledges more, and counts as no more.
 */
export function ackWeight(bytes: number, mtu: number): number {
  return Math.min(BATCH_ACK_STRETCH >> 1, Math.max(1, Math.ceil(bytes / (2 * mtu))));
}

export class Sender {
  readonly queue: SendQueue;
  /** The peer's receiver window as we estimate it (a_rwnd minus what is in flight). */
  peerRwnd: number;
  /** Last a_rwnd the peer advertised. */
  peerAdvertised: number;
  /** Chunks waiting for retransmission, oldest marking first (entries may be stale). */
  private retransmitList: OutChunk[] = [];
  private retransmitHead = 0;
  /** Send one packet of fast retransmissions now, ignoring cwnd (§7.2.4 step 3). */
  fastRetransmitNow = false;
  /** Bytes in flight over all paths. */
  totalFlight = 0;
  /** Scratch per-path counters for handleSack (no allocation per SACK). */
  private ackedPerPath = new Float64Array(4);
  private flightBefore = new Float64Array(4);
  /**
   * Per path: when we last asked whether it could take new DATA (canSend), it could not because its
   * cwnd was full and there was DATA waiting. SACKs that arrive together (a driver's receive batch)
   * are processed without a send in between: each of them finds the window the sender had filled
   * before them in use (§7.2.1 "fully utilized"), as it would have had the sender refilled it after
   * each, not what the SACKs before it in the batch left of it.
   */
  private cwndLimited: boolean[] = [];
  ppid = 0;
  /** Max.Burst in packets (§6.1 rule D); 0: no limit. */
  maxBurst = 0;
  /**
   * The peer is baton and acknowledges a receive batch with one SACK (receiver.ts batchAck): a SACK
   * then counts as the RFC's SACKs it stands for (ackWeight) in slow start and Max.Burst.
   */
  batchAcks = false;

  constructor(
    mode: SendMode,
    chunkSize: number,
    initialTsn: number,
    outboundStreams: number,
    peerRwnd: number,
    readonly paths: Path[],
  ) {
    this.queue = new SendQueue(mode, chunkSize, initialTsn, outboundStreams);
    this.peerRwnd = peerRwnd;
    this.peerAdvertised = peerRwnd;
  }

  /** Cumulative TSN ack point: every TSN up to it is acknowledged. */
  get cumulativeAck(): number {
    return tsnAdd(this.queue.firstTsn, -1);
  }

  get hasRetransmissions(): boolean {
    this.skipStale();
    return this.retransmitHead < this.retransmitList.length;
  }

  /** Everything sent was acknowledged and nothing waits. */
  get idle(): boolean {
    return this.queue.outstandingCount === 0 && this.queue.pendingBytes === 0;
  }

  private skipStale(): void {
    const l = this.retransmitList;
    while (this.retransmitHead < l.length && !l[this.retransmitHead]!.needsRetransmit) this.retransmitHead++;
    if (this.retransmitHead === l.length && l.length > 0) {
      this.retransmitList = [];
      this.retransmitHead = 0;
    }
  }

  private leaveFlight(c: OutChunk): void {
    if (!c.inFlight) return;
    c.inFlight = false;
    const p = this.paths[c.path];
    if (p) p.flightSize -= c.data.length;
    this.totalFlight -= c.data.length;
  }

  private markRetransmit(c: OutChunk): void {
    if (c.needsRetransmit || c.gapAcked) return;
    this.leaveFlight(c);
    c.needsRetransmit = true;
    this.retransmitList.push(c);
  }

  handleSack(now: number, sack: SackChunk): SackOutcome {
    const q = this.queue;
    const cum = sack.cumulativeTsnAck;
    if (tsnLt(cum, this.cumulativeAck)) return { kind: 'ignored' };
    if (!tsnLt(cum, q.nextTsn)) return { kind: 'violation', reason: `SACK acknowledges TSN ${cum}, never sent` };
    const n = this.paths.length;
    if (this.ackedPerPath.length < n) {
      this.ackedPerPath = new Float64Array(n);
      this.flightBefore = new Float64Array(n);
    }
    const ackedPerPath = this.ackedPerPath;
    const flightBefore = this.flightBefore;
    for (let i = 0; i < n; i++) {
      ackedPerPath[i] = 0;
      const p = this.paths[i]!;
      flightBefore[i] = this.cwndLimited[i] === true ? Math.max(p.flightSize, p.cwnd) : p.flightSize;
    }
    let newlyAcked = 0;
    let htna: number | undefined;
    const cumAdvanced = tsnGt(cum, this.cumulativeAck);
    for (let c = q.shiftAcked(cum); c; c = q.shiftAcked(cum)) {
      if (!c.gapAcked) {
        newlyAcked += c.data.length;
        if (c.path < n) ackedPerPath[c.path] += c.data.length;
        htna = c.tsn;
      }
      this.leaveFlight(c);
      c.needsRetransmit = false;
      this.measureRtt(now, c);
    }
    q.finishAck(cum);
    // Gap-ack blocks.
    let highestGap = cum;
    for (const g of sack.gapBlocks) {
      if (g.start > g.end || g.start < 1) continue;
      const end = tsnAdd(cum, g.end);
      if (!tsnLt(end, q.nextTsn)) return { kind: 'violation', reason: `gap block acknowledges TSN ${end}, never sent` };
      for (let t = tsnAdd(cum, g.start); ; t = tsnAdd(t, 1)) {
        const c = q.get(t);
        if (c && !c.gapAcked) {
          c.gapAcked = true;
          newlyAcked += c.data.length;
          if (c.path < n) ackedPerPath[c.path] += c.data.length;
          if (htna === undefined || tsnGt(t, htna)) htna = t;
          this.leaveFlight(c);
          c.needsRetransmit = false;
          this.measureRtt(now, c);
        }
        if (t === end) break;
      }
      if (tsnGt(end, highestGap)) highestGap = end;
    }
    // Miss indications (HTNA): the holes below the highest newly acknowledged TSN.
    if (htna !== undefined && sack.gapBlocks.length > 0) {
      let cursor = tsnAdd(cum, 1);
      for (const g of sack.gapBlocks) {
        const start = tsnAdd(cum, g.start);
        for (let t = cursor; tsnLt(t, start) && tsnLt(t, htna); t = tsnAdd(t, 1)) this.missIndication(t);
        const after = tsnAdd(cum, g.end + 1);
        if (tsnGt(after, cursor)) cursor = after;
      }
    }
    // Congestion control and timers per path.
    for (let i = 0; i < this.paths.length; i++) {
      const p = this.paths[i]!;
      const weight = this.batchAcks ? ackWeight(ackedPerPath[i]!, p.mtu) : 1;
      if (ackedPerPath[i]! > 0) {
        p.errorCount = 0;
        p.timeoutsWithoutAck = 0;
        p.onAcked(ackedPerPath[i]!, cumAdvanced, flightBefore[i]!, weight);
      }
      if (p.fastRecoveryExit !== undefined && !tsnLt(cum, p.fastRecoveryExit)) p.fastRecoveryExit = undefined;
      // §6.1 D: each SACK lets out at most Max.Burst more packets (path.ts burstAllowance).
      if (this.maxBurst > 0) {
        const carried = p.sentSinceSack || !Number.isFinite(p.burstAllowance) ? 0 : p.burstAllowance;
        p.burstAllowance = carried + this.maxBurst * p.mtu * weight;
        p.sentSinceSack = false;
      } else p.burstAllowance = Infinity;
      if (p.flightSize <= 0) p.t3 = NaN;
      else if (cumAdvanced && ackedPerPath[i]! > 0) p.t3 = now + p.rto.rto;
    }
    this.peerAdvertised = sack.advertisedReceiverWindow;
    this.peerRwnd = Math.max(0, sack.advertisedReceiverWindow - this.totalFlight);
    return { kind: 'processed', cumAdvanced, newlyAckedBytes: newlyAcked };
  }

  private missIndication(tsn: number): void {
    const c = this.queue.get(tsn);
    if (!c || c.gapAcked || c.needsRetransmit || c.fastRetransmitted) return;
    if (++c.missReports < 3) return;
    const p = this.paths[c.path];
    if (p && p.fastRecoveryExit === undefined) p.enterFastRecovery(tsnAdd(this.queue.nextTsn, -1));
    c.fastRetransmitted = true;
    this.markRetransmit(c);
    this.fastRetransmitNow = true;
  }

  private measureRtt(now: number, c: OutChunk): void {
    const p = this.paths[c.path];
    if (!p || Number.isNaN(p.rttSentAt) || p.rttTsn !== c.tsn) return;
    if (c.transmissions === 1) p.rto.sample(now - p.rttSentAt);
    p.rttSentAt = NaN;
  }

  /** T3-rtx of path `index` expired: mark its outstanding chunks for retransmission (§6.3.3). */
  onRetransmissionTimeout(index: number): void {
    const p = this.paths[index]!;
    p.onRetransmissionTimeout();
    p.rttSentAt = NaN;
    const n = this.queue.outstandingCount;
    for (let i = 0; i < n; i++) {
      const c = this.queue.at(i);
      if (c.path === index && !c.gapAcked) this.markRetransmit(c);
    }
    // The retransmission list must stay in TSN order: rebuild it from the queue.
    this.retransmitList = [];
    this.retransmitHead = 0;
    for (let i = 0; i < n; i++) {
      const c = this.queue.at(i);
      if (c.needsRetransmit) this.retransmitList.push(c);
    }
  }

  /** Move every outstanding chunk of a failed path to `to` for retransmission (§6.4.1). */
  failOver(from: number): void {
    const n = this.queue.outstandingCount;
    for (let i = 0; i < n; i++) {
      const c = this.queue.at(i);
      if (c.path === from && !c.gapAcked && !c.needsRetransmit) this.markRetransmit(c);
    }
    this.paths[from]!.t3 = NaN;
  }

  /** True when fill() would write at least one chunk to path `index`. */
  canSend(index: number): boolean {
    const p = this.paths[index]!;
    if (this.hasRetransmissions) return this.fastRetransmitNow || p.flightSize < p.cwnd;
    const len = this.queue.nextChunkLength();
    this.cwndLimited[index] = len > 0 && p.flightSize >= p.cwnd;
    if (len === 0 || p.flightSize >= p.cwnd || len > p.burstAllowance) return false;
    return this.peerRwnd >= len || this.totalFlight === 0;
  }

  /** Write retransmissions, then new DATA, into the packet for path `index`. Returns chunks written. */
  fill(now: number, w: PacketWriter, index: number): number {
    const p = this.paths[index]!;
    p.decayIfIdle(now);
    let written = 0;
    const fast = this.fastRetransmitNow;
    this.fastRetransmitNow = false;
    // Retransmissions first (lowest TSN first).
    const l = this.retransmitList;
    while (this.retransmitHead < l.length) {
      const c = l[this.retransmitHead]!;
      if (!c.needsRetransmit) {
        this.retransmitHead++;
        continue;
      }
      if (!fast && p.flightSize >= p.cwnd) break;
      // A chunk cut for a larger path MTU than this path has now (path MTU discovery, black hole)
      // cannot be cut again: it goes alone, oversized (the packet is marked mayFragment).
      if (w.dataCost(c.data.length) > w.room && w.count > 0) break;
      this.retransmitHead++;
      c.needsRetransmit = false;
      if (p.rttTsn === c.tsn) p.rttSentAt = NaN;
      this.transmit(now, w, c, index);
      written++;
    }
    if (this.retransmitHead === l.length && l.length > 0) {
      this.retransmitList = [];
      this.retransmitHead = 0;
    }
    if (fast || this.retransmitHead < this.retransmitList.length) {
      if (written > 0 && Number.isNaN(p.t3)) p.t3 = now + p.rto.rto;
      return written;
    }
    // New data, while cwnd, Max.Burst and the peer's window allow (one chunk may probe a zero window).
    const q = this.queue;
    for (;;) {
      const len = q.nextChunkLength();
      // cwnd may be overrun by one chunk (§7.2.1 rule B); the Max.Burst limit may not.
      if (len === 0 || p.flightSize >= p.cwnd || len > p.burstAllowance) break;
      if (this.peerRwnd < len && this.totalFlight > 0) break;
      if (w.dataCost(len) > w.room) break;
      const c = q.take(now, index)!;
      if (c.gapAcked) continue; // takeover gap-fill: the client already holds this TSN
      this.peerRwnd = Math.max(0, this.peerRwnd - len);
      p.burstAllowance -= len;
      p.sentSinceSack = true;
      p.lastNewDataAt = now;
      if (Number.isNaN(p.rttSentAt)) {
        p.rttTsn = c.tsn;
        p.rttSentAt = now;
      }
      this.transmit(now, w, c, index);
      written++;
    }
    if (written > 0 && Number.isNaN(p.t3)) p.t3 = now + p.rto.rto;
    return written;
  }

  /** PR-SCTP (pr-sctp.ts): give up on an outstanding chunk: out of the flight, never retransmitted. */
  abandon(c: OutChunk): void {
    this.leaveFlight(c);
    c.needsRetransmit = false;
    c.gapAcked = true;
    c.abandoned = true;
  }

  private transmit(now: number, w: PacketWriter, c: OutChunk, index: number): void {
    if (c.transmissions === 0) c.firstSentAt = now;
    w.addData(c, c.ppid ?? this.ppid);
    c.path = index;
    c.sentAt = now;
    c.transmissions++;
    c.missReports = 0;
    c.inFlight = true;
    const p = this.paths[index]!;
    p.flightSize += c.data.length;
    p.lastSendAt = now;
    this.totalFlight += c.data.length;
  }

  /** TSN of the oldest outstanding chunk (for probes and export). */
  get lowestOutstanding(): number | undefined {
    return this.queue.outstandingCount > 0 ? this.queue.firstTsn : undefined;
  }

  /** Distance in TSNs between two TSNs (exported for callers that map offsets). */
  static distance(a: number, b: number): number {
    return tsnDiff(a, b);
  }
}
