// The simulated network behaves like the paper's DummyNet links: rate, queue, loss, plus
// duplication, reordering, faults and replay. Tiny cores written here drive it.
import test from 'ava';
import { performance } from 'node:perf_hooks';
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import type { DatagramCore, Transmit } from '../src/transport-abstraction/transport.js';
import { EventQueue } from '../src/sim/event-queue.js';
import { Pipe } from '../src/sim/link.js';
import { SimCoreError, SimNetwork, type TraceEvent } from '../src/sim/network.js';

const A: UdpAddress = { address: '10.0.0.1', port: 9899 };
const B: UdpAddress = { address: '10.0.0.2', port: 9899 };

/** Sends `count` datagrams of `size` bytes to `to`, one every intervalMs from startMs (0 = a burst). */
class Pacer implements DatagramCore {
  sent = 0;
  next: number;
  private readonly out: Transmit[] = [];
  private outHead = 0;
  readonly received: Uint8Array[] = [];

  constructor(
    readonly to: UdpAddress,
    readonly size: number,
    readonly intervalMs: number,
    public count = Infinity,
    startMs = 0,
    readonly source?: UdpAddress,
  ) {
    this.next = startMs;
  }

  handleDatagram(_now: number, _from: UdpAddress, bytes: Uint8Array): void {
    this.received.push(bytes);
  }

  handleTimeout(now: number): void {
    while (this.next <= now && this.sent < this.count) {
      const payload = new Uint8Array(this.size);
      new DataView(payload.buffer).setUint32(0, this.sent);
      this.out.push(this.source ? { source: this.source, destination: this.to, payload } : { destination: this.to, payload });
      this.sent++;
      this.next += this.intervalMs;
    }
  }

  pollTransmit(): Transmit | undefined {
    if (this.outHead === this.out.length) return undefined;
    const tx = this.out[this.outHead++];
    if (this.outHead > 1024) {
      this.out.splice(0, this.outHead);
      this.outHead = 0;
    }
    return tx;
  }

  pollTimeout(): number | undefined {
    return this.sent < this.count ? this.next : undefined;
  }
}

/** Counts what arrives: bytes, sequence numbers, arrival times, sources, local addresses. */
class Sink implements DatagramCore {
  bytes = 0;
  readonly arrivals: Array<{ time: number; seq: number; length: number; from: UdpAddress; local?: UdpAddress }> = [];
  echo = false;
  private readonly out: Transmit[] = [];

  handleDatagram(now: number, from: UdpAddress, bytes: Uint8Array, local?: UdpAddress): void {
    this.bytes += bytes.length;
    const seq = bytes.length >= 4 ? new DataView(bytes.buffer, bytes.byteOffset).getUint32(0) : -1;
    this.arrivals.push({ time: now, seq, length: bytes.length, from, local });
    if (this.echo) this.out.push({ destination: from, payload: bytes });
  }
  handleTimeout(): void {}
  pollTransmit(): Transmit | undefined {
    return this.out.shift();
  }
  pollTimeout(): number | undefined {
    return undefined;
  }
}

function twoHosts(seed = 1): SimNetwork {
  const net = new SimNetwork({ seed });
  net.addHost('a', [A.address]);
  net.addHost('b', [B.address]);
  return net;
}

function collect(net: SimNetwork): TraceEvent[] {
  const events: TraceEvent[] = [];
  net.onTrace((e) => events.push(e));
  return events;
}

test('a 128 kbit/s link with 20 ms delay carries a saturating flow at 16,000 B/s', (t) => {
  const net = twoHosts();
  net.link('a', 'b', { delayMs: 20, rateBps: 128_000, queueBytes: 14_000 });
  // Offer 160 kbit/s: 1000-byte datagrams every 50 ms, so the bottleneck never idles.
  const sender = new Pacer(B, 1000, 50);
  const sink = new Sink();
  net.attach(sender, [A]);
  net.attach(sink, [B]);
  net.run(62_000);
  t.is(sink.arrivals[0]!.time, 62.5 + 20, 'first datagram: serialization 62.5 ms + 20 ms propagation');
  const from = 2_000;
  const to = 62_000;
  const bytes = sink.arrivals.filter((a) => a.time >= from && a.time < to).reduce((n, a) => n + a.length, 0);
  const goodput = bytes / ((to - from) / 1000);
  t.log(`goodput ${goodput.toFixed(1)} B/s over ${(to - from) / 1000} s; queue drops ${net.stats.dropped.queue}`);
  t.true(Math.abs(goodput - 16_000) / 16_000 < 0.01, `goodput ${goodput} B/s`);
  t.true(net.stats.dropped.queue > 0, 'the saturating sender overflows the queue');
  t.true(net.linkStats('a', 'b')!.maxQueuedBytes <= 14_000);
  t.is(net.linkStats('a', 'b')!.maxQueuedBytes, 14_000);
});

test('a 14 KB queue drops exactly the overflow of a burst, with reason queue', (t) => {
  const net = twoHosts();
  net.link('a', 'b', { delayMs: 20, rateBps: 128_000, queueBytes: 14_000 });
  const events = collect(net);
  const sender = new Pacer(B, 1000, 0, 30); // 30 datagrams at t=0
  const sink = new Sink();
  net.attach(sender, [A]);
  net.attach(sink, [B]);
  net.run(600);
  t.is(net.queuedBytes('a', 'b'), 14_000 - 9 * 1000, 'queue drains at the link rate (9 more left by 600 ms)');
  net.run();
  // One in service plus 14,000 bytes waiting: 15 fit, 15 overflow.
  t.deepEqual(sink.arrivals.map((a) => a.seq), Array.from({ length: 15 }, (_, i) => i));
  const drops = events.filter((e) => e.kind === 'drop');
  t.is(drops.length, 15);
  t.true(drops.every((e) => e.reason === 'queue'));
  t.deepEqual(drops.map((e) => new DataView(e.payload.buffer, e.payload.byteOffset).getUint32(0)), Array.from({ length: 15 }, (_, i) => 15 + i));
  t.is(sink.arrivals.at(-1)!.time, 15 * 62.5 + 20);
  // Once the queue has drained, a new burst fits again.
  const later = new Pacer(B, 1000, 0, 15, net.now + 1, { address: A.address, port: 1 });
  net.attach(later, [{ address: A.address, port: 1 }]);
  net.run();
  t.is(sink.arrivals.length, 30);
  t.is(net.stats.dropped.queue, 15);
});

test('the drop-tail limit counts waiting bytes, not the packet being serialized', (t) => {
  const net = twoHosts();
  net.link('a', 'b', { delayMs: 0, rateBps: 8_000, queueBytes: 1_500 }); // 1 ms per byte
  const sink = new Sink();
  net.attach(sink, [B]);
  const sizes = [1000, 1000, 500, 1, 1];
  const sender: DatagramCore & { sizes: number[] } = {
    sizes,
    handleDatagram() {},
    handleTimeout() {},
    pollTransmit: () => {
      const n = sizes.shift();
      return n === undefined ? undefined : { destination: B, payload: new Uint8Array(n) };
    },
    pollTimeout: () => undefined,
  };
  net.attach(sender, [A]);
  net.wake(sender);
  // 1000 in service; 1000 + 500 wait (= 1500, fits); the 1-byte ones overflow.
  t.is(net.queuedBytes('a', 'b'), 1500);
  net.run();
  t.deepEqual(sink.arrivals.map((a) => [a.time, a.length]), [[1000, 1000], [2000, 1000], [2500, 500]]);
  t.is(net.stats.dropped.queue, 2);
});

test('the pipe matches an event-driven reference FIFO under random arrivals and sizes', (t) => {
  const rateBps = 512_000; // 1 byte = 1/64 ms: exact binary fractions, so arrivals often tie with service starts
  const queueBytes = 5_000;
  const delayMs = 3;
  const pipe = new Pipe({ delayMs, rateBps, queueBytes }, 1);
  // Reference: a server with a waiting line, advanced departure by departure.
  const waiting: Array<{ size: number; id: number }> = [];
  let waitingBytes = 0;
  let serving: { id: number; finish: number } | undefined;
  const refExit = new Map<number, number>();
  const pipeExit = new Map<number, number>();
  const advance = (t: number): void => {
    while (serving !== undefined && serving.finish <= t) {
      const finished = serving.finish;
      const next = waiting.shift();
      serving = undefined;
      if (next !== undefined) {
        waitingBytes -= next.size;
        serving = { id: next.id, finish: finished + (next.size * 8000) / rateBps };
        refExit.set(next.id, serving.finish + delayMs);
      }
    }
  };
  let state = 99;
  const rand = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % n;
  };
  let now = 0;
  let drops = 0;
  for (let id = 0; id < 20_000; id++) {
    now += rand(4) === 0 ? 0 : rand(2000) / 64; // bursts and gaps, often exact ties
    const size = 40 + rand(1460);
    advance(now);
    let refDropped = false;
    if (serving === undefined) {
      serving = { id, finish: now + (size * 8000) / rateBps };
      refExit.set(id, serving.finish + delayMs);
    } else if (waitingBytes + size > queueBytes) {
      refDropped = true;
    } else {
      waiting.push({ size, id });
      waitingBytes += size;
    }
    const verdict = pipe.admit(now, size);
    if (refDropped) {
      drops++;
      if (verdict !== 'queue') return t.fail(`packet ${id}: reference dropped it, pipe said ${verdict}`);
      continue;
    }
    if (verdict === 'queue' || verdict === 'loss') return t.fail(`packet ${id}: pipe dropped it, reference did not`);
    pipeExit.set(id, verdict);
    if (pipe.queuedBytes(now) !== waitingBytes) return t.fail(`packet ${id}: queued ${pipe.queuedBytes(now)}, reference ${waitingBytes}`);
  }
  // A waiting packet's exit is known to the reference once it starts: drain, then compare all.
  advance(Infinity);
  t.is(refExit.size, pipeExit.size);
  let worst = 0;
  for (const [id, exit] of pipeExit) worst = Math.max(worst, Math.abs(exit - refExit.get(id)!));
  t.true(worst < 1e-6, `largest exit-time difference ${worst} ms`);
  t.log(`${drops} of 20000 dropped`);
  t.true(drops > 1000 && drops < 15_000, `${drops} drops`);
  t.is(pipe.stats.queueDropped, drops);
});

for (const p of [0.02, 0.1]) {
  test(`random loss p=${p} drops p of 100k packets within 1 percentage point`, (t) => {
    const net = twoHosts(42);
    net.link('a', 'b', { delayMs: 10, loss: p });
    const sender = new Pacer(B, 100, 0.5, 100_000);
    const sink = new Sink();
    net.attach(sender, [A]);
    net.attach(sink, [B]);
    net.run();
    const rate = net.stats.dropped.loss / 100_000;
    t.log(`p=${p}: dropped ${net.stats.dropped.loss} of 100000 = ${(rate * 100).toFixed(3)} %`);
    t.is(sink.arrivals.length + net.stats.dropped.loss, 100_000);
    t.true(Math.abs(rate - p) < 0.01, `loss rate ${rate}`);
    t.is(net.stats.dropped.queue + net.stats.dropped.unreachable, 0);
  });
}

/** A lossy, duplicating, reordering, queueing scenario in both directions; returns its full trace. */
function scenario(seed: number, extraRandomCore = false): { trace: string[]; drops: string[] } {
  const net = twoHosts(seed);
  net.link('a', 'b', {
    ab: { delayMs: 20, rateBps: 128_000, queueBytes: 4_000, loss: 0.05, duplicate: 0.05, reorder: 0.05 },
    ba: { delayMs: 25, loss: 0.1, reorder: 0.2, reorderDelayMs: 3 },
  });
  const trace: string[] = [];
  const drops: string[] = [];
  net.onTrace((e) => {
    const line = `${e.time} ${e.kind} ${e.reason ?? ''} ${e.from.address}:${e.from.port}>${e.to.address}:${e.to.port} ${Buffer.from(e.payload).toString('hex')} ${e.duplicate ?? ''} ${e.reordered ?? ''}`;
    trace.push(line);
    if (e.kind === 'drop') drops.push(line);
  });
  const sender = new Pacer(B, 600, 30, 400);
  const sink = new Sink();
  sink.echo = true;
  net.attach(sender, [A]);
  net.attach(sink, [B]);
  if (extraRandomCore) {
    // A core that draws from net.random at every tick must not change what the links do.
    const noisy: DatagramCore = {
      handleDatagram() {},
      handleTimeout() {
        net.random.bytes(16);
      },
      pollTransmit: () => undefined,
      pollTimeout: () => Math.floor(net.now) + 7,
    };
    net.addHost('c', ['10.0.0.3']);
    net.attach(noisy, [{ address: '10.0.0.3', port: 1 }]);
  }
  net.run(15_000);
  return { trace, drops };
}

test('the same seed replays the same run exactly; a different seed differs', (t) => {
  const one = scenario(7);
  const two = scenario(7);
  const other = scenario(8);
  t.true(one.trace.length > 1000);
  t.true(one.drops.length > 20);
  t.deepEqual(one.trace, two.trace);
  t.notDeepEqual(one.trace, other.trace);
  const noisy = scenario(7, true);
  t.deepEqual(noisy.drops, one.drops, "a core's randomness does not change link drops");
  t.deepEqual(noisy.trace.filter((l) => !l.includes('10.0.0.3')), one.trace);
  // Streams for cores: reproducible per seed and label, distinct across labels and seeds.
  const n7 = new SimNetwork({ seed: 7 });
  t.deepEqual(n7.deriveRandom('client').bytes(8), new SimNetwork({ seed: 7 }).deriveRandom('client').bytes(8));
  t.notDeepEqual(n7.deriveRandom('client').bytes(8), n7.deriveRandom('server').bytes(8));
  t.notDeepEqual(n7.random.bytes(8), new SimNetwork({ seed: 8 }).random.bytes(8));
});

test('62 s of virtual time on a saturated 128 kbit/s link runs in well under a second', (t) => {
  const net = twoHosts();
  net.link('a', 'b', { delayMs: 20, rateBps: 128_000, queueBytes: 14_000 });
  // Offer four times the link rate, echo every delivery back (like ACKs), and trace everything.
  const sender = new Pacer(B, 1000, 15.625);
  const sink = new Sink();
  sink.echo = true;
  let traced = 0;
  net.onTrace(() => traced++);
  net.attach(sender, [A]);
  net.attach(sink, [B]);
  const start = performance.now();
  net.run(62_000);
  const wall = performance.now() - start;
  t.log(`62 s virtual in ${wall.toFixed(1)} ms wall; ${net.stats.events} events, ${traced} trace records, goodput ${(sink.bytes / 62).toFixed(0)} B/s`);
  t.true(sink.bytes >= 0.99 * 16_000 * 61.9, 'the link stayed saturated');
  t.true(wall < 1000, `took ${wall} ms`);
});

test('a 10 MB windowed transfer over a fast link completes, every byte once (events per second logged)', (t) => {
  const net = twoHosts();
  net.link('a', 'b', { delayMs: 5, rateBps: 100_000_000, queueBytes: 1_000_000 });
  const total = 10 * 1024 * 1024;
  const size = 1200;
  const packets = Math.ceil(total / size);
  // Sender keeps 64 datagrams in flight; the receiver acknowledges each one.
  let sent = 0;
  let acked = 0;
  const sender: DatagramCore = {
    handleDatagram() {
      acked++;
    },
    handleTimeout() {},
    pollTransmit: () => {
      if (sent >= packets || sent - acked >= 64) return undefined;
      sent++;
      return { destination: B, payload: new Uint8Array(size) };
    },
    pollTimeout: () => undefined,
  };
  const sink = new Sink();
  sink.echo = true;
  net.attach(sender, [A]);
  net.attach(sink, [B]);
  const start = performance.now();
  net.wake(sender);
  net.run();
  const wall = performance.now() - start;
  t.is(sink.bytes, packets * size);
  t.is(acked, packets);
  t.log(`10 MB: ${net.stats.events} events in ${wall.toFixed(1)} ms wall = ${Math.round(net.stats.events / (wall / 1000))} events/s; virtual ${net.now.toFixed(1)} ms`);
});

test('duplication happens at its configured rate', (t) => {
  const net = twoHosts(3);
  net.link('a', 'b', { delayMs: 10, duplicate: 0.05 });
  const events = collect(net);
  const sender = new Pacer(B, 64, 1, 20_000);
  const sink = new Sink();
  net.attach(sender, [A]);
  net.attach(sink, [B]);
  net.run();
  const extra = sink.arrivals.length - 20_000;
  t.log(`duplicated ${extra} of 20000 = ${((extra / 20_000) * 100).toFixed(2)} %`);
  t.true(Math.abs(extra / 20_000 - 0.05) < 0.01);
  t.is(events.filter((e) => e.kind === 'deliver' && e.duplicate).length, extra);
  t.is(new Set(sink.arrivals.map((a) => a.seq)).size, 20_000, 'every packet arrives, some twice');
});

test('reordering happens at its configured rate, by holding a packet back', (t) => {
  const net = twoHosts(4);
  net.link('a', 'b', { delayMs: 10, reorder: 0.1, reorderDelayMs: 5 });
  const sender = new Pacer(B, 64, 1, 20_000);
  const sink = new Sink();
  net.attach(sender, [A]);
  net.attach(sink, [B]);
  net.run();
  let highest = -1;
  let late = 0;
  for (const a of sink.arrivals) {
    if (a.seq < highest) late++;
    else highest = a.seq;
  }
  const stats = net.linkStats('a', 'b')!;
  t.log(`reordered ${stats.reordered} of 20000; ${late} arrived after a later packet`);
  t.is(sink.arrivals.length, 20_000);
  t.true(Math.abs(stats.reordered / 20_000 - 0.1) < 0.01);
  t.true(Math.abs(late / 20_000 - 0.1) < 0.01);
  const held = sink.arrivals.find((a) => a.time - a.seq * 1 > 10);
  t.is(held!.time, held!.seq + 10 + 5, 'a reordered packet gets exactly reorderDelayMs extra');
});

/** Sends one small datagram to `to` whenever its timer fires, then re-arms intervalMs after that. */
class Ticker implements DatagramCore {
  next: number;
  readonly received: number[] = [];
  private readonly out: Transmit[] = [];
  constructor(readonly to: UdpAddress, readonly intervalMs: number, startMs: number) {
    this.next = startMs;
  }
  handleDatagram(now: number): void {
    this.received.push(now);
  }
  handleTimeout(now: number): void {
    if (now < this.next) return;
    this.out.push({ destination: this.to, payload: new Uint8Array(10) });
    this.next = now + this.intervalMs;
  }
  pollTransmit(): Transmit | undefined {
    return this.out.shift();
  }
  pollTimeout(): number {
    return this.next;
  }
}

test('kill stops input, transmits and timers; in-flight packets still arrive; revive resumes timers from now', (t) => {
  const net = twoHosts();
  net.link('a', 'b', { delayMs: 20 });
  const events = collect(net);
  const onB = new Ticker(A, 100, 0); // b sends at 0, 100, ...
  const onA = new Ticker(B, 100, 50); // a sends at 50, 150, ...
  net.attach(onB, [B]);
  net.attach(onA, [A]);
  const bSends: number[] = [];
  net.onTrace((e) => {
    if (e.kind === 'send' && e.from.address === B.address) bSends.push(e.time);
  });
  net.schedule(1010, () => net.kill('b'));
  net.schedule(2345, () => net.revive('b'));
  net.run(3000);
  t.false(onB.received.some((time) => time > 1010 && time < 2345), 'a killed host gets no input');
  t.true(onB.received.some((time) => time > 2345));
  const killedDrops = events.filter((e) => e.kind === 'drop' && e.reason === 'killed');
  t.is(killedDrops.length, 13, 'packets to b arriving 1070..2270 are dropped');
  t.deepEqual(
    bSends.filter((time) => time > 900 && time < 2500),
    [1000, 2345, 2445],
    'no timers while killed; the missed deadline fires at revive, then the next one',
  );
  // b's packet sent at 1000 was in flight when b died: still delivered to a at 1020.
  t.true(onA.received.includes(1020));
  // wake() on a killed host's core discards its transmits.
  net.kill('b');
  const late = new Ticker(A, 100, 0);
  net.attach(late, [{ address: B.address, port: 7 }]);
  late.handleTimeout(net.now);
  net.wake(late);
  t.is(events.at(-1)!.kind, 'drop');
  t.is(events.at(-1)!.reason, 'killed');
  t.false(net.isAlive('b'));
});

test('partition drops packets between the groups, including those in flight; heal restores', (t) => {
  const net = twoHosts();
  net.addHost('c', ['10.0.0.3']);
  const C = { address: '10.0.0.3', port: 9899 };
  net.link('a', 'b', { delayMs: 20 });
  const events = collect(net);
  const ab = new Pacer(B, 10, 10);
  const sinkB = new Sink();
  const ac = new Pacer(C, 10, 10, Infinity, 0, { address: A.address, port: 2 });
  const sinkC = new Sink();
  net.attach(ab, [A]);
  net.attach(ac, [{ address: A.address, port: 2 }]);
  net.attach(sinkB, [B]);
  net.attach(sinkC, [C]);
  net.schedule(1005, () => net.partition(['a'], ['b']));
  net.schedule(2005, () => net.heal());
  net.run(3000);
  const gap = sinkB.arrivals.filter((a) => a.time > 1005 && a.time < 2025);
  t.is(gap.length, 0);
  const partitionDrops = events.filter((e) => e.kind === 'drop' && e.reason === 'partition');
  t.is(partitionDrops.length, 100 + 2, '100 sent during the partition, 2 in flight when it began');
  t.true(sinkB.arrivals.some((a) => a.time >= 2025));
  t.is(sinkC.arrivals.length, 300, 'c is outside the partition and hears a throughout');
});

test('packets to an address nobody is attached to are dropped as unreachable', (t) => {
  const net = twoHosts();
  const events = collect(net);
  const toNowhere = new Pacer({ address: '192.0.2.1', port: 9 }, 10, 0, 1);
  const toClosedPort = new Pacer({ address: B.address, port: 4444 }, 10, 0, 1, 0, { address: A.address, port: 5 });
  net.attach(toNowhere, [A]);
  net.attach(toClosedPort, [{ address: A.address, port: 5 }]);
  net.run();
  const drops = events.filter((e) => e.kind === 'drop');
  t.deepEqual(drops.map((e) => [e.reason, e.to.address, e.time]), [
    ['unreachable', '192.0.2.1', 0],
    ['unreachable', B.address, 0.5], // crosses the default link first
  ]);
  t.is(net.stats.dropped.unreachable, 2);
});

test('wake() drains a core whose app queued data from outside a hook', (t) => {
  const net = twoHosts();
  const out: Transmit[] = [];
  let timer: number | undefined;
  const fired: number[] = [];
  const core: DatagramCore = {
    handleDatagram() {},
    handleTimeout(now) {
      fired.push(now);
      timer = undefined;
    },
    pollTransmit: () => out.shift(),
    pollTimeout: () => timer,
  };
  const sink = new Sink();
  net.attach(core, [A]);
  net.attach(sink, [B]);
  net.run(100);
  out.push({ destination: B, payload: new Uint8Array([0, 0, 0, 1]) });
  timer = 150;
  net.run(120);
  t.is(sink.arrivals.length, 0, 'nothing leaves without wake()');
  net.wake(core);
  t.is(out.length, 0);
  net.run(200);
  t.deepEqual(sink.arrivals.map((a) => [a.time, a.seq]), [[120.5, 1]]);
  t.deepEqual(fired, [150], 'wake() re-armed the timer, which then fired');
  t.throws(() => net.wake(new Sink()), { code: 'BATON_ERR_USAGE' });
});

test('a moved timer fires once at its final deadline; a timer pushed back on every input stays one queue entry', (t) => {
  const net = twoHosts();
  let deadline: number | undefined;
  const fired: number[] = [];
  const core: DatagramCore = {
    handleDatagram() {
      deadline = net.now + 1000; // like an RTO restarted by every ack
    },
    handleTimeout(now) {
      fired.push(now);
      deadline = undefined;
    },
    pollTransmit: () => undefined,
    pollTimeout: () => deadline,
  };
  net.attach(core, [B]);
  const set = (at: number, value: number | undefined): void =>
    net.schedule(at, () => {
      deadline = value;
      net.wake(core);
    });
  set(0, 100);
  set(50, 200); // later
  set(60, 70); // earlier
  set(80, 150);
  set(90, undefined); // disarmed: nothing at 150
  set(95, 400);
  net.run(1000);
  t.deepEqual(fired, [70, 400]);

  const acks = new Pacer(B, 10, 1, 10_000, 1000);
  net.attach(acks, [A]);
  let maxPending = 0;
  net.onTrace(() => {
    maxPending = Math.max(maxPending, net.pendingEvents);
  });
  net.run();
  t.true(maxPending < 10, `at most ${maxPending} events queued`);
  t.deepEqual(fired, [70, 400, 1000 + 9_999 + 0.5 + 1000]);
});

test('multiple addresses per host: Transmit.source picks the address, local says where it arrived', (t) => {
  const net = new SimNetwork({ seed: 5 });
  net.addHost('client', ['10.0.0.1', '10.0.1.1']);
  net.addHost('server', ['10.0.0.2']);
  net.link('client', 'server', { delayMs: 10 });
  net.link('10.0.1.1', 'server', { delayMs: 50 }); // the second path is slower
  const events = collect(net);
  const P1 = { address: '10.0.0.1', port: 9899 };
  const P2 = { address: '10.0.1.1', port: 9899 };
  const S = { address: '10.0.0.2', port: 9899 };
  const out: Transmit[] = [
    { destination: S, payload: new Uint8Array([0, 0, 0, 1]) },
    { source: P2, destination: S, payload: new Uint8Array([0, 0, 0, 2]) },
    { source: P1, destination: S, payload: new Uint8Array([0, 0, 0, 3]) },
    { source: { address: '10.0.0.9', port: 9899 }, destination: S, payload: new Uint8Array([0, 0, 0, 4]) },
  ];
  const client: DatagramCore & { got: Array<[number, string | undefined]> } = {
    got: [],
    handleDatagram(now, _from, _bytes, local) {
      client.got.push([now, local?.address]);
    },
    handleTimeout() {},
    pollTransmit: () => out.shift(),
    pollTimeout: () => undefined,
  };
  const server = new Sink();
  server.echo = true;
  net.attach(client, [P1, P2]);
  net.attach(server, [S]);
  net.wake(client);
  net.run();
  t.deepEqual(server.arrivals.map((a) => [a.time, a.seq, a.from.address, a.local?.address]), [
    [10, 1, '10.0.0.1', '10.0.0.2'],
    [10, 3, '10.0.0.1', '10.0.0.2'],
    [50, 2, '10.0.1.1', '10.0.0.2'],
  ]);
  t.deepEqual(client.got, [[20, '10.0.0.1'], [20, '10.0.0.1'], [100, '10.0.1.1']]);
  const bad = events.filter((e) => e.kind === 'drop');
  t.deepEqual(bad.map((e) => [e.reason, e.from.address]), [['bad-source', '10.0.0.9']]);
  t.throws(() => net.attach(new Sink(), [P1]), { code: 'BATON_ERR_USAGE', message: /in use/ });
  t.throws(() => net.attach(new Sink(), [{ address: '10.0.0.1', port: 1 }, S]), { message: /belongs to host "server"/ });
});

test('a core that throws is counted in net.errors and rethrown at the end of run()', (t) => {
  const net = twoHosts();
  const bad: DatagramCore = {
    handleDatagram() {
      throw new Error('core bug');
    },
    handleTimeout() {},
    pollTransmit: () => undefined,
    pollTimeout: () => undefined,
  };
  const sender = new Pacer(B, 10, 100, 3);
  net.attach(sender, [A]);
  net.attach(bad, [B]);
  const error = t.throws(() => net.run(), { instanceOf: SimCoreError });
  t.is(error?.code, 'BATON_ERR_SIM_CORE_THREW');
  t.is(net.errors.length, 3, 'the run went on: every delivery reached the core');
  t.is(net.errors[0]!.where, 'handleDatagram');
  t.is((error?.cause as Error).message, 'core bug');
  t.notThrows(() => net.run(), 'errors are reported once');
});

test('a throw outside a run (wake) surfaces from that call; a throwing trace listener is caught too', (t) => {
  const net = twoHosts();
  const core: DatagramCore = {
    handleDatagram() {},
    handleTimeout() {},
    pollTransmit: () => {
      throw new Error('poll bug');
    },
    pollTimeout: () => undefined,
  };
  net.attach(core, [A]);
  t.throws(() => net.wake(core), { instanceOf: SimCoreError, message: /pollTransmit: poll bug/ });
  const sender = new Pacer(B, 10, 10, 2, 0, { address: A.address, port: 1 });
  net.attach(sender, [{ address: A.address, port: 1 }]);
  net.attach(new Sink(), [B]);
  net.onTrace((e) => {
    if (e.kind === 'deliver') throw new Error('listener bug');
  });
  t.throws(() => net.run(), { instanceOf: SimCoreError, message: /2 error\(s\).*trace: listener bug/ });
  t.is(net.stats.delivered, 2, 'delivery went on');
});

test('afterInput runs after each input, and whatever it queues is drained', (t) => {
  const net = twoHosts();
  const sink = new Sink();
  sink.echo = true;
  const sender = new Pacer(B, 8, 10, 3);
  const hookTimes: number[] = [];
  net.attach(sender, [A], (now) => {
    hookTimes.push(now);
    if (sender.received.length === 3 && sender.count === 3) {
      sender.count = 4; // the app asks for one more datagram
      sender.next = now;
    }
  });
  net.attach(sink, [B]);
  net.run();
  t.is(sink.arrivals.length, 4);
  t.true(hookTimes.includes(0) && hookTimes.includes(21));
});

test('runUntil stops when the predicate holds, or at the limit', (t) => {
  const net = twoHosts();
  const sender = new Pacer(B, 8, 10);
  const sink = new Sink();
  net.attach(sender, [A]);
  net.attach(sink, [B]);
  t.true(net.runUntil(() => sink.arrivals.length === 5, 1000));
  t.is(net.now, 40.5);
  t.false(net.runUntil(() => false, 2000));
  t.is(net.now, 2000);
  net.run(2500);
  t.is(net.now, 2500);
});

test('the event queue orders by time, then by insertion', (t) => {
  const q = new EventQueue<{ time: number; seq: number; id: number }>();
  let state = 12345;
  const items: Array<{ time: number; seq: number; id: number }> = [];
  for (let id = 0; id < 5000; id++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    const e = { time: state % 50, seq: 0, id };
    items.push(e);
    q.push(e);
  }
  const popped: number[] = [];
  for (let e = q.pop(); e !== undefined; e = q.pop()) popped.push(e.id);
  const expected = [...items].sort((x, y) => x.time - y.time || x.id - y.id).map((e) => e.id);
  t.deepEqual(popped, expected);

  const net = new SimNetwork();
  const order: string[] = [];
  net.schedule(10, () => order.push('a'));
  net.schedule(5, () => order.push('b'));
  net.schedule(10, () => order.push('c'));
  net.schedule(10, () => net.schedule(10, () => order.push('d')));
  net.run();
  t.deepEqual(order, ['b', 'a', 'c', 'd']);
});
