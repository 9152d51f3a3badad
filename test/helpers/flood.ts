// The handshake-flood scenario of test/sctp-hardening-flood and test/tcp-hardening-flood (issue 14
// item 9), shared: on the simulated network in virtual time one download runs from a listening
// server to a client while, from FROM on, spoofed handshake openers (INITs / SYNs) arrive in 10 ms
// batches for FLOOD_MS. The spoofed sources sit behind the client's link, so the server's answers
// share its bottleneck (the worst case for the download). Each transport's test gives what
// differs: its endpoints, its opener, how it counts connections and recognizes an answer.
import { SimNetwork } from '../../src/sim/network.js';
import type { UdpAddress } from '../../src/transport-abstraction/address.js';
import type { RandomSource } from '../../src/transport-abstraction/random.js';
import type { MigratableTransport, TransportEndpoint } from '../../src/transport-abstraction/transport.js';
import { x25519Counters } from '../../src/transport-abstraction/x25519.js';
import { memorySource, StreamCollector, StreamSender } from '../../src/stream/index.js';

export const CLIENT_ADDRESS = '10.0.0.1';
export const SERVER_ADDRESS = '10.0.0.2';
export const SPOOFED = '10.0.0.66';
export const FLOOD_OPENERS = 100_000;
export const FLOOD_MS = 20_000;
const BATCH_MS = 10;
const FROM = 2000;

export interface FloodTransport<E extends TransportEndpoint, C extends MigratableTransport> {
  readonly port: number;
  /** The listening server's endpoint and the client's (listen: false). */
  endpoint(address: UdpAddress, listen: boolean, random: RandomSource): E;
  /** The client's connection to the server. */
  connect(client: E, server: UdpAddress): C;
  /** The i-th spoofed opener. */
  opener(i: number): Uint8Array;
  /** The server's connections (associations) now, half-open ones included. */
  count(server: E): number;
  /** True for the server's answer to an opener (INIT-ACK, SYN/ACK); `bytes` is its datagram. */
  isAnswer(bytes: Uint8Array): boolean;
  /** After the measurement of a flooded run (e.g. end the download and let half-open ones expire). */
  after?(net: SimNetwork, client: E, conn: C): void;
}

export interface FloodRun<E, C> {
  /** Bytes per second the client received from FROM on, for measureMs. */
  readonly goodput: number;
  /** The most connections the server held at the end of a batch. */
  readonly maxCount: number;
  /** Answers sent to the spoofed address, and the size of the last. */
  readonly answers: number;
  readonly answerBytes: number;
  readonly client: C;
  readonly server: E;
  /** Scalar multiplications the server made while the flood lasted (public keys, agreements). */
  readonly x25519: { publicKeys: number; agreements: number };
}

export function runFlood<E extends TransportEndpoint, C extends MigratableTransport>(transport: FloodTransport<E, C>, flood: boolean, measureMs: number): FloodRun<E, C> {
  const clientAddress: UdpAddress = { address: CLIENT_ADDRESS, port: transport.port };
  const serverAddress: UdpAddress = { address: SERVER_ADDRESS, port: transport.port };
  const net = new SimNetwork({ seed: 31 });
  net.addHost('client', [CLIENT_ADDRESS, SPOOFED]);
  net.addHost('server', [SERVER_ADDRESS]);
  net.link('client', 'server', { delayMs: 10, rateBps: 20_000_000, queueBytes: 200_000 });
  const server = transport.endpoint(serverAddress, true, net.random);
  const file = new Uint8Array(60_000_000); // the content does not matter here
  let feeder: StreamSender | undefined;
  net.attach(server, [serverAddress], (now) => {
    if (feeder === undefined) {
      const c = server.pollAccept();
      if (c !== undefined) feeder = new StreamSender({ conn: c, source: memorySource(file), now: () => net.now, resume: false });
    }
    feeder?.pump(now);
  });
  const clientEndpoint = transport.endpoint(clientAddress, false, net.random);
  const conn = transport.connect(clientEndpoint, serverAddress);
  const collector = new StreamCollector({ conn, keep: false });
  net.attach(clientEndpoint, [clientAddress], (now) => collector.pump(now));
  net.wake(clientEndpoint);
  let answers = 0;
  let answerBytes = 0;
  net.onTrace((e) => {
    if (e.kind !== 'send' || e.to.address !== SPOOFED || !transport.isAnswer(e.payload)) return;
    answers++;
    answerBytes = e.payload.length;
  });
  let maxCount = 0;
  const x25519 = { publicKeys: 0, agreements: 0 };
  if (flood) {
    net.schedule(FROM, () => {
      x25519.publicKeys -= x25519Counters.publicKeys;
      x25519.agreements -= x25519Counters.agreements;
    });
    net.schedule(FROM + FLOOD_MS, () => {
      x25519.publicKeys += x25519Counters.publicKeys;
      x25519.agreements += x25519Counters.agreements;
    });
    const perBatch = (FLOOD_OPENERS * BATCH_MS) / FLOOD_MS;
    let i = 0;
    for (let at = FROM; at < FROM + FLOOD_MS; at += BATCH_MS) {
      net.schedule(at, () => {
        for (let j = 0; j < perBatch; j++, i++) server.handleDatagram(net.now, { address: SPOOFED, port: 1024 + (i % 60_000) }, transport.opener(i), serverAddress);
        net.wake(server);
        maxCount = Math.max(maxCount, transport.count(server));
      });
    }
  }
  net.run(FROM);
  const before = collector.received;
  net.run(FROM + measureMs);
  const goodput = ((collector.received - before) * 1000) / measureMs;
  if (flood) transport.after?.(net, clientEndpoint, conn);
  return { goodput, maxCount, answers, answerBytes, client: conn, server, x25519 };
}
