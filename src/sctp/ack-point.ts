// The acknowledged point of the inbound data (MigratableTransport.setAcknowledgeLimit): the
// cumulative TSN ack we report may stay below the cumulative TSN received, at the last TSN that
// ends a message and whose bytes lie wholly below the limit (peer→local stream offset: the user
// data bytes of every TSN from the peer's first, in TSN order).
//
// Held TSNs (received in order, delivered to the application, not acknowledged) are the peer's to
// resend: if this server dies, a taker imported from our export (peerCumulativeTsn = the
// acknowledged TSN, inbound SSNs at that point, see inboundSsnsAt) accepts them as new. While a
// limit is set no gap block is reported (a TSN above a hole has no known offset, so it is never
// known to lie below the limit) and duplicates of held TSNs are not reported; the a_rwnd we
// advertise adds the held bytes back, because the peer counts them as outstanding.
import { ssnLt, tsnAdd, tsnDiff, tsnGt, tsnLte } from './serial.js';

/** What the point needs to know of one received DATA chunk. */
export interface ChunkFacts {
  readonly tsn: number;
  readonly length: number;
  readonly streamId: number;
  readonly ssn: number;
  readonly unordered: boolean;
  readonly ending: boolean;
}

interface Held extends ChunkFacts {
  /** Stream offset just after this TSN's bytes. */
  readonly end: number;
}

export class AckPoint {
  /** setAcknowledgeLimit's offset; undefined: acknowledge up to the cumulative TSN. */
  limit: number | undefined;
  /** Bytes of every TSN up to the cumulative TSN received. */
  receivedOffset = 0;
  /** The cumulative TSN ack we report. */
  ackedTsn: number;
  /** Bytes of every TSN up to ackedTsn. */
  ackedOffset = 0;
  /** TSNs in (ackedTsn, cumulative TSN], in order: received in order, held by the limit. */
  private held: Held[] = [];
  /** TSNs received above the cumulative TSN (above a hole), until the hole fills. */
  private readonly aboveHole = new Map<number, ChunkFacts>();

  constructor(cumulativeTsn: number) {
    this.ackedTsn = cumulativeTsn;
  }

  get heldBytes(): number {
    return this.receivedOffset - this.ackedOffset;
  }

  /**
   * A new TSN was recorded; `previousCum` / `cum` are the tracker's cumulative TSN before and
   * after it.
   */
  onNewTsn(facts: ChunkFacts, previousCum: number, cum: number): void {
    if (facts.tsn !== tsnAdd(previousCum, 1)) {
      this.aboveHole.set(facts.tsn, facts);
      return;
    }
    this.inOrder(facts);
    for (let t = tsnAdd(facts.tsn, 1); tsnLte(t, cum); t = tsnAdd(t, 1)) {
      const f = this.aboveHole.get(t);
      if (f === undefined) break; // cannot happen: the tracker only joins received TSNs
      this.aboveHole.delete(t);
      this.inOrder(f);
    }
    this.settle();
  }

  /**
   * A FORWARD-TSN (RFC 3758) to `newCumulativeTsn` moved the tracker's cumulative TSN to `cum` over TSNs that will never
   * arrive: the ones that did arrive above the hole come in order, the skipped ones carry no
   * bytes (receivedOffset counts delivered user data), and `newCumulativeTsn` ends a message (a sender
   * abandons whole messages), so the acknowledged point may move to it, under the limit as ever.
   */
  onForward(newCumulativeTsn: number, cum: number): void {
    const arrived = [...this.aboveHole.values()].filter((f) => tsnLte(f.tsn, cum)).sort((x, y) => tsnDiff(x.tsn, y.tsn));
    let skipped = false;
    for (const f of arrived) {
      if (!skipped && tsnGt(f.tsn, newCumulativeTsn)) {
        skipped = true;
        this.inOrder({ tsn: newCumulativeTsn, length: 0, streamId: 0, ssn: 0, unordered: true, ending: true });
      }
      this.aboveHole.delete(f.tsn);
      this.inOrder(f);
    }
    if (!skipped) this.inOrder({ tsn: newCumulativeTsn, length: 0, streamId: 0, ssn: 0, unordered: true, ending: true });
    this.settle();
  }

  private inOrder(f: ChunkFacts): void {
    this.receivedOffset += f.length;
    if (this.limit === undefined && this.held.length === 0) {
      this.ackedTsn = f.tsn;
      this.ackedOffset = this.receivedOffset;
    } else this.held.push({ ...f, end: this.receivedOffset });
  }

  /** Apply the limit to the held TSNs; true when the acknowledged point moved. */
  settle(): boolean {
    const h = this.held;
    if (h.length === 0) return false;
    let upTo = -1;
    if (this.limit === undefined) upTo = h.length - 1; // no limit: up to the cumulative TSN, as RFC 9260
    else {
      // With a limit, only at a message's end: a taker can then reassemble what the peer resends.
      for (let i = 0; i < h.length && h[i]!.end <= this.limit; i++) if (h[i]!.ending) upTo = i;
    }
    if (upTo < 0) return false;
    this.ackedTsn = h[upTo]!.tsn;
    this.ackedOffset = h[upTo]!.end;
    this.held = h.slice(upTo + 1);
    return true;
  }

  /** True for a duplicate TSN we may report (not a held one). */
  reportable(tsn: number): boolean {
    return tsnLte(tsn, this.ackedTsn);
  }

  /**
   * The next SSN of each inbound stream as of the acknowledged point: the reassembly's, unless
   * an ordered message beyond that point (held, or above a hole) was delivered or is waiting,
   * then that message's SSN (SSNs of a stream grow with its TSNs).
   */
  inboundSsnsAt(current: readonly number[]): number[] {
    const out = [...current];
    const lower = (f: ChunkFacts): void => {
      if (f.unordered || f.streamId >= out.length || !tsnGt(f.tsn, this.ackedTsn)) return;
      if (ssnLt(f.ssn, out[f.streamId]!)) out[f.streamId] = f.ssn;
    };
    for (const f of this.held) lower(f);
    for (const f of this.aboveHole.values()) lower(f);
    return out;
  }
}
