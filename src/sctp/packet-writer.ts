// Assembles one outbound SCTP packet in a reusable scratch buffer: common header, control chunks
// (through the wire emitter), DATA chunks written straight from the send queue's records (no
// per-chunk Repr), an optional AUTH chunk placed before the first chunk that needs it (RFC 4895
// §6.2; the AuthHandler signs it when the packet is finished), then the CRC32c.
import { finalizeChecksum } from './wire/crc32c.js';
import { put16, put32 } from './wire/bytes.js';
import { chunkLength, writeChunk } from './wire/emit.js';
import { pad4 } from './wire/layout.js';
import type { Chunk } from './wire/types.js';
import type { OutChunk } from './send-queue.js';

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

export class PacketWriter {
  private buf: Uint8Array;
  private at = COMMON_HEADER;
  private authOffset = -1;
  private limit = 0;
  /** Chunks written since begin(). */
  count = 0;
  auth: AuthSigner | undefined;

  constructor(maxPacket: number) {
    this.buf = new Uint8Array(Math.max(maxPacket, 1500));
  }

  /** Start a packet of at most `maxLength` bytes (SCTP header included). */
  begin(sourcePort: number, destinationPort: number, verificationTag: number, maxLength: number): void {
    if (this.buf.length < maxLength) this.buf = new Uint8Array(maxLength);
    const b = this.buf;
    put16(b, 0, sourcePort);
    put16(b, 2, destinationPort);
    put32(b, 4, verificationTag);
    put32(b, 8, 0);
    this.at = COMMON_HEADER;
    this.authOffset = -1;
    this.limit = maxLength;
    this.count = 0;
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
    if (this.at + need > this.buf.length) this.grow(this.at + need);
    this.maybeAuth(c.type);
    this.at += writeChunk(this.buf, this.at, c);
    this.count++;
    return true;
  }

  /** Room needed for a DATA chunk with `length` bytes of user data. */
  dataCost(length: number): number {
    return pad4(DATA_HEADER + length) + pad4(this.authCost(0));
  }

  /** Append a DATA chunk for an outbound record; the caller checked dataCost() against room. */
  addData(c: OutChunk, ppid: number): void {
    this.maybeAuth(0);
    const b = this.buf;
    const o = this.at;
    const n = DATA_HEADER + c.data.length;
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

  private grow(n: number): void {
    const nb = new Uint8Array(n);
    nb.set(this.buf.subarray(0, this.at));
    this.buf = nb;
  }

  /** The finished packet (a fresh copy), signed and checksummed. */
  finish(): Uint8Array {
    const out = this.buf.slice(0, this.at);
    if (this.authOffset >= 0) this.auth!.sign(out, this.authOffset);
    finalizeChecksum(out);
    return out;
  }
}
