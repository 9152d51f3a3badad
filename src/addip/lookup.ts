// Finding the association for a packet from an address the association does not know yet
// (RFC 5061 §4.1.1, usrsctp sctp_findassociation_ep_asconf): the ASCONF's own address parameter
// names an address of the sender that IS in the association. The endpoint calls this when its
// normal lookup (by source address + port, or by tag) fails, then checks the verification tag.
import type { UdpAddress } from '../transport-abstraction/address.js';
import type { Packet } from '../sctp/wire/types.js';
import { ipOf } from './addresses.js';

/** The IP in the address parameter of the packet's first ASCONF chunk, if any. */
export function asconfLookupAddress(packet: Packet): string | undefined {
  for (const c of packet.chunks) {
    if (c.type === 0xc1 && 'serial' in c && 'address' in c) return ipOf(c.address);
  }
  return undefined;
}

/** What the lookup needs to know about an association. */
export interface LookupView {
  /** The tag this side expects in packets it receives. */
  readonly localVerificationTag: number;
  /** The local SCTP port of the association. */
  readonly localPort: number;
  /** The peer's SCTP port. */
  readonly peerPort: number;
  readonly peerAddresses: readonly UdpAddress[];
}

/**
 * The association that an ASCONF packet from an unknown source belongs to: one whose peer
 * addresses include the ASCONF's address parameter, whose ports match, and whose verification tag
 * the packet carries. Undefined when nothing matches (the packet is then out of the blue).
 */
export function lookupByAsconf<T>(packet: Packet, associations: Iterable<T>, view: (a: T) => LookupView): T | undefined {
  const ip = asconfLookupAddress(packet);
  if (ip === undefined) return undefined;
  for (const a of associations) {
    const v = view(a);
    if (v.localVerificationTag !== packet.verificationTag >>> 0) continue;
    if (v.localPort !== packet.destinationPort || v.peerPort !== packet.sourcePort) continue;
    if (v.peerAddresses.some((p) => p.address === ip)) return a;
  }
  return undefined;
}

/**
 * The UDP address a newly added peer address gets: the ASCONF's source IP (or the parameter's IP)
 * with the UDP encapsulation port taken from the packet's UDP source port (RFC 6951 §5.4 keeps one
 * encapsulation port per remote address).
 */
export function newPeerAddress(ip: string, from: UdpAddress): UdpAddress {
  return { address: ip, port: from.port };
}
