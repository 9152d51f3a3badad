// The sender's byte store and SACK scoreboard, both addressed by stream offset (offset 0 = the first
// data byte after the SYN, ISN+1), so no wrapping arithmetic happens here.

const EMPTY = new Uint8Array(0);
/** The smallest ring made (a power of two). */
const MIN_RING = 2048;

/**
 * A ring buffer holding stream bytes [start, end): bytes queued but not yet acknowledged. send()
 * copies in (amortized O(1): the ring doubles up to the limit), acknowledgement releases from the
 * front, segments copy out straight into the datagram being built. The ring is made on the first
 * push and dropped when everything in it is acknowledged, so an idle connection holds none (it
 * held 16 KiB each: issue 12, "Connections per process").
 */
export class SendBuffer {
  private ring: Uint8Array;
  private mask: number;
  /** Offset of the first byte held (everything before it was acknowledged). */
  start: number;
  /** Offset one past the last byte handed in by the application. */
  end: number;

  constructor(
    /** The most bytes held; the connection raises it on a fast path (config.ts sendBufferLimit). */
    public limit: number,
    offset = 0,
  ) {
    this.ring = EMPTY;
    this.mask = 0;
    this.start = offset;
    this.end = offset;
  }

  get length(): number {
    return this.end - this.start;
  }

  /** Bytes of ring held now (0 when nothing is queued: an idle connection holds none). */
  get capacity(): number {
    return this.ring.length;
  }

  get space(): number {
    return Math.max(0, this.limit - this.length);
  }

  /** Copies as many bytes as fit; returns how many. */
  push(bytes: Uint8Array): number {
    const n = Math.min(bytes.length, this.space);
    if (n === 0) return 0;
    const needed = this.length + n;
    if (needed > this.ring.length) this.grow(needed);
    const cap = this.ring.length;
    const at = this.end & this.mask;
    const first = Math.min(n, cap - at);
    this.ring.set(bytes.subarray(0, first), at);
    if (first < n) this.ring.set(bytes.subarray(first, n), 0);
    this.end += n;
    return n;
  }

  private grow(needed: number): void {
    let cap = Math.max(MIN_RING, this.ring.length);
    while (cap < needed) cap *= 2;
    const next = new Uint8Array(cap);
    this.copyOut(this.start, this.length, next, this.start & (cap - 1), cap);
    this.ring = next;
    this.mask = cap - 1;
  }

  /** Drops bytes before `offset` (acknowledged). */
  release(offset: number): void {
    if (offset > this.start) this.start = Math.min(offset, this.end);
    if (this.start === this.end) this.drop();
  }

  private drop(): void {
    this.ring = EMPTY;
    this.mask = 0;
  }

  /** Restart the buffer, empty, at `offset` (a taker resumes the stream there). */
  reset(offset: number): void {
    this.start = offset;
    this.end = offset;
    this.drop();
  }

  /** Copies stream bytes [offset, offset + len) into dst at `at` (wrapping in dst when dstCap is given). */
  copyOut(offset: number, len: number, dst: Uint8Array, at: number, dstCap = 0): void {
    let done = 0;
    while (done < len) {
      const src = (offset + done) & this.mask;
      let n = Math.min(len - done, this.ring.length - src);
      let to = at + done;
      if (dstCap > 0) {
        to &= dstCap - 1;
        n = Math.min(n, dstCap - to);
      }
      dst.set(this.ring.subarray(src, src + n), to);
      done += n;
    }
  }
}

/** SACKed ranges [start, end) above the cumulative ack, sorted and disjoint (RFC 6675's scoreboard). */
export class Scoreboard {
  private starts: number[] = [];
  private ends: number[] = [];

  get isEmpty(): boolean {
    return this.starts.length === 0;
  }

  get rangeCount(): number {
    return this.starts.length;
  }

  /** Highest SACKed offset (exclusive), or 0 when empty. */
  get high(): number {
    return this.ends.length === 0 ? 0 : this.ends[this.ends.length - 1]!;
  }

  ranges(): { start: number; end: number }[] {
    return this.starts.map((s, i) => ({ start: s, end: this.ends[i]! }));
  }

  clear(): void {
    this.starts.length = 0;
    this.ends.length = 0;
  }

  /** Marks [start, end) SACKed, merging neighbours. */
  add(start: number, end: number): void {
    if (end <= start) return;
    const s = this.starts;
    const e = this.ends;
    let i = s.length;
    while (i > 0 && s[i - 1]! > start) i--;
    // i: first range starting after `start`; merge with the one before if it touches.
    if (i > 0 && e[i - 1]! >= start) {
      i--;
      start = s[i]!;
      end = Math.max(end, e[i]!);
    }
    let j = i;
    while (j < s.length && s[j]! <= end) {
      end = Math.max(end, e[j]!);
      j++;
    }
    s.splice(i, j - i, start);
    e.splice(i, j - i, end);
  }

  /** Forgets everything below `offset` (cumulatively acknowledged). */
  ackTo(offset: number): void {
    let k = 0;
    while (k < this.starts.length && this.ends[k]! <= offset) k++;
    if (k > 0) {
      this.starts.splice(0, k);
      this.ends.splice(0, k);
    }
    if (this.starts.length > 0 && this.starts[0]! < offset) this.starts[0] = offset;
  }

  /** The first offset >= `offset` that is not SACKed. */
  nextUnsacked(offset: number): number {
    for (let i = 0; i < this.starts.length; i++) {
      if (this.starts[i]! > offset) break;
      if (this.ends[i]! > offset) offset = this.ends[i]!;
    }
    return offset;
  }

  /** Start of the first SACKed range beginning after `offset`, or Infinity. */
  nextSackedStart(offset: number): number {
    for (let i = 0; i < this.starts.length; i++) if (this.starts[i]! > offset) return this.starts[i]!;
    return Infinity;
  }

  /**
   * RFC 6675 IsLost, for every hole at once: the start of the SACKed range at which the SACKed
   * bytes counted from the top reach `threshold` (DupThresh * SMSS). Every un-SACKed byte below it
   * has at least that much SACKed above it and is deemed lost. 0 when no hole qualifies.
   */
  lossBoundary(threshold: number, below: number): number {
    let acc = 0;
    for (let i = this.starts.length - 1; i >= 0; i--) {
      const s = this.starts[i]!;
      if (s >= below) continue;
      acc += Math.min(this.ends[i]!, below) - s;
      if (acc >= threshold) return s;
    }
    return 0;
  }

  /** Bytes in [from, to) that are not SACKed. */
  unsacked(from: number, to: number): number {
    if (to <= from) return 0;
    let n = to - from;
    for (let i = 0; i < this.starts.length; i++) {
      const a = Math.max(from, this.starts[i]!);
      const b = Math.min(to, this.ends[i]!);
      if (b > a) n -= b - a;
    }
    return n;
  }
}
