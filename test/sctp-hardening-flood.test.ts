// An INIT flood against a listening SCTP endpoint (issue 14 item 9), on the simulated network in
// virtual time: 100,000 spoofed INITs (a baton client's own, x25519 key included) in 20 s while one
// download runs. Each INIT is answered statelessly (a signed cookie in the INIT-ACK, the endpoint's
// x25519 key made once): no association, no scalar multiplication before a cookie comes back, and
// the download keeps its goodput. The spoofed sources sit behind the client's link, so the
// INIT-ACKs share its bottleneck (the worst case for the download).
import test from 'ava';
import { SimNetwork } from '../src/sim/network.js';
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import { SctpEndpoint } from '../src/sctp/endpoint.js';
import type { SctpAssociation } from '../src/sctp/association.js';
import { parsePacket } from '../src/sctp/wire/index.js';
import { InitRateLimiter } from '../src/sctp/init-rate.js';
import { x25519Counters } from '../src/transport-abstraction/x25519.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import { memorySource, StreamCollector, StreamSender } from '../src/stream/index.js';

const PORT = 9899;
const CLIENT: UdpAddress = { address: '10.0.0.1', port: PORT };
const SERVER: UdpAddress = { address: '10.0.0.2', port: PORT };
const SPOOFED = '10.0.0.66';
const FLOOD_INITS = 100_000;
const FLOOD_MS = 20_000;
const BATCH_MS = 10;
const FROM = 2000;

interface Run {
  goodput: number;
  maxAssociations: number;
  initAcks: number;
  initAckBytes: number;
  client: SctpAssociation;
  server: SctpEndpoint;
  x25519: { publicKeys: number; agreements: number };
}

/** A baton client's INIT (RANDOM, HMAC-ALGO, CHUNKS, x25519 key), as its endpoint emits it. */
function batonInit(): Uint8Array {
  const e = new SctpEndpoint({ addresses: [{ address: SPOOFED, port: PORT }], listen: false, random: new SeededRandom(3) });
  e.connect(0, SERVER, { remotePort: PORT });
  const t = e.pollTransmit(0)!;
  return t.payload.slice();
}

function run(flood: boolean, measureMs: number): Run {
  const net = new SimNetwork({ seed: 31 });
  net.addHost('client', [CLIENT.address, SPOOFED]);
  net.addHost('server', [SERVER.address]);
  net.link('client', 'server', { delayMs: 10, rateBps: 20_000_000, queueBytes: 200_000 });
  const server = new SctpEndpoint({ addresses: [SERVER], listen: true, random: net.random });
  const file = new Uint8Array(60_000_000);
  let feeder: StreamSender | undefined;
  net.attach(server, [SERVER], (now) => {
    if (feeder === undefined) {
      const c = server.pollAccept();
      if (c !== undefined) feeder = new StreamSender({ conn: c, source: memorySource(file), now: () => net.now, resume: false });
    }
    feeder?.pump(now);
  });
  const clientEndpoint = new SctpEndpoint({ addresses: [CLIENT], listen: false, random: net.random });
  const conn = clientEndpoint.connect(0, SERVER, { remotePort: PORT });
  const collector = new StreamCollector({ conn, keep: false });
  net.attach(clientEndpoint, [CLIENT], (now) => collector.pump(now));
  net.wake(clientEndpoint);
  let initAcks = 0;
  let initAckBytes = 0;
  net.onTrace((e) => {
    if (e.kind !== 'send' || e.to.address !== SPOOFED) return;
    const p = parsePacket(e.payload);
    if (p.ok && p.packet.chunks[0]?.type === 2) {
      initAcks++;
      initAckBytes = e.payload.length;
    }
  });
  let maxAssociations = 0;
  const x25519 = { publicKeys: 0, agreements: 0 };
  if (flood) {
    const init = batonInit();
    const perBatch = (FLOOD_INITS * BATCH_MS) / FLOOD_MS;
    let i = 0;
    net.schedule(FROM, () => {
      x25519.publicKeys -= x25519Counters.publicKeys;
      x25519.agreements -= x25519Counters.agreements;
    });
    for (let at = FROM; at < FROM + FLOOD_MS; at += BATCH_MS) {
      net.schedule(at, () => {
        for (let j = 0; j < perBatch; j++, i++) server.handleDatagram(net.now, { address: SPOOFED, port: 1024 + (i % 60_000) }, init, SERVER);
        net.wake(server);
        maxAssociations = Math.max(maxAssociations, server.all.length);
      });
    }
    net.schedule(FROM + FLOOD_MS, () => {
      x25519.publicKeys += x25519Counters.publicKeys;
      x25519.agreements += x25519Counters.agreements;
    });
  }
  net.run(FROM);
  const before = collector.received;
  net.run(FROM + measureMs);
  const goodput = ((collector.received - before) * 1000) / measureMs;
  return { goodput, maxAssociations, initAcks, initAckBytes, client: conn, server, x25519 };
}

test('a 100k-INIT flood: no association and no x25519 work before a cookie is echoed, the download keeps ≥ 80% of its goodput', (t) => {
  const quiet = run(false, 5000);
  const flooded = run(true, FLOOD_MS);
  t.log(`goodput ${(quiet.goodput / 1e6).toFixed(2)} MB/s quiet, ${(flooded.goodput / 1e6).toFixed(2)} MB/s flooded; at most ${flooded.maxAssociations} associations; ${flooded.initAcks} INIT-ACKs of ${flooded.initAckBytes} bytes`);
  t.true(quiet.goodput > 2_000_000, `the quiet download moved only ${quiet.goodput} bytes/s`);
  t.true(flooded.goodput >= 0.8 * quiet.goodput, `flooded goodput ${flooded.goodput} < 80% of ${quiet.goodput}`);
  t.is(flooded.maxAssociations, 1, 'only the download has an association');
  t.is(flooded.client.state, 'ESTABLISHED');
  t.deepEqual(flooded.x25519, { publicKeys: 0, agreements: 0 }, 'scalar multiplications during the flood');
  // Item 10: one source address gets at most 400 at once and 200 a second (init-rate.ts).
  t.true(flooded.initAcks >= 400 && flooded.initAcks <= 400 + (200 * FLOOD_MS) / 1000, `${flooded.initAcks} INIT-ACKs to the spoofed address`);
  t.is(flooded.server.dropped.get('rate-limited'), FLOOD_INITS - flooded.initAcks);
  const factor = flooded.initAckBytes / batonInit().length;
  t.log(`amplification: ${batonInit().length}-byte INIT → ${flooded.initAckBytes}-byte INIT-ACK (${factor.toFixed(1)}×), at most 200 a second per source address`);
  t.true(factor < 5, `amplification ${factor}`);
});

test('INIT-ACK rate per source address: a burst, then the rate; other addresses are not affected; off with 0', (t) => {
  const limiter = new InitRateLimiter({ perSecond: 10, burst: 5 });
  let allowed = 0;
  for (let i = 0; i < 20; i++) if (limiter.allow(0, '10.0.0.66')) allowed++;
  t.is(allowed, 5, 'the burst');
  t.true(limiter.allow(0, '10.0.0.1'), 'another address has its own bucket');
  t.false(limiter.allow(50, '10.0.0.66'), 'half a token after 50 ms');
  t.true(limiter.allow(150, '10.0.0.66'), 'one token after 100 ms more');
  let later = 0;
  for (let i = 0; i < 20; i++) if (limiter.allow(10_000, '10.0.0.66')) later++;
  t.is(later, 5, 'refilled to the burst, not beyond');
  const off = new InitRateLimiter({ perSecond: 0, burst: 0 });
  for (let i = 0; i < 1000; i++) if (!off.allow(0, '10.0.0.66')) return t.fail('the limit is off');
});
