// Outgoing packets and retained chunks are cut from 64 kB slabs: one ArrayBuffer per ~45
// full-sized packets instead of one each (an ArrayBuffer is costly to make and to collect). A
// region is never handed out twice, so a view stays valid (and zero-filled until written) for as
// long as anyone holds it; a full slab is replaced, not reused, and the collector frees it once no
// view of it is referenced. Regions start on 8-byte boundaries, which keeps the CRC32c and the TCP
// checksum on their word-at-a-time paths. The first slab is made on first use, so an idle owner
// costs nothing. Shared by SCTP (packet writer, send queue) and TCP-Migrate (segments).

export const SLAB_SIZE = 65536;
const EMPTY = new Uint8Array(0);

export class Slab {
  private buf: Uint8Array = EMPTY;
  private used = 0;

  constructor(private readonly size = SLAB_SIZE) {}

  /** The current slab (reserve() says where to write in it). */
  get buffer(): Uint8Array {
    return this.buf;
  }

  /** A zero-filled region of `length` bytes of its own (a large one gets its own buffer). */
  take(length: number): Uint8Array {
    if (length > this.size >>> 2) return new Uint8Array(length);
    const at = this.reserve(length);
    this.commit(at + length);
    return this.buf.subarray(at, at + length);
  }

  /** Writing in place: the offset in `buffer` where `atLeast` free bytes begin (a new slab if needed). */
  reserve(atLeast: number): number {
    if (this.used + atLeast > this.buf.length) this.replace(atLeast);
    return this.used;
  }

  /** Writing in place ran out of room: copy buffer[start, end) to the start of a new slab with `more` bytes free after it; its new start is 0. */
  move(start: number, end: number, more: number): void {
    const old = this.buf;
    this.replace(end - start + more);
    this.buf.set(old.subarray(start, end));
  }

  /** Where the free part of the current slab begins (everything before it is handed out). */
  get committed(): number {
    return this.used;
  }

  /** Everything up to `end` of the current slab is handed out. */
  commit(end: number): void {
    this.used = (end + 7) & ~7;
  }

  private replace(atLeast: number): void {
    this.buf = new Uint8Array(Math.max(this.size, atLeast));
    this.used = 0;
  }
}
