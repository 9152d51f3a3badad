// A UDP relay on 127.0.0.x that drops datagrams with a seeded probability, both ways: the only way
// to put loss between baton and a third-party SCTP stack here (this kernel has no netem).
//
//   client ──► front (127.0.0.1:F) ──► back (127.0.0.1:B) ──► target
//   client ◄── front               ◄── back               ◄── target
//
// The client sends to `front`; the target must answer to `back` (for usrsctp: give `back.port` as
// its remote UDP encapsulation port). SCTP over UDP carries no addresses in its common header, so
// both ends just see the relay's address as the peer's.
import dgram from 'node:dgram';
import type { UdpAddress } from '../../src/transport-abstraction/address.js';

export interface LossyRelayOptions {
  readonly target: UdpAddress;
  /** Drop probability per datagram, each direction (0..1). */
  readonly loss: number;
  readonly seed?: number;
  readonly address?: string;
  /** Never drop the first `spare` datagrams each way (let the handshake through); default 0. */
  readonly spare?: number;
}

export interface LossyRelay {
  readonly front: UdpAddress;
  readonly back: UdpAddress;
  readonly stats: { forwarded: number; dropped: number; toTarget: number; toClient: number };
  close(): Promise<void>;
}

/** xorshift32: a small seeded generator, so a failing run can be replayed with its seed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

function bind(address: string): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, address, () => {
      s.off('error', reject);
      s.on('error', () => undefined); // ICMP unreachable etc.: a relay just carries on
      resolve(s);
    });
  });
}

export async function startLossyRelay(o: LossyRelayOptions): Promise<LossyRelay> {
  const address = o.address ?? '127.0.0.1';
  if (!/^127\./.test(address) || !/^127\./.test(o.target.address)) throw new Error('the relay works on 127.0.0.0/8 only');
  const random = rng(o.seed ?? 1);
  const front = await bind(address);
  const back = await bind(address);
  const stats = { forwarded: 0, dropped: 0, toTarget: 0, toClient: 0 };
  let client: { address: string; port: number } | undefined;
  let seenUp = 0;
  let seenDown = 0;
  front.on('message', (msg, rinfo) => {
    client = { address: rinfo.address, port: rinfo.port };
    if (seenUp++ >= (o.spare ?? 0) && random() < o.loss) {
      stats.dropped++;
      return;
    }
    stats.forwarded++;
    stats.toTarget++;
    back.send(msg, o.target.port, o.target.address);
  });
  back.on('message', (msg) => {
    if (client === undefined) return;
    if (seenDown++ >= (o.spare ?? 0) && random() < o.loss) {
      stats.dropped++;
      return;
    }
    stats.forwarded++;
    stats.toClient++;
    front.send(msg, client.port, client.address);
  });
  return {
    front: { address, port: front.address().port },
    back: { address, port: back.address().port },
    stats,
    close: () => Promise.all([front, back].map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined),
  };
}
