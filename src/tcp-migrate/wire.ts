// The TCP header (RFC 9293 §3.1) carried as a UDP payload, and its checksum over an IP-style
// pseudo-header built from the UDP addresses (IPv4: RFC 9293 §3.1; IPv6: RFC 8200 §8.1), so a
// capture decoded as TCP shows a valid checksum.
//
//  0      2      4          8          12    13     14       16        18       20
//  | src  | dst  | sequence | ack      | off | flags | window | checksum | urgent | options.. | data
//
// A header whose options pass 40 bytes carries an EDO Extension option (options.ts) saying where
// the header really ends; the data offset field then covers only the options before it.
import type { UdpAddress } from '../transport-abstraction/address.js';
import type { Transmit } from '../transport-abstraction/transport.js';
import { emitOptions, findOption, optionsLength, parseOptions, type TcpOption } from './options.js';
import { Slab } from '../transport-abstraction/slab.js';

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;
export const URG = 0x20;

export const HEADER_LENGTH = 20;

/** A parsed segment. `payload` and option byte fields alias the input. */
export interface TcpSegment {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  readonly flags: number;
  readonly window: number;
  readonly checksum: number;
  readonly urgent: number;
  readonly options: TcpOption[];
  readonly payload: Uint8Array;
}

export type SegmentResult = { readonly ok: true; readonly segment: TcpSegment } | { readonly ok: false; readonly error: string };

/** Checked parse: never throws. */
export function parseSegment(b: Uint8Array): SegmentResult {
  if (b.length < HEADER_LENGTH) return { ok: false, error: `truncated: ${b.length} bytes < 20` };
  const dataOffset = (b[12]! >>> 4) * 4;
  if (dataOffset < HEADER_LENGTH || dataOffset > b.length) return { ok: false, error: `impossible data offset ${dataOffset}` };
  const opts = parseOptions(b, HEADER_LENGTH, dataOffset);
  if (!opts.ok) return { ok: false, error: opts.error };
  let options = opts.options;
  let headerLength = dataOffset;
  const edo = findOption(options, 'edo');
  if (edo !== undefined) {
    headerLength = edo.headerLength;
    if (headerLength < dataOffset || headerLength > b.length || headerLength % 4 !== 0) return { ok: false, error: `impossible EDO header length ${headerLength}` };
    const more = parseOptions(b, dataOffset, headerLength);
    if (!more.ok) return { ok: false, error: more.error };
    options = [...options.filter((o) => o.type !== 'edo'), ...more.options];
  }
  return {
    ok: true,
    segment: {
      srcPort: (b[0]! << 8) | b[1]!,
      dstPort: (b[2]! << 8) | b[3]!,
      seq: ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0,
      ack: ((b[8]! << 24) | (b[9]! << 16) | (b[10]! << 8) | b[11]!) >>> 0,
      flags: b[13]! & 0x3f,
      window: (b[14]! << 8) | b[15]!,
      checksum: (b[16]! << 8) | b[17]!,
      urgent: (b[18]! << 8) | b[19]!,
      options,
      payload: b.subarray(headerLength),
    },
  };
}

// Segments are cut from 64 kB slabs (../transport-abstraction/slab.ts).
const segments = new Slab();

/** A zero-filled buffer of `length` bytes for one outgoing segment. */
export function allocSegment(length: number): Uint8Array {
  return segments.take(length);
}

/** Writes the fixed header; options and payload are written by the caller after it. */
export function writeHeader(
  b: Uint8Array,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  optionsLength: number,
  flags: number,
  window: number,
): void {
  b[0] = srcPort >>> 8;
  b[1] = srcPort;
  b[2] = dstPort >>> 8;
  b[3] = dstPort;
  b[4] = seq >>> 24;
  b[5] = seq >>> 16;
  b[6] = seq >>> 8;
  b[7] = seq;
  b[8] = ack >>> 24;
  b[9] = ack >>> 16;
  b[10] = ack >>> 8;
  b[11] = ack;
  b[12] = ((HEADER_LENGTH + optionsLength) >>> 2) << 4;
  b[13] = flags;
  b[14] = window >>> 8;
  b[15] = window;
  b[16] = 0;
  b[17] = 0;
  b[18] = 0;
  b[19] = 0;
}

// ---------------------------------------------------------------------------------------------
// Checksum

/** IP address text to bytes (4 or 16); undefined when it is not an IP address. */
export function ipBytes(text: string): Uint8Array | undefined {
  if (!text.includes(':')) {
    const parts = text.split('.');
    if (parts.length !== 4) return undefined;
    const out = new Uint8Array(4);
    for (let i = 0; i < 4; i++) {
      const v = Number(parts[i]);
      if (!/^\d{1,3}$/.test(parts[i]!) || v > 255) return undefined;
      out[i] = v;
    }
    return out;
  }
  let head = text;
  let tail = '';
  const dbl = text.indexOf('::');
  if (dbl >= 0) {
    head = text.slice(0, dbl);
    tail = text.slice(dbl + 2);
  }
  const words = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const p of s.split(':')) {
      if (p.includes('.')) {
        const v4 = ipBytes(p);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const h = words(head);
  const t = words(tail);
  if (!h || !t) return undefined;
  const fill = 8 - h.length - t.length;
  if (dbl < 0 ? fill !== 0 : fill < 0) return undefined;
  const all = [...h, ...new Array<number>(fill).fill(0), ...t];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = all[i]! >>> 8;
    out[2 * i + 1] = all[i]! & 0xff;
  }
  return out;
}

/** Big-endian 16-bit words of b[start, end) added to `acc`, a byte at a time (short or odd spans). */
function sumBytesSlow(b: Uint8Array, start: number, end: number, acc: number): number {
  let s = acc;
  let i = start;
  const last = end - 1;
  for (; i < last; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (i < end) s += b[i]! << 8;
  return s;
}

/** True on little-endian hosts: a Uint32Array then reads each pair of 16-bit words byte-swapped. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Below this many bytes the byte loop is cheaper than making a Uint32Array view. */
const WIDE_MIN = 64;
/** Above this the halves' sum could pass 2^31: such spans go through in pieces. */
const WIDE_MAX = 16384;

/**
 * The same sum, read 4 bytes at a time through a Uint32Array view over the aligned middle of the
 * span (RFC 1071 §2: the one's complement sum does not depend on byte order, so a little-endian
 * host sums swapped words and swaps the folded result). Unfolded.
 */
function sumBytes(b: Uint8Array, start: number, end: number, acc: number): number {
  const abs = b.byteOffset + start;
  if (end - start < WIDE_MIN || (abs & 1) !== 0) return sumBytesSlow(b, start, end, acc);
  if (end - start > WIDE_MAX) return sumBytes(b, start + WIDE_MAX, end, sumBytes(b, start, start + WIDE_MAX, acc));
  let s = acc;
  let i = start;
  if ((abs & 3) !== 0) {
    s += (b[i]! << 8) | b[i + 1]!; // one 16-bit word brings the view to a 4-byte boundary
    i += 2;
  }
  const words = (end - i) >>> 2;
  const view = new Int32Array(b.buffer, b.byteOffset + i, words);
  // Both 16-bit halves, added as small integers (no float conversion): < 2^31 up to 16 kB.
  let w = 0;
  let v = 0;
  let k = 0;
  for (const last = words - 1; k < last; k += 2) {
    const x = view[k]!;
    const y = view[k + 1]!;
    w += (x & 0xffff) + (y & 0xffff);
    v += (x >>> 16) + (y >>> 16);
  }
  if (k < words) {
    const x = view[k]!;
    w += (x & 0xffff) + (x >>> 16);
  }
  w = fold(w + v);
  s += LITTLE_ENDIAN ? ((w & 0xff) << 8) | (w >>> 8) : w;
  return sumBytesSlow(b, i + 4 * words, end, s);
}

function fold(s: number): number {
  while (s > 0xffff) s = (s % 65536) + Math.floor(s / 65536);
  return s;
}

/**
 * The constant part of the pseudo-header sum for packets from `src` to `dst` (addresses and
 * protocol 6); add the TCP length per segment. Mixed or invalid families give 0 (the checksum
 * is then over the segment alone, which both ends compute the same way).
 */
export function pseudoHeaderSum(src: string, dst: string): number {
  const s = ipBytes(src);
  const d = ipBytes(dst);
  if (!s || !d || s.length !== d.length) return 0;
  return fold(sumBytes(d, 0, d.length, sumBytes(s, 0, s.length, 6)));
}

/** Computes and stores the checksum of a fully written segment. */
export function fillChecksum(b: Uint8Array, pseudoSum: number): void {
  b[16] = 0;
  b[17] = 0;
  const c = ~fold(sumBytes(b, 0, b.length, pseudoSum + b.length)) & 0xffff;
  b[16] = c >>> 8;
  b[17] = c;
}

/** True when the segment's checksum verifies (the one's complement sum including it is 0xffff). */
export function checksumValid(b: Uint8Array, pseudoSum: number): boolean {
  return fold(sumBytes(b, 0, b.length, pseudoSum + b.length)) === 0xffff;
}

/** A RST segment (RFC 9293 §3.10.7.1 form chosen by the caller), optionally with a Migrate-Reset reason. */
export function resetSegment(
  local: UdpAddress,
  localPort: number,
  remote: UdpAddress,
  remotePort: number,
  seq: number,
  ack: number,
  reason: number,
  withAck: boolean,
): Transmit {
  const options: TcpOption[] = reason !== 0 ? [{ type: 'migrate-reset', reason }] : [];
  const optLen = optionsLength(options);
  const buf = new Uint8Array(HEADER_LENGTH + optLen);
  writeHeader(buf, localPort, remotePort, seq, ack, optLen, withAck ? RST | ACK : RST, 0);
  if (optLen > 0) emitOptions(options, buf, HEADER_LENGTH);
  fillChecksum(buf, pseudoHeaderSum(local.address, remote.address));
  return { source: local, destination: remote, payload: buf };
}
