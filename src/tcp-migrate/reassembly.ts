// The receiver's out-of-order queue (RFC 9293 §3.10.7.4) and the SACK blocks it reports
// (RFC 2018 §4). Segments are copied out of their datagrams (a driver may reuse its receive
// buffers; only out-of-order data pays for the copy), sorted by stream offset and trimmed so they
// never overlap; the common case (the next segment after the last one held) is an O(1) append.

interface Piece {
  start: number;
  bytes: Uint8Array;
}

export class Reassembly {
  private pieces: Piece[] = [];
  /** Offset of the piece received most recently: its block goes first in the SACK option. */
  private recent = -1;
  /** Bytes held. */
  held = 0;

  get isEmpty(): boolean {
    return this.pieces.length === 0;
  }

  /** Stores stream bytes starting at `start` (the caller guarantees start > rcvNxt). */
  insert(start: number, bytes: Uint8Array): void {
    const p = this.pieces;
    const end = start + bytes.length;
    this.recent = start;
    // Fast path: beyond everything held.
    const last = p[p.length - 1];
    if (last === undefined || last.start + last.bytes.length <= start) {
      p.push({ start, bytes: bytes.slice() });
      this.held += bytes.length;
      return;
    }
    let i = p.length;
    while (i > 0 && p[i - 1]!.start + p[i - 1]!.bytes.length > start) i--;
    let cur = start;
    while (cur < end) {
      const q = p[i];
      if (q !== undefined && q.start <= cur) {
        cur = Math.max(cur, q.start + q.bytes.length);
        i++;
        continue;
      }
      const next = q === undefined ? end : Math.min(end, q.start);
      p.splice(i, 0, { start: cur, bytes: bytes.slice(cur - start, next - start) });
      this.held += next - cur;
      i++;
      cur = next;
    }
  }

  /** Removes and returns the next piece if it starts at or before `offset` (trimmed to start there). */
  takeAt(offset: number): Uint8Array | undefined {
    const p = this.pieces;
    while (p.length > 0) {
      const q = p[0]!;
      const qEnd = q.start + q.bytes.length;
      if (q.start > offset) return undefined;
      p.shift();
      this.held -= q.bytes.length;
      if (qEnd <= offset) continue;
      return q.bytes.subarray(offset - q.start);
    }
    return undefined;
  }

  /** Drops everything (a Migrate SYN from another host: the paper's SACK flush). */
  flush(): void {
    this.pieces.length = 0;
    this.held = 0;
    this.recent = -1;
  }

  /** Held ranges [start, end), merged, ascending. */
  ranges(): { start: number; end: number }[] {
    const out: { start: number; end: number }[] = [];
    for (const q of this.pieces) {
      const last = out[out.length - 1];
      const qEnd = q.start + q.bytes.length;
      if (last !== undefined && last.end === q.start) last.end = qEnd;
      else out.push({ start: q.start, end: qEnd });
    }
    return out;
  }

  /** Up to `max` ranges for a SACK option: the most recently changed first, then highest first. */
  sackRanges(max: number): { start: number; end: number }[] {
    const all = this.ranges();
    const out: { start: number; end: number }[] = [];
    const first = all.findIndex((r) => r.start <= this.recent && this.recent < r.end);
    if (first >= 0) out.push(all[first]!);
    for (let i = all.length - 1; i >= 0 && out.length < max; i--) if (i !== first) out.push(all[i]!);
    return out.slice(0, max);
  }
}
