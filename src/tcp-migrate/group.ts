// Clients behind NAT (README "Clients behind NAT"): a server behind which a support group stands
// lists the group's addresses in its SYN/ACK (the Group-List option, options.ts), and the client
// sends a Group-Keepalive toward each listed address every `groupKeepaliveMs`, from the
// connection's UDP socket and on its TCP ports, so that a NAT in front of the client keeps a
// binding open toward every member; a member's Migrate SYN then comes in through it. A member
// answers a Group-Keepalive with a Group-Keepalive-Ack for a connection it holds (its own, or one a
// group member announced: the endpoint's heldByGroup), and never with a RST: the keepalive may come
// before the member has heard of the connection. The answer changes nothing at the client: the
// endpoint counts it and routes it to no connection (a member is not the connection's peer, and an
// ACK from it must not count as a duplicate ACK of the current peer's).
//
// The list (with the first server itself) is the client's own state: it outlives a takeover, so
// the client keeps its bindings toward every member but the current peer, for a second takeover.
import type { UdpAddress } from '../transport-abstraction/address.js';
import type { Instant, Transmit } from '../transport-abstraction/transport.js';
import type { TcpMigrateConnection } from './connection.js';
import { headerOptionsLength, emitHeaderOptions, findOption, type TcpOption } from './options.js';
import { ACK, allocSegment, fillChecksum, HEADER_LENGTH, ipBytes, pseudoHeaderSum, writeHeader } from './wire.js';

/** The SYN/ACK's Group-List for a client at `client`: the group's addresses of the client's family; none if there are none. */
export function groupListOptions(addresses: readonly string[] | undefined, client: UdpAddress): TcpOption[] {
  if (addresses === undefined) return [];
  const v6 = client.address.includes(':');
  const list = addresses.filter((a) => a.includes(':') === v6).flatMap((a) => ipBytes(a) ?? []);
  return list.length === 0 ? [] : [{ type: 'group-list', addresses: list }];
}

/** Client: the SYN/ACK's Group-List, if any, becomes the addresses to keep bindings toward; the keepalive clock starts. */
export function readGroupList(c: TcpMigrateConnection, options: readonly TcpOption[], now: Instant): void {
  const list = findOption(options, 'group-list');
  if (list === undefined || c.config.groupKeepaliveMs <= 0) return;
  const v6 = c.remote.address.includes(':');
  const listed = list.addresses.filter((a) => (a.length === 16) === v6).map((a) => ({ address: ipText(a), port: c.remote.port }));
  if (listed.length === 0) return;
  // The server itself too: after a takeover it is one of the others (restarted, it may take over back).
  c.groupPeers = [c.remote, ...listed.filter((p) => p.address !== c.remote.address)];
  c.groupKeepaliveAt = now + c.config.groupKeepaliveMs;
}

/** The group keepalive clock fired: one Group-Keepalive toward each member other than the current peer. */
export function onTimeout(c: TcpMigrateConnection, now: Instant): void {
  c.groupKeepaliveAt = undefined;
  if (c.released || c.state === 'CLOSED' || c.state === 'TIME-WAIT') return;
  for (const peer of c.groupPeers) {
    if (peer.address === c.remote.address && peer.port === c.remote.port) continue;
    c.pushTransmit(keepaliveSegment(c.local, c.localPort, peer, c.remotePort, c.sndWire(c.sndNxt), c.ackNumber(), false));
    c.groupKeepalivesSent++;
  }
  c.groupKeepaliveAt = now + c.config.groupKeepaliveMs;
}

/** A Group-Keepalive (ack false) or its answer: an empty ACK segment with the Group option. */
export function keepaliveSegment(local: UdpAddress, localPort: number, remote: UdpAddress, remotePort: number, seq: number, ack: number, answer: boolean): Transmit {
  const options: TcpOption[] = [{ type: 'group-keepalive', ack: answer }];
  const optLen = headerOptionsLength(options);
  const buf = allocSegment(HEADER_LENGTH + optLen);
  writeHeader(buf, localPort, remotePort, seq, ack, 0, ACK, 0);
  emitHeaderOptions(options, buf, 0);
  fillChecksum(buf, pseudoHeaderSum(local.address, remote.address));
  return { source: local, destination: remote, payload: buf };
}

/** 4 or 16 address bytes as text (IPv6 in the RFC 5952 short form). */
export function ipText(b: Uint8Array): string {
  if (b.length === 4) return b.join('.');
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  // RFC 5952 §4.2: the longest run of two or more zero words (the first of equals) becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  return best < 0 ? hex(words) : `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`;
}
