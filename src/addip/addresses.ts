// The peer's transport addresses as RFC 5061 changes them: an ordered set of UDP addresses (IP +
// the UDP encapsulation port, RFC 6951) with one primary. ASCONF parameters name addresses by IP
// only; a newly added address takes its UDP port from the packet that carried the ASCONF.
import { isIP } from 'node:net';
import type { UdpAddress } from '../transport-abstraction/address.js';
import { ParamType, type Param } from '../sctp/wire/types.js';

/** The IP of an IPv4 / IPv6 address parameter, or undefined for anything else. */
export function ipOf(param: Param): string | undefined {
  return param.kind === 'ipv4' || param.kind === 'ipv6' ? param.address : undefined;
}

/** An IPv4 / IPv6 address parameter for an IP in text form. */
export function addressParam(ip: string): Param {
  return isIP(ip) === 6 ? { type: ParamType.IPV6_ADDRESS, kind: 'ipv6', address: ip } : { type: ParamType.IPV4_ADDRESS, kind: 'ipv4', address: ip };
}

/** RFC 5061 §4.2.1-4.2.4: 0.0.0.0 and :: stand for "the source address of this packet". */
export function isWildcard(ip: string): boolean {
  if (ip === '0.0.0.0') return true;
  return isIP(ip) === 6 && encodeAddressParam(addressParam(ip)).subarray(4).every((b) => b === 0);
}

/**
 * Whether an IP can be a peer's transport address: not the IPv4 limited broadcast
 * (255.255.255.255), not multicast (224.0.0.0/4, ff00::/8). A subnet's directed broadcast
 * (e.g. 10.0.0.255 in a /24) cannot be told from a unicast address without the peer's netmask,
 * which no SCTP parameter carries: such an address is accepted, and a path to it simply fails.
 */
export function isUnicast(ip: string): boolean {
  if (isIP(ip) === 6) return encodeAddressParam(addressParam(ip))[4] !== 0xff;
  const first = Number(ip.split('.')[0]);
  return ip !== '255.255.255.255' && !(first >= 224 && first <= 239);
}

/** The raw bytes of an address parameter (for TLV-Copied-From-ASCONF in error causes). */
export function encodeAddressParam(param: Param): Uint8Array {
  const ip = ipOf(param) ?? '0.0.0.0';
  const v6 = isIP(ip) === 6;
  const out = new Uint8Array(v6 ? 20 : 8);
  const view = new DataView(out.buffer);
  view.setUint16(0, v6 ? ParamType.IPV6_ADDRESS : ParamType.IPV4_ADDRESS);
  view.setUint16(2, out.length);
  if (!v6) {
    ip.split('.').forEach((part, i) => (out[4 + i] = Number(part)));
  } else {
    const [head, tail] = ip.split('::') as [string, string | undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
    groups.forEach((g, i) => view.setUint16(4 + 2 * i, parseInt(g, 16)));
  }
  return out;
}

/** What ASCONF processing needs from the association's list of peer addresses (paths). */
export interface PeerAddressTable {
  list(): readonly UdpAddress[];
  readonly size: number;
  readonly primary: UdpAddress;
  find(ip: string): UdpAddress | undefined;
  has(ip: string): boolean;
  /** Add (idempotent by IP). Returns true when it was new. */
  add(a: UdpAddress): boolean;
  /** Remove by IP; never the last one. Returns true when removed. */
  remove(ip: string): boolean;
  setPrimary(ip: string): boolean;
}

/** The peer's addresses. Order is insertion order; the primary is one of them. */
export class PeerAddressSet implements PeerAddressTable {
  private readonly items: UdpAddress[] = [];
  private primaryIndex = 0;

  constructor(addresses: readonly UdpAddress[], primary?: UdpAddress) {
    for (const a of addresses) if (!this.has(a.address)) this.items.push({ address: a.address, port: a.port });
    if (this.items.length === 0) throw new RangeError('an association has at least one peer address');
    if (primary !== undefined) this.setPrimary(primary.address);
  }

  list(): readonly UdpAddress[] {
    return this.items;
  }

  get size(): number {
    return this.items.length;
  }

  get primary(): UdpAddress {
    return this.items[this.primaryIndex]!;
  }

  /** The address with this IP, if the peer has it. */
  find(ip: string): UdpAddress | undefined {
    return this.items.find((a) => a.address === ip);
  }

  has(ip: string): boolean {
    return this.find(ip) !== undefined;
  }

  /** Whether a datagram's source is one of the peer's addresses (IP and UDP port). */
  contains(from: UdpAddress): boolean {
    return this.items.some((a) => a.address === from.address && a.port === from.port);
  }

  /** Add (idempotent: an existing IP keeps its port). Returns true when it was new. */
  add(a: UdpAddress): boolean {
    if (this.has(a.address)) return false;
    this.items.push({ address: a.address, port: a.port });
    return true;
  }

  /** Remove; the primary moves to the first remaining address if it was removed. */
  remove(ip: string): boolean {
    const i = this.items.findIndex((a) => a.address === ip);
    if (i < 0 || this.items.length === 1) return false;
    const primary = this.primary;
    this.items.splice(i, 1);
    const p = this.items.indexOf(primary);
    this.primaryIndex = p >= 0 ? p : 0;
    return true;
  }

  setPrimary(ip: string): boolean {
    const i = this.items.findIndex((a) => a.address === ip);
    if (i < 0) return false;
    this.primaryIndex = i;
    return true;
  }
}
