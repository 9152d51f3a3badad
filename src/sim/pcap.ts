// A pcap (libpcap classic format) writer for simulated runs and real captures alike. Packets are
// written as raw IPv4 (LINKTYPE_RAW = 101) with a synthesized header, in one of two encapsulations:
//   'udp'        — IPv4 + UDP + payload, with correct lengths and checksums, so
//                  `tshark -r f.pcap -d udp.port==9899,sctp` decodes SCTP over UDP (RFC 6951);
//   'ip-payload' — the payload is the IP payload with protocol number `protocol` (e.g. 6 for a
//                  TCP-Migrate segment, whose UDP payload is a TCP header + data); the UDP ports
//                  are not written (the segment carries its own). For protocol 6 the TCP
//                  checksum is recomputed over the IPv4 pseudo-header so tshark accepts it.
// IPv4 only: an IPv6 address throws PcapError (BATON_ERR_PCAP_IPV6).
import type { UdpAddress } from '../transport-abstraction/address.js';
import { BatonError } from '../transport-abstraction/errors.js';
import type { TraceEvent } from './trace.js';

export const LINKTYPE_RAW = 101;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
const PCAP_MAGIC = 0xa1b2c3d4; // microsecond timestamps
const SNAPLEN = 262_144;
const IPV4_HEADER = 20;
const UDP_HEADER = 8;

export type PcapEncapsulation = 'udp' | 'ip-payload';

export interface PcapAddOptions {
  /** Default 'udp' (or the writer's default). */
  readonly encapsulation?: PcapEncapsulation;
  /** IP protocol number for 'ip-payload'; default 6 (TCP). */
  readonly protocol?: number;
  /** For 'ip-payload' with protocol 6: rewrite the TCP checksum (default true). */
  readonly fixChecksum?: boolean;
}

export interface PcapWriterOptions extends PcapAddOptions {
  /** Added to every packet's time, e.g. Date.UTC(...) so virtual time 0 reads as a real date; default 0. */
  readonly epochMs?: number;
}

export class PcapError extends BatonError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}

export class PcapWriter {
  private readonly chunks: Uint8Array[] = [];
  private bytes = 0;
  private ipId = 0;
  private count = 0;

  constructor(private readonly options: PcapWriterOptions = {}) {
    const header = new DataView(new ArrayBuffer(24));
    header.setUint32(0, PCAP_MAGIC, true);
    header.setUint16(4, 2, true); // version 2.4
    header.setUint16(6, 4, true);
    header.setInt32(8, 0, true); // thiszone
    header.setUint32(12, 0, true); // sigfigs
    header.setUint32(16, SNAPLEN, true);
    header.setUint32(20, LINKTYPE_RAW, true);
    this.push(new Uint8Array(header.buffer));
  }

  /** Packets written so far. */
  get packetCount(): number {
    return this.count;
  }

  /** Append one packet sent at `timeMs` from `from` to `to`. */
  add(timeMs: number, from: UdpAddress, to: UdpAddress, payload: Uint8Array, options: PcapAddOptions = {}): void {
    const encapsulation = options.encapsulation ?? this.options.encapsulation ?? 'udp';
    const src = ipv4Bytes(from.address);
    const dst = ipv4Bytes(to.address);
    let packet: Uint8Array;
    if (encapsulation === 'udp') {
      packet = new Uint8Array(IPV4_HEADER + UDP_HEADER + payload.length);
      this.writeIpv4(packet, IPPROTO_UDP, src, dst);
      const udp = new DataView(packet.buffer, IPV4_HEADER, UDP_HEADER);
      const udpLength = UDP_HEADER + payload.length;
      if (udpLength > 0xffff) throw new PcapError('BATON_ERR_PCAP_TOO_BIG', `UDP datagram of ${udpLength} bytes`);
      udp.setUint16(0, from.port);
      udp.setUint16(2, to.port);
      udp.setUint16(4, udpLength);
      packet.set(payload, IPV4_HEADER + UDP_HEADER);
      const sum = transportChecksum(src, dst, IPPROTO_UDP, packet.subarray(IPV4_HEADER));
      udp.setUint16(6, sum === 0 ? 0xffff : sum);
    } else {
      const protocol = options.protocol ?? this.options.protocol ?? IPPROTO_TCP;
      packet = new Uint8Array(IPV4_HEADER + payload.length);
      this.writeIpv4(packet, protocol, src, dst);
      packet.set(payload, IPV4_HEADER);
      const fix = options.fixChecksum ?? this.options.fixChecksum ?? true;
      if (protocol === IPPROTO_TCP && fix && payload.length >= 20) {
        const segment = packet.subarray(IPV4_HEADER);
        segment[16] = 0;
        segment[17] = 0;
        const sum = transportChecksum(src, dst, IPPROTO_TCP, segment);
        segment[16] = sum >>> 8;
        segment[17] = sum & 0xff;
      }
    }
    const t = timeMs + (this.options.epochMs ?? 0);
    let seconds = Math.floor(t / 1000);
    let micros = Math.round((t - seconds * 1000) * 1000);
    if (micros >= 1_000_000) {
      seconds += 1;
      micros -= 1_000_000;
    }
    const record = new DataView(new ArrayBuffer(16));
    record.setUint32(0, seconds, true);
    record.setUint32(4, micros, true);
    record.setUint32(8, packet.length, true); // incl_len
    record.setUint32(12, packet.length, true); // orig_len
    this.push(new Uint8Array(record.buffer));
    this.push(packet);
    this.count++;
  }

  /** The whole capture so far: global header plus every record. */
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.bytes);
  }

  private push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  private writeIpv4(packet: Uint8Array, protocol: number, src: Uint8Array, dst: Uint8Array): void {
    if (packet.length > 0xffff) throw new PcapError('BATON_ERR_PCAP_TOO_BIG', `IPv4 packet of ${packet.length} bytes`);
    const ip = new DataView(packet.buffer, packet.byteOffset, IPV4_HEADER);
    ip.setUint8(0, 0x45); // version 4, IHL 5
    ip.setUint8(1, 0);
    ip.setUint16(2, packet.length);
    ip.setUint16(4, this.ipId);
    this.ipId = (this.ipId + 1) & 0xffff;
    ip.setUint16(6, 0x4000); // DF
    ip.setUint8(8, 64); // TTL
    ip.setUint8(9, protocol);
    packet.set(src, 12);
    packet.set(dst, 16);
    ip.setUint16(10, finish(sum16(packet, 0, IPV4_HEADER, 0)));
  }
}

export interface PcapTraceOptions extends PcapAddOptions {
  /** Which trace events to record when `at` is not given: 'deliver' (default) or 'send'. */
  readonly kind?: 'send' | 'deliver';
  /**
   * Capture as tcpdump on a host would: record the datagrams sent from and delivered to these IP
   * addresses (each once: a send as it leaves, a delivery as it arrives). Overrides `kind`.
   */
  readonly at?: readonly string[];
  /** Per-packet encapsulation, e.g. by port; overrides the fixed options. */
  readonly encapsulate?: (event: TraceEvent) => PcapAddOptions;
}

/** A trace listener that records into `writer`: `net.onTrace(pcapTrace(writer))`. */
export function pcapTrace(writer: PcapWriter, options: PcapTraceOptions = {}): (event: TraceEvent) => void {
  const kind = options.kind ?? 'deliver';
  const at = options.at === undefined ? undefined : new Set(options.at);
  return (event) => {
    if (at !== undefined) {
      const seen =
        (event.kind === 'send' && at.has(event.from.address)) || (event.kind === 'deliver' && at.has(event.to.address));
      if (!seen) return;
    } else if (event.kind !== kind) {
      return;
    }
    writer.add(event.time, event.from, event.to, event.payload, options.encapsulate?.(event) ?? options);
  };
}

function ipv4Bytes(address: string): Uint8Array {
  const parts = address.split('.');
  const out = new Uint8Array(4);
  if (parts.length === 4) {
    let ok = true;
    for (let i = 0; i < 4; i++) {
      const text = parts[i]!;
      const v = Number(text);
      if (!/^\d{1,3}$/.test(text) || v > 255) ok = false;
      out[i] = v;
    }
    if (ok) return out;
  }
  if (address.includes(':')) throw new PcapError('BATON_ERR_PCAP_IPV6', `pcap writer is IPv4 only; cannot write ${address}`);
  throw new PcapError('BATON_ERR_PCAP_ADDRESS', `not an IPv4 address: "${address}"`);
}

/** One's-complement sum of 16-bit big-endian words (odd trailing byte padded with zero). */
function sum16(bytes: Uint8Array, start: number, end: number, initial: number): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < end) sum += bytes[i]! << 8;
  return sum;
}

function finish(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** UDP/TCP checksum over the IPv4 pseudo-header and `segment` (whose checksum field must be zero). */
function transportChecksum(src: Uint8Array, dst: Uint8Array, protocol: number, segment: Uint8Array): number {
  let sum = sum16(src, 0, 4, 0);
  sum = sum16(dst, 0, 4, sum);
  sum += protocol + segment.length;
  return finish(sum16(segment, 0, segment.length, sum));
}
