// RFC 9260 path management and sending rules tried from the RFC text on the simulated network:
// HEARTBEATs only on idle paths (§8.3), Max.Burst (§6.1, RFC 4960 §6.1 rule D / RFC 9260 §7.2.4).
import test from 'ava';
import { CLIENT, connect, feeder, makePair, pattern, SERVER, sha256 } from './sctp-harness.js';
import { parsePacket } from '../src/sctp/wire/index.js';
import type { SctpOptions } from '../src/sctp/options.js';
import type { TraceEvent } from '../src/sim/network.js';
import { SctpEndpoint } from '../src/sctp/endpoint.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import type { Transmit } from '../src/transport-abstraction/transport.js';
import { BATCH_ACK_STRETCH } from '../src/sctp/receiver.js';

function drain(ep: SctpEndpoint, now: number): Transmit[] {
  const out: Transmit[] = [];
  for (let t = ep.pollTransmit(now); t; t = ep.pollTransmit(now)) out.push(t);
  return out;
}

const dataChunks = (ts: Transmit[]) => ts.flatMap((t) => chunkTypes({ payload: t.payload } as TraceEvent)).filter((x) => x === 0).length;
const withData = (ts: Transmit[]) => ts.filter((t) => chunkTypes({ payload: t.payload } as TraceEvent).includes(0));

/** Two endpoints driven by hand: A (client) connected to B, both settled. */
function handPair(options: SctpOptions) {
  const a = new SctpEndpoint({ addresses: [CLIENT], random: new SeededRandom(1), listen: false, association: options });
  const b = new SctpEndpoint({ addresses: [SERVER], random: new SeededRandom(2), association: options });
  const c = a.connect(0, SERVER);
  for (let i = 0; i < 10; i++) {
    for (const t of drain(a, 0)) b.handleDatagram(0, CLIENT, t.payload);
    for (const t of drain(b, 0)) a.handleDatagram(0, SERVER, t.payload);
  }
  const s = b.pollAccept()!;
  return { a, b, c, s };
}

/** Chunk types of a datagram (empty when it does not parse). */
function chunkTypes(e: TraceEvent): number[] {
  const r = parsePacket(e.payload);
  return r.ok ? r.packet.chunks.map((c) => c.type) : [];
}

test('§8.3: a path carrying DATA with acknowledgements gets no HEARTBEAT; the receive-only side and the idle sender still probe', (t) => {
  const options: SctpOptions = { heartbeatInterval: 1000 };
  const p = makePair({ link: { delayMs: 20, rateBps: 1_000_000, queueBytes: 30_000 }, client: options, server: options });
  const client = connect(p);
  p.net.runUntil(() => p.server.assoc?.stateName === 'ESTABLISHED', p.net.now + 2000);
  const server = p.server.assoc!;
  const data = pattern(2_000_000); // 16 s at 1 Mbit/s
  const f = feeder(server, data);
  p.server.onData = () => f.pump();
  f.pump();
  p.net.wake(p.serverEp);
  const heartbeats = { server: [] as number[], client: [] as number[] };
  let lastData = 0;
  p.net.onTrace((e) => {
    if (e.kind !== 'send') return;
    const types = chunkTypes(e);
    const side = e.from.address === SERVER.address ? 'server' : e.from.address === CLIENT.address ? 'client' : undefined;
    if (side === undefined) return;
    if (types.includes(4)) heartbeats[side].push(e.time);
    if (side === 'server' && types.includes(0)) lastData = e.time;
  });
  const start = p.net.now;
  p.net.runUntil(() => p.client.receivedBytes >= data.length, start + 60_000);
  t.is(sha256(p.client.received), sha256(data));
  const busyUntil = lastData;
  t.true(busyUntil - start > 10_000, `the transfer lasted ${busyUntil - start} ms`);
  const busyBeats = heartbeats.server.filter((x) => x < busyUntil);
  t.deepEqual(busyBeats, [], 'the sender sent no HEARTBEAT while its path carried DATA (one per HB.interval before)');
  // The receive-only client's path carries no DATA: it stays supervised (sctp-hardening.test.ts).
  t.true(heartbeats.client.filter((x) => x < busyUntil).length >= 5, `client HEARTBEATs while receiving: ${heartbeats.client.length}`);
  // Idle again: the sender probes within HB.interval + RTO (+ half an RTO of jitter) of its last DATA.
  p.net.run(p.net.now + 5000);
  const next = heartbeats.server.find((x) => x >= busyUntil);
  t.not(next, undefined, 'the idle sender probes again');
  const rto = server.paths[0]!.rto.rto;
  t.true(next! - busyUntil <= 1000 + 1.5 * rto + 50, `first HEARTBEAT ${next! - busyUntil} ms after the last DATA (rto ${rto})`);
  t.is(client.stateName, 'ESTABLISHED');
});

// A standard peer (no x25519 key agreed: here AUTH is off) gets the RFC's rule; between baton ends
// a SACK counts as the SACKs of two packets each it stands for, at most BATCH_ACK_STRETCH / 2
// (sender.ts ackWeight), since a baton receiver acknowledges a whole receive batch with one SACK.
for (const [what, maxBurst, limit] of [
  ['Max.Burst = 4 (the default)', undefined, 4],
  ['Max.Burst = 2', 2, 2],
] as const) {
  test(`§6.1 D, ${what}: a SACK that acknowledges a whole window lets out at most Max.Burst packets of new DATA, however large cwnd`, (t) => {
    const { a, b, c } = handPair(maxBurst === undefined ? { advertiseAuth: false } : { maxBurst, advertiseAuth: false });
    t.is(c.stateName, 'ESTABLISHED');
    const size = c.options.chunkSize;
    // A window opened wide by a long slow start.
    c.paths[0]!.cwnd = 40 * c.paths[0]!.mtu;
    c.send(new Uint8Array(30 * size));
    const first = drain(a, 10);
    t.is(dataChunks(first), 30, 'the first 30 chunks went out, within cwnd');
    // The receiver gets them all; only its last SACK comes back, acknowledging everything at once.
    let sacks: Transmit[] = [];
    for (const p of first) {
      b.handleDatagram(20, CLIENT, p.payload);
      sacks = [...sacks, ...drain(b, 20)];
    }
    t.true(sacks.length > 0);
    c.send(new Uint8Array(60 * size));
    a.handleDatagram(30, SERVER, sacks[sacks.length - 1]!.payload);
    t.is(c.sender.queue.outstandingCount, 0, 'the SACK acknowledged everything');
    t.true(c.paths[0]!.cwnd >= 40 * c.paths[0]!.mtu, 'cwnd allows 40 packets');
    const burst = withData(drain(a, 30));
    t.is(burst.length, limit, `packets of new DATA sent on the SACK: ${burst.length}`);
    t.is(c.paths[0]!.cwnd >= 40 * c.paths[0]!.mtu, true, 'cwnd is not changed by the limit');
    // The rest follows the ACK clock: every DATA packet is delivered and acknowledged in the end.
    let now = 40;
    let out = burst;
    for (let round = 0; round < 200 && c.sender.queue.outstandingCount + c.sender.queue.pendingBytes > 0; round++, now += 10) {
      for (const p of out) b.handleDatagram(now, CLIENT, p.payload);
      for (const p of drain(b, now)) a.handleDatagram(now, SERVER, p.payload);
      out = drain(a, now);
      if (out.length === 0) {
        a.handleTimeout(now + 300);
        b.handleTimeout(now + 300);
        for (const p of drain(b, now + 300)) a.handleDatagram(now + 300, SERVER, p.payload);
        out = drain(a, now + 300);
        now += 300;
      }
    }
    t.is(c.sender.queue.outstandingCount + c.sender.queue.pendingBytes, 0, 'all 90 chunks delivered and acknowledged');
  });
}

test('§6.1 D between baton ends: a SACK that acknowledges a whole window counts as BATCH_ACK_STRETCH / 2 SACKs, no more', (t) => {
  const { a, b, c } = handPair({});
  const size = c.options.chunkSize;
  const path = c.paths[0]!;
  path.cwnd = 80 * path.mtu;
  c.send(new Uint8Array(30 * size));
  const first = drain(a, 10);
  t.is(dataChunks(first), 30);
  let last: Transmit | undefined;
  for (const p of first) {
    b.handleDatagram(20, CLIENT, p.payload);
    for (const x of drain(b, 20)) last = x;
  }
  c.send(new Uint8Array(60 * size));
  a.handleDatagram(30, SERVER, last!.payload);
  t.is(c.sender.queue.outstandingCount, 0, 'the last SACK acknowledged all 30 packets');
  const burst = withData(drain(a, 30));
  const bytes = dataChunks(burst) * size;
  const allowance = 4 * (BATCH_ACK_STRETCH / 2) * path.mtu;
  t.true(burst.length > 4, `more than one SACK's Max.Burst: ${burst.length} packets`);
  t.true(bytes <= allowance && bytes > allowance - size, `${bytes} bytes of new DATA: ${BATCH_ACK_STRETCH / 2} SACKs' Max.Burst (${allowance})`);
  t.true(path.flightSize < path.cwnd, 'what stopped it was the Max.Burst allowance, not cwnd');
});

test('§6.1 D: SACKs that arrive together (one burst of datagrams, one drain) each let out Max.Burst packets, as if answered in turn', (t) => {
  const { a, b, c } = handPair({});
  const size = c.options.chunkSize;
  c.paths[0]!.cwnd = 40 * c.paths[0]!.mtu;
  c.send(new Uint8Array(30 * size));
  const first = drain(a, 10);
  t.is(dataChunks(first), 30);
  // The receiver SACKs every second packet: 15 SACKs, all fed to the sender before it drains
  // (what the UDP driver does with a burst of datagrams).
  const sacks: Transmit[] = [];
  for (const p of first) {
    b.handleDatagram(20, CLIENT, p.payload);
    sacks.push(...drain(b, 20));
  }
  t.true(sacks.length >= 10, `${sacks.length} SACKs`);
  c.send(new Uint8Array(60 * size));
  for (const s of sacks) a.handleDatagram(30, SERVER, s.payload);
  t.is(c.sender.queue.outstandingCount, 0);
  const burst = withData(drain(a, 30));
  // One SACK's allowance (4 packets) would starve a batched sender; each SACK's adds up, within cwnd.
  const path = c.paths[0]!;
  t.true(burst.length > 4 && burst.length <= 4 * sacks.length, `packets of new DATA after ${sacks.length} SACKs: ${burst.length}`);
  t.true(path.flightSize >= path.cwnd || burst.length === 4 * sacks.length, 'what stopped it was cwnd or the summed allowance');
});
