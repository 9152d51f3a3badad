// Shared set-up for the SCTP association tests on the simulated network: two endpoints, a client
// association, the server's accepted association, and apps that record every event.
import { createHash } from 'node:crypto';
import { SimNetwork } from '../src/sim/network.js';
import type { LinkConfig } from '../src/sim/network.js';
import { SctpEndpoint, type SctpEndpointOptions } from '../src/sctp/endpoint.js';
import type { SctpAssociation } from '../src/sctp/association.js';
import type { SctpOptions } from '../src/sctp/options.js';
import type { TransportEvent } from '../src/transport-abstraction/transport.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import { memorySource, StreamSender } from '../src/stream/index.js';

export const CLIENT = { address: '10.0.0.1', port: 9899 };
export const SERVER = { address: '10.0.0.2', port: 9899 };

export interface Side {
  endpoint: SctpEndpoint;
  assoc: SctpAssociation | undefined;
  events: TransportEvent[];
  received: Uint8Array[];
  receivedBytes: number;
  /** Time of each delivery (ms), for stall measurement. */
  lastDelivery: number;
  longestGap: number;
  /** When false, data events are left unpolled (slow reader). */
  reading: boolean;
  onData?: (now: number) => void;
}

export interface PairOptions {
  seed?: number;
  link?: LinkConfig;
  client?: SctpOptions;
  server?: SctpOptions;
  serverEndpoint?: Partial<SctpEndpointOptions>;
  serverAddresses?: string[];
  clientAddresses?: string[];
  keepEvents?: boolean;
}

export function makeSide(endpoint: SctpEndpoint): Side {
  return { endpoint, assoc: undefined, events: [], received: [], receivedBytes: 0, lastDelivery: 0, longestGap: 0, reading: true };
}

export function drainEvents(side: Side, now: number, keep: boolean): void {
  if (!side.assoc) side.assoc = side.endpoint.pollAccept();
  const a = side.assoc;
  if (!a || !side.reading) return;
  for (let e = a.pollEvent(); e; e = a.pollEvent()) {
    if (e.type === 'data') {
      side.received.push(e.bytes);
      side.receivedBytes += e.bytes.length;
      if (now - side.lastDelivery > side.longestGap) side.longestGap = now - side.lastDelivery;
      side.lastDelivery = now;
      if (keep) side.events.push(e);
    } else side.events.push(e);
  }
  side.onData?.(now);
}

export function makePair(o: PairOptions = {}) {
  const net = new SimNetwork({ seed: o.seed ?? 1 });
  const clientIps = o.clientAddresses ?? [CLIENT.address];
  const serverIps = o.serverAddresses ?? [SERVER.address];
  net.addHost('client', clientIps);
  net.addHost('server', serverIps);
  if (o.link) net.link('client', 'server', o.link);
  const rnd = new SeededRandom(o.seed ?? 1);
  const clientEp = new SctpEndpoint({ addresses: clientIps.map((a) => ({ address: a, port: 9899 })), random: rnd, listen: false, association: o.client });
  const serverEp = new SctpEndpoint({
    addresses: serverIps.map((a) => ({ address: a, port: 9899 })),
    random: new SeededRandom((o.seed ?? 1) + 1000),
    association: o.server,
    ...o.serverEndpoint,
  });
  const client = makeSide(clientEp);
  const server = makeSide(serverEp);
  const keep = o.keepEvents ?? false;
  net.attach(clientEp, clientIps.map((a) => ({ address: a, port: 9899 })), (now) => drainEvents(client, now, keep));
  net.attach(serverEp, serverIps.map((a) => ({ address: a, port: 9899 })), (now) => drainEvents(server, now, keep));
  return { net, client, server, clientEp, serverEp };
}

export function connect(p: ReturnType<typeof makePair>, options?: SctpOptions): SctpAssociation {
  const a = p.clientEp.connect(p.net.now, { address: p.server.endpoint.addresses[0]!.address, port: 9899 }, options);
  p.client.assoc = a;
  p.net.wake(p.clientEp);
  return a;
}

export function pattern(n: number, seed = 7): Uint8Array {
  const r = new SeededRandom(seed);
  return r.bytes(n);
}

export function sha256(parts: Uint8Array[] | Uint8Array): string {
  const h = createHash('sha256');
  for (const p of Array.isArray(parts) ? parts : [parts]) h.update(p);
  return h.digest('hex');
}

/** Feed `data` into `a` as the send buffer allows (the library's StreamSender); returns a pump to call after every input. */
export function feeder(a: SctpAssociation, data: Uint8Array, block = 65536) {
  // The association stays open at the end (the tests close it themselves), so the clock is never read.
  const sender = new StreamSender({ conn: a, source: memorySource(data), now: () => 0, closeAtEnd: false, readSize: block });
  return {
    pump(): void {
      sender.fill(0);
    },
    get done(): boolean {
      return sender.finished;
    },
  };
}
