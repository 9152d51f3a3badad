// One acknowledgement per receive batch between baton ends (issue 12): SCTP's SACK and TCP-Migrate's
// ACK for every second packet wait for the end of the batch of datagrams the driver hands over
// before it next drains (transport-abstraction/runtime.ts), at most BATCH_ACK_STRETCH packets per
// acknowledgement; the sender weighs such an acknowledgement as the RFC's it stands for, so slow
// start grows as before; a peer that is not baton keeps the RFC's every-second-packet rule.
// Batches in virtual time: SimNetwork#receiveBatches (what reaches a core at one instant).
import test from 'ava';
import { SimNetwork } from '../src/sim/network.js';
import { SctpEndpoint } from '../src/sctp/endpoint.js';
import type { SctpOptions } from '../src/sctp/options.js';
import { BATCH_ACK_STRETCH } from '../src/sctp/receiver.js';
import { parsePacket } from '../src/sctp/wire/index.js';
import { TcpMigrateEndpoint } from '../src/tcp-migrate/endpoint.js';
import { BATCH_ACK_STRETCH as TCP_STRETCH } from '../src/tcp-migrate/receiver.js';
import { parseSegment } from '../src/tcp-migrate/wire.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import type { Transmit } from '../src/transport-abstraction/transport.js';
import { CLIENT, connect, feeder, makePair, pattern, SERVER, sha256 } from './sctp-harness.js';

function drain(ep: { pollTransmit(now: number): Transmit | undefined }, now: number): Transmit[] {
  const out: Transmit[] = [];
  for (let t = ep.pollTransmit(now); t; t = ep.pollTransmit(now)) out.push(t);
  return out;
}

const sctpTypes = (payload: Uint8Array): number[] => {
  const r = parsePacket(payload);
  return r.ok ? r.packet.chunks.map((c) => c.type) : [];
};
const sackOf = (payload: Uint8Array) => {
  const r = parsePacket(payload);
  return r.ok ? (r.packet.chunks.find((c) => c.type === 3) as { cumulativeTsnAck: number } | undefined) : undefined;
};

/** Two SCTP endpoints driven by hand: A (client) connected to B, settled. */
function sctpHandPair(options: SctpOptions = {}) {
  const a = new SctpEndpoint({ addresses: [CLIENT], random: new SeededRandom(1), listen: false, association: options });
  const b = new SctpEndpoint({ addresses: [SERVER], random: new SeededRandom(2), association: options });
  const c = a.connect(0, SERVER);
  for (let i = 0; i < 10; i++) {
    for (const t of drain(a, 0)) b.handleDatagram(0, CLIENT, t.payload);
    for (const t of drain(b, 0)) a.handleDatagram(0, SERVER, t.payload);
  }
  return { a, b, c, s: b.pollAccept()! };
}

/** `n` full DATA packets from A, fed to B as one batch (no drain between); B's transmits after it. */
function sctpBatch(p: ReturnType<typeof sctpHandPair>, n: number, now: number): { data: Transmit[]; acks: Transmit[] } {
  p.c.paths[0]!.cwnd = Math.max(p.c.paths[0]!.cwnd, (n + 1) * p.c.paths[0]!.mtu);
  p.c.send(new Uint8Array(n * p.c.options.chunkSize));
  const data = drain(p.a, now);
  for (const t of data) p.b.handleDatagram(now, CLIENT, t.payload);
  return { data, acks: drain(p.b, now).filter((t) => sctpTypes(t.payload).includes(3)) };
}

test('SCTP between baton ends: one SACK acknowledges a whole receive batch', (t) => {
  const p = sctpHandPair();
  const { data, acks } = sctpBatch(p, 10, 10);
  t.is(data.length, 10);
  t.is(acks.length, 1, 'one SACK for the batch of 10 (the RFC rule would send 5)');
  t.is(sackOf(acks[0]!.payload)!.cumulativeTsnAck, (p.c.sender.queue.nextTsn - 1) >>> 0, 'it acknowledges the last packet of the batch');
});

test(`SCTP between baton ends: the stretch bound, at most ${BATCH_ACK_STRETCH} packets per SACK within a batch`, (t) => {
  const p = sctpHandPair();
  const n = 2 * BATCH_ACK_STRETCH + 8;
  const first = (p.c.sender.queue.nextTsn >>> 0) - 1;
  const { data, acks } = sctpBatch(p, n, 10);
  t.is(data.length, n);
  const cums = acks.map((x) => sackOf(x.payload)!.cumulativeTsnAck - first);
  t.deepEqual(cums, [BATCH_ACK_STRETCH, 2 * BATCH_ACK_STRETCH, n], 'a SACK at each stretch bound, then one at the end of the batch');
});

test('SCTP between baton ends: a single packet still waits for the delayed-SACK timer or the next packet (RFC rule)', (t) => {
  const p = sctpHandPair();
  const { acks } = sctpBatch(p, 1, 10);
  t.is(acks.length, 0, 'no SACK for one packet');
  const next = sctpBatch(p, 1, 20);
  t.is(next.acks.length, 1, 'the second packet (next batch) is acknowledged at the end of its batch');
});

test('SCTP between baton ends: a gap is reported at once, not at the end of the batch', (t) => {
  const p = sctpHandPair();
  p.c.paths[0]!.cwnd = 20 * p.c.paths[0]!.mtu;
  p.c.send(new Uint8Array(8 * p.c.options.chunkSize));
  const data = drain(p.a, 10);
  // The second packet is lost: every later packet of the batch is answered by its own SACK (§6.7).
  for (const [i, x] of data.entries()) if (i !== 1) p.b.handleDatagram(10, CLIENT, x.payload);
  const acks = drain(p.b, 10).filter((x) => sctpTypes(x.payload).includes(3));
  t.true(acks.length >= 6, `${acks.length} SACKs for 6 packets after the hole`);
});

test('SCTP with a peer that is not baton (no x25519 agreement): a SACK for every second packet, batch or not', (t) => {
  const p = sctpHandPair({ advertiseAuth: false });
  const { acks } = sctpBatch(p, 10, 10);
  t.is(acks.length, 5);
});

test('SCTP slow start between baton ends: a batch SACK of 16 packets grows cwnd by 8 MTU, as the 8 SACKs of the RFC schedule would; a standard peer\'s stretched SACK by one', (t) => {
  const grow = (options: SctpOptions, onlyLast: boolean): { sacks: number; growth: number; mtu: number } => {
    const p = sctpHandPair(options);
    const path = p.c.paths[0]!;
    path.cwnd = 16 * p.c.options.chunkSize; // in slow start (ssthresh is the peer's window), fully used
    p.c.send(new Uint8Array(16 * p.c.options.chunkSize));
    const data = drain(p.a, 10);
    t.is(data.length, 16);
    for (const x of data) p.b.handleDatagram(10, CLIENT, x.payload);
    const acks = drain(p.b, 10).filter((x) => sctpTypes(x.payload).includes(3));
    const before = path.cwnd;
    for (const x of onlyLast ? acks.slice(-1) : acks) p.a.handleDatagram(20, SERVER, x.payload);
    t.is(p.c.sender.queue.outstandingCount, 0);
    return { sacks: acks.length, growth: path.cwnd - before, mtu: path.mtu };
  };
  const baton = grow({}, false);
  t.is(baton.sacks, 1);
  t.is(baton.growth, 8 * baton.mtu, 'one MTU for each two packets acknowledged (L = 1 per SACK of the RFC schedule)');
  // A standard peer's SACK that acknowledges 16 packets (here: the others were lost) grows cwnd by
  // one MTU (RFC 9260 §7.2.1): only a baton peer's SACK stands for a batch.
  const standard = grow({ advertiseAuth: false }, true);
  t.is(standard.sacks, 8);
  t.is(standard.growth, standard.mtu);
});

/** DATA packets delivered to the client and SACKs it sent, per virtual instant, over a whole transfer. */
function sctpTransfer(batches: boolean, client: SctpOptions = {}) {
  const p = makePair({ link: { delayMs: 5 }, client, server: client });
  p.net.receiveBatches = batches;
  const perInstant = new Map<number, { data: number; sacks: number }>();
  const at = (time: number) => perInstant.get(time) ?? (perInstant.set(time, { data: 0, sacks: 0 }).get(time)!);
  p.net.onTrace((e) => {
    if (e.kind === 'deliver' && e.to.address === CLIENT.address && sctpTypes(e.payload).includes(0)) at(e.time).data++;
    if (e.kind === 'send' && e.from.address === CLIENT.address && sctpTypes(e.payload).includes(3)) at(e.time).sacks++;
  });
  connect(p);
  p.net.runUntil(() => p.server.assoc?.stateName === 'ESTABLISHED', 2000);
  const data = pattern(1_500_000);
  const f = feeder(p.server.assoc!, data);
  p.server.onData = () => f.pump();
  f.pump();
  p.net.wake(p.serverEp);
  const start = p.net.now;
  p.net.runUntil(() => p.client.receivedBytes >= data.length, p.net.now + 30_000);
  t_intact.push(sha256(p.client.received) === sha256(data));
  const all = [...perInstant.values()];
  return { all, data: all.reduce((n, x) => n + x.data, 0), sacks: all.reduce((n, x) => n + x.sacks, 0), ms: p.net.now - start };
}
const t_intact: boolean[] = [];

test('SCTP in virtual time with receive batches: one SACK per batch between baton ends, the RFC count without batches', (t) => {
  const batched = sctpTransfer(true);
  const single = sctpTransfer(false);
  t.deepEqual(t_intact.splice(0), [true, true], 'both transfers arrive intact');
  t.true(single.sacks >= single.data / 2 - 2, `without batches: ${single.sacks} SACKs for ${single.data} packets`);
  t.true(batched.sacks <= batched.data / 6, `with batches: ${batched.sacks} SACKs for ${batched.data} packets`);
  // Slow start and Max.Burst weigh a batch SACK as the SACKs it stands for: the transfer is no slower.
  t.true(batched.ms <= single.ms * 1.05, `${batched.ms} ms with batches, ${single.ms} ms without`);
  for (const x of batched.all) {
    if (x.data === 0) continue;
    t.true(x.sacks <= Math.floor(x.data / BATCH_ACK_STRETCH) + 1, `${x.sacks} SACKs for a batch of ${x.data}`);
    if (x.data >= 2) t.true(x.sacks >= 1, `a batch of ${x.data} packets is acknowledged at its end`);
  }
});

test('SCTP in virtual time with receive batches and a peer that is not baton: the RFC count', (t) => {
  const r = sctpTransfer(true, { advertiseAuth: false });
  t.deepEqual(t_intact.splice(0), [true]);
  t.true(r.sacks >= r.data / 2 - 2, `${r.sacks} SACKs for ${r.data} packets`);
});

// ---- TCP-Migrate ----

const TCP_PORT = 9898;
const TC = { address: '10.0.0.1', port: TCP_PORT };
const TS = { address: '10.0.0.2', port: TCP_PORT };

/** A TCP-Migrate pair on the simulator: the server streams `bytes` to the client, which reads everything. */
function tcpTransfer(batches: boolean, bytes: number, standardPeer = false) {
  const net = new SimNetwork({ seed: 3, receiveBatches: batches });
  net.addHost('client', [TC.address]);
  net.addHost('server', [TS.address]);
  net.link('client', 'server', { delayMs: 5 });
  const server = new TcpMigrateEndpoint({ addresses: [TS], listen: true, random: net.random, rtoMin: 200 });
  const client = new TcpMigrateEndpoint({ addresses: [TC], random: net.random, rtoMin: 200 });
  const file = pattern(bytes, 5);
  let sent = 0;
  let received = 0;
  let serverConn: ReturnType<TcpMigrateEndpoint['pollAccept']>;
  net.attach(server, [TS], () => {
    serverConn ??= server.pollAccept();
    if (!serverConn) return;
    while (serverConn.pollEvent() !== undefined);
    while (sent < file.length && serverConn.state === 'ESTABLISHED') {
      const n = serverConn.send(file.subarray(sent, Math.min(file.length, sent + 65536)));
      if (n === 0) break;
      sent += n;
    }
  });
  const conn = client.connect(0, TS);
  net.attach(client, [TC], () => {
    if (standardPeer) conn.key = undefined; // as if the peer had not agreed to Migrate (not baton)
    for (let e = conn.pollEvent(); e; e = conn.pollEvent()) if (e.type === 'data') received += e.bytes.length;
  });
  const perInstant = new Map<number, { data: number; acks: number }>();
  const at = (time: number) => perInstant.get(time) ?? (perInstant.set(time, { data: 0, acks: 0 }).get(time)!);
  let lastAck = -1;
  net.onTrace((e) => {
    const s = parseSegment(e.payload);
    if (!s.ok) return;
    if (e.kind === 'deliver' && e.to.address === TC.address && s.segment.payload.length > 0) at(e.time).data++;
    // An ACK that moves the acknowledgement number (not a window update of the reader's).
    if (e.kind === 'send' && e.from.address === TC.address && s.segment.payload.length === 0 && s.segment.ack !== lastAck) {
      lastAck = s.segment.ack;
      at(e.time).acks++;
    }
  });
  net.wake(client);
  net.runUntil(() => received >= bytes, 30_000);
  const all = [...perInstant.values()];
  return { received, all, data: all.reduce((n, x) => n + x.data, 0), acks: all.reduce((n, x) => n + x.acks, 0), ms: net.now };
}

test('TCP-Migrate in virtual time with receive batches: one ACK per batch between baton ends, within the stretch bound', (t) => {
  const batched = tcpTransfer(true, 1_500_000);
  const single = tcpTransfer(false, 1_500_000);
  t.is(batched.received, 1_500_000);
  t.is(single.received, 1_500_000);
  t.true(single.acks >= single.data / 2 - 2, `without batches: ${single.acks} ACKs for ${single.data} segments`);
  t.true(batched.acks <= batched.data / 6, `with batches: ${batched.acks} ACKs for ${batched.data} segments`);
  t.true(batched.ms <= single.ms * 1.05, `${batched.ms} ms with batches, ${single.ms} ms without`);
  for (const x of batched.all) {
    if (x.data === 0) continue;
    t.true(x.acks <= Math.floor(x.data / TCP_STRETCH) + 1, `${x.acks} ACKs for a batch of ${x.data}`);
    if (x.data >= 2) t.true(x.acks >= 1, `a batch of ${x.data} segments is acknowledged at its end`);
  }
});

test('TCP-Migrate with receive batches and a peer that is not baton (no Migrate key): the RFC count', (t) => {
  const r = tcpTransfer(true, 600_000, true);
  t.is(r.received, 600_000);
  t.true(r.acks >= r.data / 2 - 2, `${r.acks} ACKs for ${r.data} segments`);
});

/** Two TCP-Migrate endpoints driven by hand: the client connected to the listening server. */
function tcpHandPair() {
  const a = new TcpMigrateEndpoint({ addresses: [TC], random: new SeededRandom(1), rtoMin: 200 });
  const b = new TcpMigrateEndpoint({ addresses: [TS], listen: true, random: new SeededRandom(2), rtoMin: 200 });
  const c = a.connect(0, TS);
  for (let i = 0; i < 10; i++) {
    for (const x of drain(a, 0)) b.handleDatagram(0, TC, x.payload);
    for (const x of drain(b, 0)) a.handleDatagram(0, TS, x.payload);
  }
  return { a, b, c, s: b.pollAccept()! };
}

test('TCP-Migrate between baton ends: one ACK per batch, the stretch bound, and slow start grows by what the ACKs of two segments each would', (t) => {
  const run = (standardPeer: boolean, n: number) => {
    const p = tcpHandPair();
    t.is(p.s.state, 'ESTABLISHED');
    if (standardPeer) {
      // As if the Migrate keys had not been agreed: neither end treats the other as baton.
      p.c.key = undefined;
      p.s.key = undefined;
    }
    const mss = p.s.effectiveMss();
    p.s.cwnd = n * mss;
    p.s.send(new Uint8Array(n * mss));
    const data = drain(p.b, 10);
    t.is(data.length, n);
    for (const x of data) p.a.handleDatagram(10, TS, x.payload);
    const acks = drain(p.a, 10);
    const before = p.s.cwnd;
    for (const x of acks) p.b.handleDatagram(20, TC, x.payload);
    t.is(p.s.sndUna, p.s.sndMax, 'everything acknowledged');
    const ackNumbers = acks.map((x) => (parseSegment(x.payload) as { ok: true; segment: { ack: number } }).segment.ack);
    return { acks: ackNumbers.map((x) => (x - ackNumbers[0]! + 0) >>> 0), count: acks.length, growth: p.s.cwnd - before, mss };
  };
  const baton = run(false, 16);
  t.is(baton.count, 1, 'one ACK for a batch of 16 segments');
  t.is(baton.growth, 16 * baton.mss, 'slow start: 2 MSS (L = 2) for each two segments, as 8 ACKs would');
  const standard = run(true, 16);
  t.is(standard.count, 8, 'the RFC: an ACK for every second segment');
  t.is(standard.growth, 16 * standard.mss, 'the same growth from 8 ACKs');
  const long = run(false, 2 * TCP_STRETCH + 6);
  t.is(long.count, 3, `ACKs at ${TCP_STRETCH} and ${2 * TCP_STRETCH} segments, then at the end of the batch`);
  t.deepEqual(long.acks.slice(1), [TCP_STRETCH * long.mss, (TCP_STRETCH + 6) * long.mss]);
});
