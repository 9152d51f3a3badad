// SCTP takeover on the simulated network: the paper's Figure 3 and friends, end to end through
// SctpEndpoint / SctpAssociation with their takeover state (takeover-hooks.ts), protobuf state in between.
import test from 'ava';
import { createHash } from 'node:crypto';
import { SimNetwork, type DirectedLinkConfig, type LinkConfig } from '../src/sim/network.js';
import { parsePacket, type DataChunk, type InitChunk } from '../src/sctp/wire/index.js';
import { keyVector } from '../src/sctp/handshake.js';
import * as crc from '../src/sctp/wire/crc32c.js';
import { SctpEndpoint } from '../src/sctp/endpoint.js';
import type { SctpAssociation } from '../src/sctp/association.js';
import type { TakeoverState } from '../src/sctp/takeover-hooks.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import { decodeTransportState, encodeTransportState } from '../src/transport-abstraction/state.js';
import type { TransportState } from '../src/transport-abstraction/state-types.js';
import type { ResumeMode, TransportEvent } from '../src/transport-abstraction/transport.js';
import type { UdpAddress } from '../src/transport-abstraction/address.js';

const IP = { client: '10.0.0.1', a: '10.0.0.2', b: '10.0.0.3', c: '10.0.0.4', d: '10.0.0.5' } as const;
type ServerName = 'a' | 'b' | 'c' | 'd';
const at = (ip: string): UdpAddress => ({ address: ip, port: 9899 });
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Server {
  name: ServerName;
  ep: SctpEndpoint;
  assoc?: SctpAssociation;
  events: TransportEvent[];
  /** next file offset to hand to the transport */
  offset: number;
  sending: boolean;
  /** bytes handed to send() (counts what the app re-sent) */
  handed: number;
  /** sending paced by the app (first server only) */
  paced?: boolean;
}

interface World {
  net: SimNetwork;
  file: Uint8Array;
  client: { ep: SctpEndpoint; assoc: SctpAssociation; events: TransportEvent[]; chunks: Uint8Array[]; bytes: number; drain: () => void };
  servers: Record<ServerName, Server>;
  /** raw datagrams seen per (from host → to host) */
  sent: Map<string, number>;
  /** every datagram sent, in order */
  traced: Array<{ from: UdpAddress; to: UdpAddress; payload: Uint8Array }>;
}

interface Options {
  seed?: number;
  fileSize?: number;
  rateBps?: number;
  loss?: number;
  servers?: ServerName[];
  /** App-level pacing of the first server (bytes per ms): its queue runs dry, chunks vary in size. */
  paceBytesPerMs?: number;
  /** Per-server link override (client is the first end: `ab` is client → server). */
  links?: Partial<Record<ServerName, LinkConfig | DirectedLinkConfig>>;
}

function pump(s: Server, file: Uint8Array, limit = file.length): void {
  const a = s.assoc;
  if (!a || !s.sending || a.closed) return;
  const end = Math.min(file.length, limit);
  while (s.offset < end) {
    const n = a.send(file.subarray(s.offset, Math.min(end, s.offset + 65536)));
    s.offset += n;
    s.handed += n;
    if (n === 0) break;
  }
}

function makeWorld(o: Options = {}): World {
  const seed = o.seed ?? 1;
  const net = new SimNetwork({ seed });
  const names = o.servers ?? ['a', 'b', 'c'];
  net.addHost('client', [IP.client]);
  const rtt: Record<ServerName, number> = { a: 10, b: 40, c: 200, d: 60 };
  const file = new SeededRandom(seed + 77).bytes(o.fileSize ?? 400_000);
  const servers = {} as Record<ServerName, Server>;
  names.forEach((name, k) => {
    net.addHost(name, [IP[name]]);
    net.link('client', name, o.links?.[name] ?? { delayMs: rtt[name] / 2, rateBps: o.rateBps ?? 2_000_000, queueBytes: 64_000, loss: o.loss ?? 0 });
    const ep = new SctpEndpoint({ addresses: [at(IP[name])], random: new SeededRandom(seed * 100 + k + 1), association: { mtu: 1280 } });
    const s: Server = { name, ep, events: [], offset: 0, sending: false, handed: 0 };
    servers[name] = s;
    net.attach(ep, [at(IP[name])], () => {
      if (!s.assoc) {
        s.assoc = ep.pollAccept();
        if (s.assoc) s.sending = true;
      }
      const a = s.assoc;
      if (!a) return;
      for (let e = a.pollEvent(); e; e = a.pollEvent()) {
        s.events.push(e);
        if (e.type === 'takeover-complete') {
          s.offset = e.receiver.nextOffset;
          s.sending = true;
        }
      }
      pump(s, file, s.paced && o.paceBytesPerMs ? Math.floor(net.now * o.paceBytesPerMs) : file.length);
    });
    if (k === 0 && o.paceBytesPerMs) {
      s.paced = true;
      const tick = (): void => {
        if (!s.paced) return;
        pump(s, file, Math.floor(net.now * o.paceBytesPerMs!));
        net.wake(ep);
        if (s.offset < file.length) net.after(3, tick);
      };
      net.after(3, tick);
    }
  });
  const sent = new Map<string, number>();
  const traced: World['traced'] = [];
  net.onTrace((e) => {
    if (e.kind !== 'send') return;
    traced.push({ from: e.from, to: e.to, payload: e.payload.slice() });
    const key = `${e.from.address}>${e.to.address}`;
    sent.set(key, (sent.get(key) ?? 0) + 1);
  });
  const cep = new SctpEndpoint({ addresses: [at(IP.client)], random: new SeededRandom(seed * 100), listen: false, association: { mtu: 1280 } });
  const assoc = cep.connect(0, at(IP.a));
  const client = {
    ep: cep,
    assoc,
    events: [] as TransportEvent[],
    chunks: [] as Uint8Array[],
    bytes: 0,
    drain(): void {
      for (let e = assoc.pollEvent(); e; e = assoc.pollEvent()) {
        if (e.type === 'data') {
          client.chunks.push(e.bytes.slice());
          client.bytes += e.bytes.length;
        } else client.events.push(e);
      }
    },
  };
  net.attach(cep, [at(IP.client)], () => client.drain());
  net.wake(cep);
  return { net, file, client, servers, sent, traced };
}

/** The state A would announce, through protobuf encode/decode (the soft-state path). */
function announce(s: Server): TransportState {
  return decodeTransportState(encodeTransportState(s.assoc!.exportState(0)));
}

function takeOver(w: World, name: ServerName, state: TransportState, n: number, mode: ResumeMode = 'gap-fill'): SctpAssociation {
  const s = w.servers[name];
  const a = s.ep.importState(w.net.now, state);
  s.assoc = a;
  s.sending = false;
  s.offset = 0;
  a.takeover(w.net.now, n, mode);
  w.net.wake(s.ep);
  return a;
}

function received(w: World): Uint8Array {
  const out = new Uint8Array(w.client.bytes);
  let o = 0;
  for (const c of w.client.chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

const agentOf = (a: SctpAssociation) => a.takeoverState as TakeoverState;

test('handshake between baton endpoints agrees on an x25519 endpoint-pair key; AUTH in force', (t) => {
  const w = makeWorld({ servers: ['a'] });
  w.net.runUntil(() => w.servers.a.assoc !== undefined && w.client.assoc.stateName === 'ESTABLISHED', 1000);
  const ca = agentOf(w.client.assoc);
  const sa = agentOf(w.servers.a.assoc!);
  t.is(ca.keySource, 'x25519');
  t.is(sa.keySource, 'x25519');
  t.deepEqual(ca.context!.key, sa.context!.key);
  t.is(ca.context!.endpointPairKey.length, 32);
  const st = w.servers.a.assoc!.exportState(0);
  t.true(st.sctp!.x25519Agreed);
  t.deepEqual(st.sctp!.endpointPairKey, sa.context!.endpointPairKey);
  t.is(st.sctp!.hmacId, 3);
  t.is(st.sctp!.nextAsconfSerial, w.servers.a.assoc!.localInitialTsn);
});

test('Figure 3: A wrongly declared dead; B (40 ms) wins, A refused, C (200 ms, same n) rejected; stream continues byte-exact', (t) => {
  const w = makeWorld({ seed: 3, fileSize: 600_000, rateBps: 1_000_000 });
  const { net } = w;
  net.runUntil(() => w.client.bytes > 150_000, 5000);
  const state = announce(w.servers.a); // A's last announcement; A keeps running (not dead)
  net.run(net.now + 30); // A keeps sending: the state is already stale when B and C act
  const b = takeOver(w, 'b', state, state.takeoverNumber + 1, 'gap-fill');
  const c = takeOver(w, 'c', state, state.takeoverNumber + 1, 'gap-fill');
  const ok = net.runUntil(() => w.client.bytes >= w.file.length, 20_000);
  t.true(ok, `client got ${w.client.bytes} of ${w.file.length}`);
  t.is(sha(received(w)), sha(w.file));
  // The client held more than the announced state said: the probe found it out
  const rs = b.receiverState()!;
  t.true(rs.nextOffset > state.streamBytesAcked);
  t.true(rs.nextOffset <= state.streamBytesSent);
  // B won
  t.true(w.servers.b.events.some((e) => e.type === 'takeover-complete'));
  t.deepEqual(w.client.assoc.remote, at(IP.b));
  t.deepEqual(w.client.events.filter((e) => e.type === 'taken-over'), [{ type: 'taken-over', requestNumber: 1, peer: at(IP.b) }]);
  // C rejected, and knows it
  const cClosed = w.servers.c.events.find((e) => e.type === 'closed');
  t.is(cClosed?.type === 'closed' ? cClosed.error?.code : undefined, 'BATON_ERR_TAKEOVER_REJECTED');
  t.true(c.closed);
  t.true(w.client.events.some((e) => e.type === 'takeover-refused' && e.requestNumber === 1 && e.peer.address === IP.c));
  // A refused: ABORT with T bit → BATON_ERR_TAKEN_OVER
  const aClosed = w.servers.a.events.find((e) => e.type === 'closed');
  t.is(aClosed?.type === 'closed' ? aClosed.error?.code : undefined, 'BATON_ERR_TAKEN_OVER');
  t.true((agentOf(w.client.assoc).refused.get('stranger') ?? 0) >= 1);
  t.false(b.closed);
  t.is(w.client.assoc.stateName, 'ESTABLISHED');
});

test('state export → protobuf → import keeps everything the taker needs', (t) => {
  const w = makeWorld({ servers: ['a', 'b'], fileSize: 200_000 });
  w.net.runUntil(() => w.client.bytes > 50_000, 5000);
  const raw = w.servers.a.assoc!.exportState(0);
  const round = decodeTransportState(encodeTransportState(raw));
  t.deepEqual(round.sctp, raw.sctp);
  t.is(round.streamBytesAcked, raw.streamBytesAcked);
  const imported = w.servers.b.ep.importState(w.net.now, round);
  const again = imported.exportState(0);
  t.is(again.sctp!.localVerificationTag, raw.sctp!.localVerificationTag);
  t.is(again.sctp!.peerVerificationTag, raw.sctp!.peerVerificationTag);
  t.deepEqual(again.sctp!.localKeyVector, raw.sctp!.localKeyVector);
  t.deepEqual(again.sctp!.peerKeyVector, raw.sctp!.peerKeyVector);
  t.deepEqual(again.sctp!.endpointPairKey, raw.sctp!.endpointPairKey);
  t.is(again.sctp!.nextAsconfSerial, raw.sctp!.nextAsconfSerial);
  t.is(again.sctp!.peerAsconfSerial, raw.sctp!.peerAsconfSerial);
  t.deepEqual(agentOf(imported).context!.key, agentOf(w.servers.a.assoc!).context!.key);
  // before its takeover completes, the taker's export still names the old server too
  t.deepEqual(again.sctp!.localAddresses.map((x) => x.address), [IP.a, IP.b]);
  t.deepEqual(again.sctp!.tsnMap, raw.sctp!.tsnMap);
});

/** DATA chunks (TSN, length) a server sent to the client, from the trace. */
function dataSent(w: World, fromIp: string): Array<{ tsn: number; length: number }> {
  return w.traced.filter((e) => e.from.address === fromIp && e.to.address === IP.client).flatMap((e) => {
    const p = parsePacket(e.payload);
    return p.ok ? p.packet.chunks.filter((c): c is DataChunk => c.type === 0 && !('kind' in c)).map((c) => ({ tsn: c.tsn, length: c.userData.length })) : [];
  });
}

for (const mode of ['gap-fill', 'go-back-n'] as const) {
  test(`takeover during loss recovery (${mode}): gap blocks become held ranges; the stream is byte-exact`, (t) => {
    const w = makeWorld({
      seed: 11,
      servers: ['a', 'b'],
      fileSize: 500_000,
      links: { a: { ab: { delayMs: 5, rateBps: 2_000_000, queueBytes: 64_000 }, ba: { delayMs: 5, rateBps: 2_000_000, queueBytes: 64_000, loss: 0.04 } } },
    });
    const { net } = w;
    const tracker = () => (w.client.assoc as unknown as { receiver: { tracker: { hasGaps: boolean } } }).receiver.tracker;
    const gotGaps = net.runUntil(() => w.client.bytes > 100_000 && tracker().hasGaps, 10_000);
    t.true(gotGaps);
    const state = announce(w.servers.a);
    net.kill('a'); // A really dies, in the middle of loss recovery
    const b = takeOver(w, 'b', state, 1, mode);
    const ok = net.runUntil(() => w.client.bytes >= w.file.length, 30_000);
      t.true(ok);
    t.is(sha(received(w)), sha(w.file));
    const rs = b.receiverState()!;
    t.true(rs.heldRanges.length > 0, 'the client held out-of-order data at takeover');
    const heldBytes = rs.heldRanges.reduce((n, r) => n + r.end - r.start, 0);
    // Bytes B put on the wire for stream offsets the client already held at takeover
    const state0 = state.sctp!.tsnMap;
    const resent = dataSent(w, IP.b).filter(({ tsn }) => {
      const run = state0.find((r) => ((tsn - r.firstTsn) | 0) >= 0 && (r.tsnCount === 0 || ((tsn - r.firstTsn) | 0) < r.tsnCount));
      if (!run) return false;
      const off = run.streamOffset + ((tsn - run.firstTsn) | 0) * run.bytesPerTsn;
      return rs.heldRanges.some((r) => off >= r.start && off < r.end);
    });
    const resentBytes = resent.reduce((n, c) => n + c.length, 0);
    if (mode === 'gap-fill') t.is(resentBytes, 0);
    else t.is(resentBytes, heldBytes);
    t.log(`${mode}: held ${heldBytes} bytes in ${rs.heldRanges.length} ranges; re-sent ${resentBytes}`);
  });
}

test('cascaded takeover: B dies before finishing, D takes over from B with n+1', (t) => {
  const w = makeWorld({ seed: 5, servers: ['a', 'b', 'd'], fileSize: 500_000, rateBps: 1_000_000 });
  const { net } = w;
  net.runUntil(() => w.client.bytes > 100_000, 5000);
  const s1 = announce(w.servers.a);
  net.kill('a');
  const b = takeOver(w, 'b', s1, s1.takeoverNumber + 1);
  net.runUntil(() => w.client.bytes > 250_000, 10_000);
  t.true(w.servers.b.events.some((e) => e.type === 'takeover-complete'));
  const s2 = announce(w.servers.b);
  t.is(s2.takeoverNumber, 1);
  t.deepEqual(s2.sctp!.localAddresses.map((x) => x.address), [IP.b]);
  t.is(s2.sctp!.nextAsconfSerial, s1.sctp!.nextAsconfSerial + 1);
  net.kill('b');
  takeOver(w, 'd', s2, s2.takeoverNumber + 1);
  const ok = net.runUntil(() => w.client.bytes >= w.file.length, 30_000);
  t.true(ok);
  t.is(sha(received(w)), sha(w.file));
  t.deepEqual(w.client.events.filter((e) => e.type === 'taken-over').map((e) => e.type === 'taken-over' && [e.requestNumber, e.peer.address]), [[1, IP.b], [2, IP.d]]);
  t.deepEqual(w.client.assoc.remote, at(IP.d));
  void b;
});

test('blind resume in a cascade (A→B→D): D\'s packet with the ASCONF is lost, its blind DATA arrives first and draws the client\'s ABORT naming takeover 1; D ignores it, resends the ASCONF and completes; the file is intact', (t) => {
  const w = makeWorld({ seed: 5, servers: ['a', 'b', 'd'], fileSize: 500_000, rateBps: 1_000_000 });
  const { net } = w;
  net.runUntil(() => w.client.bytes > 100_000, 5000);
  const s1 = announce(w.servers.a);
  net.kill('a');
  takeOver(w, 'b', s1, s1.takeoverNumber + 1);
  net.runUntil(() => w.client.bytes > 250_000, 10_000);
  const s2 = announce(w.servers.b);
  net.kill('b');
  const d = w.servers.d;
  const assoc = d.ep.importState(net.now, s2);
  d.assoc = assoc;
  d.sending = false;
  d.offset = 0;
  assoc.takeover(net.now, s2.takeoverNumber + 1, 'gap-fill', w.file.subarray(s2.streamBytesAcked));
  const lost = d.ep.pollTransmit(net.now)!; // the ASCONF's packet never arrives
  t.true(lost.payload.length > 0);
  net.wake(d.ep);
  const ok = net.runUntil(() => w.client.bytes >= w.file.length, 30_000);
  t.true(ok);
  t.is(sha(received(w)), sha(w.file));
  t.true((agentOf(assoc).refused.get('abort-before-our-asconf') ?? 0) >= 1, 'the client answered the blind DATA with an ABORT that D ignored');
  t.false(d.events.some((e) => e.type === 'closed'));
  t.deepEqual(w.client.events.filter((e) => e.type === 'taken-over').map((e) => e.type === 'taken-over' && [e.requestNumber, e.peer.address]), [[1, IP.b], [2, IP.d]]);
});

test('forged takeover (wrong key), eavesdropper (everything from the handshake), replay and off-path guesses are all refused', (t) => {
  const w = makeWorld({ seed: 9, servers: ['a', 'b', 'c', 'd'], fileSize: 400_000, rateBps: 1_000_000 });
  const { net } = w;
  net.runUntil(() => w.client.bytes > 80_000, 5000);
  const real = announce(w.servers.a);
  // 1. forged: a state whose endpoint-pair key is wrong
  const forged: TransportState = { ...real, sctp: { ...real.sctp!, endpointPairKey: new Uint8Array(32).fill(0x42) } };
  const cf = takeOver(w, 'c', forged, 1);
  // 2. eavesdropper: rebuilds the state from the captured handshake alone
  const init = w.traced.map((e) => parsePacket(e.payload)).flatMap((p) => (p.ok ? p.packet.chunks : [])).filter((c): c is InitChunk => (c.type === 1 || c.type === 2) && !('kind' in c));
  const i1 = init.find((c) => c.type === 1)!;
  const i2 = init.find((c) => c.type === 2)!;
  const eve: TransportState = {
    ...real,
    sctp: {
      ...real.sctp!,
      localVerificationTag: i2.initiateTag,
      peerVerificationTag: i1.initiateTag,
      localInitialTsn: i2.initialTsn,
      localKeyVector: keyVector(i2.params),
      peerKeyVector: keyVector(i1.params),
      endpointPairKey: new Uint8Array(0), // RFC 4895's default: all an observer can derive
      x25519Agreed: false,
    },
  };
  t.deepEqual(eve.sctp!.localKeyVector, real.sctp!.localKeyVector); // she saw the vectors right
  const ce = takeOver(w, 'd', eve, 1);
  net.run(net.now + 3000);
  t.deepEqual(w.client.assoc.remote, at(IP.a), 'the client still talks to A');
  const refusedAuth = w.client.events.filter((e) => e.type === 'takeover-refused' && e.reason === 'not-authenticated');
  t.true(refusedAuth.some((e) => e.type === 'takeover-refused' && e.peer.address === IP.c));
  t.true(refusedAuth.some((e) => e.type === 'takeover-refused' && e.peer.address === IP.d));
  t.is(agentOf(w.client.assoc).guard!.lastTakeover, 0);
  // both wrong-key takers learn it at once from the client's ERROR (no AUTH needed for it)
  for (const [x, name] of [[cf, 'c'], [ce, 'd']] as const) {
    t.true(x.closed);
    const closed = w.servers[name].events.find((e) => e.type === 'closed');
    t.is(closed?.type === 'closed' ? closed.error?.code : undefined, 'BATON_ERR_TAKEOVER_REJECTED');
  }
  // the genuine takeover still works afterwards with n = 1
  net.kill('a');
  takeOver(w, 'b', real, 1);
  net.runUntil(() => w.client.events.some((e) => e.type === 'taken-over'), 5000);
  t.deepEqual(w.client.assoc.remote, at(IP.b));
  // 3. replay of B's recorded ASCONF (from B's address, later): refused, nothing changes
  const asconfFromB = w.traced.find((e) => e.from.address === IP.b && (() => { const p = parsePacket(e.payload); return p.ok && p.packet.chunks.some((c) => c.type === 0xc1); })())!;
  const before = w.client.events.length;
  w.client.ep.handleDatagram(net.now, at(IP.b), asconfFromB.payload.slice());
  w.client.drain();
  net.wake(w.client.ep);
  net.run(net.now + 100);
  t.deepEqual(w.client.assoc.remote, at(IP.b));
  t.false(w.client.events.slice(before).some((e) => e.type === 'taken-over'));
  // ... and replayed from another address (spoofed source): refused with number-used
  w.client.ep.handleDatagram(net.now, at(IP.c), asconfFromB.payload.slice());
  w.client.drain();
  net.wake(w.client.ep);
  net.run(net.now + 100);
  t.true(w.client.events.slice(before).some((e) => e.type === 'takeover-refused' && e.reason === 'number-used'));
  t.deepEqual(w.client.assoc.remote, at(IP.b));
  // 4. off-path guesses: random tags / random HMACs on B's ASCONF with a higher number
  const rnd = new SeededRandom(4);
  const droppedBefore = w.client.ep.dropped.get('wrong-tag') ?? 0;
  for (let i = 0; i < 40; i++) {
    const g = asconfFromB.payload.slice();
    if (i % 2 === 0) g.set(rnd.bytes(4), 4); // guess the verification tag
    else g.set(rnd.bytes(32), 12 + 8); // guess the HMAC
    // fix the CRC so the guess is not merely a checksum error
    const { finalizeChecksum } = crc;
    finalizeChecksum(g);
    w.client.ep.handleDatagram(net.now, at(IP.d), g);
  }
  net.wake(w.client.ep);
  net.run(net.now + 100);
  t.deepEqual(w.client.assoc.remote, at(IP.b));
  t.is(agentOf(w.client.assoc).guard!.lastTakeover, 1);
  t.true((agentOf(w.client.assoc).refused.get('auth-bad-hmac') ?? 0) >= 20);
  t.true(w.client.ep.dropped.get('no-connection')! + (w.client.ep.dropped.get('wrong-tag') ?? 0) - droppedBefore >= 20);
  // the stream still completes from B
  const ok = net.runUntil(() => w.client.bytes >= w.file.length, 30_000);
  t.true(ok);
  t.is(sha(received(w)), sha(w.file));
});

test('takeover from a paced sender (queue runs dry: short chunks, many TSN runs) is byte-exact', (t) => {
  const w = makeWorld({ seed: 21, servers: ['a', 'b'], fileSize: 400_000, paceBytesPerMs: 700, rateBps: 4_000_000 });
  const { net } = w;
  net.runUntil(() => w.client.bytes > 150_000, 10_000);
  const state = announce(w.servers.a);
  t.log(`runs in the state: ${state.sctp!.tsnMap.length}`);
  net.kill('a');
  const b = takeOver(w, 'b', state, 1);
  const ok = net.runUntil(() => w.client.bytes >= w.file.length, 30_000);
  t.true(ok, `client got ${w.client.bytes}`);
  t.is(sha(received(w)), sha(w.file));
  t.truthy(b.receiverState());
});

test('a state older than what the client holds is not spliced: the taker aborts with a clear reason', (t) => {
  const w = makeWorld({ seed: 31, servers: ['a', 'b'], fileSize: 300_000 });
  const { net } = w;
  net.runUntil(() => w.client.bytes > 20_000, 5000);
  const now = announce(w.servers.a);
  // The map as it was when A's queue had run dry after two chunks (a closed run): older than the
  // client, which by now holds far more. Nothing can say where its later TSNs sit in the stream.
  const run = now.sctp!.tsnMap[0]!;
  const stale: TransportState = { ...now, sctp: { ...now.sctp!, tsnMap: [{ ...run, tsnCount: 2 }] } };
  net.runUntil(() => w.client.bytes > 100_000, 5000);
  net.kill('a');
  const b = takeOver(w, 'b', stale, 1);
  net.run(net.now + 3000);
  t.true(b.closed);
  const bClosed = w.servers.b.events.find((e) => e.type === 'closed');
  t.is(bClosed?.type === 'closed' ? bClosed.error?.code : undefined, 'BATON_ERR_LOCAL_ABORT');
  t.false(w.servers.b.events.some((e) => e.type === 'takeover-complete'));
  const cClosed = w.client.events.find((e) => e.type === 'closed');
  t.is(cClosed?.type === 'closed' ? cClosed.error?.code : undefined, 'BATON_ERR_ABORTED');
  // what the client got is a clean prefix of the file, never a splice
  t.is(sha(received(w)), sha(w.file.subarray(0, w.client.bytes)));
});

test('the owner announces a state change whenever its TSN map changes shape', (t) => {
  const w = makeWorld({ seed: 33, servers: ['a'], fileSize: 100_000, paceBytesPerMs: 300 });
  w.net.runUntil(() => w.client.bytes >= w.file.length, 10_000);
  const changes = w.servers.a.events.filter((e) => e.type === 'state-changed').length;
  t.true(changes > 5, `state-changed ${changes} times`);
});

test('paced sender, takeover from a state exported long before: the cork keeps one TSN run, byte-exact', (t) => {
  const w = makeWorld({ seed: 41, servers: ['a', 'b'], fileSize: 400_000, paceBytesPerMs: 500, rateBps: 8_000_000 });
  const { net } = w;
  net.runUntil(() => w.client.bytes > 40_000, 10_000);
  const old = announce(w.servers.a); // exporting turns the cork on
  net.runUntil(() => w.client.bytes > 250_000, 10_000); // A keeps sending, paced, for a long while
  const now = w.servers.a.assoc!.exportState(0);
  t.is(now.sctp!.tsnMap.length, 1, 'one open run since the first export');
  t.is(now.sctp!.tsnMap[0]!.tsnCount, 0);
  net.kill('a');
  const b = takeOver(w, 'b', old, 1);
  const ok = net.runUntil(() => w.client.bytes >= w.file.length, 30_000);
  t.true(ok, `client got ${w.client.bytes}`);
  t.is(sha(received(w)), sha(w.file));
  t.true(b.receiverState()!.nextOffset > old.streamBytesSent, 'B resumed beyond what the old state had seen');
});

test('takeover under loss on every link, 30 seeds, random moments, both resume modes: always byte-exact', (t) => {
  const failures: string[] = [];
  let completed = 0;
  let withHeld = 0;
  for (let seed = 100; seed < 130; seed++) {
    const lossy = (delayMs: number) => ({ delayMs, rateBps: 2_000_000, queueBytes: 64_000, loss: 0.02 });
    const w = makeWorld({ seed, servers: ['a', 'b', 'c'], fileSize: 250_000, links: { a: lossy(5), b: lossy(20), c: lossy(100) } });
    const { net } = w;
    const r = new SeededRandom(seed);
    const at1 = 30_000 + Math.floor(r.float() * 150_000);
    net.runUntil(() => w.client.bytes > at1, 20_000);
    const state = announce(w.servers.a);
    net.run(net.now + Math.floor(r.float() * 50)); // A goes on a little
    if (r.float() < 0.5) net.kill('a');
    const mode = seed % 2 === 0 ? 'gap-fill' : 'go-back-n';
    const b = takeOver(w, 'b', state, 1, mode);
    if (r.float() < 0.5) takeOver(w, 'c', state, 1, mode); // a competing taker with the same number
    const ok = net.runUntil(() => w.client.bytes >= w.file.length || w.client.assoc.closed, 60_000);
    const exact = sha(received(w)) === sha(w.file);
    if (w.servers.b.events.some((e) => e.type === 'takeover-complete')) completed++;
    if ((b.receiverState()?.heldRanges.length ?? 0) > 0) withHeld++;
    if (!ok || !exact) failures.push(`seed ${seed} (${mode}): ${w.client.bytes}/${w.file.length} bytes, exact ${exact}, client ${w.client.assoc.stateName}, events ${w.client.events.map((e) => e.type).join(',')}`);
  }
  t.deepEqual(failures, []);
  t.is(completed, 30);
  t.log(`${withHeld} of 30 takeovers found the client holding out-of-order data`);
});

test('an AUTH with an HMAC identifier we did not offer draws ERROR "Unsupported HMAC Identifier"', (t) => {
  const w = makeWorld({ seed: 51, servers: ['a', 'b'], fileSize: 100_000 });
  const { net } = w;
  net.runUntil(() => w.client.bytes > 20_000, 5000);
  const state = announce(w.servers.a);
  takeOver(w, 'b', state, 1);
  net.runUntil(() => w.client.events.some((e) => e.type === 'taken-over'), 5000);
  const asconf = w.traced.find((e) => e.from.address === IP.b && (() => { const p = parsePacket(e.payload); return p.ok && p.packet.chunks.some((c) => c.type === 0xc1); })())!;
  const bad = asconf.payload.slice();
  bad[12 + 6] = 0;
  bad[12 + 7] = 2; // HMAC id 2: not offered by anyone
  crc.finalizeChecksum(bad);
  const mark = w.traced.length;
  w.client.ep.handleDatagram(net.now, at(IP.b), bad);
  w.client.drain();
  net.wake(w.client.ep);
  net.run(net.now + 50);
  const errors = w.traced.slice(mark).filter((e) => e.from.address === IP.client).flatMap((e) => {
    const p = parsePacket(e.payload);
    return p.ok ? p.packet.chunks.filter((c) => c.type === 9 && !('kind' in c)) : [];
  });
  t.true(errors.some((c) => c.type === 9 && 'causes' in c && c.causes.some((x) => x.code === 0x0105 && x.info[1] === 2)));
  t.is((agentOf(w.client.assoc).refused.get('auth-unsupported-hmac') ?? 0), 1);
  t.deepEqual(w.client.assoc.remote, at(IP.b));
});

test('a taker exports what it imported until its takeover completes (a cascade from it stays exact)', (t) => {
  const w = makeWorld({ seed: 61, servers: ['a', 'b', 'd'], fileSize: 300_000 });
  const { net } = w;
  net.runUntil(() => w.client.bytes > 80_000, 5000);
  const s1 = announce(w.servers.a);
  net.kill('a');
  net.kill('b'); // B imports and sends its ASCONF into the void, then announces anyway
  const b = takeOver(w, 'b', s1, 1);
  const s2 = decodeTransportState(encodeTransportState(b.exportState(0)));
  t.deepEqual(s2.sctp!.tsnMap, s1.sctp!.tsnMap);
  t.is(s2.streamBytesSent, s1.streamBytesSent);
  t.deepEqual(s2.sctp!.localAddresses.map((x) => x.address), [IP.a, IP.b]);
  t.is(s2.takeoverNumber, 1);
  takeOver(w, 'd', s2, 2);
  const ok = net.runUntil(() => w.client.bytes >= w.file.length, 30_000);
  t.true(ok);
  t.is(sha(received(w)), sha(w.file));
  t.deepEqual(w.client.assoc.remote, at(IP.d));
  t.deepEqual(w.client.assoc.paths.map((p) => p.address.address), [IP.d]);
});

test('INIT collision: both sides still agree on the AUTH key (one RANDOM per association, canonical salt)', (t) => {
  const A = at('10.0.0.1');
  const B = at('10.0.0.2');
  const a = new SctpEndpoint({ addresses: [A], random: new SeededRandom(1) });
  const b = new SctpEndpoint({ addresses: [B], random: new SeededRandom(2) });
  const ca = a.connect(0, B);
  const cb = b.connect(0, A);
  for (let now = 1; now < 4; now++) {
    for (let k = 0; k < 20; k++) {
      let any = false;
      for (const [src, dst, from] of [[a, b, A], [b, a, B]] as const) {
        for (let x = src.pollTransmit(now); x; x = src.pollTransmit(now)) {
          dst.handleDatagram(now, from, x.payload);
          any = true;
        }
      }
      if (!any) break;
    }
  }
  t.is(ca.stateName, 'ESTABLISHED');
  t.is(cb.stateName, 'ESTABLISHED');
  t.is(agentOf(ca).keySource, 'x25519');
  t.deepEqual(agentOf(ca).context!.key, agentOf(cb).context!.key);
});

test('client data acknowledged by the old server after the export is lost for the taker: the client stops with a clear error', (t) => {
  const w = makeWorld({ seed: 71, servers: ['a', 'b'], fileSize: 300_000 });
  const { net } = w;
  net.runUntil(() => w.client.bytes > 50_000, 5000);
  const state = announce(w.servers.a);
  w.client.assoc.send(new TextEncoder().encode('a request sent after the state was taken'));
  net.wake(w.client.ep);
  net.runUntil(() => w.servers.a.events.some((e) => e.type === 'data'), 2000);
  net.run(net.now + 300); // A acknowledges it
  net.kill('a');
  const b = takeOver(w, 'b', state, 1);
  net.run(net.now + 3000);
  const closed = w.client.events.find((e) => e.type === 'closed');
  t.is(closed?.type === 'closed' ? closed.error?.code : undefined, 'BATON_ERR_PROTOCOL');
  t.regex(closed?.type === 'closed' ? (closed.error?.message ?? '') : '', /lacks data this side sent/);
  t.true(b.closed);
  // and when the client sent nothing after the export, the same takeover goes through (see Figure 3)
});

test('a losing taker whose request arrives after the winner (same n, an older state) is refused; its piggybacked SACK does not abort the winner', (t) => {
  // Torture seed 1: B won with A's last state; C followed with an earlier state that had not yet
  // acknowledged the client's last DATA. The client refused C's ASCONF, then read C's SACK in the
  // same packet as the association's and aborted it ("the server that took over lacks data").
  const w = makeWorld({ seed: 11, fileSize: 600_000, rateBps: 1_000_000 });
  const { net } = w;
  net.runUntil(() => w.client.bytes > 150_000, 5000);
  const older = announce(w.servers.a);
  for (const text of ['client bytes after the older export', 'and more']) {
    w.client.assoc.send(new TextEncoder().encode(text));
    net.wake(w.client.ep);
    net.run(net.now + 300); // A acknowledges them (a delayed SACK: 200 ms)
  }
  const newer = announce(w.servers.a);
  t.true(newer.sctp!.peerCumulativeTsn !== older.sctp!.peerCumulativeTsn, 'A acknowledged the client bytes between the two states');
  net.kill('a');
  const b = takeOver(w, 'b', newer, newer.takeoverNumber + 1, 'gap-fill');
  t.true(net.runUntil(() => w.servers.b.events.some((e) => e.type === 'takeover-complete'), 5000));
  const c = takeOver(w, 'c', older, older.takeoverNumber + 1, 'gap-fill');
  t.true(net.runUntil(() => c.closed, 5000));
  t.true(net.runUntil(() => w.client.bytes >= w.file.length, 20_000), `client got ${w.client.bytes} of ${w.file.length}`);
  t.is(sha(received(w)), sha(w.file));
  t.is(w.client.assoc.stateName, 'ESTABLISHED');
  t.false(b.closed);
  const cClosed = w.servers.c.events.find((e) => e.type === 'closed');
  t.is(cClosed?.type === 'closed' ? cClosed.error?.code : undefined, 'BATON_ERR_TAKEOVER_REJECTED');
  t.is(agentOf(w.client.assoc).refused.get('taker-behind') ?? 0, 0);
});
