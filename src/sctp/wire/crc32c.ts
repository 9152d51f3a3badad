// CRC32c (Castagnoli, reflected polynomial 0x82F63B78) as SCTP uses it (RFC 9260 §6.8, Appendix A).
// Table-driven, slicing-by-8: eight 256-entry tables let the inner loop fold eight bytes per step.
// The checksum travels in the common header in little-endian byte order (what usrsctp and Linux
// write on little-endian hosts), and is computed with the checksum field itself set to zero.

import { Header } from './layout.js';

const POLY = 0x82f63b78;

/** TABLES[k * 256 + b]: the CRC of byte b followed by k zero bytes. */
const TABLES: Int32Array = (() => {
  const t = new Int32Array(8 * 256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[b] = c;
  }
  for (let b = 0; b < 256; b++) {
    let c = t[b]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + b] = c;
    }
  }
  return t;
})();

/**
 * Continue a CRC32c over bytes[start, end). `crc` is the running value before the final
 * inversion: start with 0xffffffff, finish with `~crc >>> 0` (crc32c() does both).
 */
export function crc32cUpdate(crc: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  const t = TABLES;
  let c = crc | 0;
  let i = start;
  // Byte-at-a-time until the remaining length is a multiple of 8.
  const head = Math.min(end, i + ((end - i) & 7));
  for (; i < head; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  for (; i < end; i += 8) {
    const lo = c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    const hi = bytes[i + 4]! | (bytes[i + 5]! << 8) | (bytes[i + 6]! << 16) | (bytes[i + 7]! << 24);
    c =
      t[1792 + (lo & 0xff)]! ^
      t[1536 + ((lo >>> 8) & 0xff)]! ^
      t[1280 + ((lo >>> 16) & 0xff)]! ^
      t[1024 + (lo >>> 24)]! ^
      t[768 + (hi & 0xff)]! ^
      t[512 + ((hi >>> 8) & 0xff)]! ^
      t[256 + ((hi >>> 16) & 0xff)]! ^
      t[hi >>> 24]!;
  }
  return c >>> 0;
}

/** CRC32c of bytes[start, end) as an unsigned 32-bit number (e.g. "123456789" → 0xe3069283). */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return ~crc32cUpdate(0xffffffff, bytes, start, end) >>> 0;
}

const ZERO4 = new Uint8Array(4);

/**
 * The SCTP checksum of a whole packet (common header + chunks), computed as if the checksum
 * field were zero, whatever it holds now. Does not modify `packet`. Requires length >= 12.
 */
export function computeChecksum(packet: Uint8Array): number {
  let c = crc32cUpdate(0xffffffff, packet, 0, Header.CHECKSUM);
  c = crc32cUpdate(c, ZERO4, 0, 4);
  c = crc32cUpdate(c, packet, Header.CHECKSUM + 4, packet.length);
  return ~c >>> 0;
}

/** True when the packet's checksum field (little-endian on the wire) matches its contents. */
export function verifyChecksum(packet: Uint8Array): boolean {
  if (packet.length < Header.LENGTH) return false;
  return readChecksum(packet) === computeChecksum(packet);
}

/** The checksum field as a number (read little-endian, as it is written). */
export function readChecksum(packet: Uint8Array): number {
  const o = Header.CHECKSUM;
  return (packet[o]! | (packet[o + 1]! << 8) | (packet[o + 2]! << 16) | (packet[o + 3]! << 24)) >>> 0;
}

/** Compute and write the checksum in place (after the packet or its AUTH HMAC changed). */
export function finalizeChecksum(packet: Uint8Array): void {
  const c = computeChecksum(packet);
  const o = Header.CHECKSUM;
  packet[o] = c & 0xff;
  packet[o + 1] = (c >>> 8) & 0xff;
  packet[o + 2] = (c >>> 16) & 0xff;
  packet[o + 3] = c >>> 24;
}
