// A SYN flood against a listening TCP-Migrate endpoint (issue 14 item 9), on the simulated network
// in virtual time: 100,000 spoofed SYNs in 20 s while one download runs. The endpoint keeps at most
// its SYN queue (64) of half-open connections; beyond it, SYNs get a stateless SYN cookie (no
// connection, no x25519 work), so the connection count stays flat, and the download keeps its
// goodput. The spoofed sources sit behind the client's link, so the SYN/ACKs share its bottleneck
// (the worst case for the download: reflected traffic competes with it).
import test from 'ava';
import { SimNetwork } from '../src/sim/network.js';
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import { TcpMigrateEndpoint } from '../src/tcp-migrate/endpoint.js';
import type { TcpMigrateConnection } from '../src/tcp-migrate/connection.js';
import { emitOptions, optionsLength, type TcpOption } from '../src/tcp-migrate/options.js';
import { fillChecksum, parseSegment, pseudoHeaderSum, writeHeader } from '../src/tcp-migrate/wire.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import { memorySource, StreamCollector, StreamSender } from '../src/stream/index.js';

const PORT = 9898;
const CLIENT: UdpAddress = { address: '10.0.0.1', port: PORT };
const SERVER: UdpAddress = { address: '10.0.0.2', port: PORT };
const SPOOFED = '10.0.0.66';
const FLOOD_SYNS = 100_000;
const FLOOD_MS = 20_000;
const BATCH_MS = 10;
const FROM = 2000;

interface Run {
  /** Bytes per second the client received from FROM on. */
  goodput: number;
  maxConnections: number;
  synAcks: number;
  client: TcpMigrateConnection;
  server: TcpMigrateEndpoint;
}

/** A SYN as a baton client sends it (MSS, SACK-Permitted, Migrate-Permitted), from a spoofed port. */
function syn(i: number, key: Uint8Array): Uint8Array {
  const options: TcpOption[] = [{ type: 'mss', mss: 1400 }, { type: 'sack-permitted' }, { type: 'migrate-permitted', curve: 'x25519', publicKey: key }];
  const len = optionsLength(options);
  const b = new Uint8Array(20 + len);
  writeHeader(b, 1024 + (i % 60_000), PORT, (i * 2654435761) >>> 0, 0, len, 0x02, 65535);
  emitOptions(options, b, 20);
  fillChecksum(b, pseudoHeaderSum(SPOOFED, SERVER.address));
  return b;
}

function run(flood: boolean, measureMs: number): Run {
  const net = new SimNetwork({ seed: 31 });
  net.addHost('client', [CLIENT.address, SPOOFED]);
  net.addHost('server', [SERVER.address]);
  net.link('client', 'server', { delayMs: 10, rateBps: 20_000_000, queueBytes: 200_000 });
  const server = new TcpMigrateEndpoint({ addresses: [SERVER], listen: true, random: net.random });
  const file = new Uint8Array(60_000_000); // the content does not matter here
  let feeder: StreamSender | undefined;
  net.attach(server, [SERVER], (now) => {
    if (feeder === undefined) {
      const c = server.pollAccept();
      if (c !== undefined) feeder = new StreamSender({ conn: c, source: memorySource(file), now: () => net.now, resume: false });
    }
    feeder?.pump(now);
  });
  const clientEndpoint = new TcpMigrateEndpoint({ addresses: [CLIENT], random: net.random });
  const conn = clientEndpoint.connect(0, SERVER);
  const collector = new StreamCollector({ conn, keep: false });
  net.attach(clientEndpoint, [CLIENT], (now) => collector.pump(now));
  net.wake(clientEndpoint);
  let synAcks = 0;
  net.onTrace((e) => {
    if (e.kind !== 'send' || e.to.address !== SPOOFED) return;
    const p = parseSegment(e.payload);
    if (p.ok && p.segment.flags === 0x12) synAcks++;
  });
  let maxConnections = 0;
  if (flood) {
    const rnd = new SeededRandom(7);
    const key = rnd.bytes(32);
    const perBatch = (FLOOD_SYNS * BATCH_MS) / FLOOD_MS;
    let i = 0;
    for (let at = FROM; at < FROM + FLOOD_MS; at += BATCH_MS) {
      net.schedule(at, () => {
        for (let j = 0; j < perBatch; j++, i++) server.handleDatagram(net.now, { address: SPOOFED, port: 1024 + (i % 60_000) }, syn(i, key), SERVER);
        net.wake(server);
        maxConnections = Math.max(maxConnections, server.connectionCount);
      });
    }
  }
  net.run(FROM);
  const before = collector.received;
  net.run(FROM + measureMs);
  const goodput = ((collector.received - before) * 1000) / measureMs;
  if (flood) {
    // The download ends; after connectTimeoutMs the half-open connections are gone too.
    conn.abort(net.now);
    net.wake(clientEndpoint);
    net.run(net.now + 16_000);
  }
  return { goodput, maxConnections, synAcks, client: conn, server };
}

test('a 100k-SYN flood: connections stay flat (SYN queue, then stateless cookies), one SYN/ACK per SYN, the download keeps ≥ 80% of its goodput', (t) => {
  const quiet = run(false, 5000); // steady state: 5 s are enough
  const started = process.hrtime.bigint();
  const flooded = run(true, FLOOD_MS);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  t.log(`goodput ${(quiet.goodput / 1e6).toFixed(2)} MB/s quiet, ${(flooded.goodput / 1e6).toFixed(2)} MB/s flooded; at most ${flooded.maxConnections} connections; ${flooded.synAcks} SYN/ACKs; ${ms.toFixed(0)} ms of wall time for the flooded run`);
  t.true(quiet.goodput > 2_000_000, `the quiet download moved only ${quiet.goodput} bytes/s`);
  t.true(flooded.goodput >= 0.8 * quiet.goodput, `flooded goodput ${flooded.goodput} < 80% of ${quiet.goodput}`);
  // The download's connection plus at most the SYN queue (64) of half-open ones.
  t.true(flooded.maxConnections <= 1 + 64, `${flooded.maxConnections} connections during the flood`);
  t.is(flooded.client.closedError?.code, 'BATON_ERR_LOCAL_ABORT', 'the download did not survive the flood');
  // One SYN/ACK per SYN (cookies are not retransmitted) plus the half-open ones' retransmissions.
  t.true(flooded.synAcks >= FLOOD_SYNS && flooded.synAcks <= FLOOD_SYNS * 1.01, `${flooded.synAcks} SYN/ACKs`);
  // After the flood the half-open connections time out (connectTimeoutMs): none is left.
  t.is(flooded.server.connectionCount, 0);
});
