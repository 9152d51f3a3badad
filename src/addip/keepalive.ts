// Clients behind NAT after a takeover (README "Clients behind NAT"). The takeover rule
// (receiver.ts) leaves exactly the taker as the peer's address: the addresses it deleted — the
// server it replaced and the support-group members the first INIT ACK listed — are no data paths
// any more, and the client's path heartbeats stop toward them, so its NAT would forget the bindings
// a second takeover from one of them needs. The client keeps them for keepalives only: one
// HEARTBEAT toward each every HB.interval (the same period as the path heartbeats), on the
// association's tag, which a member answers for a connection its group holds (endpoint.ts
// heldByGroup). Nothing but a HEARTBEAT ACK is taken from such an address (takeover-hooks.ts
// onPacket; any other chunk still draws the out-of-the-blue ABORT that tells an old server it was
// taken over), and an answer makes it no path: an address comes back into the association only by
// an authenticated takeover ASCONF sent from it. So an address the client never confirmed never
// carries data, as before; only its NAT binding lives on.
import type { UdpAddress } from '../transport-abstraction/address.js';

/** HEARTBEAT info of a keepalive: "BAKA" and a counter (path heartbeats carry 16 bytes, probes more). */
export const KEEPALIVE_INFO_LENGTH = 8;
const MARK = 0x42414b41;

/** The keepalive destinations: the former peer addresses that are not paths again, one per IP. */
export function keepaliveTargets(former: readonly UdpAddress[], paths: readonly UdpAddress[]): UdpAddress[] {
  const out: UdpAddress[] = [];
  for (const a of former) {
    if (paths.some((p) => p.address === a.address) || out.some((o) => o.address === a.address)) continue;
    out.push(a);
  }
  return out;
}

/** The client's keepalive clock toward the addresses a takeover deleted, and its counters. */
export class GroupKeepalive {
  /** The next round's instant (NaN: none armed, i.e. no takeover accepted yet). */
  at = NaN;
  /** HEARTBEATs sent toward former addresses, and HEARTBEAT ACKs taken from them. */
  sent = 0;
  answered = 0;
  private counter = 0;

  /** A takeover was accepted: the first round goes one interval later (the taker's ASCONF just came in). */
  start(now: number, interval: number): void {
    if (Number.isNaN(this.at)) this.at = now + interval;
  }

  get deadline(): number | undefined {
    return Number.isNaN(this.at) ? undefined : this.at;
  }

  /** When due: the HEARTBEAT infos to send, one per target, and the next round armed. */
  due(now: number, interval: number, targets: readonly UdpAddress[]): Array<{ readonly to: UdpAddress; readonly info: Uint8Array }> {
    if (Number.isNaN(this.at) || now < this.at) return [];
    this.at = now + interval;
    return targets.map((to) => {
      const info = new Uint8Array(KEEPALIVE_INFO_LENGTH);
      const v = new DataView(info.buffer);
      v.setUint32(0, MARK);
      v.setUint32(4, this.counter++ >>> 0);
      this.sent++;
      return { to, info };
    });
  }
}

/** Whether a packet holds HEARTBEAT ACKs only (chunk type 5): a keepalive's answer. */
export function isKeepaliveAnswer(chunkTypes: readonly number[]): boolean {
  return chunkTypes.length > 0 && chunkTypes.every((t) => t === 5);
}
