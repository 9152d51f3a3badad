// Byte helpers shared by the SCTP wire tests (test/sctp-wire*.test.ts): hand-written hex to bytes
// and back, byte runs, and a packet around hand-written chunk hex with a common header
// (ports 5000 -> 5001, verification tag 0xdeadbeef) and a correct CRC32c.
import { finalizeChecksum, type Chunk, type Packet } from '../../src/sctp/wire/index.js';

/** Hex text (whitespace ignored) to bytes. */
export const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** Hex of n bytes counting up from `from` (mod 256). */
export const seq = (from: number, n: number): string => toHex(Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff));
export const bytes = (from: number, n: number): Uint8Array => hex(seq(from, n));
export const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

export const HEADER = { sourcePort: 5000, destinationPort: 5001, verificationTag: 0xdeadbeef };
/** A packet with HEADER's ports, the given tag and these chunk bytes, checksum filled in. */
export function pkt(chunksHex: string, vtag = 'deadbeef'): Uint8Array {
  const b = hex(`1388 1389 ${vtag} 00000000 ${chunksHex}`);
  finalizeChecksum(b);
  return b;
}
export const packetOf = (...chunks: Chunk[]): Packet => ({ ...HEADER, chunks });
