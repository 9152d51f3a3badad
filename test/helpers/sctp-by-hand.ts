// Two SCTP endpoints driven by hand: the test carries every datagram between them, so it may
// alter, hold, replay or drop any of them (test/sctp-handshake.test.ts, test/sctp-restart.test.ts).
import type { SctpAssociation } from '../../src/sctp/association.js';
import type { SctpEndpoint } from '../../src/sctp/endpoint.js';
import { parsePacket } from '../../src/sctp/wire/parse.js';
import type { Packet } from '../../src/sctp/wire/types.js';
import type { UdpAddress } from '../../src/transport-abstraction/address.js';
import type { Transmit, TransportEvent } from '../../src/transport-abstraction/transport.js';

export const A: UdpAddress = { address: '10.0.0.1', port: 9899 };
export const B: UdpAddress = { address: '10.0.0.2', port: 9899 };

/** Every datagram the endpoint has to send now. */
export function drain(ep: SctpEndpoint, now: number): Transmit[] {
  const out: Transmit[] = [];
  for (let t = ep.pollTransmit(now); t; t = ep.pollTransmit(now)) out.push(t);
  return out;
}

export function packetOf(t: Transmit): Packet {
  const r = parsePacket(t.payload);
  if (!r.ok) throw new Error(r.error.message);
  return r.packet;
}

/** The chunks of a datagram, loosely typed so that tests can look at any field. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function chunksOf(t: Transmit): any[] {
  return [...packetOf(t).chunks];
}

export function deliver(to: SctpEndpoint, from: UdpAddress, ts: readonly Transmit[], now: number): void {
  for (const t of ts) to.handleDatagram(now, from, t.payload);
}

/** Every event the association has queued. */
export function events(a: SctpAssociation): TransportEvent[] {
  const out: TransportEvent[] = [];
  for (let e = a.pollEvent(); e; e = a.pollEvent()) out.push(e);
  return out;
}

/** Run endpoint `a` (at A) and `b` (at B) to quiescence (no timers), carrying every datagram. */
export function settle(a: SctpEndpoint, b: SctpEndpoint, now: number): void {
  for (let i = 0; i < 100; i++) {
    const x = drain(a, now);
    const y = drain(b, now);
    if (x.length === 0 && y.length === 0) return;
    deliver(b, A, x, now);
    deliver(a, B, y, now);
  }
}
