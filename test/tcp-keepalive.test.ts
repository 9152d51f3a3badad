// TCP-Migrate keep-alive (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6) on the simulated network: an idle
// connection with a live peer stays open with its probes answered; a download client whose server
// host dies gets BATON_ERR_TIMEOUT after keepaliveIdleMs + keepaliveProbes × keepaliveIntervalMs
// (and nobody probes while data flows); a takeover that arrives while the client is probing
// restarts the keep-alive and the stream completes byte-exact; keepaliveIdleMs 0 sends no probe.
import test from 'ava';
import { createHash } from 'node:crypto';
import { SimNetwork, type LinkConfig } from '../src/sim/network.js';
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import type { TransportEvent } from '../src/transport-abstraction/transport.js';
import type { TcpMigrateConfig } from '../src/tcp-migrate/config.js';
import { DEFAULT_CONFIG } from '../src/tcp-migrate/config.js';
import type { TcpMigrateConnection } from '../src/tcp-migrate/connection.js';
import { TcpMigrateEndpoint } from '../src/tcp-migrate/endpoint.js';
import { parseSegment, type TcpSegment } from '../src/tcp-migrate/wire.js';
import { makeFile } from './conformance/world.js';

const PORT = 9898;
const CLIENT: UdpAddress = { address: '10.0.0.1', port: PORT };
const A: UdpAddress = { address: '10.0.0.2', port: PORT };
const B: UdpAddress = { address: '10.0.0.3', port: PORT };
const IDLE = DEFAULT_CONFIG.keepaliveIdleMs;
const INTERVAL = DEFAULT_CONFIG.keepaliveIntervalMs;
const PROBES = DEFAULT_CONFIG.keepaliveProbes;

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface Seen {
  time: number;
  kind: 'send' | 'deliver' | 'drop';
  from: string;
  seg: TcpSegment;
  /** A keep-alive: an empty ACK at the sender's SND.NXT - 1 while everything it sent is acknowledged. */
  keepalive: boolean;
}

/** Server A sends `file` (then stays open, or closes); server B can take over; the client reads. */
class World {
  readonly net: SimNetwork;
  readonly file: Uint8Array;
  readonly a: TcpMigrateEndpoint;
  readonly b: TcpMigrateEndpoint;
  readonly client: TcpMigrateEndpoint;
  readonly conn: TcpMigrateConnection;
  /** The connection serving the file now (A's, then B's after a takeover). */
  serving: TcpMigrateConnection | undefined;
  private servingSent = 0;
  private servingActive = true;
  readonly chunks: Uint8Array[] = [];
  readonly events: { time: number; ev: TransportEvent; keepaliveSent: number }[] = [];
  readonly seen: Seen[] = [];

  constructor(seed: number, fileLength: number, link: LinkConfig, config: Partial<TcpMigrateConfig> = {}, readonly closeAtEnd = true) {
    this.net = new SimNetwork({ seed });
    this.file = makeFile(fileLength, seed);
    this.net.addHost('client', [CLIENT.address]);
    this.net.addHost('a', [A.address]);
    this.net.addHost('b', [B.address]);
    this.net.link('client', 'a', link);
    this.net.link('client', 'b', { ...link, delayMs: link.delayMs * 2 });
    this.a = new TcpMigrateEndpoint({ addresses: [A], listen: true, random: this.net.random, rtoMin: 200, config });
    this.net.attach(this.a, [A], (now) => {
      if (this.serving === undefined) this.serving = this.a.pollAccept();
      this.feed(now);
    });
    this.b = new TcpMigrateEndpoint({ addresses: [B], random: this.net.random, rtoMin: 200, config });
    this.net.attach(this.b, [B], (now) => this.feed(now));
    this.client = new TcpMigrateEndpoint({ addresses: [CLIENT], random: this.net.random, rtoMin: 200, config });
    this.conn = this.client.connect(0, A);
    this.net.attach(this.client, [CLIENT], (now) => this.read(now));
    const conns = (): Map<string, TcpMigrateConnection | undefined> =>
      new Map([
        [CLIENT.address, this.conn],
        [this.serving?.local.address ?? '', this.serving],
      ]);
    this.net.onTrace((e) => {
      const p = parseSegment(e.payload);
      if (!p.ok) return;
      const s = p.segment;
      const c = conns().get(e.from.address);
      const keepalive =
        e.kind === 'send' && c !== undefined && s.payload.length === 0 && s.flags === 0x10 && c.sndUna === c.sndMax && s.seq === ((c.sndWire(c.sndNxt) - 1) >>> 0);
      this.seen.push({ time: e.time, kind: e.kind, from: e.from.address, seg: s, keepalive });
    });
    this.net.wake(this.client);
  }

  private feed(now: number): void {
    const c = this.serving;
    if (c === undefined) return;
    for (let ev = c.pollEvent(); ev; ev = c.pollEvent()) {
      if (ev.type === 'takeover-complete') {
        this.servingSent = ev.receiver.nextOffset;
        this.servingActive = true;
      }
    }
    if (!this.servingActive || c.state !== 'ESTABLISHED') return;
    while (this.servingSent < this.file.length) {
      const n = c.send(this.file.subarray(this.servingSent, Math.min(this.file.length, this.servingSent + 65536)));
      if (n === 0) break;
      this.servingSent += n;
    }
    if (this.servingSent === this.file.length && this.closeAtEnd) c.close(now);
  }

  read(now: number): void {
    for (let ev = this.conn.pollEvent(); ev; ev = this.conn.pollEvent()) {
      this.events.push({ time: now, ev, keepaliveSent: this.conn.keepaliveSent });
      if (ev.type === 'data') this.chunks.push(ev.bytes.slice());
      else if (ev.type === 'end') this.conn.close(now);
    }
  }

  /** B takes over from A's exported state (go-back-N: it resumes at the client's next byte). */
  takeOver(state: ReturnType<TcpMigrateConnection['exportState']>): TcpMigrateConnection {
    const c = this.b.importState(this.net.now, state);
    this.serving = c;
    this.servingActive = false;
    c.takeover(this.net.now, state.takeoverNumber + 1, 'go-back-n');
    this.net.wake(this.b);
    return c;
  }

  received(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0);
  }

  intact(): boolean {
    return sha(Buffer.concat(this.chunks)) === sha(this.file);
  }

  closed(): { time: number; code: string } | undefined {
    const e = this.events.find((x) => x.ev.type === 'closed');
    if (e === undefined || e.ev.type !== 'closed') return undefined;
    return { time: e.time, code: e.ev.error?.code ?? 'clean' };
  }

  closedMessage(): string {
    const e = this.events.find((x) => x.ev.type === 'closed');
    return e?.ev.type === 'closed' ? (e.ev.error?.message ?? '') : '';
  }

  keepalives(from: string, since = 0, until = Infinity): Seen[] {
    return this.seen.filter((s) => s.keepalive && s.from === from && s.time >= since && s.time < until);
  }
}

const LINK: LinkConfig = { delayMs: 10, rateBps: 400_000, queueBytes: 32_000 };

test('an idle connection with a live peer stays open for minutes; its keep-alives are answered', (t) => {
  const w = new World(1, 2000, LINK, {}, false);
  t.true(w.net.runUntil(() => w.received() === 2000, 5000), 'the greeting arrived');
  const quietFrom = w.net.now;
  w.net.run(quietFrom + 5 * 60_000);
  t.is(w.conn.state, 'ESTABLISHED');
  t.is(w.serving!.state, 'ESTABLISHED');
  t.is(w.closed(), undefined);
  const probes = w.seen.filter((s) => s.keepalive);
  t.log(`${probes.length} keep-alives in 5 min (${probes.filter((p) => p.from === CLIENT.address).length} from the client), all answered`);
  // Each end probes about once per idle period (an answer restarts both clocks a one-way delay apart).
  t.true(probes.length >= (5 * 60_000) / IDLE - 2, `only ${probes.length} keep-alives in 5 min`);
  t.true(probes.length <= (2 * 5 * 60_000) / IDLE, `${probes.length} keep-alives in 5 min`);
  // Every probe is answered: an ACK back to the prober within a round trip.
  for (const p of probes) {
    const answered = w.seen.some((s) => s.kind === 'deliver' && s.from !== p.from && s.time > p.time && s.time <= p.time + 100 && (s.seg.flags & 0x10) !== 0);
    t.true(answered, `the keep-alive sent at ${p.time} ms from ${p.from} got no ACK`);
  }
  // Nothing else crossed: no data, no retransmission, and no probe before the first idle period.
  t.true(probes[0]!.time >= quietFrom + IDLE - 100);
  t.is(w.seen.filter((s) => s.time > quietFrom + 100 && s.seg.payload.length > 0).length, 0);
  t.is(w.conn.keepaliveSent, 0);
});

test('a client whose server host dies mid-download times out after idle + probes × interval; nobody probes while data flows', (t) => {
  // 1.2 MB at ~49 KB/s: ~24 s of data; the kill at 20 s comes after more than an idle period of flow.
  const w = new World(2, 1_200_000, LINK);
  const killAt = 20_000;
  w.net.run(killAt);
  const got = w.received();
  t.true(got > 800_000 && got < w.file.length - 100_000, `received ${got} bytes before the kill`);
  // While data flowed (more than an idle period), no keep-alive from either end.
  t.is(w.keepalives(CLIENT.address).length, 0, 'the receiving client sent keep-alives while data flowed');
  t.is(w.keepalives(A.address).length, 0, 'the sending server sent keep-alives');
  t.is(w.conn.keepalivesSentTotal + w.serving!.keepalivesSentTotal, 0);
  w.net.kill('a');
  t.true(w.net.runUntil(() => w.closed() !== undefined, killAt + 120_000), 'the client hangs: no closed event');
  const closed = w.closed()!;
  t.is(closed.code, 'BATON_ERR_TIMEOUT');
  // Segments A sent before it died may still arrive (queued on the link): the clock starts at the last.
  const heardLast = Math.max(...w.seen.filter((s) => s.kind === 'deliver' && s.from === A.address).map((s) => s.time));
  t.true(heardLast >= killAt && heardLast < killAt + 1000);
  const bound = IDLE + PROBES * INTERVAL;
  const took = closed.time - heardLast;
  t.log(`last segment from A at ${heardLast} ms, closed at ${closed.time} ms: ${took} ms after (bound ${bound} ms)`);
  t.true(took >= bound - 50 && took <= bound + 250, `closed ${took} ms after the server went silent, expected ~${bound}`);
  t.regex(w.closedMessage(), new RegExp(`no answer from the peer for ${bound / 1000} s`));
  // Exactly keepaliveProbes probes, one interval apart, starting an idle period after the silence.
  const probes = w.keepalives(CLIENT.address);
  t.is(probes.length, PROBES);
  t.true(Math.abs(probes[0]!.time - heardLast - IDLE) <= 250);
  for (let i = 1; i < probes.length; i++) t.is(probes[i]!.time - probes[i - 1]!.time, INTERVAL);
  t.is(w.conn.state, 'CLOSED');
});

test('a takeover that arrives while the client is probing restarts the keep-alive; the stream completes byte-exact', (t) => {
  const w = new World(3, 1_200_000, LINK);
  const killAt = 10_000;
  w.net.run(killAt);
  const state = w.serving!.exportState(w.net.now);
  w.net.kill('a');
  // B arrives late: after all four probes, 2 s before the client would give up.
  w.net.run(killAt + IDLE + (PROBES - 1) * INTERVAL + 2000);
  t.is(w.conn.keepaliveSent, PROBES, 'the client should be probing the dead server');
  t.is(w.closed(), undefined);
  const b = w.takeOver(state);
  t.true(w.net.runUntil(() => w.closed() !== undefined, w.net.now + 120_000), 'did not finish after the takeover');
  const taken = w.events.find((e) => e.ev.type === 'taken-over');
  t.truthy(taken, 'no taken-over event');
  t.is(taken!.keepaliveSent, 0, 'the takeover did not restart the keep-alive');
  t.is(w.closed()!.code, 'clean');
  t.true(w.intact(), 'the client bytes differ from the file');
  // After the takeover, data flows again: no keep-alive from the client until the end.
  t.is(w.keepalives(CLIENT.address, taken!.time).length, 0);
  t.is(b.closedError, undefined);
});

test('a sender whose receiver dies does not send keep-alives: its retransmission timer gives up', (t) => {
  const w = new World(6, 1_200_000, LINK, {}, false); // the server stays ESTABLISHED (no FIN queued)
  w.net.run(5000);
  const server = w.serving!;
  t.is(server.state, 'ESTABLISHED');
  w.net.kill('client');
  t.true(w.net.runUntil(() => server.state === 'CLOSED', w.net.now + 30 * 60_000), 'the server never gave up');
  t.is(server.closedError?.code, 'BATON_ERR_TIMEOUT');
  t.regex(server.closedError?.message ?? '', /retransmissions/);
  t.log(`the server gave up at ${Math.round(w.net.now)} ms: ${server.closedError?.message}`);
  t.is(server.keepalivesSentTotal, 0);
  // No empty ACK at all from the sender after the client died: only retransmitted data.
  t.is(w.seen.filter((s) => s.kind === 'send' && s.from === A.address && s.time > 5000 && s.seg.payload.length === 0).length, 0, 'the sender probed beside its retransmissions');
});

test('keepaliveIdleMs 0 disables keep-alive: no probes, and a dead server is not noticed', (t) => {
  const w = new World(4, 2000, LINK, { keepaliveIdleMs: 0 }, false);
  t.true(w.net.runUntil(() => w.received() === 2000, 5000));
  const quietFrom = w.net.now + 500;
  w.net.run(quietFrom + 5 * 60_000);
  t.is(w.seen.filter((s) => s.time > quietFrom).length, 0, 'segments crossed an idle connection with keep-alive off');
  t.is(w.conn.keepaliveAt, undefined);
  w.net.kill('a');
  w.net.run(w.net.now + 5 * 60_000);
  t.is(w.conn.state, 'ESTABLISHED', 'without keep-alive a silent receiver cannot tell');
  t.is(w.conn.keepalivesSentTotal, 0);
});

test('keep-alive options come through the endpoint config; a probe in FIN-WAIT-2 is answered', (t) => {
  // The client half-closes at once (FIN-WAIT-2) and only downloads; short keep-alive timers.
  const w = new World(5, 2000, LINK, { keepaliveIdleMs: 3000, keepaliveIntervalMs: 1000, keepaliveProbes: 2 }, false);
  t.is(w.conn.config.keepaliveIdleMs, 3000);
  t.true(w.net.runUntil(() => w.received() === 2000, 5000));
  w.conn.close(w.net.now);
  w.net.wake(w.client);
  t.true(w.net.runUntil(() => w.conn.state === 'FIN-WAIT-2', w.net.now + 2000));
  const from = w.net.now;
  w.net.run(from + 60_000);
  t.is(w.conn.state, 'FIN-WAIT-2');
  t.is(w.serving!.state, 'CLOSE-WAIT');
  const probes = w.seen.filter((s) => s.keepalive && s.time > from);
  t.true(probes.length >= 60 / 3 - 2, `${probes.length} keep-alives in 60 s with a 3 s idle time`);
  t.is(w.closed(), undefined);
  // Now the server dies: 3 s idle + 2 probes × 1 s later the client gives up.
  w.net.kill('a');
  const killAt = w.net.now;
  t.true(w.net.runUntil(() => w.closed() !== undefined, killAt + 30_000));
  t.is(w.closed()!.code, 'BATON_ERR_TIMEOUT');
  t.true(w.closed()!.time - killAt <= 3000 + 2 * 1000 + 100);
  t.regex(w.closedMessage(), /no answer from the peer for 5 s/);
});

test('dead peers: a sender whose receiver died gives up userTimeoutMs after its first retransmission timeout (was ~520 s); the bound is configurable', (t) => {
  for (const userTimeoutMs of [DEFAULT_CONFIG.userTimeoutMs, 5000]) {
    const w = new World(7, 1_200_000, LINK, userTimeoutMs === DEFAULT_CONFIG.userTimeoutMs ? {} : { userTimeoutMs }, false);
    w.net.run(5000);
    const server = w.serving!;
    let highest = server.sndMax; // everything sent so far
    let firstRetransmission: number | undefined;
    w.net.onTrace((e) => {
      if (e.kind !== 'send' || e.from.address !== A.address) return;
      const p = parseSegment(e.payload);
      if (!p.ok || p.segment.payload.length === 0) return;
      const off = (p.segment.seq - server.iss - 1) >>> 0;
      if (off < highest && firstRetransmission === undefined) firstRetransmission = e.time;
      highest = Math.max(highest, off + p.segment.payload.length);
    });
    const killAt = w.net.now;
    w.net.kill('client');
    t.true(w.net.runUntil(() => server.state === 'CLOSED', killAt + 120_000), `userTimeoutMs ${userTimeoutMs}: the server never gave up`);
    t.is(server.closedError?.code, 'BATON_ERR_TIMEOUT');
    t.regex(server.closedError?.message ?? '', /retransmissions/);
    t.truthy(firstRetransmission);
    t.log(`userTimeoutMs ${userTimeoutMs}: client killed at ${killAt} ms, first retransmission at ${firstRetransmission} ms, gave up at ${w.net.now} ms`);
    t.true(Math.abs(w.net.now - firstRetransmission! - userTimeoutMs) < 1e-6, 'not userTimeoutMs after the first retransmission timeout');
    t.true(w.net.now - killAt < userTimeoutMs + 3000);
  }
});

test('dead peers: a download client gives its support group ~12 s to take over (the wedge), then fails with BATON_ERR_TIMEOUT after 20 s (was 35 s)', (t) => {
  // The wedge's need: heartbeat verdict 9.3 s + backoff ≤ 1 s + a round trip.
  const WEDGE = 9300 + 1000 + 2 * LINK.delayMs * 2;
  const late = new World(8, 1_200_000, LINK);
  late.net.run(10_000);
  const state = late.serving!.exportState(late.net.now);
  late.net.kill('a');
  late.net.run(late.net.now + WEDGE + 1500);
  t.is(late.closed(), undefined, 'the client gave up before the support group could take over');
  late.takeOver(state);
  t.true(late.net.runUntil(() => late.closed() !== undefined, late.net.now + 120_000));
  t.is(late.closed()!.code, 'clean');
  t.true(late.intact());
  // Nobody takes over: the client fails 20 s after the server fell silent.
  const never = new World(8, 1_200_000, LINK);
  never.net.run(10_000);
  never.net.kill('a');
  t.true(never.net.runUntil(() => never.closed() !== undefined, never.net.now + 120_000));
  const heardLast = Math.max(...never.seen.filter((s) => s.kind === 'deliver' && s.from === A.address).map((s) => s.time));
  const took = never.closed()!.time - heardLast;
  t.is(never.closed()!.code, 'BATON_ERR_TIMEOUT');
  t.true(took >= WEDGE + 5000 && took <= 20_250, `the client gave up ${took} ms after the server fell silent`);
});
