// TCP-Migrate flow control on the simulated network: a reader that stops polling closes the
// window (the receiver holds at most its buffer), the sender stalls and probes (persist timer,
// RFC 9293 §3.8.6.1), nothing is lost, and the transfer resumes when the reader polls again — also
// when the window update is lost. Plus the sender's and the receiver's SWS avoidance.
import test from 'ava';
import { createHash } from 'node:crypto';
import { SimNetwork, type LinkConfig } from '../src/sim/network.js';
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import { DEFAULT_CONFIG } from '../src/tcp-migrate/config.js';
import { TcpMigrateEndpoint } from '../src/tcp-migrate/endpoint.js';
import type { TcpMigrateConnection } from '../src/tcp-migrate/connection.js';
import { parseSegment, type TcpSegment } from '../src/tcp-migrate/wire.js';
import { makeFile } from './conformance/world.js';

const PORT = 9898;
const CLIENT: UdpAddress = { address: '10.0.0.1', port: PORT };
const SERVER: UdpAddress = { address: '10.0.0.2', port: PORT };

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface Seen {
  time: number;
  kind: 'send' | 'deliver' | 'drop';
  fromServer: boolean;
  seg: TcpSegment;
  /** A zero-window probe from the server: an empty ACK at SND.UNA - 1. */
  probe: boolean;
}

/** A server that sends `file` and closes; a client reader that can be paused. */
class World {
  readonly net: SimNetwork;
  readonly file: Uint8Array;
  readonly server: TcpMigrateEndpoint;
  readonly client: TcpMigrateEndpoint;
  readonly conn: TcpMigrateConnection;
  serverConn: TcpMigrateConnection | undefined;
  readonly chunks: Uint8Array[] = [];
  received = 0;
  paused = false;
  /** Bytes the reader takes per poll round (Infinity: everything queued). */
  readBudget = Infinity;
  closed = false;
  ended = false;
  /** The most bytes the client's connection held delivered-but-unread, and its buffer. */
  maxUnread = 0;
  readonly seen: Seen[] = [];
  private sent = 0;

  // An unscaled 64 KiB window unless told otherwise (the default is 16 MiB; tcp-window.test.ts).
  constructor(seed: number, fileLength: number, link: LinkConfig, receiveWindow = 65535) {
    this.net = new SimNetwork({ seed });
    this.file = makeFile(fileLength, seed);
    this.net.addHost('client', [CLIENT.address]);
    this.net.addHost('server', [SERVER.address]);
    this.net.link('client', 'server', link);
    this.server = new TcpMigrateEndpoint({ addresses: [SERVER], listen: true, random: this.net.random, rtoMin: 200 });
    this.net.attach(this.server, [SERVER], (now) => this.feed(now));
    this.client = new TcpMigrateEndpoint({ addresses: [CLIENT], random: this.net.random, rtoMin: 200 });
    this.conn = this.client.connect(0, SERVER, receiveWindow === undefined ? undefined : { receiveWindow });
    this.net.attach(this.client, [CLIENT], (now) => this.read(now));
    this.net.onTrace((e) => {
      if (e.kind === 'send' || e.kind === 'drop' || e.kind === 'deliver') {
        const p = parseSegment(e.payload);
        if (!p.ok) return;
        const fromServer = e.from.address === SERVER.address;
        const sc = this.serverConn;
        const probe =
          e.kind === 'send' && fromServer && sc !== undefined && p.segment.payload.length === 0 && p.segment.flags === 0x10 && p.segment.seq === ((sc.sndWire(sc.sndUna) - 1) >>> 0);
        this.seen.push({ time: e.time, kind: e.kind, fromServer, seg: p.segment, probe });
      }
    });
    this.net.wake(this.client);
  }

  private feed(now: number): void {
    if (this.serverConn === undefined) this.serverConn = this.server.pollAccept();
    const c = this.serverConn;
    if (c === undefined) return;
    while (c.pollEvent() !== undefined) {
      // the server only writes
    }
    while (this.sent < this.file.length && c.state === 'ESTABLISHED') {
      const n = c.send(this.file.subarray(this.sent, Math.min(this.file.length, this.sent + 65536)));
      if (n === 0) break;
      this.sent += n;
      if (this.sent === this.file.length) c.close(now);
    }
  }

  read(now: number): void {
    this.maxUnread = Math.max(this.maxUnread, this.conn.rcvUnread);
    if (this.paused) return;
    let budget = this.readBudget;
    for (let ev = budget > 0 ? this.conn.pollEvent() : undefined; ev; ev = budget > 0 ? this.conn.pollEvent() : undefined) {
      if (ev.type === 'data') {
        this.chunks.push(ev.bytes.slice());
        this.received += ev.bytes.length;
        budget -= ev.bytes.length;
      } else if (ev.type === 'end') {
        this.ended = true;
        this.conn.close(now);
      } else if (ev.type === 'closed') this.closed = true;
    }
  }

  /** The reader resumes polling (from outside a hook: wake the endpoint so the update goes out). */
  resume(): void {
    this.paused = false;
    this.read(this.net.now);
    this.net.wake(this.client);
  }

  intact(): boolean {
    return sha(Buffer.concat(this.chunks)) === sha(this.file);
  }

  /** Zero-window probes the server sent. */
  probes(from = 0, to = Infinity): Seen[] {
    return this.seen.filter((s) => s.probe && s.time >= from && s.time < to);
  }

  dataSent(from: number, to: number): number {
    return this.seen.filter((s) => s.kind === 'send' && s.fromServer && s.time >= from && s.time < to && s.seg.payload.length > 0).reduce((n, s) => n + s.seg.payload.length, 0);
  }
}

// The queue holds a full 64 KiB window with its headers (a window's burst after the reader resumes).
const LINK: LinkConfig = { delayMs: 10, rateBps: 4_000_000, queueBytes: 72_000 };

test('a reader that stops polling: the window closes, the receiver holds at most its buffer, the sender stalls and probes; nothing is lost and it resumes', (t) => {
  const w = new World(1, 600_000, LINK);
  w.net.run(200);
  t.true(w.received > 0, 'the transfer started');
  w.paused = true;
  const pausedAt = w.net.now;
  w.net.run(pausedAt + 5000);
  const held = w.conn.rcvUnread;
  t.true(held <= 65535, `the receiver holds ${held} unread bytes, more than its window`);
  t.true(held > 60_000, `the window should fill while the reader sleeps (held ${held})`);
  t.true(w.maxUnread <= 65535);
  // The sender stalled: nothing new after the window filled (only probes), and it probed with backoff.
  t.is(w.dataSent(pausedAt + 1000, pausedAt + 5000), 0, 'data sent into a closed window');
  const probes = w.probes(pausedAt, pausedAt + 5000);
  t.true(probes.length >= 2, `persist timer probes: ${probes.length}`);
  const gaps = probes.slice(1).map((p, i) => p.time - probes[i]!.time);
  t.true(gaps.every((g, i) => i === 0 || g >= gaps[i - 1]!), `probe intervals back off: ${gaps.join(', ')}`);
  t.true(gaps.length < 2 || gaps[gaps.length - 1]! > gaps[0]!, `probe intervals back off: ${gaps.join(', ')}`);
  t.log(`probes at ${probes.map((p) => p.time - pausedAt).join(', ')} ms after the pause`);
  // The client answered every probe with a zero window.
  const zeroWindowAcks = w.seen.filter((s) => s.kind === 'send' && !s.fromServer && s.time > probes[0]!.time && s.seg.window === 0 && s.seg.payload.length === 0);
  t.true(zeroWindowAcks.length >= probes.length, `${zeroWindowAcks.length} zero-window ACKs for ${probes.length} probes`);
  t.false(w.serverConn!.released, 'the sender gave up on a receiver that answers its probes');
  t.false(w.closed);

  const resumedAt = w.net.now;
  w.resume();
  // The window update goes out at once: the client's next segment advertises an open window.
  const update = w.seen.find((s) => s.kind === 'send' && !s.fromServer && s.time >= resumedAt);
  t.truthy(update);
  t.true(update!.seg.window > 30_000, `window update ${update?.seg.window}`);
  t.true(w.net.runUntil(() => w.closed, resumedAt + 60_000));
  t.true(w.intact(), 'bytes differ from the file');
  // It resumed from the update, not from a later probe: 600 kB at 4 Mbit/s takes ~1.2 s.
  t.true(w.net.now - resumedAt < 4000, `resumed transfer took ${w.net.now - resumedAt} ms`);
  // On this lossless link nothing was resent: the segments that closed the window were ACKed at
  // once (not after the delayed-ACK timer, which raced the RTO), and the window updates were not
  // taken for duplicate ACKs (no fast retransmit, no congestion response).
  const starts = w.seen.filter((s) => s.kind === 'send' && s.fromServer && s.seg.payload.length > 0).map((s) => s.seg.seq);
  t.is(new Set(starts).size, starts.length, 'a data segment was sent twice');
  t.is(w.serverConn!.ssthresh, 0x7fffffff);
});

test('the window update is lost (partition while the reader resumes): the persist probe reopens the window, no deadlock', (t) => {
  const w = new World(2, 400_000, LINK);
  w.net.run(200);
  w.paused = true;
  w.net.run(3000);
  t.true(w.conn.rcvUnread > 60_000);
  w.net.partition(['client'], ['server']);
  const resumedAt = w.net.now;
  w.resume();
  w.net.run(resumedAt + 100);
  w.net.heal();
  const droppedUpdate = w.seen.find((s) => s.kind === 'drop' && !s.fromServer && s.time >= resumedAt && s.seg.window > 30_000);
  t.truthy(droppedUpdate, 'the window update should have been dropped');
  t.is(w.conn.rcvUnread, 0);
  t.true(w.net.runUntil(() => w.closed, resumedAt + 120_000), 'deadlock: the transfer never resumed');
  t.true(w.intact(), 'bytes differ from the file');
  const firstData = w.seen.find((s) => s.kind === 'send' && s.fromServer && s.time > resumedAt && s.seg.payload.length > 0);
  const probe = w.probes(resumedAt + 100).find((p) => p.time < firstData!.time);
  t.truthy(probe, 'a probe after the heal found the open window');
});

test('a lossy link and a reader that pauses again and again: the receiver never holds more than its window, bytes intact', (t) => {
  const window = 20_000;
  const w = new World(3, 500_000, { delayMs: 15, rateBps: 3_000_000, queueBytes: 40_000, loss: 0.05 }, window);
  for (let k = 1; k <= 10; k++) {
    w.net.schedule(k * 1500, () => {
      w.paused = true;
    });
    w.net.schedule(k * 1500 + 900, () => w.resume());
  }
  t.true(w.net.runUntil(() => w.closed, 300_000));
  t.true(w.intact());
  t.true(w.maxUnread <= window, `held ${w.maxUnread} > ${window}`);
  t.true(w.maxUnread > window / 2, `the window should fill during pauses (held ${w.maxUnread})`);
  // The server never sent beyond the right edge of a window the client offered.
  let edge = 0;
  let beyond = 0;
  let segments = 0;
  for (const s of w.seen) {
    if (s.kind === 'deliver' && !s.fromServer && (s.seg.flags & 0x10) !== 0) edge = Math.max(edge, ((s.seg.ack + s.seg.window - w.conn.irs - 1) >>> 0));
    if (s.kind === 'send' && s.fromServer && s.seg.payload.length > 0) {
      segments++;
      if (((s.seg.seq + s.seg.payload.length - w.conn.irs - 1) >>> 0) > edge) beyond++;
    }
  }
  t.true(segments > 300);
  t.is(beyond, 0, 'data sent beyond the offered window');
});

test('receiver SWS avoidance: a reader taking a few bytes at a time does not advertise tiny windows; sender SWS: no tiny segments', (t) => {
  const w = new World(4, 150_000, LINK, 16_000);
  w.net.run(200);
  w.paused = true;
  w.net.run(2000);
  t.true(w.conn.rcvUnread > 14_000);
  // The reader now takes about one event (≤ 1 segment) per round, prompted by the persist probes
  // and by arriving data; windows advertised by the client are 0 or at least min(MSS, buffer/2).
  w.readBudget = 200;
  const from = w.net.now;
  w.resume();
  w.net.run(from + 20_000);
  w.readBudget = Infinity;
  w.resume();
  t.true(w.net.runUntil(() => w.closed, from + 300_000));
  t.true(w.intact());
  const mss = w.conn.effectiveMss();
  // Every window the client opened past RCV.NXT moved its right edge by 0 or ≥ min(MSS, 8000).
  let lastEdge = -1;
  let smallMoves = 0;
  for (const s of w.seen) {
    if (s.kind !== 'send' || s.fromServer || s.time < from || (s.seg.flags & 0x03) !== 0) continue;
    if (w.ended) {
      // after the FIN the ACK number counts it: stop at the first segment acknowledging it
      if (((s.seg.ack - w.conn.irs - 1) >>> 0) > w.file.length) break;
    }
    const edge = ((s.seg.ack + s.seg.window) >>> 0) - ((w.conn.irs + 1) >>> 0);
    if (lastEdge >= 0 && edge > lastEdge && edge - lastEdge < Math.min(mss, 8000)) smallMoves++;
    if (edge > lastEdge) lastEdge = edge;
  }
  t.is(smallMoves, 0, 'the receiver advertised a window edge moved by less than the SWS step');
  // The server's data segments are full-sized except the last of the file.
  const small = w.seen.filter((s) => s.kind === 'send' && s.fromServer && s.time >= from && s.seg.payload.length > 0 && s.seg.payload.length < mss / 2);
  t.true(small.length <= 1, `tiny segments sent: ${small.map((s) => s.seg.payload.length).join(', ')}`);
});

test('a receiver that never answers the probes: the sender times out instead of probing forever', (t) => {
  const w = new World(5, 300_000, LINK);
  w.net.run(200);
  w.paused = true;
  w.net.run(3000);
  t.true(w.conn.rcvUnread > 60_000);
  w.net.kill('client');
  const killAt = w.net.now;
  t.true(w.net.runUntil(() => w.serverConn!.state === 'CLOSED', 3_600_000));
  t.is(w.serverConn!.closedError?.code, 'BATON_ERR_TIMEOUT');
  // Bounded by time too (userTimeoutMs from the first unanswered probe), not only by count.
  t.log(`the sender gave up ${Math.round(w.net.now - killAt)} ms after the receiver died`);
  t.true(w.net.now - killAt <= DEFAULT_CONFIG.userTimeoutMs + DEFAULT_CONFIG.rtoMax, `gave up ${w.net.now - killAt} ms after the receiver died`);
});

test('sender SWS avoidance: a window smaller than a segment and than half the largest offered gets no data until the persist timer overrides', (t) => {
  const w = new World(6, 300_000, LINK);
  w.net.run(200);
  w.paused = true;
  w.net.run(1500);
  const sc = w.serverConn!;
  t.is(sc.peerWindow, 0);
  t.is(sc.sndUna, sc.sndMax, 'nothing in flight');
  t.true(sc.maxPeerWindow > 60_000);
  // A (hand-made) ACK offering 300 bytes: less than a segment and than half the largest window.
  const at = w.net.now;
  sc.handleSegment(
    at,
    { srcPort: w.conn.localPort, dstPort: sc.localPort, seq: w.conn.sndWire(w.conn.sndNxt), ack: sc.sndWire(sc.sndUna), flags: 0x10, window: 300, checksum: 0, urgent: 0, options: [], payload: new Uint8Array(0) },
    CLIENT,
    SERVER,
  );
  w.net.wake(w.server);
  t.is(w.dataSent(at, at + 1), 0, 'a 300-byte segment went out at once (silly window)');
  t.true(w.net.runUntil(() => w.dataSent(at, Infinity) > 0, at + 30_000));
  const small = w.seen.find((s) => s.kind === 'send' && s.fromServer && s.time >= at && s.seg.payload.length > 0)!;
  t.is(small.seg.payload.length, 300, 'the persist timer sends what fits');
  t.true(small.time - at >= 200, `sent ${small.time - at} ms after the small window, before the persist timer`);
  w.resume();
  t.true(w.net.runUntil(() => w.closed, w.net.now + 120_000));
  t.true(w.intact());
});

test('takeover while the client reader is paused: the taker finds a closed window, probes, and resumes when the reader reads', (t) => {
  const w = new World(7, 400_000, LINK);
  const B: UdpAddress = { address: '10.0.0.3', port: PORT };
  w.net.addHost('b', [B.address]);
  w.net.link('client', 'b', LINK);
  const b = new TcpMigrateEndpoint({ addresses: [B], random: w.net.random, rtoMin: 200 });
  let taker: TcpMigrateConnection | undefined;
  let offset = -1;
  w.net.attach(b, [B], (now) => {
    if (taker === undefined) return;
    for (let ev = taker.pollEvent(); ev !== undefined; ev = taker.pollEvent()) {
      if (ev.type === 'takeover-complete') offset = ev.receiver.nextOffset;
    }
    while (offset >= 0 && offset < w.file.length) {
      const n = taker.send(w.file.subarray(offset, Math.min(w.file.length, offset + 65536)));
      if (n === 0) break;
      offset += n;
      if (offset === w.file.length) taker.close(now);
    }
  });
  w.net.run(200);
  w.paused = true;
  w.net.run(2000);
  t.true(w.conn.rcvUnread > 60_000, 'the window should be closed');
  const state = w.serverConn!.exportState(w.net.now);
  w.net.kill('server');
  taker = b.importState(w.net.now, state);
  taker.takeover(w.net.now, 1);
  w.net.wake(b);
  const tookAt = w.net.now;
  w.net.run(tookAt + 4000);
  t.false(taker.released, `taker state ${taker.state}`);
  t.true(offset >= 0, 'the takeover did not complete');
  t.is(taker.peerWindow, 0, 'the taker should see the closed window');
  t.is(taker.sndMax, taker.sndUna, 'the taker sent into a closed window');
  t.true(taker.persistAt !== undefined && taker.persistShift >= 1, 'the taker is not probing');
  t.true(w.conn.rcvUnread <= 65535);
  w.resume();
  t.true(w.net.runUntil(() => w.closed, w.net.now + 60_000), 'the transfer did not resume with the taker');
  t.true(w.intact(), 'bytes differ from the file');
});

/** A hand-made ACK from the client to the server's connection (what a misbehaving or reordered peer would send). */
function injectAck(w: World, ackOffset: number, window: number): void {
  const sc = w.serverConn!;
  sc.handleSegment(
    w.net.now,
    { srcPort: w.conn.localPort, dstPort: sc.localPort, seq: w.conn.sndWire(w.conn.sndNxt), ack: sc.sndWire(ackOffset), flags: 0x10, window, checksum: 0, urgent: 0, options: [], payload: new Uint8Array(0) },
    CLIENT,
    SERVER,
  );
  sc.owner?.wake(sc); // routed by hand, so tell the endpoint the connection has something to send
  w.net.wake(w.server);
}

test('an old (reordered) ACK does not reopen a closed window', (t) => {
  const w = new World(8, 300_000, LINK);
  w.net.run(200);
  w.paused = true;
  w.net.run(1500);
  const sc = w.serverConn!;
  t.is(sc.peerWindow, 0);
  const at = w.net.now;
  injectAck(w, sc.sndUna - 20_000, 65535);
  t.is(sc.peerWindow, 0, 'an ACK below SND.UNA updated the window');
  w.net.run(at + 100);
  t.is(w.dataSent(at, at + 100), 0, 'data sent past the window the receiver offers');
  w.resume();
  t.true(w.net.runUntil(() => w.closed, w.net.now + 60_000));
  t.true(w.intact());
});

test('a window that closes under outstanding data: the retransmissions probe, and a peer that answers is never timed out', (t) => {
  const w = new World(9, 300_000, LINK);
  w.net.run(200);
  w.paused = true;
  w.net.run(1500);
  const sc = w.serverConn!;
  t.is(sc.sndUna, sc.sndMax);
  // A (forged) ACK offers 20 kB the receiver does not have: the segments sent into it are
  // dropped, the receiver answers with a zero window, and the data stays outstanding.
  injectAck(w, sc.sndUna, 20_000);
  w.net.run(w.net.now + 100);
  t.true(sc.sndMax > sc.sndUna, 'nothing was sent into the offered window');
  t.is(sc.peerWindow, 0);
  // Twelve backed-off retransmission timeouts would pass in ~4 minutes: the reader sleeps 20.
  w.net.run(w.net.now + 20 * 60_000);
  t.false(sc.released, `the sender gave up: ${sc.closedError?.code}`);
  t.true(w.probes(w.net.now - 5 * 60_000).length >= 3, 'no probes while the window stayed closed');
  w.resume();
  t.true(w.net.runUntil(() => w.closed, w.net.now + 120_000));
  t.true(w.intact());
});
