// Receive-side TSN bookkeeping (RFC 9260 §6.2): the cumulative TSN (every TSN up to it received),
// the received TSNs above it as a short sorted list of ranges (the future gap-ack blocks), and the
// duplicates seen since the last SACK. Arrivals usually extend the last range or the cumulative
// point, so each is O(1) amortised; the range list only grows with holes, which loss keeps few.
import { tsnAdd, tsnGt, tsnLte, tsnDiff } from './serial.js';
import type { GapBlock } from './wire/types.js';

export type TsnArrival = 'new' | 'duplicate';

/** Most duplicate TSNs reported in one SACK. */
const MAX_DUPLICATES = 32;
/** Most gap-ack blocks reported in one SACK (fits comfortably in a 1200-byte packet). */
export const MAX_GAP_BLOCKS = 64;

export class TsnTracker {
  /** Highest TSN such that it and all before it arrived. */
  cumulativeTsn: number;
  /** Ranges [start, end] (inclusive, absolute TSNs) above cumulativeTsn + 1, sorted, disjoint, non-adjacent. */
  private starts: number[] = [];
  private ends: number[] = [];
  private duplicates: number[] = [];

  constructor(peerInitialTsn: number) {
    this.cumulativeTsn = tsnAdd(peerInitialTsn, -1);
  }

  /** Record an arriving TSN. */
  receive(tsn: number): TsnArrival {
    if (tsnLte(tsn, this.cumulativeTsn)) return this.duplicate(tsn);
    if (tsn === tsnAdd(this.cumulativeTsn, 1)) {
      this.cumulativeTsn = tsn;
      if (this.starts.length > 0 && this.starts[0] === tsnAdd(tsn, 1)) {
        this.cumulativeTsn = this.ends[0]!;
        this.starts.shift();
        this.ends.shift();
      }
      return 'new';
    }
    // Above a hole. Find the insertion point, searching from the end (arrivals are mostly in order).
    const n = this.starts.length;
    let i = n - 1;
    while (i >= 0 && tsnGt(this.starts[i]!, tsn)) i--;
    // Now starts[i] <= tsn (or i = -1).
    if (i >= 0 && tsnLte(tsn, this.ends[i]!)) return this.duplicate(tsn);
    const joinsLeft = i >= 0 && this.ends[i] === tsnAdd(tsn, -1);
    const joinsRight = i + 1 < n && this.starts[i + 1] === tsnAdd(tsn, 1);
    if (joinsLeft && joinsRight) {
      this.ends[i] = this.ends[i + 1]!;
      this.starts.splice(i + 1, 1);
      this.ends.splice(i + 1, 1);
    } else if (joinsLeft) {
      this.ends[i] = tsn;
    } else if (joinsRight) {
      this.starts[i + 1] = tsn;
    } else {
      this.starts.splice(i + 1, 0, tsn);
      this.ends.splice(i + 1, 0, tsn);
    }
    return 'new';
  }

  /**
   * FORWARD-TSN (RFC 3758 §3.6): treat every TSN up to `newCumulative` as received. Ranges at or
   * below it are dropped, and a range that starts right after it joins the cumulative point.
   * Returns false (nothing changes) when `newCumulative` is not ahead of the cumulative TSN.
   */
  forward(newCumulative: number): boolean {
    if (tsnLte(newCumulative, this.cumulativeTsn)) return false;
    this.cumulativeTsn = newCumulative >>> 0;
    while (this.starts.length > 0 && tsnLte(this.starts[0]!, tsnAdd(this.cumulativeTsn, 1))) {
      if (tsnGt(this.ends[0]!, this.cumulativeTsn)) this.cumulativeTsn = this.ends[0]!;
      this.starts.shift();
      this.ends.shift();
    }
    return true;
  }

  private duplicate(tsn: number): TsnArrival {
    if (this.duplicates.length < MAX_DUPLICATES) this.duplicates.push(tsn);
    return 'duplicate';
  }

  /** True when a TSN above the cumulative point is missing (a gap exists). */
  get hasGaps(): boolean {
    return this.starts.length > 0;
  }

  get hasDuplicates(): boolean {
    return this.duplicates.length > 0;
  }

  /** Highest TSN received. */
  get highestTsn(): number {
    return this.ends.length > 0 ? this.ends[this.ends.length - 1]! : this.cumulativeTsn;
  }

  /** Gap-ack blocks as SACK offsets from the cumulative TSN. */
  gapBlocks(limit = MAX_GAP_BLOCKS): GapBlock[] {
    const out: GapBlock[] = [];
    const n = Math.min(limit, this.starts.length);
    for (let i = 0; i < n; i++) {
      out.push({ start: tsnDiff(this.starts[i]!, this.cumulativeTsn), end: tsnDiff(this.ends[i]!, this.cumulativeTsn) });
    }
    return out;
  }

  /** Received ranges above the cumulative TSN, absolute and inclusive (for takeover probes). */
  ranges(): Array<{ start: number; end: number }> {
    return this.starts.map((s, i) => ({ start: s, end: this.ends[i]! }));
  }

  /** The duplicates since the last call, then forgets them. */
  takeDuplicates(): number[] {
    const d = this.duplicates;
    this.duplicates = [];
    return d;
  }
}
