// Assembles one outbound SCTP packet: common header, control chunks (through the wire emitter),
// DATA chunks written straight from the send queue's records (no per-chunk Repr), an optional AUTH
// chunk placed before the first chunk that needs it (RFC 4895 §6.2; the AuthHandler signs it when
// the packet is finished), then the CRC32c.
//
// Packets are written in place into 64 kB slabs and handed out as views: one ArrayBuffer per ~45
// full-sized packets instead of a scratch copy plus a fresh copy each. A finished packet belongs to
// the driver (Transmit payload), so a region is never written again once handed out: the next
// packet starts after it, and a full slab is replaced, not reused; the old one is collected when
// no packet cut from it is referenced. A packet begun but not finished leaves its region free.
//
// The slab is one for the whole process, shared by every writer (as TCP-Migrate's segments are,
// wire.ts): a packet is built from begin() to finish() in one synchronous call, and no writer
// begins another packet in between, so the regions of two writers never overlap. An idle
// association then holds no slab of its own (a 64 KiB slab each made an idle association cost
// ~130 KiB with the send queue's; issue 12 "Connections per process", issue 14 item 16).
import { finalizeChecksum } from './wire/crc32c.js';
import { put16, put32 } from './wire/bytes.js';
import { chunkLength, writeChunk } from './wire/emit.js';
import { pad4 } from './wire/layout.js';
import type { Chunk } from './wire/types.js';
import type { OutChunk } from './send-queue.js';
import { LocalUsageError } from '../transport-abstraction/errors.js';
import { Slab, SLAB_SIZE } from '../transport-abstraction/slab.js';

/** Size of the common header, of a DATA chunk header, and the IPv4+UDP overhead below SCTP. */
export const COMMON_HEADER = 12;
export const DATA_HEADER = 16;
export const UDP_IP_OVERHEAD = 28;

/** The hook the AUTH module (RFC 4895) provides; see /work/notes/sctp-association-hooks.md. */
export interface AuthSigner {
  /** True when chunks of this type must be authenticated when sent. */
  needsAuth(chunkType: number): boolean;
  /** Length of the whole AUTH chunk (header + HMAC) this association emits. */
  readonly authChunkLength: number;
  /** Write the AUTH chunk header at packet[offset] (HMAC field zeroed). */
  writeAuthChunk(packet: Uint8Array, offset: number): void;
  /** Compute the HMAC over packet[offset, end) and write it into the AUTH chunk at offset. */
  sign(packet: Uint8Array, offset: number): void;
}

/** The process's packet slab (see above). */
const packets = new Slab();

export class PacketWriter {
  /** Where packets are written in place; the packet being built is buf[base, at). */
  private readonly slab = packets;
  private buf: Uint8Array = new Uint8Array(0);
  private base = 0;
  private at = COMMON_HEADER;
  private authOffset = -1;
  private limit = 0;
  /** Chunks written since begin(). */
  count = 0;
  /** A DATA chunk was written past the packet's limit (a chunk cut for a larger path MTU). */
  oversized = false;
  auth: AuthSigner | undefined;

  constructor(maxPacket: number) {
    void maxPacket; // the slab grows for a larger packet when it is written
  }

  /** Start a packet of at most `maxLength` bytes (SCTP header included). */
  begin(sourcePort: number, destinationPort: number, verificationTag: number, maxLength: number): void {
    // Room for a full-sized packet up front (a control-only packet with a larger limit grows).
    const want = Math.min(maxLength, SLAB_SIZE >>> 2);
    const o = this.slab.reserve(want);
    const b = (this.buf = this.slab.buffer);
    put16(b, o, sourcePort);
    put16(b, o + 2, destinationPort);
    put32(b, o + 4, verificationTag);
    put32(b, o + 8, 0);
    this.base = o;
    this.at = o + COMMON_HEADER;
    this.authOffset = -1;
    this.limit = o + maxLength;
    this.count = 0;
    this.oversized = false;
  }

  /** Bytes still free in this packet. */
  get room(): number {
    return this.limit - this.at;
  }

  private authCost(type: number): number {
    return this.auth && this.authOffset < 0 && this.auth.needsAuth(type) ? this.auth.authChunkLength : 0;
  }

  private maybeAuth(type: number): void {
    if (this.auth && this.authOffset < 0 && this.auth.needsAuth(type)) {
      this.authOffset = this.at;
      this.auth.writeAuthChunk(this.buf, this.at);
      this.at += pad4(this.auth.authChunkLength);
    }
  }

  /** Room needed for a control chunk (with AUTH if it needs one). */
  costOf(c: Chunk): number {
    return chunkLength(c) + pad4(this.authCost(c.type));
  }

  /** Append a control chunk; false when it does not fit (nothing written). */
  addChunk(c: Chunk, force = false): boolean {
    const need = this.costOf(c);
    if (need > this.room && !(force && this.count === 0)) return false;
    if (this.at + need > this.buf.length) this.grow(need);
    this.maybeAuth(c.type);
    this.at += writeChunk(this.buf, this.at, c);
    this.count++;
    return true;
  }

  /** Room needed for a DATA chunk with `length` bytes of user data. */
  dataCost(length: number): number {
    return pad4(DATA_HEADER + length) + pad4(this.authCost(0));
  }

  /**
   * Append a DATA chunk for an outbound record; the caller checked dataCost() against room, or
   * writes one chunk larger than the packet may be alone (`oversized`).
   */
  addData(c: OutChunk, ppid: number): void {
    const n = DATA_HEADER + c.data.length;
    const need = pad4(n) + pad4(this.authCost(0));
    if (need > this.room) this.oversized = true;
    if (this.at + need > this.buf.length) this.grow(need);
    this.maybeAuth(0);
    const b = this.buf;
    const o = this.at;
    b[o] = 0;
    b[o + 1] = c.flags;
    put16(b, o + 2, n);
    put32(b, o + 4, c.tsn);
    put16(b, o + 8, c.streamId);
    put16(b, o + 10, c.ssn);
    put32(b, o + 12, ppid);
    b.set(c.data, o + DATA_HEADER);
    const padded = pad4(n);
    for (let i = o + n; i < o + padded; i++) b[i] = 0;
    this.at += padded;
    this.count++;
  }

  /** Move the packet begun so far to the start of a new slab with `more` bytes free after it. */
  private grow(more: number): void {
    const shift = this.base;
    this.slab.move(shift, this.at, more);
    this.buf = this.slab.buffer;
    this.base = 0;
    this.at -= shift;
    this.limit -= shift;
    if (this.authOffset >= 0) this.authOffset -= shift;
  }

  /** The finished packet (a view into the slab, never written again), signed and checksummed. */
  finish(): Uint8Array {
    // The shared slab: nothing may have been handed out of our region since begin() (see above).
    if (this.slab.buffer !== this.buf || this.slab.committed > this.base) throw new LocalUsageError('PacketWriter: another packet was built inside this one');
    const out = this.buf.subarray(this.base, this.at);
    this.slab.commit(this.at);
    if (this.authOffset >= 0) this.auth!.sign(out, this.authOffset - this.base);
    finalizeChecksum(out);
    return out;
  }
}
