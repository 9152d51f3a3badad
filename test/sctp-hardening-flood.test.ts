// An INIT flood against a listening SCTP endpoint (issue 14 item 9), on the simulated network in
// virtual time: 100,000 spoofed INITs (a baton client's own, x25519 key included) in 20 s while one
// download runs. Each INIT is answered statelessly (a signed cookie in the INIT-ACK, the endpoint's
// x25519 key made once): no association, no scalar multiplication before a cookie comes back, and
// the download keeps its goodput. The spoofed sources sit behind the client's link, so the
// INIT-ACKs share its bottleneck (the worst case for the download).
import test from 'ava';
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import { SctpEndpoint } from '../src/sctp/endpoint.js';
import type { SctpAssociation } from '../src/sctp/association.js';
import { parsePacket } from '../src/sctp/wire/index.js';
import { InitRateLimiter } from '../src/sctp/init-rate.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import { FLOOD_MS, FLOOD_OPENERS as FLOOD_INITS, runFlood, SERVER_ADDRESS, SPOOFED, type FloodTransport } from './helpers/flood.js';

const PORT = 9899;
const SERVER: UdpAddress = { address: SERVER_ADDRESS, port: PORT };

/** A baton client's INIT (RANDOM, HMAC-ALGO, CHUNKS, x25519 key), as its endpoint emits it. */
function batonInit(): Uint8Array {
  const e = new SctpEndpoint({ addresses: [{ address: SPOOFED, port: PORT }], listen: false, random: new SeededRandom(3) });
  e.connect(0, SERVER, { remotePort: PORT });
  const t = e.pollTransmit(0)!;
  return t.payload.slice();
}

/** Made once, before any flood: its own key pair is not the server's work. */
const INIT = batonInit();

const SCTP: FloodTransport<SctpEndpoint, SctpAssociation> = {
  port: PORT,
  endpoint: (address, listen, random) => new SctpEndpoint({ addresses: [address], listen, random }),
  connect: (client, server) => client.connect(0, server, { remotePort: PORT }),
  opener: () => INIT,
  count: (server) => server.all.length,
  isAnswer: (bytes) => {
    const p = parsePacket(bytes);
    return p.ok && p.packet.chunks[0]?.type === 2;
  },
};

const run = (flood: boolean, measureMs: number) => runFlood(SCTP, flood, measureMs);

test('a 100k-INIT flood: no association and no x25519 work before a cookie is echoed, the download keeps ≥ 80% of its goodput', (t) => {
  const quiet = run(false, 5000);
  const flooded = run(true, FLOOD_MS);
  t.log(`goodput ${(quiet.goodput / 1e6).toFixed(2)} MB/s quiet, ${(flooded.goodput / 1e6).toFixed(2)} MB/s flooded; at most ${flooded.maxCount} associations; ${flooded.answers} INIT-ACKs of ${flooded.answerBytes} bytes`);
  t.true(quiet.goodput > 2_000_000, `the quiet download moved only ${quiet.goodput} bytes/s`);
  t.true(flooded.goodput >= 0.8 * quiet.goodput, `flooded goodput ${flooded.goodput} < 80% of ${quiet.goodput}`);
  t.is(flooded.maxCount, 1, 'only the download has an association');
  t.is(flooded.client.state, 'ESTABLISHED');
  t.deepEqual(flooded.x25519, { publicKeys: 0, agreements: 0 }, 'scalar multiplications during the flood');
  // Item 10: one source address gets at most 400 at once and 200 a second (init-rate.ts).
  t.true(flooded.answers >= 400 && flooded.answers <= 400 + (200 * FLOOD_MS) / 1000, `${flooded.answers} INIT-ACKs to the spoofed address`);
  t.is(flooded.server.dropped.get('rate-limited'), FLOOD_INITS - flooded.answers);
  const factor = flooded.answerBytes / batonInit().length;
  t.log(`amplification: ${batonInit().length}-byte INIT → ${flooded.answerBytes}-byte INIT-ACK (${factor.toFixed(1)}×), at most 200 a second per source address`);
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
