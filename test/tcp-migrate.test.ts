// TCP-Migrate on the simulated network: handshake with key agreement, bulk transfer under loss,
// close and reset, and the paper's migration scenarios (Figure 3 race, forged / replayed /
// unknown-token requests, cascaded takeover, takeover during loss recovery, gap-fill vs go-back-N).
import test from 'ava';
import { createHash } from 'node:crypto';
import { SimNetwork, type LinkConfig, type SimBinding } from '../src/sim/network.js';
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import type { TransportState } from '../src/transport-abstraction/state-types.js';
import type { ResumeMode, TransportEvent } from '../src/transport-abstraction/transport.js';
import { TcpMigrateEndpoint, type TcpMigrateEndpointOptions } from '../src/tcp-migrate/endpoint.js';
import type { TcpMigrateConnection } from '../src/tcp-migrate/connection.js';
import { checksumValid, fillChecksum, parseSegment, pseudoHeaderSum, resetSegment, writeHeader } from '../src/tcp-migrate/wire.js';
import { RESET_ABORT } from '../src/tcp-migrate/options.js';
import { DEFAULT_CONFIG } from '../src/tcp-migrate/config.js';
import { makeFile } from './conformance/world.js';
import { memorySource, StreamCollector, StreamSender } from '../src/stream/index.js';

const PORT = 9898;
const HOSTS = { client: '10.0.0.1', a: '10.0.0.2', b: '10.0.0.3', c: '10.0.0.4', eve: '10.0.0.9' } as const;
type Name = 'a' | 'b' | 'c' | 'eve';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A server application: the library's StreamSender over `file`, recording every event. */
class Feeder extends StreamSender {
  declare readonly conn: TcpMigrateConnection;
  readonly events: TransportEvent[];
  constructor(
    conn: TcpMigrateConnection,
    readonly file: Uint8Array,
    now: () => number,
    resume: boolean,
  ) {
    const events: TransportEvent[] = [];
    super({ conn, source: memorySource(file), now, resume, onEvent: (ev) => events.push(ev) });
    this.events = events;
  }
  closedWith(): string | undefined {
    return this.closed ? (this.closed.error?.code ?? 'clean') : undefined;
  }
  has(type: TransportEvent['type']): boolean {
    return this.events.some((e) => e.type === type);
  }
}

/** The client application: the library's StreamCollector, recording every event. */
class Collector {
  readonly events: TransportEvent[] = [];
  private readonly loop: StreamCollector;
  constructor(readonly conn: TcpMigrateConnection) {
    this.loop = new StreamCollector({ conn, onEvent: (ev) => this.events.push(ev) });
  }
  pump(now: number): void {
    this.loop.pump(now);
  }
  get received(): number {
    return this.loop.received;
  }
  bytes(): Uint8Array {
    return this.loop.bytes();
  }
  closed(): TransportEvent | undefined {
    return this.loop.closed;
  }
}

interface Server {
  endpoint: TcpMigrateEndpoint;
  address: UdpAddress;
  binding?: SimBinding;
  feeder?: Feeder;
}

class World {
  readonly net: SimNetwork;
  readonly file: Uint8Array;
  readonly servers = new Map<Name, Server>();
  readonly clientEndpoint: TcpMigrateEndpoint;
  readonly clientAddress: UdpAddress = { address: HOSTS.client, port: PORT };
  readonly conn: TcpMigrateConnection;
  readonly client: Collector;

  constructor(seed: number, fileLength: number, links: Partial<Record<Name, LinkConfig>> = {}, listen = true, serverOptions: Partial<TcpMigrateEndpointOptions> = {}) {
    this.net = new SimNetwork({ seed });
    this.file = makeFile(fileLength, seed);
    this.net.addHost('client', [HOSTS.client]);
    const all: Record<Name, LinkConfig> = { a: { delayMs: 5 }, b: { delayMs: 20 }, c: { delayMs: 100 }, eve: { delayMs: 10 }, ...links };
    for (const name of ['a', 'b', 'c', 'eve'] as const) {
      this.net.addHost(name, [HOSTS[name]]);
      this.net.link('client', name, all[name]);
      const address = { address: HOSTS[name], port: PORT };
      const endpoint = new TcpMigrateEndpoint({ addresses: [address], listen: listen && name === 'a', random: this.net.random, rtoMin: 200, ...serverOptions });
      const server: Server = { endpoint, address };
      this.servers.set(name, server);
      server.binding = this.net.attach(endpoint, [address], (now) => {
        if (!server.feeder) {
          const c = endpoint.pollAccept();
          if (c) server.feeder = new Feeder(c, this.file, () => this.net.now, false);
        }
        server.feeder?.pump(now);
      });
    }
    this.clientEndpoint = new TcpMigrateEndpoint({ addresses: [this.clientAddress], random: this.net.random, rtoMin: 200 });
    this.conn = this.clientEndpoint.connect(0, this.server('a').address);
    this.client = new Collector(this.conn);
    this.net.attach(this.clientEndpoint, [this.clientAddress], (now) => this.client.pump(now));
    this.net.wake(this.clientEndpoint);
  }

  server(name: Name): Server {
    return this.servers.get(name)!;
  }

  feeder(name: Name): Feeder {
    const f = this.server(name).feeder;
    if (!f) throw new Error(`server ${name} has no connection`);
    return f;
  }

  takeOver(name: Name, state: TransportState, n: number, mode: ResumeMode = 'go-back-n'): Feeder {
    const s = this.server(name);
    const conn = s.endpoint.importState(this.net.now, state);
    s.feeder = new Feeder(conn, this.file, () => this.net.now, true);
    conn.takeover(this.net.now, n, mode);
    this.net.wake(s.endpoint);
    return s.feeder;
  }

  done(limit = 600_000): boolean {
    return this.net.runUntil(() => this.client.closed() !== undefined, limit);
  }

  intact(): boolean {
    return sha(this.client.bytes()) === sha(this.file);
  }

  /** Segments sent from a host, parsed. */
  watch(from: string): { time: number; seg: ReturnType<typeof parseSegment>; to: UdpAddress }[] {
    const seen: { time: number; seg: ReturnType<typeof parseSegment>; to: UdpAddress }[] = [];
    this.net.onTrace((e) => {
      if (e.kind === 'send' && e.from.address === from) seen.push({ time: e.time, seg: parseSegment(e.payload), to: e.to });
    });
    return seen;
  }
}

const lossy = (loss: number, delayMs: number): LinkConfig => ({ delayMs, rateBps: 2_000_000, queueBytes: 64_000, loss });

test('handshake: Migrate-Permitted on SYN and SYN/ACK, both ends derive the same K and T', (t) => {
  const w = new World(1, 10_000);
  const synOptions: string[][] = [];
  let badChecksums = 0;
  let segments = 0;
  w.net.onTrace((e) => {
    if (e.kind !== 'send') return;
    segments++;
    if (!checksumValid(e.payload, pseudoHeaderSum(e.from.address, e.to.address))) badChecksums++;
    const p = parseSegment(e.payload);
    if (p.ok && p.segment.flags & 0x02) synOptions.push(p.segment.options.map((o) => o.type));
  });
  t.true(w.done());
  t.true(w.intact());
  const a = w.feeder('a').conn;
  t.truthy(w.conn.key);
  t.deepEqual(w.conn.key, a.key);
  t.deepEqual(w.conn.token, a.token);
  t.is(w.conn.token!.length, 8);
  // The SYN went out before the trace listener; the SYN/ACK carries the acceptor's key, with the
  // RFC 7323 options the SYN offered (53 bytes: the EDO layout, options.ts).
  t.deepEqual(synOptions[0], ['mss', 'sack-permitted', 'window-scale', 'timestamp', 'migrate-permitted']);
  t.true(w.conn.windowScaling && a.windowScaling && w.conn.tsOk && a.tsOk);
  t.true(w.client.events.some((e) => e.type === 'connected'));
  t.true(segments > 10);
  t.is(badChecksums, 0, 'a capture would show a bad TCP checksum');
  t.is(w.feeder('a').closedWith(), 'clean');
  t.is(w.client.closed()?.type === 'closed' && (w.client.closed() as { error?: unknown }).error, undefined);
});

test('a SYN to an endpoint that does not listen is refused with RST', (t) => {
  const w = new World(2, 1000, {}, false);
  w.net.run(3000);
  const closed = w.client.closed();
  t.is(closed?.type === 'closed' ? closed.error?.code : undefined, 'BATON_ERR_REFUSED');
  t.is(w.server('a').endpoint.dropped.get('not-listening'), 1);
});

test('bulk transfer is byte-identical under 2% loss (several seeds)', (t) => {
  for (const seed of [101, 102, 103, 104]) {
    const w = new World(seed, 1_500_000, { a: lossy(0.02, 20) });
    t.true(w.done(), `seed ${seed} did not finish`);
    t.true(w.intact(), `seed ${seed}: bytes differ`);
    t.is(w.conn.stateName, 'CLOSED');
  }
});

test('FIN from both sides: the RFC state sequence on each end', (t) => {
  const w = new World(3, 50_000);
  const serverStates = new Set<string>();
  const clientStates = new Set<string>();
  w.net.onTrace(() => {
    clientStates.add(w.conn.stateName);
    const f = w.server('a').feeder;
    if (f) serverStates.add(f.conn.stateName);
  });
  t.true(w.done());
  w.net.run(w.net.now + 5000);
  t.true(w.intact());
  t.true(w.feeder('a').has('connected'));
  for (const s of ['FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT']) t.true(serverStates.has(s), `server never in ${s}`);
  for (const s of ['SYN-SENT', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK']) t.true(clientStates.has(s), `client never in ${s}`);
  t.is(w.feeder('a').conn.stateName, 'CLOSED', 'TIME-WAIT ended');
  t.is(w.server('a').endpoint.connectionCount, 0);
  t.is(w.clientEndpoint.connectionCount, 0);
});

test('abort sends RST: the peer closes with BATON_ERR_ABORTED', (t) => {
  const w = new World(4, 5_000_000, { a: { delayMs: 5, rateBps: 1_000_000 } });
  w.net.run(300);
  const a = w.feeder('a');
  a.conn.abort(w.net.now, 'test');
  w.net.wake(w.server('a').endpoint);
  w.net.run(w.net.now + 2000); // the RST queues behind ~0.5 s of data on the 1 Mbit/s link
  const closed = w.client.closed();
  t.is(closed?.type === 'closed' ? closed.error?.code : undefined, 'BATON_ERR_ABORTED');
  t.is(a.closedWith(), 'BATON_ERR_LOCAL_ABORT');
});

test('a plain RST (the server lost its state) puts the client in MIGRATE-WAIT; a takeover revives it', (t) => {
  const w = new World(5, 400_000, { a: { delayMs: 5, rateBps: 1_000_000 } });
  w.net.run(300);
  const state = w.feeder('a').conn.exportState(w.net.now);
  // A restarts: a fresh endpoint at its address answers the client's next segment with RST.
  const a = w.server('a');
  w.net.detach(a.binding!);
  const fresh = new TcpMigrateEndpoint({ addresses: [a.address], random: w.net.random, rtoMin: 200 });
  w.net.attach(fresh, [a.address]);
  // The client only ACKs; make it send something so the restarted A answers.
  w.conn.send(new TextEncoder().encode('ping'));
  w.net.wake(w.clientEndpoint);
  w.net.runUntil(() => w.conn.stateName === 'MIGRATE-WAIT', 5000);
  t.is(w.conn.stateName, 'MIGRATE-WAIT');
  t.is(w.client.closed(), undefined);
  w.takeOver('b', state, 1);
  t.true(w.done(), 'did not finish after the takeover');
  t.true(w.intact());
});

test('MIGRATE-WAIT without a takeover ends in BATON_ERR_ABORTED', (t) => {
  const w = new World(6, 400_000, { a: { delayMs: 5, rateBps: 1_000_000 } });
  w.net.run(300);
  const a = w.server('a');
  w.net.detach(a.binding!);
  const fresh = new TcpMigrateEndpoint({ addresses: [a.address], random: w.net.random, rtoMin: 200 });
  w.net.attach(fresh, [a.address]);
  w.conn.send(new TextEncoder().encode('ping'));
  w.net.wake(w.clientEndpoint);
  t.true(w.net.runUntil(() => w.conn.stateName === 'MIGRATE-WAIT', w.net.now + 5000));
  const waitFrom = w.net.now;
  // migrateWaitMs (20 s): longer than the ~12 s the wedge's support group needs to take over.
  w.net.run(waitFrom + DEFAULT_CONFIG.migrateWaitMs - 100);
  t.is(w.client.closed(), undefined, 'gave up before migrateWaitMs');
  t.true(w.net.runUntil(() => w.client.closed() !== undefined, waitFrom + DEFAULT_CONFIG.migrateWaitMs + 100));
  const closed = w.client.closed();
  t.is(closed?.type === 'closed' ? closed.error?.code : undefined, 'BATON_ERR_ABORTED');
});

test('Figure 3: B wins, A (still alive) gets RST, C with the same number gets RST, the stream continues from B', (t) => {
  // The paper's pipes: RTTs of about 10, 40 and 200 ms, 128 kbit/s each.
  const w = new World(7, 60_000, {
    a: { delayMs: 5, rateBps: 128_000 },
    b: { delayMs: 20, rateBps: 128_000 },
    c: { delayMs: 100, rateBps: 128_000 },
  });
  w.net.run(400);
  const state = w.feeder('a').conn.exportState(w.net.now);
  const fromClient = w.watch(HOSTS.client);
  const fromB = w.watch(HOSTS.b);
  const b = w.takeOver('b', state, state.takeoverNumber + 1);
  const c = w.takeOver('c', state, state.takeoverNumber + 1);
  t.true(w.done());
  t.true(w.intact(), 'client bytes differ');
  t.true(b.has('takeover-complete'));
  t.is(c.closedWith(), 'BATON_ERR_TAKEOVER_REJECTED');
  t.is(w.feeder('a').closedWith(), 'BATON_ERR_TAKEN_OVER');
  const taken = w.client.events.filter((e) => e.type === 'taken-over');
  t.is(taken.length, 1);
  t.like(taken[0], { requestNumber: 1, peer: { address: HOSTS.b } });
  t.true(w.client.events.some((e) => e.type === 'takeover-refused' && e.peer.address === HOSTS.c));
  // The client's replies: SYN/ACK to B, RST to A and to C.
  const synAckToB = fromClient.filter((s) => s.seg.ok && s.seg.segment.flags === 0x12 && s.to.address === HOSTS.b);
  const rstToA = fromClient.filter((s) => s.seg.ok && s.seg.segment.flags & 0x04 && s.to.address === HOSTS.a);
  const rstToC = fromClient.filter((s) => s.seg.ok && s.seg.segment.flags & 0x04 && s.to.address === HOSTS.c);
  t.is(synAckToB.length, 1);
  const migrateSyn = fromB[0]!.seg.ok ? fromB[0]!.seg.segment : undefined;
  const mig = migrateSyn?.options.find((o) => o.type === 'migrate');
  t.like(mig, { type: 'migrate', preload: true, requestNumber: 1, keepOutOfOrder: false });
  // The Migrate SYN carries the last byte the client had acknowledged as A's state knew it.
  t.is(migrateSyn!.seq, (state.tcp!.sndUna - 1) >>> 0);
  const reply = synAckToB[0]!.seg.ok ? synAckToB[0]!.seg.segment : undefined;
  t.is(b.conn.receiverState()!.cumulativeAck, reply!.ack);
  t.true(rstToA.length >= 1);
  t.is(rstToC.length, 1);
  t.true(w.clientEndpoint.dropped.get('stale-address')! >= 1);
});

test('forged R, wrong token and a replayed Migrate SYN get RST and change nothing', (t) => {
  const w = new World(8, 300_000, { a: { delayMs: 5, rateBps: 1_000_000 } });
  w.net.run(300);
  const state = w.feeder('a').conn.exportState(w.net.now);
  const before = { remote: w.conn.remote, last: w.conn.lastRequest, rcvNxt: w.conn.rcvNxt };
  const forged = structuredClone(state);
  forged.tcp!.connectionKey = new Uint8Array(32).fill(7);
  const eve = w.takeOver('eve', forged, 1);
  w.net.run(w.net.now + 500);
  t.is(eve.closedWith(), 'BATON_ERR_TAKEOVER_REJECTED');
  t.deepEqual(w.conn.remote, before.remote);
  t.is(w.conn.lastRequest, before.last);
  const wrongToken = structuredClone(state);
  wrongToken.tcp!.token = new Uint8Array(8).fill(1);
  const eve2 = w.takeOver('eve', wrongToken, 1);
  w.net.run(w.net.now + 500);
  t.is(eve2.closedWith(), 'BATON_ERR_TAKEOVER_REJECTED');
  t.is(w.clientEndpoint.dropped.get('unknown-takeover'), 1);
  t.deepEqual(w.conn.remote, before.remote);
  // The genuine takeover by B, recorded, then replayed from Eve's address.
  const fromB: Uint8Array[] = [];
  w.net.onTrace((e) => {
    if (e.kind === 'send' && e.from.address === HOSTS.b) fromB.push(e.payload.slice());
  });
  w.net.kill('a');
  w.takeOver('b', state, 1);
  t.true(w.done());
  t.true(w.intact());
  const migrateSyn = fromB[0]!;
  const p = parseSegment(migrateSyn);
  t.true(p.ok && p.segment.options.some((o) => o.type === 'migrate'));
  const takenBefore = w.client.events.filter((e) => e.type === 'taken-over').length;
  // The client connection is closed by now; replay against a live one: a second world.
  t.is(takenBefore, 1);
  const w2 = new World(8, 300_000, { a: { delayMs: 5, rateBps: 1_000_000 } });
  w2.net.run(300);
  const s2 = w2.feeder('a').conn.exportState(w2.net.now);
  w2.net.kill('a');
  const recorded: Uint8Array[] = [];
  w2.net.onTrace((e) => {
    if (e.kind === 'send' && e.from.address === HOSTS.b) recorded.push(e.payload.slice());
  });
  w2.takeOver('b', s2, 1);
  w2.net.run(w2.net.now + 300);
  t.is(w2.conn.remote.address, HOSTS.b);
  const remoteBefore = w2.conn.remote;
  // Eve replays B's Migrate SYN from her own address (fixing up the checksum for it).
  const replay = recorded[0]!.slice();
  fillChecksum(replay, pseudoHeaderSum(HOSTS.eve, HOSTS.client));
  w2.clientEndpoint.handleDatagram(w2.net.now, w2.server('eve').address, replay, w2.clientAddress);
  w2.client.pump(w2.net.now);
  t.deepEqual(w2.conn.remote, remoteBefore, 'replay moved the connection');
  t.is(w2.client.events.filter((e) => e.type === 'taken-over').length, 1);
  t.true(w2.client.events.some((e) => e.type === 'takeover-refused' && e.peer.address === HOSTS.eve));
  const tx = w2.clientEndpoint.pollTransmit(w2.net.now);
  t.truthy(tx);
  const rst = parseSegment(tx!.payload);
  t.true(rst.ok && (rst.segment.flags & 0x04) !== 0 && tx!.destination.address === HOSTS.eve);
  t.true(w2.done());
  t.true(w2.intact());
});

/** A cascade's first step: A feeds the client, dies, B takes over (n = 1); B's state 200 ms later. */
function takenOverByB(): { w: World; stateB: TransportState } {
  const w = new World(9, 400_000, { a: { delayMs: 5, rateBps: 1_000_000 }, b: { delayMs: 10, rateBps: 1_000_000 }, c: { delayMs: 15, rateBps: 1_000_000 } });
  w.net.run(300);
  const state = w.feeder('a').conn.exportState(w.net.now);
  w.net.kill('a');
  const b = w.takeOver('b', state, 1);
  w.net.runUntil(() => b.has('takeover-complete'), 5000);
  w.net.run(w.net.now + 200);
  const stateB = b.conn.exportState(w.net.now);
  return { w, stateB };
}

test('cascaded takeover: B dies after taking over, C takes over from B with n+1', (t) => {
  const { w, stateB } = takenOverByB();
  t.is(stateB.takeoverNumber, 1);
  w.net.kill('b');
  const c = w.takeOver('c', stateB, 2);
  t.true(w.done());
  t.true(w.intact());
  t.true(c.has('takeover-complete'));
  t.deepEqual(
    w.client.events.filter((e) => e.type === 'taken-over').map((e) => (e.type === 'taken-over' ? e.requestNumber : 0)),
    [1, 2],
  );
});

test('blind resume in a cascade (A→B→C): C\'s Migrate SYN is lost, its blind segments reach the client first and get RSTs without ACK, which C ignores; the SYN\'s retransmission wins and the file is intact', (t) => {
  const { w, stateB } = takenOverByB();
  w.net.kill('b');
  const s = w.server('c');
  const conn = s.endpoint.importState(w.net.now, stateB);
  const c = new Feeder(conn, w.file, () => w.net.now, true);
  s.feeder = c;
  const seen = w.watch(HOSTS.client);
  conn.takeover(w.net.now, 2, 'gap-fill', w.file.subarray(stateB.streamBytesAcked));
  const lost = s.endpoint.pollTransmit(w.net.now)!;
  const syn = parseSegment(lost.payload);
  t.true(syn.ok && (syn.segment.flags & 0x02) !== 0, 'the first segment out is the Migrate SYN');
  w.net.wake(s.endpoint);
  t.true(w.done());
  t.true(w.intact());
  t.true(c.has('takeover-complete'));
  t.true(seen.some((x) => x.to.address === HOSTS.c && x.seg.ok && (x.seg.segment.flags & 0x04) !== 0), 'the client reset the blind segments');
  t.deepEqual(w.client.events.filter((e) => e.type === 'taken-over').map((e) => (e.type === 'taken-over' ? e.requestNumber : 0)), [1, 2]);
});

test('blind resume: the client\'s first missing byte arrives half a round trip after the Migrate SYN, no byte more than twice, the file intact', (t) => {
  const w = new World(3, 300_000, { a: { delayMs: 5, rateBps: 1_000_000 }, b: { delayMs: 50 } });
  w.net.run(400);
  const state = w.feeder('a').conn.exportState(w.net.now);
  w.net.kill('a');
  w.net.run(w.net.now + 1000); // A's last packets land
  const held = w.client.received;
  const copies = new Map<number, number>();
  w.net.onTrace((e) => {
    if (e.kind !== 'deliver' || e.to.address !== HOSTS.client) return;
    const p = parseSegment(e.payload);
    if (p.ok) for (let i = 0; i < p.segment.payload.length; i++) copies.set((p.segment.seq + i) >>> 0, (copies.get((p.segment.seq + i) >>> 0) ?? 0) + 1);
  });
  const start = w.net.now;
  const s = w.server('b');
  const conn = s.endpoint.importState(start, state);
  s.feeder = new Feeder(conn, w.file, () => w.net.now, true);
  conn.takeover(start, 1, 'gap-fill', w.file.subarray(state.streamBytesAcked));
  w.net.wake(s.endpoint);
  w.net.runUntil(() => w.client.received > held, 5000);
  t.is(w.net.now - start, 50, 'one way to the client: 50 ms');
  t.true(w.done());
  t.true(w.intact());
  let most = 0;
  for (const n of copies.values()) most = Math.max(most, n);
  t.true(most <= 2, `a byte arrived ${most} times`);
});

test('takeover during loss recovery (several seeds)', (t) => {
  for (const seed of [21, 22, 23, 24]) {
    const w = new World(seed, 500_000, { a: lossy(0.05, 10), b: lossy(0.02, 20) });
    t.true(w.net.runUntil(() => w.server('a').feeder?.conn.inRecovery === true && w.net.now > 200, 5000), `seed ${seed}: A never in recovery`);
    const state = w.feeder('a').conn.exportState(w.net.now);
    w.net.kill('a');
    w.takeOver('b', state, 1);
    t.true(w.done(), `seed ${seed}: did not finish`);
    t.true(w.intact(), `seed ${seed}: bytes differ`);
  }
});

test('export -> import (no encoding) -> export keeps the TCP-Migrate fields', (t) => {
  const w = new World(10, 200_000, { a: { delayMs: 5, rateBps: 1_000_000 } });
  w.net.run(300);
  const state = w.feeder('a').conn.exportState(w.net.now);
  t.truthy(state.tcp);
  t.is(state.tcp!.connectionKey.length, 32);
  t.is(state.tcp!.localIsInitiator, false);
  t.is(state.client.address, HOSTS.client);
  const b = w.server('b').endpoint.importState(w.net.now, state);
  const again = b.exportState(w.net.now);
  t.deepEqual(again.tcp, { ...state.tcp!, sndNxt: state.tcp!.sndUna, mss: again.tcp!.mss });
  t.is(again.streamBytesAcked, state.streamBytesAcked);
  t.deepEqual(again.client, state.client);
  t.is(b.stateName, 'CLOSED');
});

test('reordering, duplication and loss together: still byte-identical, and a takeover in the middle too', (t) => {
  const messy: LinkConfig = { delayMs: 10, rateBps: 4_000_000, queueBytes: 100_000, loss: 0.01, duplicate: 0.02, reorder: 0.05 };
  for (const seed of [41, 42]) {
    const w = new World(seed, 800_000, { a: messy, b: messy });
    w.net.run(500);
    const state = w.feeder('a').conn.exportState(w.net.now);
    w.net.kill('a');
    w.takeOver('b', state, 1, seed % 2 === 0 ? 'gap-fill' : 'go-back-n');
    t.true(w.done(), `seed ${seed}: did not finish`);
    t.true(w.intact(), `seed ${seed}: bytes differ`);
  }
});

test('fuzz: mutated segments from the peer\'s address never throw and leave a sane state', (t) => {
  const w = new World(12, 300_000, { a: { delayMs: 5, rateBps: 2_000_000 } });
  const captured: Uint8Array[] = [];
  w.net.onTrace((e) => {
    if (e.kind === 'send' && captured.length < 200) captured.push(e.payload.slice());
  });
  w.net.run(300);
  const rnd = w.net.deriveRandom('fuzz');
  const names = new Set(['SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT', 'CLOSED', 'MIGRATE-WAIT']);
  for (let i = 0; i < 3000; i++) {
    const b = captured[rnd.uint32() % captured.length]!.slice();
    const flips = 1 + (rnd.uint32() % 4);
    for (let k = 0; k < flips; k++) b[rnd.uint32() % b.length] = rnd.uint32() & 0xff;
    const cut = rnd.float() < 0.2 ? b.subarray(0, rnd.uint32() % b.length) : b;
    if (rnd.float() < 0.8 && cut.length >= 20) fillChecksum(cut, pseudoHeaderSum(HOSTS.a, HOSTS.client));
    t.notThrows(() => w.clientEndpoint.handleDatagram(w.net.now, w.server('a').address, cut, w.clientAddress));
    t.notThrows(() => {
      for (let tx = w.clientEndpoint.pollTransmit(w.net.now); tx; tx = w.clientEndpoint.pollTransmit(w.net.now));
    });
  }
  t.true(names.has(w.conn.stateName), w.conn.stateName);
  const drops = [...w.clientEndpoint.dropped.values()].reduce((x, y) => x + y, 0);
  t.true(drops > 100, 'bad datagrams were not counted');
  w.net.run(w.net.now + 60_000);
  t.true(names.has(w.conn.stateName));
});

test('A dies right after its FIN reached the client: B takes over at the end of the stream and both close cleanly', (t) => {
  const w = new World(13, 100_000, { a: { delayMs: 5, rateBps: 1_000_000 } });
  let state: TransportState | undefined;
  w.net.onTrace((e) => {
    // Keep the last state A had before it dies (as its support group would have heard it).
    if (e.kind === 'send' && e.from.address === HOSTS.a && w.server('a').feeder) state = w.feeder('a').conn.exportState(e.time);
  });
  t.true(w.net.runUntil(() => w.client.events.some((e) => e.type === 'end'), 10_000));
  w.net.kill('a');
  t.is(w.conn.stateName, 'LAST-ACK');
  const b = w.takeOver('b', state!, 1);
  t.true(w.done(), 'the client never finished closing');
  t.true(w.intact());
  t.is(b.conn.receiverState()?.nextOffset, w.file.length, 'the SYN/ACK acks the data, not the FIN');
  const closed = w.client.closed();
  t.true(closed?.type === 'closed' && closed.error === undefined);
  w.net.run(w.net.now + 5000);
  t.is(b.closedWith(), 'clean');
});

test('a zombie old server that reappears after the download finished is still told it was taken over', (t) => {
  const w = new World(14, 200_000, { a: { delayMs: 5, rateBps: 1_000_000 }, b: { delayMs: 10, rateBps: 4_000_000 } });
  w.net.run(300);
  const state = w.feeder('a').conn.exportState(w.net.now);
  w.net.partition(['a'], ['client']); // wrongly declared dead: A lives on behind a partition
  w.takeOver('b', state, 1);
  t.true(w.done());
  t.true(w.intact());
  t.is(w.clientEndpoint.connectionCount, 0, 'the client connection is gone');
  w.net.heal();
  w.net.run(w.net.now + 120_000);
  t.is(w.feeder('a').closedWith(), 'BATON_ERR_TAKEN_OVER');
});

test('soak: random links (loss up to 15%, reordering, duplication), takeover at a random time, races and cascades', (t) => {
  let takeovers = 0;
  for (let seed = 30000; seed < 30040; seed++) {
    const rnd = new SimNetwork({ seed }).deriveRandom('soak');
    const r = (): number => rnd.float();
    const loss = r() * 0.15;
    const reorder = r() * 0.1;
    const duplicate = r() * 0.05;
    const rate = 500_000 + r() * 4_000_000;
    const queue = 20_000 + Math.floor(r() * 100_000);
    const link = (d: number): LinkConfig => ({ delayMs: d, rateBps: rate, queueBytes: queue, loss, reorder, duplicate });
    const w = new World(seed, 200_000 + Math.floor(r() * 300_000), { a: link(2 + r() * 30), b: link(2 + r() * 60), c: link(5 + r() * 100) });
    w.net.run(100 + r() * 1500);
    const mode: ResumeMode = r() < 0.5 ? 'gap-fill' : 'go-back-n';
    const race = r() < 0.4;
    const cascade = !race && r() < 0.4;
    const a = w.server('a').feeder;
    if (a !== undefined && w.client.closed() === undefined) {
      const state = a.conn.exportState(w.net.now);
      if (r() < 0.5) w.net.kill('a');
      else w.net.partition(['a'], ['client']);
      const b = w.takeOver('b', state, 1, mode);
      const c = race ? w.takeOver('c', state, 1, mode) : undefined;
      takeovers++;
      if (c) {
        w.net.runUntil(() => (b.has('takeover-complete') || b.closedWith() !== undefined) && (c.has('takeover-complete') || c.closedWith() !== undefined), 60_000);
        t.is([b, c].filter((x) => x.has('takeover-complete')).length, 1, `seed ${seed}: exactly one taker wins`);
      }
      if (cascade && w.net.runUntil(() => b.has('takeover-complete'), 10_000) && w.client.closed() === undefined) {
        w.net.run(w.net.now + r() * 1000);
        if (w.client.closed() === undefined) {
          const stateB = b.conn.exportState(w.net.now);
          w.net.kill('b');
          w.takeOver('c', stateB, 2, mode);
        }
      }
    }
    t.true(w.done(900_000), `seed ${seed}: did not finish`);
    t.true(w.intact(), `seed ${seed}: bytes differ`);
    const closed = w.client.closed();
    t.true(closed?.type === 'closed' && closed.error === undefined, `seed ${seed}: closed with an error`);
  }
  t.true(takeovers >= 30, `only ${takeovers} scenarios reached a takeover`);
});

test('many connections on one endpoint pair: 150 downloads under loss all complete (the timer table at scale)', (t) => {
  const net = new SimNetwork({ seed: 15 });
  net.addHost('client', [HOSTS.client]);
  net.addHost('a', [HOSTS.a]);
  net.link('client', 'a', { delayMs: 10, rateBps: 20_000_000, queueBytes: 400_000, loss: 0.02 });
  const ca = { address: HOSTS.client, port: PORT };
  const aa = { address: HOSTS.a, port: PORT };
  const client = new TcpMigrateEndpoint({ addresses: [ca], random: net.random, rtoMin: 200 });
  const server = new TcpMigrateEndpoint({ addresses: [aa], random: net.random, rtoMin: 200, listen: true });
  const size = 20_000;
  net.attach(server, [aa], (now) => {
    for (let c = server.pollAccept(); c; c = server.pollAccept()) {
      c.send(makeFile(size, (c as TcpMigrateConnection).remotePort));
      c.close(now);
    }
  });
  const conns = Array.from({ length: 150 }, () => client.connect(0, aa) as TcpMigrateConnection);
  const got = conns.map(() => [] as Uint8Array[]);
  let clean = 0;
  net.attach(client, [ca], (now) => {
    conns.forEach((c, i) => {
      for (let e = c.pollEvent(); e; e = c.pollEvent()) {
        if (e.type === 'data') got[i]!.push(e.bytes.slice());
        if (e.type === 'end') c.close(now);
        if (e.type === 'closed' && !e.error) clean++;
      }
    });
  });
  net.wake(client);
  t.true(net.runUntil(() => clean === conns.length, 120_000), `${clean} of ${conns.length} finished`);
  conns.forEach((c, i) => {
    if (sha(Buffer.concat(got[i]!)) !== sha(makeFile(size, c.localPort))) t.fail(`connection ${i} got wrong bytes`);
  });
  net.run(net.now + 5000);
  t.is(client.connectionCount, 0);
  t.is(server.connectionCount, 0, 'TIME-WAIT connections were not released');
});

test('client-to-server data: what A never acknowledged is resent to B, and later bytes reach B in order', (t) => {
  const w = new World(16, 400_000, { a: { delayMs: 5, rateBps: 1_000_000 }, b: { delayMs: 10, rateBps: 1_000_000 } });
  w.net.run(300);
  const state = w.feeder('a').conn.exportState(w.net.now);
  const upload = makeFile(30_000, 99);
  // The client sends the first half just as A dies: A never acknowledges it.
  w.net.kill('a');
  w.conn.send(upload.subarray(0, 15_000));
  w.net.wake(w.clientEndpoint);
  w.net.run(w.net.now + 50);
  const b = w.takeOver('b', state, 1);
  t.true(w.net.runUntil(() => b.has('takeover-complete'), 5000));
  w.conn.send(upload.subarray(15_000));
  w.net.wake(w.clientEndpoint);
  t.true(w.done());
  t.true(w.intact());
  const atB = Buffer.concat(b.events.flatMap((e) => (e.type === 'data' ? [e.bytes] : [])));
  t.is(sha(atB), sha(upload), 'B did not receive the client\'s bytes in order');
});

test('a relayed Migrate SYN is refused: R binds the taker\'s address and ports; the genuine SYN wins and the file is intact', (t) => {
  const w = new World(17, 1_500_000, { a: { delayMs: 5, rateBps: 1_000_000 }, b: { delayMs: 10, rateBps: 1_000_000 } });
  w.net.run(300);
  const state = w.feeder('a').conn.exportState(w.net.now);
  w.net.kill('a');
  // Eve is on B's path: B's Migrate SYN reaches her, not the client (a partition drops it after
  // the trace saw it leave B).
  const fromB: Uint8Array[] = [];
  w.net.onTrace((e) => {
    if (e.kind === 'send' && e.from.address === HOSTS.b) fromB.push(e.payload.slice());
  });
  w.net.partition(['b'], ['client']);
  const b = w.takeOver('b', state, 1);
  w.net.run(w.net.now + 50);
  const syn = fromB[0]!;
  const p = parseSegment(syn);
  t.true(p.ok && p.segment.options.some((o) => o.type === 'migrate'), 'no Migrate SYN was intercepted');
  // She resends it from her own address (checksum fixed for her pseudo-header), then sends her
  // own bytes and a FIN as the new server would.
  const relay = syn.slice();
  fillChecksum(relay, pseudoHeaderSum(HOSTS.eve, HOSTS.client));
  const remoteBefore = w.conn.remote;
  const received = w.client.received;
  w.clientEndpoint.handleDatagram(w.net.now, w.server('eve').address, relay, w.clientAddress);
  w.client.pump(w.net.now);
  t.deepEqual(w.conn.remote, remoteBefore, 'the relayed Migrate SYN moved the connection');
  t.is(w.clientEndpoint.dropped.get('not-authenticated'), 1, 'the refusal is counted');
  t.true(w.client.events.some((e) => e.type === 'takeover-refused' && e.peer.address === HOSTS.eve && e.reason === 'not-authenticated'));
  t.false(w.client.events.some((e) => e.type === 'taken-over'));
  const tx = w.clientEndpoint.pollTransmit(w.net.now);
  t.true(tx !== undefined && tx.destination.address === HOSTS.eve && parseSegment(tx.payload).ok, 'Eve got no RST');
  t.is(w.client.received, received);
  // The path heals: B's retransmitted Migrate SYN wins and the stream completes from B.
  w.net.heal();
  t.true(w.done());
  t.true(w.intact(), 'client bytes differ');
  t.true(b.has('takeover-complete'));
  const taken = w.client.events.filter((e) => e.type === 'taken-over');
  t.is(taken.length, 1);
  t.like(taken[0], { requestNumber: 1, peer: { address: HOSTS.b } });
});

/** A segment forged by a blind attacker who knows the 4-tuple: from A's address and ports to the client. */
function spoof(w: World, flags: number, seq: number, ack: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const b = new Uint8Array(20 + payload.length);
  writeHeader(b, w.conn.remotePort, w.conn.localPort, seq >>> 0, ack >>> 0, 0, flags, 65535);
  b.set(payload, 20);
  fillChecksum(b, pseudoHeaderSum(HOSTS.a, HOSTS.client));
  return b;
}

function inject(w: World, bytes: Uint8Array): void {
  w.clientEndpoint.handleDatagram(w.net.now, w.server('a').address, bytes, w.clientAddress);
}

test('RFC 5961: a blind sweep of 131,072 in-window RSTs (all but RCV.NXT) does not kill the connection and costs a bounded number of challenge ACKs; a RST at RCV.NXT does', (t) => {
  const w = new World(18, 1_500_000, { a: { delayMs: 5, rateBps: 2_000_000 } });
  w.net.run(300);
  const start = w.net.now;
  const BATCHES = 128;
  const PER_BATCH = 1024;
  let sent = 0;
  // One second of spoofed RSTs (with the abort reason), sweeping every offset of the receive
  // window but RCV.NXT itself, twice over, while the download runs.
  for (let batch = 0; batch < BATCHES; batch++) {
    w.net.schedule(start + (batch * 1000) / BATCHES, () => {
      if (w.conn.released) return;
      const rcvNxt = w.conn.ackNumber();
      const wnd = w.conn.receiveWindow();
      for (let j = 0; j < PER_BATCH; j++) {
        const d = 1 + ((batch * PER_BATCH + j) % (wnd - 1));
        inject(w, resetSegment(w.server('a').address, w.conn.remotePort, w.clientAddress, w.conn.localPort, rcvNxt + d, 0, RESET_ABORT, false).payload);
        sent++;
      }
      w.client.pump(w.net.now);
      w.net.wake(w.clientEndpoint);
    });
  }
  w.net.run(start + 1000);
  t.is(sent, 131_072);
  t.is(w.client.closed(), undefined, 'the sweep killed the connection');
  t.is(w.conn.stateName, 'ESTABLISHED');
  // At most challengeAckLimit (10) per second: the sweep spans one second, touching two budgets.
  t.true(w.conn.challengeAcksSent >= 10 && w.conn.challengeAcksSent <= 20, `${w.conn.challengeAcksSent} challenge ACKs`);
  t.is(w.conn.challengeAcksSent + w.conn.challengeAcksSuppressed, sent);
  t.log(`${sent} spoofed RSTs: ${w.conn.challengeAcksSent} challenge ACKs, ${w.conn.challengeAcksSuppressed} withheld`);
  const received = w.client.received;
  t.true(received > 0 && Buffer.from(w.client.bytes()).equals(Buffer.from(w.file.subarray(0, received))), 'the bytes so far are not the file\'s');
  w.net.run(w.net.now + 300);
  t.true(w.client.received > received, 'the download stalled');
  // The same RST at exactly RCV.NXT is a genuine reset (RFC 5961 §3.2).
  inject(w, resetSegment(w.server('a').address, w.conn.remotePort, w.clientAddress, w.conn.localPort, w.conn.ackNumber(), 0, RESET_ABORT, false).payload);
  w.client.pump(w.net.now);
  const closed = w.client.closed();
  t.is(closed?.type === 'closed' ? closed.error?.code : undefined, 'BATON_ERR_ABORTED');
});

test('RFC 5961: data with an ACK outside SND.UNA - MAX.SND.WND ..= SND.NXT is dropped with a challenge ACK; a SYN in ESTABLISHED gets a challenge ACK; the file stays intact', (t) => {
  const w = new World(19, 600_000, { a: { delayMs: 5, rateBps: 2_000_000 } });
  w.net.run(300);
  const evil = new TextEncoder().encode('EVIL');
  const c = w.conn;
  const rcvNxt = c.rcvNxt;
  const challenges = c.challengeAcksSent;
  // The right sequence number, an acknowledgement number beyond anything the client sent.
  inject(w, spoof(w, 0x18, c.ackNumber(), c.sndWire(c.sndMax) + 70_000, evil));
  t.is(c.rcvNxt, rcvNxt, 'data with an ACK beyond SND.NXT was accepted');
  t.is(c.challengeAcksSent, challenges + 1);
  // ... and one too far below SND.UNA (more than the largest window the peer offered).
  inject(w, spoof(w, 0x18, c.ackNumber(), c.sndWire(c.sndUna) - (c.maxPeerWindow + 1000), evil));
  t.is(c.rcvNxt, rcvNxt, 'data with an ACK below SND.UNA - MAX.SND.WND was accepted');
  t.is(c.challengeAcksSent, challenges + 2);
  // A plain SYN (no Migrate option) in a synchronized state: a challenge ACK, nothing else.
  inject(w, spoof(w, 0x02, 12345, 0));
  t.is(c.challengeAcksSent, challenges + 3);
  t.is(c.stateName, 'ESTABLISHED');
  w.net.wake(w.clientEndpoint);
  t.true(w.done());
  t.true(w.intact(), 'injected bytes reached the client');
  t.is(w.feeder('a').closedWith(), 'clean');
});

test('dead peers: a connect to an address where nobody answers fails with BATON_ERR_TIMEOUT after connectTimeoutMs (15 s; was 484 s), SYNs at 0, 1, 3, 7 s', (t) => {
  const w = new World(20, 1000);
  w.net.kill('a');
  const syns: number[] = [];
  w.net.onTrace((e) => {
    if (e.kind !== 'send' || e.from.address !== HOSTS.client) return;
    const p = parseSegment(e.payload);
    if (p.ok && p.segment.flags === 0x02) syns.push(e.time);
  });
  t.true(w.net.runUntil(() => w.client.closed() !== undefined, 600_000));
  const closed = w.client.closed();
  t.is(closed?.type === 'closed' ? closed.error?.code : undefined, 'BATON_ERR_TIMEOUT');
  t.is(w.net.now, DEFAULT_CONFIG.connectTimeoutMs);
  // The first SYN went out before the trace listener: the retransmissions, RTO 1 s doubled.
  t.deepEqual(syns, [1000, 3000, 7000]);
  // Configurable through the endpoint.
  const net = new SimNetwork({ seed: 20 });
  net.addHost('c', ['10.0.0.1']);
  const e = new TcpMigrateEndpoint({ addresses: [{ address: '10.0.0.1', port: PORT }], random: net.random, config: { connectTimeoutMs: 5000 } });
  net.attach(e, [{ address: '10.0.0.1', port: PORT }]);
  const c = e.connect(0, { address: '10.0.0.77', port: PORT });
  net.wake(e);
  let error: string | undefined;
  t.true(net.runUntil(() => {
    for (let ev = c.pollEvent(); ev; ev = c.pollEvent()) if (ev.type === 'closed') error = ev.error?.code;
    return error !== undefined;
  }, 600_000));
  t.is(error, 'BATON_ERR_TIMEOUT');
  t.is(net.now, 5000);
});

test('dead peers: a half-open connection (SYN, then nothing) is released after connectTimeoutMs; a takeover to a client that is gone fails with BATON_ERR_TIMEOUT, not TAKEOVER_REJECTED', (t) => {
  const w = new World(21, 3_000_000, { a: { delayMs: 5, rateBps: 1_000_000 } }); // ~24 s of download
  const a = w.server('a');
  // A SYN from an address where nobody is (its SYN/ACKs are lost).
  const syn = new Uint8Array(20);
  writeHeader(syn, 40000, PORT, 1234, 0, 0, 0x02, 65535);
  fillChecksum(syn, pseudoHeaderSum('10.0.0.99', HOSTS.a));
  w.net.run(300);
  const before = a.endpoint.connectionCount;
  a.endpoint.handleDatagram(w.net.now, { address: '10.0.0.99', port: PORT }, syn, a.address);
  w.net.wake(a.endpoint);
  t.is(a.endpoint.connectionCount, before + 1);
  const synAt = w.net.now;
  w.net.run(synAt + DEFAULT_CONFIG.connectTimeoutMs - 10);
  t.is(a.endpoint.connectionCount, before + 1);
  w.net.run(synAt + DEFAULT_CONFIG.connectTimeoutMs + 10);
  t.is(a.endpoint.connectionCount, before, 'the half-open connection was not released');
  // The client host dies; B takes over from A's state and nobody answers its Migrate SYN.
  const state = w.feeder('a').conn.exportState(w.net.now);
  w.net.kill('client');
  const from = w.net.now;
  const b = w.takeOver('b', state, 1);
  t.true(w.net.runUntil(() => b.closedWith() !== undefined, from + 600_000));
  t.is(b.closedWith(), 'BATON_ERR_TIMEOUT');
  t.is(w.net.now - from, DEFAULT_CONFIG.connectTimeoutMs);
});

test('SYN cookies: with no room in the SYN queue the listener keeps no state until the ACK; K and T agree, a takeover works, a lost third ACK is made up by the keep-alive', (t) => {
  const w = new World(22, 400_000, { a: { delayMs: 5, rateBps: 1_000_000 } }, true, { synQueue: 0 });
  w.net.run(10); // the SYN reached A at 5 ms, its SYN/ACK the client at 10 ms
  t.is(w.server('a').endpoint.connectionCount, 0, 'the SYN made a connection');
  w.net.run(300);
  const a = w.feeder('a').conn;
  t.deepEqual(a.key, w.conn.key);
  t.deepEqual(a.token, w.conn.token);
  t.false(w.conn.echoKey, 'the client still repeats its key after data from the listener');
  const state = a.exportState(w.net.now);
  w.net.kill('a');
  w.takeOver('b', state, 1);
  t.true(w.done());
  t.true(w.intact());
  // The client's ACK of the SYN/ACK is lost: it has nothing to send, so its keep-alive probe
  // (which repeats its key) carries the cookie back.
  const w2 = new World(23, 100_000, { a: { delayMs: 5, rateBps: 1_000_000 } }, true, { synQueue: 0 });
  let cut = false;
  w2.net.onTrace((e) => {
    const p = e.kind === 'deliver' && e.to.address === HOSTS.client && !cut ? parseSegment(e.payload) : undefined;
    if (p?.ok && p.segment.flags === 0x12) {
      // The SYN/ACK is being delivered: the ACK the client sends for it will not get through.
      cut = true;
      w2.net.partition(['client'], ['a']);
      w2.net.after(1, () => w2.net.heal());
    }
  });
  w2.net.run(5000);
  t.true(cut);
  t.is(w2.conn.stateName, 'ESTABLISHED');
  t.is(w2.server('a').endpoint.connectionCount, 0, 'the lost ACK should have left A without the connection');
  t.true(w2.done());
  t.true(w2.intact());
  t.deepEqual(w2.feeder('a').conn.key, w2.conn.key);
});
