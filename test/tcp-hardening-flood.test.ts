// A SYN flood against a listening TCP-Migrate endpoint (issue 14 item 9), on the simulated network
// in virtual time: 100,000 spoofed SYNs in 20 s while one download runs. The endpoint keeps at most
// its SYN queue (64) of half-open connections; beyond it, SYNs get a stateless SYN cookie (no
// connection, no x25519 work), so the connection count stays flat, and the download keeps its
// goodput. The spoofed sources sit behind the client's link, so the SYN/ACKs share its bottleneck
// (the worst case for the download: reflected traffic competes with it).
import test from 'ava';
import { TcpMigrateEndpoint } from '../src/tcp-migrate/endpoint.js';
import type { TcpMigrateConnection } from '../src/tcp-migrate/connection.js';
import { emitOptions, optionsLength, type TcpOption } from '../src/tcp-migrate/options.js';
import { fillChecksum, parseSegment, pseudoHeaderSum, writeHeader } from '../src/tcp-migrate/wire.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import { FLOOD_MS, FLOOD_OPENERS as FLOOD_SYNS, runFlood, SERVER_ADDRESS, SPOOFED, type FloodTransport } from './helpers/flood.js';

const PORT = 9898;

/** A SYN as a baton client sends it (MSS, SACK-Permitted, Migrate-Permitted), from a spoofed port. */
function syn(i: number, key: Uint8Array): Uint8Array {
  const options: TcpOption[] = [{ type: 'mss', mss: 1400 }, { type: 'sack-permitted' }, { type: 'migrate-permitted', curve: 'x25519', publicKey: key }];
  const len = optionsLength(options);
  const b = new Uint8Array(20 + len);
  writeHeader(b, 1024 + (i % 60_000), PORT, (i * 2654435761) >>> 0, 0, len, 0x02, 65535);
  emitOptions(options, b, 20);
  fillChecksum(b, pseudoHeaderSum(SPOOFED, SERVER_ADDRESS));
  return b;
}

const KEY = new SeededRandom(7).bytes(32);

const TCP: FloodTransport<TcpMigrateEndpoint, TcpMigrateConnection> = {
  port: PORT,
  endpoint: (address, listen, random) => new TcpMigrateEndpoint({ addresses: [address], listen, random }),
  connect: (client, server) => client.connect(0, server),
  opener: (i) => syn(i, KEY),
  count: (server) => server.connectionCount,
  isAnswer: (bytes) => {
    const p = parseSegment(bytes);
    return p.ok && p.segment.flags === 0x12;
  },
  // The download ends; after connectTimeoutMs the half-open connections are gone too.
  after: (net, client, conn) => {
    conn.abort(net.now);
    net.wake(client);
    net.run(net.now + 16_000);
  },
};

const run = (flood: boolean, measureMs: number) => runFlood(TCP, flood, measureMs);

test('a 100k-SYN flood: connections stay flat (SYN queue, then stateless cookies), one SYN/ACK per SYN, the download keeps ≥ 80% of its goodput', (t) => {
  const quiet = run(false, 5000); // steady state: 5 s are enough
  const started = process.hrtime.bigint();
  const flooded = run(true, FLOOD_MS);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  t.log(`goodput ${(quiet.goodput / 1e6).toFixed(2)} MB/s quiet, ${(flooded.goodput / 1e6).toFixed(2)} MB/s flooded; at most ${flooded.maxCount} connections; ${flooded.answers} SYN/ACKs; ${ms.toFixed(0)} ms of wall time for the flooded run`);
  t.true(quiet.goodput > 2_000_000, `the quiet download moved only ${quiet.goodput} bytes/s`);
  t.true(flooded.goodput >= 0.8 * quiet.goodput, `flooded goodput ${flooded.goodput} < 80% of ${quiet.goodput}`);
  // The download's connection plus at most the SYN queue (64) of half-open ones.
  t.true(flooded.maxCount <= 1 + 64, `${flooded.maxCount} connections during the flood`);
  t.is(flooded.client.closedError?.code, 'BATON_ERR_LOCAL_ABORT', 'the download did not survive the flood');
  // One SYN/ACK per SYN (cookies are not retransmitted) plus the half-open ones' retransmissions.
  t.true(flooded.answers >= FLOOD_SYNS && flooded.answers <= FLOOD_SYNS * 1.01, `${flooded.answers} SYN/ACKs`);
  // No x25519 work for a SYN, half-open or cookie: the agreement waits for the handshake's ACK.
  t.deepEqual(flooded.x25519, { publicKeys: 0, agreements: 0 }, 'scalar multiplications during the flood');
  // After the flood the half-open connections time out (connectTimeoutMs): none is left.
  t.is(flooded.server.connectionCount, 0);
});
