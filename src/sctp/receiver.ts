// Inbound data path: TSN tracking, reassembly and delivery, the advertised receiver window
// (RFC 9260 §6.2) and the SACK schedule — delayed SACK (200 ms or every second packet with DATA),
// immediately when a gap or a duplicate is seen. The SACK reports the acknowledged point
// (ack-point.ts), which an acknowledge limit may hold below the cumulative TSN received.
//
// Between baton ends (`batchAck`, the peer's x25519 key was agreed) the every-second-packet SACK
// waits for the end of the receive batch instead: the datagrams a driver hands over before it next
// polls transmits (one event-loop turn, transport-abstraction/runtime.ts), so a turn that took 20
// packets answers with one SACK, not ten; at most BATCH_ACK_STRETCH packets per SACK. Gaps,
// duplicates, the I bit and window updates still SACK at once. The sender counts such a SACK as
// the RFC's SACKs it stands for (sender.ts ackWeight), so slow start and Max.Burst are unchanged.
import { AckPoint } from './ack-point.js';
import { Reassembly, type Deliver } from './reassembly.js';
import { tsnDiff, tsnGt } from './serial.js';
import { TsnTracker } from './tsn-tracker.js';
import type { DataChunk, SackChunk } from './wire/types.js';

export type DataResult = 'new' | 'duplicate' | 'dropped' | 'bad-stream';

/** Between baton ends, the most packets with DATA one SACK acknowledges in a batch (the stretch bound). */
export const BATCH_ACK_STRETCH = 16;

export class Receiver {
  readonly tracker: TsnTracker;
  readonly reassembly: Reassembly;
  readonly ackPoint: AckPoint;
  /** Bytes delivered as events that the application has not polled yet. */
  unreadBytes = 0;
  /** Packets with DATA since the last SACK. */
  packetsSinceSack = 0;
  /** A SACK should go out with the next packet. */
  sackNow = false;
  /** A SACK is due at the end of this receive batch (between baton ends; see batchAck). */
  sackAtBatchEnd = false;
  /** The window in the last SACK we sent. */
  lastAdvertised: number;
  /** The cumulative TSN moved since the last stuck() check. */
  private cumulativeMoved = false;

  constructor(
    peerInitialTsn: number,
    inboundStreams: number,
    readonly receiveWindow: number,
    deliver: Deliver,
  ) {
    this.tracker = new TsnTracker(peerInitialTsn);
    this.ackPoint = new AckPoint(this.tracker.cumulativeTsn);
    this.reassembly = new Reassembly(inboundStreams, (s, b) => {
      this.unreadBytes += b.length;
      deliver(s, b);
    });
    this.lastAdvertised = receiveWindow;
  }

  /** The advertised receiver window (a_rwnd). */
  get window(): number {
    return Math.max(0, this.receiveWindow - this.reassembly.bufferedBytes - this.unreadBytes);
  }

  /** One received DATA chunk (non-empty). */
  onData(chunk: DataChunk): DataResult {
    const tsn = chunk.tsn;
    // §6.2: with no window left, drop new chunks beyond the highest TSN received (holes still fill).
    // A chunk larger than a small remaining window is taken: that is the sender's window probe.
    if (this.window <= 0 && tsnGt(tsn, this.tracker.highestTsn)) {
      // Fragments of unfinished messages may be what fills the window: hand their heads over.
      this.reassembly.relieve();
      return 'dropped';
    }
    // Never track more than 2^20 TSNs ahead of the cumulative point (a peer gone mad).
    if (tsnDiff(tsn, this.tracker.cumulativeTsn) > 1 << 20) return 'dropped';
    // A chunk arriving while a gap is open (possibly filling it) is acknowledged at once (§6.7).
    // So is one with the I bit (RFC 7053: the sender asks for an immediate SACK).
    if (this.tracker.hasGaps || chunk.immediate) this.sackNow = true;
    const previousCum = this.tracker.cumulativeTsn;
    if (this.tracker.receive(tsn) === 'duplicate') {
      this.sackNow = true;
      return 'duplicate';
    }
    if (this.tracker.cumulativeTsn !== previousCum) this.cumulativeMoved = true;
    this.ackPoint.onNewTsn(
      { tsn, length: chunk.userData.length, streamId: chunk.streamId, ssn: chunk.ssn, unordered: chunk.unordered, ending: chunk.ending },
      previousCum,
      this.tracker.cumulativeTsn,
    );
    if (chunk.streamId >= this.reassembly.streamCount) return 'bad-stream';
    this.reassembly.add(chunk);
    return 'new';
  }

  /**
   * A FORWARD-TSN (RFC 3758 §3.6, pr-sctp.ts): the peer abandoned every message up to
   * `newCumulativeTsn`. The cumulative TSN moves there (and on over TSNs received beyond it),
   * abandoned fragments are dropped, ordered streams skip the listed SSNs; a SACK goes at once.
   * Returns false for a FORWARD-TSN that is not ahead of the cumulative TSN (old or duplicate).
   */
  onForwardTsn(newCumulativeTsn: number, streams: ReadonlyArray<{ readonly streamId: number; readonly ssn: number }>): boolean {
    this.sackNow = true;
    // The same bound as DATA: never jump more than 2^20 TSNs ahead of the cumulative point.
    if (tsnDiff(newCumulativeTsn, this.tracker.cumulativeTsn) > 1 << 20) return false;
    if (!this.tracker.forward(newCumulativeTsn)) return false;
    this.cumulativeMoved = true;
    this.ackPoint.onForward(newCumulativeTsn, this.tracker.cumulativeTsn);
    this.reassembly.forward(newCumulativeTsn, streams);
    return true;
  }

  /**
   * After a packet's DATA: a description of the stall when the stream can no longer progress (a
   * stranded ordered message, see Reassembly.stranded), else undefined. Checked only when the
   * cumulative TSN moved, so a packet costs nothing while the stream flows.
   */
  stuck(): string | undefined {
    if (!this.cumulativeMoved) return undefined;
    this.cumulativeMoved = false;
    const cum = this.tracker.cumulativeTsn;
    const s = this.reassembly.stranded(cum);
    if (s === undefined) return undefined;
    return `DATA inconsistent: stream ${s.stream} waits for SSN ${s.expected}, but SSN ${s.ssn} (TSN ${s.lastTsn >>> 0}) is complete and every TSN up to ${cum >>> 0} has arrived — a DATA chunk that was not the peer's (forged, on-path) took a TSN; authenticate DATA (RFC 4895) to refuse such chunks`;
  }

  /**
   * After all chunks of a packet that carried DATA: decide between now, the end of the receive
   * batch (`batchAck`: the peer is baton; below the stretch bound) and the delayed-SACK timer.
   */
  endOfPacket(batchAck = false): void {
    this.packetsSinceSack++;
    if (this.tracker.hasGaps || this.tracker.hasDuplicates) this.sackNow = true;
    else if (this.packetsSinceSack >= 2) {
      if (batchAck && this.packetsSinceSack < BATCH_ACK_STRETCH) this.sackAtBatchEnd = true;
      else this.sackNow = true;
    }
  }

  /** The application consumed `n` delivered bytes; true when a window update is worth sending. */
  consumed(n: number, mtu: number): boolean {
    this.unreadBytes -= n;
    const w = this.window;
    const reopened = (this.lastAdvertised < 2 * mtu && w >= 4 * mtu) || w - this.lastAdvertised >= this.receiveWindow / 2;
    if (reopened) this.sackNow = true;
    return reopened;
  }

  /** Build the SACK to send now and reset the schedule. */
  makeSack(): SackChunk {
    this.packetsSinceSack = 0;
    this.sackNow = false;
    this.sackAtBatchEnd = false;
    this.lastAdvertised = this.window;
    const p = this.ackPoint;
    if (p.limit === undefined && p.heldBytes === 0) {
      return {
        type: 3,
        cumulativeTsnAck: this.tracker.cumulativeTsn,
        advertisedReceiverWindow: this.lastAdvertised,
        gapBlocks: this.tracker.gapBlocks(),
        duplicateTsns: this.tracker.takeDuplicates(),
      };
    }
    // Under an acknowledge limit: the acknowledged point, no gap blocks, no held duplicates, and
    // the held bytes (which the peer counts as outstanding) added back to the window.
    return {
      type: 3,
      cumulativeTsnAck: p.ackedTsn,
      advertisedReceiverWindow: Math.min(0xffffffff, this.lastAdvertised + p.heldBytes),
      gapBlocks: [],
      duplicateTsns: this.tracker.takeDuplicates().filter((t) => p.reportable(t)),
    };
  }
}
