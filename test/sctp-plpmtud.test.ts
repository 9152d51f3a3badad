// Path MTU discovery for SCTP over UDP (RFC 8899 DPLPMTUD, probes of HEARTBEAT + PAD per §6.2.1)
// on the simulated network: links with an MTU that drop larger datagrams silently (a black hole,
// no ICMP), virtual time, fixed seeds. The state machine alone first, then whole associations.
import test from 'ava';
import { CLIENT, connect, feeder, makePair, pattern, SERVER, sha256 } from './sctp-harness.js';
import { Plpmtud, PLPMTUD_DEFAULTS, type PlpmtudState } from '../src/sctp/plpmtud.js';
import { emitPacket, parsePacket, ChunkType, type Chunk } from '../src/sctp/wire/index.js';
import type { SctpOptions } from '../src/sctp/options.js';
import { SimNetwork, type LinkConfig, type TraceEvent } from '../src/sim/network.js';
import { SctpEndpoint } from '../src/sctp/endpoint.js';
import { SendQueue } from '../src/sctp/send-queue.js';
import type { SctpAssociation } from '../src/sctp/association.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import { decodeTransportState, encodeTransportState } from '../src/transport-abstraction/state.js';

const IP_UDP = 28;

function chunksOf(payload: Uint8Array): readonly Chunk[] {
  const r = parsePacket(payload);
  return r.ok ? r.packet.chunks : [];
}

const hasData = (payload: Uint8Array) => chunksOf(payload).some((c) => c.type === ChunkType.DATA);
const isProbe = (payload: Uint8Array) => chunksOf(payload).some((c) => c.type === ChunkType.PAD);

// ---------------------------------------------------------------- PAD chunk codec (RFC 4820)

test('PAD chunk: emitted as type 0x84 with zero padding, parsed back with its length, bundled after a HEARTBEAT', (t) => {
  const bytes = emitPacket({ sourcePort: 9899, destinationPort: 9899, verificationTag: 7, chunks: [{ type: 4, info: new Uint8Array(20) }, { type: ChunkType.PAD, padding: 101 }] });
  // 12 common header + 28 HEARTBEAT + (4 + 101 padded to 108).
  t.is(bytes.length, 12 + 28 + 108);
  t.is(bytes[40], 0x84);
  t.is((bytes[42]! << 8) | bytes[43]!, 105, 'the length field counts the padding, not the trailing alignment');
  t.true(bytes.subarray(44).every((x) => x === 0));
  const chunks = chunksOf(bytes);
  t.deepEqual(chunks[1], { type: 0x84, padding: 101 });
  t.is(chunks[0]!.type, ChunkType.HEARTBEAT);
});

test('PAD chunk: DATA bundled behind a PAD is still delivered (the receiver skips the padding)', (t) => {
  const plain: SctpOptions = { authenticateData: false };
  const p = makePair({ link: { delayMs: 5 }, client: plain, server: plain });
  const client = connect(p);
  p.net.runUntil(() => p.server.assoc?.stateName === 'ESTABLISHED', 2000);
  const server = p.server.assoc!;
  const data = new TextEncoder().encode('after the padding');
  // A hand-made packet under the association's tag: PAD, then a DATA chunk with the client's next TSN.
  const bytes = emitPacket({
    sourcePort: 9899,
    destinationPort: 9899,
    verificationTag: server.localTag,
    chunks: [
      { type: ChunkType.PAD, padding: 64 },
      { type: 0, immediate: false, unordered: false, beginning: true, ending: true, tsn: client.outboundNextTsn, streamId: 0, ssn: 0, ppid: 0, userData: data },
    ],
  });
  p.serverEp.handleDatagram(p.net.now, CLIENT, bytes);
  const got: Uint8Array[] = [];
  for (let e = server.pollEvent(); e; e = server.pollEvent()) if (e.type === 'data') got.push(e.bytes);
  t.deepEqual(got, [data]);
});

// ---------------------------------------------------------------- the simulated link's MTU

test('sim link MTU: a datagram larger than the MTU (payload + 28) is dropped as too-big unless it may be fragmented; reconfiguring changes it', (t) => {
  const net = new SimNetwork({ seed: 1 });
  net.addHost('x', ['10.0.0.1']);
  net.addHost('y', ['10.0.0.2']);
  net.link('x', 'y', { delayMs: 1, mtu: 1300 });
  const got: number[] = [];
  const sink = { handleDatagram: (_n: number, _f: unknown, b: Uint8Array) => void got.push(b.length), handleTimeout() {}, pollTransmit: () => undefined, pollTimeout: () => undefined };
  const out: Array<{ destination: { address: string; port: number }; payload: Uint8Array; mayFragment?: boolean }> = [];
  const src = { handleDatagram() {}, handleTimeout() {}, pollTransmit: () => out.shift(), pollTimeout: () => undefined };
  net.attach(sink, [{ address: '10.0.0.2', port: 1 }]);
  net.attach(src, [{ address: '10.0.0.1', port: 1 }]);
  const to = { address: '10.0.0.2', port: 1 };
  out.push({ destination: to, payload: new Uint8Array(1272) }, { destination: to, payload: new Uint8Array(1273) }, { destination: to, payload: new Uint8Array(4000), mayFragment: true });
  net.wake(src);
  net.run(100);
  t.deepEqual(got, [1272, 4000]);
  t.is(net.stats.dropped['too-big'], 1);
  t.is(net.linkStats('x', 'y')!.tooBig, 1);
  net.link('x', 'y', { delayMs: 1, mtu: 1500 });
  out.push({ destination: to, payload: new Uint8Array(1472) });
  net.wake(src);
  net.run(200);
  t.deepEqual(got, [1272, 4000, 1472]);
  t.throws(() => net.link('x', 'y', { delayMs: 1, mtu: 10 }), { instanceOf: RangeError });
});

// ---------------------------------------------------------------- the state machine (plpmtud.ts)

/** Drive a Plpmtud against a path that carries packets up to `pathMtu`; returns the probes sent. */
function search(m: Plpmtud, pathMtu: () => number, untilMs: number, from = 0): { probes: number[]; states: PlpmtudState[]; now: number } {
  const probes: number[] = [];
  const states: PlpmtudState[] = [];
  m.tracer = (_f, to) => states.push(to);
  let now = from;
  m.start(now);
  while (now <= untilMs) {
    const size = m.pollProbe(now, 100);
    if (size !== undefined) {
      probes.push(size);
      if (size <= pathMtu()) m.onProbeAcked(now + 50, size);
      continue;
    }
    const next = m.pollTimeout();
    if (next === undefined || next > untilMs) break;
    now = Math.max(now, next);
    m.handleTimeout(now);
  }
  return { probes, states, now };
}

test('PLPMTUD: a 1500 path is found with one probe beyond BASE (MAX_PLPMTU first), then SEARCH_COMPLETE', (t) => {
  const m = new Plpmtud(PLPMTUD_DEFAULTS);
  const r = search(m, () => 1500, 10_000);
  t.deepEqual(r.probes, [1200, 1500]);
  t.deepEqual(r.states, ['BASE', 'SEARCHING', 'SEARCH_COMPLETE']);
  t.is(m.plpmtu, 1500);
});

test('PLPMTUD: a 1300 path is found within one search step, each failed size probed MAX_PROBES times', (t) => {
  const m = new Plpmtud(PLPMTUD_DEFAULTS);
  const r = search(m, () => 1300, 200_000);
  t.is(m.state, 'SEARCH_COMPLETE');
  t.true(m.plpmtu <= 1300 && m.plpmtu > 1300 - PLPMTUD_DEFAULTS.step, `PLPMTU ${m.plpmtu}`);
  const tooBig = r.probes.filter((s) => s > 1300);
  const sizes = new Set(tooBig);
  for (const s of sizes) t.is(tooBig.filter((x) => x === s).length, PLPMTUD_DEFAULTS.maxProbes, `size ${s} probed MAX_PROBES times`);
  t.true(r.probes.every((s) => s % 4 === 0));
});

test('PLPMTUD: for 300 random path MTUs between BASE and MAX the search ends at most one step below the path, never above', (t) => {
  const r = new SeededRandom(0x8899);
  const config = { ...PLPMTUD_DEFAULTS, max: 9000 };
  for (let i = 0; i < 300; i++) {
    const path = 1200 + Math.floor(r.float() * 7801);
    const m = new Plpmtud(config);
    const run = search(m, () => path, 300_000); // less than PMTU_RAISE_TIMER: one search
    if (m.state !== 'SEARCH_COMPLETE' || m.plpmtu > path || m.plpmtu <= Math.min(path, 9000) - 4 - config.step) {
      t.fail(`path ${path}: ${m.state} at ${m.plpmtu} after probes ${run.probes.join(',')}`);
      return;
    }
    // A binary search: about log2(7800 / 16) sizes, each failed one MAX_PROBES times.
    if (new Set(run.probes).size > 12) {
      t.fail(`path ${path}: ${new Set(run.probes).size} sizes probed`);
      return;
    }
  }
  t.pass();
});

test('PLPMTUD: PMTU_RAISE_TIMER searches again after 600 s and finds a path that grew', (t) => {
  const m = new Plpmtud(PLPMTUD_DEFAULTS);
  let mtu = 1300;
  search(m, () => mtu, 100_000);
  const found = m.plpmtu;
  mtu = 1500;
  let now = 100_000;
  // Nothing happens before the raise timer.
  t.true(m.pollTimeout()! >= 600_000);
  now = m.pollTimeout()!;
  m.handleTimeout(now);
  t.is(m.state, 'SEARCHING');
  const size = m.pollProbe(now);
  t.is(size, 1500, 'the new search probes MAX_PLPMTU first');
  m.onProbeAcked(now + 10, 1500);
  t.is(m.plpmtu, 1500);
  t.true(found < 1500);
  t.is(m.state, 'SEARCH_COMPLETE');
});

test('PLPMTUD: a black hole sends the path back to BASE; once BASE is confirmed it searches below the size that failed', (t) => {
  const m = new Plpmtud(PLPMTUD_DEFAULTS);
  search(m, () => 1500, 10_000);
  t.is(m.plpmtu, 1500);
  t.true(m.onBlackHole(20_000));
  t.is(m.state, 'BASE');
  t.is(m.plpmtu, 1200);
  t.is(m.pollProbe(20_000), 1200);
  m.onProbeAcked(20_010, 1200);
  t.is(m.state, 'SEARCHING');
  const next = m.pollProbe(20_010);
  t.true(next !== undefined && next > 1200 && next < 1500, `next probe ${next} between BASE and the size that failed`);
  t.false(new Plpmtud(PLPMTUD_DEFAULTS).onBlackHole(0), 'a machine that never left DISABLED has no black hole');
});

test('PLPMTUD: a peer that never answers probes leaves the PLPMTU at BASE (ERROR), retried after the raise timer', (t) => {
  const m = new Plpmtud(PLPMTUD_DEFAULTS);
  const r = search(m, () => 0, 100_000);
  t.deepEqual(r.probes, [1200, 1200, 1200]);
  t.is(m.state, 'ERROR');
  t.is(m.plpmtu, 1200);
  t.true(m.pollTimeout()! >= 600_000);
});

// ---------------------------------------------------------------- chunk size changes in the send queue

test('send queue: a new chunk size closes the open TSN run; under the export barrier nothing goes until an export after it is confirmed', (t) => {
  const q = new SendQueue('stream', 1000, 1, 1);
  q.barrier = true;
  q.push(new Uint8Array(10_000), 0, false);
  q.take(0, 0);
  q.take(0, 0);
  q.runsChanged = false;
  t.deepEqual(q.exportRuns().map((r) => [r.bytesPerTsn, r.tsnCount]), [[1000, 0]], 'one open run of 1000-byte chunks');
  const generation = q.generation;
  q.setChunkSize(1200);
  t.true(q.runsChanged, 'the owner must export again (state-changed)');
  t.deepEqual(q.exportRuns().map((r) => [r.bytesPerTsn, r.tsnCount]), [[1000, 2]], 'the run is closed at two chunks');
  t.is(q.generation, generation + 1);
  t.is(q.nextChunkLength(), 0, 'held: a taker with an older state would extrapolate 1000-byte chunks');
  q.confirmedGeneration = q.generation;
  t.is(q.nextChunkLength(), 1200);
  q.take(0, 0);
  t.deepEqual(q.exportRuns().map((r) => [r.firstTsn, r.streamOffset, r.bytesPerTsn]), [[1, 0, 1000], [3, 2000, 1200]]);
  // Without the barrier the next chunk goes at once; the same size again changes nothing.
  q.barrier = false;
  q.setChunkSize(1200);
  t.is(q.nextChunkLength(), 1200);
  q.setChunkSize(800);
  t.is(q.nextChunkLength(), 800);
});

// ---------------------------------------------------------------- associations on the simulated network

const PMTU: SctpOptions = { plpmtud: true };

interface Watch {
  /** Largest IP size of a packet with DATA sent by the server, and of one with DATA dropped for size. */
  largestData: number;
  dataTooBig: number;
  dataTooBigAfter: (t: number) => number;
  probes: Array<{ time: number; size: number; dropped: boolean }>;
  oversizedSent: number;
}

function watch(p: ReturnType<typeof makePair>): Watch {
  const tooBigTimes: number[] = [];
  const w: Watch = {
    largestData: 0,
    dataTooBig: 0,
    dataTooBigAfter: (t0) => tooBigTimes.filter((x) => x > t0).length,
    probes: [],
    oversizedSent: 0,
  };
  p.net.onTrace((e: TraceEvent) => {
    if (e.from.address !== SERVER.address) return;
    const size = e.payload.length + IP_UDP;
    if (e.kind === 'send' && hasData(e.payload)) w.largestData = Math.max(w.largestData, size);
    if (e.kind === 'drop' && e.reason === 'too-big' && hasData(e.payload)) {
      w.dataTooBig++;
      tooBigTimes.push(e.time);
    }
    if (e.kind === 'send' && isProbe(e.payload)) w.probes.push({ time: e.time, size, dropped: false });
    if (e.kind === 'drop' && e.reason === 'too-big' && isProbe(e.payload)) w.probes[w.probes.length - 1]!.dropped = true;
  });
  return w;
}

function download(link: LinkConfig, bytes: number, server: SctpOptions = PMTU, client: SctpOptions = PMTU, seed = 1) {
  const p = makePair({ seed, link, client, server });
  const w = watch(p);
  connect(p);
  p.net.runUntil(() => p.server.assoc?.stateName === 'ESTABLISHED', 2000);
  const s = p.server.assoc!;
  const data = pattern(bytes);
  const f = feeder(s, data);
  p.server.onData = () => f.pump();
  f.pump();
  p.net.wake(p.serverEp);
  return { p, w, s, data };
}

test('a 1300-byte path: the server finds it within one probe step and the download never sends a DATA packet above it', (t) => {
  // 6 MB at 2 Mbit/s: 24 s, longer than the search (each size that does not fit costs MAX_PROBES x PROBE_TIMER).
  const { p, w, s, data } = download({ delayMs: 10, rateBps: 2_000_000, queueBytes: 50_000, mtu: 1300 }, 6_000_000);
  p.net.runUntil(() => p.client.receivedBytes >= data.length && s.paths[0]!.pmtud!.state === 'SEARCH_COMPLETE', p.net.now + 120_000);
  t.is(sha256(p.client.received), sha256(data));
  const m = s.paths[0]!.pmtud!;
  t.is(m.state, 'SEARCH_COMPLETE');
  t.true(s.paths[0]!.mtu <= 1300 && s.paths[0]!.mtu > 1300 - PLPMTUD_DEFAULTS.step, `PLPMTU ${s.paths[0]!.mtu}`);
  t.true(w.largestData <= 1300, `largest DATA packet ${w.largestData}`);
  t.is(w.dataTooBig, 0, 'no DATA packet was lost to the MTU');
  t.true(w.probes.some((x) => x.dropped), 'probes above the path MTU were lost');
  t.true(w.largestData > 1200, `DATA grew beyond BASE_PLPMTU (${w.largestData})`);
});

test('a 1200-byte path (exactly BASE_PLPMTU): the PLPMTU stays at BASE and the download completes', (t) => {
  const { p, w, s, data } = download({ delayMs: 10, rateBps: 20_000_000, mtu: 1200 }, 1_000_000);
  p.net.runUntil(() => p.client.receivedBytes >= data.length && s.paths[0]!.pmtud!.state === 'SEARCH_COMPLETE', p.net.now + 120_000);
  t.is(sha256(p.client.received), sha256(data));
  t.is(s.paths[0]!.mtu, 1200);
  t.is(w.dataTooBig, 0);
  t.true(w.largestData <= 1200);
});

test('a 9000-byte path: the search goes up to the configured max (9000) and DATA packets use it', (t) => {
  const jumbo: SctpOptions = { plpmtud: { max: 9000 }, receiveWindow: 4 * 1024 * 1024 };
  const { p, w, s, data } = download({ delayMs: 10, rateBps: 100_000_000, mtu: 9000 }, 4_000_000, jumbo, jumbo);
  p.net.runUntil(() => p.client.receivedBytes >= data.length, p.net.now + 120_000);
  t.is(sha256(p.client.received), sha256(data));
  t.is(s.paths[0]!.mtu, 9000);
  t.is(w.largestData, 9000, 'full-sized DATA packets of exactly 9000 bytes');
  // With the default max (1500) the same path is searched only up to 1500.
  const d = download({ delayMs: 10, rateBps: 100_000_000, mtu: 9000 }, 500_000);
  d.p.net.runUntil(() => d.p.client.receivedBytes >= d.data.length, d.p.net.now + 60_000);
  t.is(d.s.paths[0]!.mtu, 1500);
  t.true(d.w.probes.every((x) => x.size <= 1500));
});

test('an MTU drop mid-stream (black hole, no ICMP): detected, back to BASE, searched again, and the download completes', (t) => {
  const link: LinkConfig = { delayMs: 10, rateBps: 20_000_000 };
  const { p, w, s, data } = download(link, 8_000_000);
  p.net.runUntil(() => s.paths[0]!.pmtud!.state === 'SEARCH_COMPLETE' && p.client.receivedBytes > 1_000_000, p.net.now + 60_000);
  t.is(s.paths[0]!.mtu, 1500);
  const drop = p.net.now;
  p.net.link('client', 'server', { ...link, mtu: 1400 });
  const states: string[] = [];
  let detectedAt = NaN;
  s.paths[0]!.pmtud!.tracer = (_f, to, why) => {
    states.push(`${to}: ${why}`);
    if (to === 'BASE') detectedAt = p.net.now;
  };
  p.net.runUntil(() => p.client.receivedBytes >= data.length && s.paths[0]!.pmtud!.state === 'SEARCH_COMPLETE', p.net.now + 120_000);
  t.is(sha256(p.client.received), sha256(data), 'the whole object arrived intact');
  t.is(s.stateName, 'ESTABLISHED');
  t.true(states.some((x) => x.startsWith('BASE: black hole at 1500')), states.join('; '));
  t.true(s.paths[0]!.mtu <= 1400 && s.paths[0]!.mtu > 1400 - PLPMTUD_DEFAULTS.step, `PLPMTU after the drop ${s.paths[0]!.mtu}`);
  t.true(w.dataTooBig > 0, 'full-sized DATA was lost to the black hole before it was detected');
  // Detected within two retransmission timeouts (RTO.Min 1 s, doubled once): well before the
  // association would give up (Association.Max.Retrans).
  t.true(detectedAt - drop < 4000, `detected ${detectedAt - drop} ms after the drop`);
  // From then on no DATA is lost to the MTU: new chunks fit, chunks cut before go mayFragment.
  t.is(w.dataTooBigAfter(detectedAt), 0);
  t.log(`states after the drop at ${drop} ms: ${states.join('; ')}`);
});

test('probes are not data loss: a lost probe leaves cwnd, ssthresh and the error counters alone', (t) => {
  const { p, w, s } = download({ delayMs: 10, mtu: 1300 }, 0);
  // Idle association: only probes and HEARTBEATs travel. Let the first probe above 1300 go out.
  p.net.runUntil(() => w.probes.some((x) => x.dropped), p.net.now + 30_000);
  const path = s.paths[0]!;
  const before = { cwnd: path.cwnd, ssthresh: path.ssthresh, errors: path.errorCount, assocErrors: s.errorCount, rto: path.rto.rto };
  // Every MAX_PROBES timeout of the sizes that do not fit passes.
  p.net.runUntil(() => path.pmtud!.state === 'SEARCH_COMPLETE', p.net.now + 120_000);
  t.true(w.probes.filter((x) => x.dropped).length >= PLPMTUD_DEFAULTS.maxProbes, `${w.probes.filter((x) => x.dropped).length} probes lost`);
  t.deepEqual({ cwnd: path.cwnd, ssthresh: path.ssthresh, errors: path.errorCount, assocErrors: s.errorCount, rto: path.rto.rto }, before);
  t.true(path.active);
});

test('an old peer that does not answer PAD-bearing HEARTBEATs leaves the PLPMTU at BASE, and data flows at BASE', (t) => {
  const p = makePair({ link: { delayMs: 10, rateBps: 20_000_000 }, server: PMTU });
  // The old peer: its endpoint never sees a packet with a PAD chunk (it would drop the packet).
  const ep = p.clientEp;
  const original = ep.handleDatagram.bind(ep);
  ep.handleDatagram = (now, from, bytes, local) => {
    if (isProbe(bytes)) return;
    original(now, from, bytes, local);
  };
  const w = watch(p);
  connect(p);
  p.net.runUntil(() => p.server.assoc?.stateName === 'ESTABLISHED', 2000);
  const s = p.server.assoc!;
  const data = pattern(500_000);
  const f = feeder(s, data);
  p.server.onData = () => f.pump();
  f.pump();
  p.net.wake(p.serverEp);
  p.net.runUntil(() => p.client.receivedBytes >= data.length && s.paths[0]!.pmtud!.state !== 'BASE', p.net.now + 60_000);
  t.is(sha256(p.client.received), sha256(data));
  t.is(s.paths[0]!.pmtud!.state, 'ERROR');
  t.is(s.paths[0]!.mtu, 1200);
  t.true(w.largestData <= 1200, `largest DATA packet ${w.largestData}`);
  t.is(w.probes.length, PLPMTUD_DEFAULTS.maxProbes, 'BASE was probed MAX_PROBES times, nothing larger');
  t.is(s.stateName, 'ESTABLISHED', 'unanswered probes are no path failure');
});


test('a takeover: the new server runs its own search on its own (smaller) path, and the download completes intact', (t) => {
  const net = new SimNetwork({ seed: 3 });
  const ip = { client: '10.0.0.1', a: '10.0.0.2', b: '10.0.0.3' };
  const at = (x: string) => ({ address: x, port: 9899 });
  net.addHost('client', [ip.client]);
  net.addHost('a', [ip.a]);
  net.addHost('b', [ip.b]);
  net.link('client', 'a', { delayMs: 10, rateBps: 2_000_000, queueBytes: 50_000 });
  net.link('client', 'b', { delayMs: 15, rateBps: 2_000_000, queueBytes: 50_000, mtu: 1300 });
  const file = pattern(8_000_000, 11);
  const servers = (['a', 'b'] as const).map((name, k) => {
    const ep = new SctpEndpoint({ addresses: [at(ip[name])], random: new SeededRandom(200 + k), association: PMTU });
    const s = { ep, assoc: undefined as SctpAssociation | undefined, offset: 0, sending: name === 'a' };
    net.attach(ep, [at(ip[name])], () => {
      s.assoc ??= ep.pollAccept();
      const a = s.assoc;
      if (!a) return;
      for (let e = a.pollEvent(); e; e = a.pollEvent()) {
        if (e.type === 'takeover-complete') {
          s.offset = e.receiver.nextOffset;
          s.sending = true;
        }
      }
      while (s.sending && s.offset < file.length) {
        const n = a.send(file.subarray(s.offset, Math.min(file.length, s.offset + 65536)));
        if (n === 0) break;
        s.offset += n;
      }
    });
    return s;
  });
  const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
  const cep = new SctpEndpoint({ addresses: [at(ip.client)], random: new SeededRandom(100), listen: false, association: PMTU });
  const client = cep.connect(0, at(ip.a));
  const got: Uint8Array[] = [];
  let bytes = 0;
  net.attach(cep, [at(ip.client)], () => {
    for (let e = client.pollEvent(); e; e = client.pollEvent()) {
      if (e.type === 'data') {
        got.push(e.bytes.slice());
        bytes += e.bytes.length;
      }
    }
  });
  let dataTooBigFromB = 0;
  let largestFromB = 0;
  net.onTrace((e) => {
    if (e.from.address !== ip.b || !hasData(e.payload)) return;
    if (e.kind === 'send') largestFromB = Math.max(largestFromB, e.payload.length + IP_UDP);
    if (e.kind === 'drop' && e.reason === 'too-big') dataTooBigFromB++;
  });
  net.wake(cep);
  // A serves until its search is over and 2 MB arrived; its state goes to B, A dies, B takes over.
  net.runUntil(() => a.assoc?.paths[0]!.pmtud!.state === 'SEARCH_COMPLETE' && bytes > 2_000_000, 60_000);
  t.is(a.assoc!.paths[0]!.mtu, 1500);
  const state = decodeTransportState(encodeTransportState(a.assoc!.exportState(net.now)));
  net.kill('a');
  b.assoc = b.ep.importState(net.now, state);
  t.is(b.assoc.paths[0]!.pmtud!.state, 'DISABLED', 'no probe before the takeover is accepted');
  b.assoc.takeover(net.now, 1, 'gap-fill');
  net.wake(b.ep);
  net.runUntil(() => bytes >= file.length && b.assoc!.paths[0]!.pmtud!.state === 'SEARCH_COMPLETE', net.now + 180_000);
  t.is(sha256(got), sha256(file), 'the client got the whole object, intact');
  const path = b.assoc.paths[0]!;
  t.true(path.mtu <= 1300 && path.mtu > 1300 - PLPMTUD_DEFAULTS.step, `B's PLPMTU ${path.mtu}`);
  t.true(largestFromB > 1200 && largestFromB <= 1300, `B's largest DATA packet ${largestFromB}`);
  // Only chunks A cut for its 1500-byte path and B had to resend could be larger than B's path;
  // those go marked mayFragment, so none is lost to the MTU.
  t.is(dataTooBigFromB, 0);
  // The client's new path to B searched too (its probes answered by B).
  const toB = client.paths.find((p) => p.address.address === ip.b)!;
  t.not(toB.pmtud!.state, 'DISABLED');
});
