// SctpAssociation: path MTU discovery for SCTP over UDP (RFC 8899 §6.2.1), one plpmtud.ts state
// machine per path. A probe is a HEARTBEAT whose Heartbeat Info names the probe (nonce, path, size)
// followed by a PAD chunk (RFC 4820) that makes the packet exactly the size probed; the peer's
// HEARTBEAT ACK (which carries the info back, unpadded) confirms the size. Probes are no DATA: they
// are not in flight, not congestion controlled, and neither their loss nor their answer touches the
// path's error counter, cwnd or RTO (§6.2.1.2; only the plain HEARTBEATs of §8.3 supervise a path).
//
// A path starts its search once it is confirmed and carries the association (never before a
// taker's ASCONF is answered: the client does not know the taker's address yet). Black holes: two
// T3-rtx expiries in a row on a path with no DATA acknowledged in between, while its PLPMTU is
// above BASE_PLPMTU, send it back to BASE (its probe then tells whether small packets still pass)
// and search again. DATA chunks made before the drop keep their size (a TSN cannot be re-cut): a
// packet with one that no longer fits is marked `mayFragment` (an IPv4 sender may clear DF on it
// and let IP fragment it; the simulated link delivers such a packet as fragments; Node.js cannot
// clear DF, so on a real black hole beyond the local link these chunks are lost).
import type { Instant } from '../../transport-abstraction/transport.js';
import type { SctpAssociation } from '../association.js';
import { UDP_IP_OVERHEAD } from '../packet-writer.js';
import type { Path } from '../path.js';
import { ChunkType, type Chunk } from '../wire/types.js';
import { DATA_STATES, packetBytes } from './output.js';

/** Heartbeat Info of a probe: nonce, path index, send time, probed size (a plain HEARTBEAT's is 16 bytes). */
export const PROBE_INFO_LENGTH = 20;

/** T3-rtx expiries without an acknowledgement that make a path suspect a black hole. */
export const BLACK_HOLE_TIMEOUTS = 2;

/**
 * A path may search: the association carries DATA and the path is confirmed, and it is not a
 * taker's before its takeover completed. (An association built by importState() is restored
 * before its takeover state is installed: without that state nothing says it may probe yet.)
 */
function mayProbe(a: SctpAssociation, p: Path): boolean {
  if (!DATA_STATES.has(a.state) || !p.confirmed || a.takeoverState === undefined) return false;
  const initiator = a.takeoverState.initiator;
  return initiator === undefined || initiator.phase === 'complete';
}

/** Start the search on every path that may search and has not. */
export function startDiscovery(a: SctpAssociation, now: Instant): void {
  for (const p of a.paths) if (p.pmtud?.state === 'DISABLED' && mayProbe(a, p)) p.pmtud.start(now);
}

export function pollTimeout(a: SctpAssociation): Instant | undefined {
  let t = Infinity;
  for (const p of a.paths) {
    const d = p.pmtud?.pollTimeout();
    if (d !== undefined && d < t) t = d;
  }
  return t === Infinity ? undefined : t;
}

/** Probe timers and raise timers; send the probes that are due. */
export function handleTimeout(a: SctpAssociation, now: Instant): void {
  startDiscovery(a, now);
  for (let i = 0; i < a.paths.length; i++) {
    const p = a.paths[i]!;
    const m = p.pmtud;
    if (m === undefined || m.state === 'DISABLED') continue;
    m.handleTimeout(now);
    p.mtu = m.plpmtu;
    const size = m.pollProbe(now, p.rto.rto);
    if (size !== undefined && DATA_STATES.has(a.state)) sendProbe(a, now, i, size);
  }
}

/** One probe packet of exactly `size` bytes (IP datagram) to path i: HEARTBEAT + PAD. */
function sendProbe(a: SctpAssociation, now: Instant, i: number, size: number): void {
  const p = a.paths[i]!;
  const info = new Uint8Array(PROBE_INFO_LENGTH);
  const v = new DataView(info.buffer);
  p.probeNonce = a.options.random.uint32();
  v.setUint32(0, p.probeNonce);
  v.setUint32(4, i);
  v.setFloat64(8, now);
  v.setUint32(16, size);
  const target = size - UDP_IP_OVERHEAD;
  const build = (padding: number): Uint8Array => {
    const chunks: Chunk[] = [{ type: ChunkType.HEARTBEAT, info }, { type: ChunkType.PAD, padding: Math.max(0, padding) }];
    return packetBytes(a, chunks, a.peerTag);
  };
  // Common header 12, HEARTBEAT 8 + 20, PAD header 4 (and an AUTH chunk if the peer asks for one).
  let payload = build(target - 12 - 8 - PROBE_INFO_LENGTH - 4);
  if (payload.length !== target) payload = build(target - 12 - 8 - PROBE_INFO_LENGTH - 4 - (payload.length - target));
  a.outbox.push({ source: a.local, destination: p.address, payload });
}

/** A HEARTBEAT ACK with a probe's info: the probed size crossed the path. */
export function onProbeAck(a: SctpAssociation, now: Instant, info: Uint8Array): void {
  const v = new DataView(info.buffer, info.byteOffset, PROBE_INFO_LENGTH);
  const p = a.paths[v.getUint32(4)];
  if (!p?.pmtud || v.getUint32(0) !== p.probeNonce) return;
  p.pmtud.onProbeAcked(now, v.getUint32(16));
  p.mtu = p.pmtud.plpmtu;
}

/** T3-rtx of path i expired (after the sender marked its chunks): count it toward a black hole. */
export function onRetransmissionTimeout(a: SctpAssociation, now: Instant, i: number): void {
  const p = a.paths[i]!;
  if (p.pmtud === undefined) return;
  if (++p.timeoutsWithoutAck < BLACK_HOLE_TIMEOUTS) return;
  if (p.pmtud.onBlackHole(now)) {
    p.mtu = p.pmtud.plpmtu;
    p.cwnd = Math.min(p.cwnd, p.mtu);
    p.timeoutsWithoutAck = 0;
  }
}
