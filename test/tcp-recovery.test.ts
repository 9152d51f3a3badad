// TCP-Migrate loss recovery with chosen drops: SACK + fast recovery, RTO with backoff, delayed
// ACK, and gap-fill vs go-back-N resumption after a takeover. A small pump moves datagrams between
// endpoints with a fixed one-way delay and lets a test drop exactly the segments it names.
import test from 'ava';
import { BATCH_ACK_STRETCH } from '../src/tcp-migrate/receiver.js';
import { createHash } from 'node:crypto';
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import { SeededRandom, type RandomSource } from '../src/transport-abstraction/random.js';
import type { ResumeMode, TransportEvent } from '../src/transport-abstraction/transport.js';
import { TcpMigrateEndpoint } from '../src/tcp-migrate/endpoint.js';
import type { TcpMigrateConnection } from '../src/tcp-migrate/connection.js';
import { parseSegment, type TcpSegment } from '../src/tcp-migrate/wire.js';

interface Sent {
  time: number;
  from: string;
  to: string;
  seg: TcpSegment;
  dropped: boolean;
}

class Pump {
  now = 0;
  readonly eps = new Map<string, TcpMigrateEndpoint>();
  private flights: { at: number; from: UdpAddress; to: UdpAddress; bytes: Uint8Array }[] = [];
  readonly log: Sent[] = [];
  drop: (s: Omit<Sent, 'dropped'>) => boolean = () => false;
  dead = new Set<string>();
  hooks: (() => void)[] = [];

  /** Feed every datagram due at one instant before draining, as the real driver does with a burst. */
  batch = false;

  constructor(readonly delay = 10) {}

  random: (n: number) => RandomSource = (n) => new SeededRandom(n);

  add(address: string, listen = false): TcpMigrateEndpoint {
    const ep = new TcpMigrateEndpoint({ addresses: [{ address, port: 9898 }], listen, random: this.random(address.length * 7 + this.eps.size), rtoMin: 200 });
    this.eps.set(address, ep);
    return ep;
  }

  private drain(): void {
    for (let again = true; again; ) {
      again = false;
      for (const [addr, ep] of this.eps) {
        if (this.dead.has(addr)) continue;
        for (let tx = ep.pollTransmit(this.now); tx; tx = ep.pollTransmit(this.now)) {
          const p = parseSegment(tx.payload);
          if (!p.ok) throw new Error('emitted an unparsable segment');
          const s = { time: this.now, from: addr, to: tx.destination.address, seg: p.segment };
          const dropped = this.drop(s);
          this.log.push({ ...s, dropped });
          if (!dropped) this.flights.push({ at: this.now + this.delay, from: { address: addr, port: 9898 }, to: tx.destination, bytes: tx.payload });
        }
      }
      for (const h of this.hooks) h();
      // Hooks may have queued output: one more pass if any endpoint has something.
      for (const [addr, ep] of this.eps) {
        if (this.dead.has(addr)) continue;
        const tx = ep.pollTransmit(this.now);
        if (tx) {
          const p = parseSegment(tx.payload);
          if (!p.ok) throw new Error('emitted an unparsable segment');
          const s = { time: this.now, from: addr, to: tx.destination.address, seg: p.segment };
          const dropped = this.drop(s);
          this.log.push({ ...s, dropped });
          if (!dropped) this.flights.push({ at: this.now + this.delay, from: { address: addr, port: 9898 }, to: tx.destination, bytes: tx.payload });
          again = true;
        }
      }
    }
  }

  run(until: number, done: () => boolean = () => false): boolean {
    this.drain();
    while (!done()) {
      let next = Infinity;
      if (this.flights.length > 0) next = this.flights[0]!.at;
      for (const [addr, ep] of this.eps) {
        const t = this.dead.has(addr) ? undefined : ep.pollTimeout();
        if (t !== undefined && t < next) next = t;
      }
      if (next === Infinity || next > until) {
        this.now = Math.max(this.now, Math.min(until, next));
        return done();
      }
      this.now = Math.max(this.now, next);
      while (this.flights.length > 0 && this.flights[0]!.at <= this.now) {
        const f = this.flights.shift()!;
        if (this.dead.has(f.to.address)) continue;
        this.eps.get(f.to.address)?.handleDatagram(this.now, f.from, f.bytes, f.to);
        if (!this.batch) this.drain(); // as the sim does after every datagram
      }
      for (const [addr, ep] of this.eps) {
        const t = ep.pollTimeout();
        if (!this.dead.has(addr) && t !== undefined && t <= this.now) ep.handleTimeout(this.now);
      }
      this.drain();
    }
    return true;
  }
}

function file(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + (i >>> 8)) & 0xff;
  return out;
}
/** A full segment's data: the 1400-byte MSS less the 12 bytes of RFC 7323 timestamps (Eff.snd.MSS). */
const SEG = 1400 - 12;

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** client 10.0.0.1 downloads `data` from a 10.0.0.2. */
function setup(data: Uint8Array, delay = 10, closeAtEnd = true, random?: (n: number) => RandomSource) {
  const pump = new Pump(delay);
  if (random) pump.random = random;
  const client = pump.add('10.0.0.1');
  const a = pump.add('10.0.0.2', true);
  const conn = client.connect(0, { address: '10.0.0.2', port: 9898 }) as TcpMigrateConnection;
  const got: Uint8Array[] = [];
  const clientEvents: TransportEvent[] = [];
  const servers: { conn: TcpMigrateConnection; offset: number; active: boolean; events: TransportEvent[] }[] = [];
  let accepted: TcpMigrateConnection | undefined;
  pump.hooks.push(() => {
    for (let e = conn.pollEvent(); e; e = conn.pollEvent()) {
      clientEvents.push(e);
      if (e.type === 'data') got.push(e.bytes.slice());
      if (e.type === 'end') conn.close(pump.now);
    }
    if (!accepted) {
      accepted = a.pollAccept() as TcpMigrateConnection | undefined;
      if (accepted) servers.push({ conn: accepted, offset: 0, active: true, events: [] });
    }
    for (const s of servers) {
      for (let e = s.conn.pollEvent(); e; e = s.conn.pollEvent()) {
        s.events.push(e);
        if (e.type === 'takeover-complete') {
          s.offset = e.receiver.nextOffset;
          s.active = true;
        }
      }
      if (!s.active || s.conn.stateName === 'CLOSED') continue;
      while (s.offset < data.length) {
        const n = s.conn.send(data.subarray(s.offset, Math.min(data.length, s.offset + 65536)));
        if (n === 0) break;
        s.offset += n;
      }
      if (closeAtEnd && s.offset >= data.length && s.conn.stateName === 'ESTABLISHED') s.conn.close(pump.now);
    }
  });
  const received = (): Uint8Array => Buffer.concat(got);
  const closed = (): boolean => clientEvents.some((e) => e.type === 'closed');
  const takeover = (address: string, state: ReturnType<TcpMigrateConnection['exportState']>, n: number, mode: ResumeMode) => {
    const ep = pump.eps.get(address) ?? pump.add(address);
    const c = ep.importState(pump.now, state) as TcpMigrateConnection;
    const s = { conn: c, offset: 0, active: false, events: [] as TransportEvent[] };
    servers.push(s);
    c.takeover(pump.now, n, mode);
    return s;
  };
  return { pump, client, a, conn, received, closed, servers, clientEvents, takeover, server: () => accepted };
}

const dataFrom = (from: string) => (s: Sent) => s.from === from && s.seg.payload.length > 0 && (s.seg.flags & 0x02) === 0; // not the Migrate SYN's re-keying payload

test('SACK and fast recovery: three holes in one window are resent once each, without a timeout', (t) => {
  const data = file(300_000);
  const w = setup(data);
  const seen = new Set<number>();
  let firstDataSeq: number | undefined;
  const lost = new Set([40, 42, 44].map((k) => k * SEG));
  w.pump.drop = (s) => {
    if (s.from !== '10.0.0.2' || s.seg.payload.length === 0) return false;
    firstDataSeq ??= s.seg.seq;
    const off = (s.seg.seq - firstDataSeq) >>> 0;
    const first = !seen.has(off);
    seen.add(off);
    return first && lost.has(off);
  };
  let recovery = false;
  let maxRetries = 0;
  w.pump.hooks.push(() => {
    const s = w.server();
    if (s?.inRecovery) recovery = true;
    if (s) maxRetries = Math.max(maxRetries, s.retries);
  });
  t.true(w.pump.run(60_000, w.closed));
  t.is(sha(w.received()), sha(data));
  const sent = w.pump.log.filter(dataFrom('10.0.0.2'));
  const offsets = sent.map((s) => (s.seg.seq - firstDataSeq!) >>> 0);
  const resent = offsets.filter((o, i) => offsets.indexOf(o) !== i);
  t.deepEqual(resent.sort((x, y) => x - y), [...lost].sort((x, y) => x - y), 'exactly the lost segments were resent');
  t.true(recovery, 'the sender never entered fast recovery');
  t.is(maxRetries, 0, 'a retransmission timeout fired');
  const sacks = w.pump.log.filter((s) => s.from === '10.0.0.1' && s.seg.options.some((o) => o.type === 'sack'));
  t.true(sacks.length >= 3, 'the receiver did not report SACK blocks');
});

test('RTO: a lost tail is resent after the timeout, and the timeout doubles when it is lost again', (t) => {
  const data = file(20 * SEG);
  const w = setup(data, 10);
  let firstDataSeq: number | undefined;
  const times: number[] = [];
  w.pump.drop = (s) => {
    if (s.from !== '10.0.0.2' || s.seg.payload.length === 0) return false;
    firstDataSeq ??= s.seg.seq;
    const off = (s.seg.seq - firstDataSeq) >>> 0;
    if (off !== 19 * SEG) return false;
    times.push(s.time);
    return times.length <= 2; // the original and the first retransmission are lost
  };
  t.true(w.pump.run(60_000, w.closed));
  t.is(sha(w.received()), sha(data));
  t.is(times.length, 3);
  const first = times[1]! - times[0]!;
  const second = times[2]! - times[1]!;
  t.true(first >= 200, `first RTO ${first} ms is below rtoMin`);
  // The first timer ran from the last ACK (RTO = rtoMin = 200 ms); the second is doubled.
  t.true(first >= 200, `first RTO fired after ${first} ms`);
  t.is(second, 400, `backoff: ${first} ms then ${second} ms`);
});

test('delayed ACK: every second full segment, and within 200 ms for a lone one', (t) => {
  const data = file(100 * SEG);
  const w = setup(data);
  t.true(w.pump.run(60_000, w.closed));
  const dataSegs = w.pump.log.filter(dataFrom('10.0.0.2')).length;
  const acks = w.pump.log.filter((s) => s.from === '10.0.0.1' && s.seg.payload.length === 0 && (s.seg.flags & 0x13) === 0x10).length;
  t.true(acks <= dataSegs * 0.6 && acks >= dataSegs * 0.4, `${acks} ACKs for ${dataSegs} segments`);
  // A lone segment: the client sends 10 bytes, the server ACKs it 200 ms later.
  const w2 = setup(new Uint8Array(0), 10, false);
  w2.pump.run(1000, () => w2.server() !== undefined);
  w2.pump.run(1000, () => w2.conn.stateName === 'ESTABLISHED' && w2.pump.now > 100);
  w2.conn.send(new Uint8Array(10));
  w2.pump.run(2000, () => w2.pump.log.some((s) => s.from === '10.0.0.2' && s.seg.payload.length === 0 && s.time > 100 && (s.seg.flags & 0x10) !== 0 && w2.server()!.rcvNxt === 10));
  const sentAt = w2.pump.log.find((s) => s.from === '10.0.0.1' && s.seg.payload.length === 10)!.time;
  const ackAt = w2.pump.log.find((s) => s.from === '10.0.0.2' && s.time > sentAt && (s.seg.flags & 0x10) !== 0)!.time;
  t.is(ackAt - sentAt, 10 + 200);
});

for (const mode of ['go-back-n', 'gap-fill'] as const) {
  test(`takeover with holes at the client (${mode}): byte-exact, and what B resends`, (t) => {
    const data = file(200_000);
    const w = setup(data);
    let firstDataSeq: number | undefined;
    w.pump.drop = (s) => {
      if (s.from !== '10.0.0.2' || s.seg.payload.length === 0) return false;
      firstDataSeq ??= s.seg.seq;
      return ((s.seg.seq - firstDataSeq) >>> 0) === 30 * SEG; // one hole, A dies before repairing it
    };
    t.true(w.pump.run(5000, () => w.conn.reasm.held > 5 * SEG));
    const state = w.server()!.exportState(w.pump.now);
    w.pump.dead.add('10.0.0.2');
    const holes = w.conn.reasm.ranges();
    t.true(holes.length > 0);
    const b = w.takeover('10.0.0.3', state, 1, mode);
    t.true(w.pump.run(60_000, w.closed), 'did not finish');
    t.is(sha(w.received()), sha(data));
    const r = b.conn.receiverState()!;
    t.is(r.nextOffset, 30 * SEG);
    const fromB = w.pump.log.filter(dataFrom('10.0.0.3'));
    const firstB = (fromB[0]!.seg.seq - firstDataSeq!) >>> 0;
    t.is(firstB, 30 * SEG, 'B starts at the first missing byte');
    if (mode === 'gap-fill') {
      t.deepEqual(r.heldRanges, holes, 'the SYN/ACK reported what the client holds');
      const overlapping = fromB.filter((s) => {
        const off = (s.seg.seq - firstDataSeq!) >>> 0;
        return holes.some((h) => off >= h.start && off < h.end);
      });
      t.is(overlapping.length, 0, 'B resent bytes the client held');
    } else {
      t.deepEqual(r.heldRanges, []);
      const second = (fromB[1]!.seg.seq - firstDataSeq!) >>> 0;
      t.is(second, 31 * SEG, 'go-back-N: B resends what followed the hole');
    }
  });
}

test('sequence numbers wrap: ISNs just below 2^32, a transfer across the wrap and a takeover after it', (t) => {
  const nearWrap = (n: number): RandomSource => {
    const r = new SeededRandom(n);
    return { bytes: (k) => r.bytes(k), float: () => r.float(), uint32: () => 0xffffffff - 5000 - n };
  };
  const data = file(150_000);
  const w = setup(data, 10, true, nearWrap);
  t.true(w.pump.run(300, () => w.pump.now >= 300));
  t.true(w.server()!.iss > 0xfff00000);
  const state = w.server()!.exportState(w.pump.now);
  w.pump.dead.add('10.0.0.2');
  w.takeover('10.0.0.3', state, 1, 'go-back-n');
  t.true(w.pump.run(60_000, w.closed));
  t.is(sha(w.received()), sha(data));
});

test('handshake survives a lost SYN and a lost SYN/ACK (retransmitted after the RTO)', (t) => {
  const data = file(10_000);
  const w = setup(data);
  let syns = 0;
  let synAcks = 0;
  w.pump.drop = (s) => {
    if (s.seg.flags === 0x02 && ++syns === 1) return true;
    if (s.seg.flags === 0x12 && ++synAcks === 1) return true;
    return false;
  };
  t.true(w.pump.run(60_000, w.closed));
  t.is(sha(w.received()), sha(data));
  // SYN at 0 lost, again at 1000 (RTO); its SYN/ACK lost, the acceptor resends it at 2010,
  // before the initiator's backed-off timer (3000).
  t.is(syns, 2);
  t.is(synAcks, 2);
  const secondSynAck = w.pump.log.filter((s) => s.seg.flags === 0x12)[1]!;
  t.is(secondSynAck.time, 2010);
});

test('simultaneous close: both ends pass through CLOSING to TIME-WAIT', (t) => {
  const w = setup(file(1000), 10, false);
  t.true(w.pump.run(5000, () => w.server() !== undefined && w.received().length === 1000));
  const server = w.server()!;
  const states = new Set<string>();
  w.pump.hooks.push(() => {
    states.add(`c:${w.conn.stateName}`);
    states.add(`s:${server.stateName}`);
  });
  w.conn.close(w.pump.now);
  server.close(w.pump.now);
  t.true(w.pump.run(60_000, () => w.conn.stateName === 'CLOSED' && server.stateName === 'CLOSED'));
  for (const s of ['c:CLOSING', 's:CLOSING', 'c:TIME-WAIT', 's:TIME-WAIT']) t.true(states.has(s), `never ${s}`);
  t.true(w.clientEvents.some((e) => e.type === 'closed' && e.error === undefined));
});

test('a lost Migrate SYN is resent; a lost SYN/ACK reply is answered again for the winner (no second takeover)', (t) => {
  const data = file(200_000);
  const w = setup(data);
  t.true(w.pump.run(5000, () => w.received().length > 50_000));
  const state = w.server()!.exportState(w.pump.now);
  w.pump.dead.add('10.0.0.2');
  let migrateSyns = 0;
  let replies = 0;
  w.pump.drop = (s) => {
    if (s.from === '10.0.0.3' && s.seg.options.some((o) => o.type === 'migrate')) return ++migrateSyns === 1;
    if (s.from === '10.0.0.1' && s.seg.flags === 0x12) return ++replies === 1;
    return false;
  };
  const b = w.takeover('10.0.0.3', state, 1, 'go-back-n');
  t.true(w.pump.run(60_000, w.closed));
  t.is(sha(w.received()), sha(data));
  t.is(migrateSyns, 3, 'first lost, second answered (reply lost), third answered again');
  t.is(replies, 2);
  t.is(w.clientEvents.filter((e) => e.type === 'taken-over').length, 1, 'the retransmission did not count as a second takeover');
  t.true(b.events.some((e) => e.type === 'takeover-complete'));
});

test('one client, one server: connections one after the other and side by side use their own TCP ports', (t) => {
  const pump = new Pump(5);
  const client = pump.add('10.0.0.1');
  const server = pump.add('10.0.0.2', true);
  const accepted: TcpMigrateConnection[] = [];
  const conns: { conn: TcpMigrateConnection; got: number[]; closed: boolean }[] = [];
  const open = (): void => {
    conns.push({ conn: client.connect(pump.now, { address: '10.0.0.2', port: 9898 }) as TcpMigrateConnection, got: [], closed: false });
  };
  pump.hooks.push(() => {
    for (let c = server.pollAccept(); c; c = server.pollAccept()) {
      accepted.push(c as TcpMigrateConnection);
      c.send(new Uint8Array(3000).fill(accepted.length));
      c.close(pump.now);
    }
    for (const k of conns) {
      for (let e = k.conn.pollEvent(); e; e = k.conn.pollEvent()) {
        if (e.type === 'data') k.got.push(...new Set(e.bytes));
        if (e.type === 'end') k.conn.close(pump.now);
        if (e.type === 'closed') k.closed = !e.error;
      }
    }
  });
  open();
  t.true(pump.run(10_000, () => conns[0]!.closed));
  t.is(accepted[0]!.stateName, 'TIME-WAIT');
  open(); // while the server still holds the first in TIME-WAIT
  open(); // and a third side by side with the second
  t.true(pump.run(20_000, () => conns.every((k) => k.closed)));
  t.is(accepted.length, 3);
  const ports = new Set(conns.map((k) => k.conn.localPort));
  t.is(ports.size, 3, 'each connection has its own TCP port');
  t.deepEqual(conns.map((k) => [...new Set(k.got)].length), [1, 1, 1], 'no bytes crossed between connections');
  t.deepEqual(new Set(conns.map((k) => k.got[0])), new Set([1, 2, 3]));
});

test('one taker takes over two connections of the same client: each rebinds to its own 4-tuple', (t) => {
  const pump = new Pump(5);
  const client = pump.add('10.0.0.1');
  const a = pump.add('10.0.0.2', true);
  const b = pump.add('10.0.0.3');
  const files = [file(80_000), file(90_000).map((v) => v ^ 0x55)];
  const conns = [0, 1].map(() => client.connect(0, { address: '10.0.0.2', port: 9898 }) as TcpMigrateConnection);
  const got: Uint8Array[][] = [[], []];
  const done = [false, false];
  const servers: { conn: TcpMigrateConnection; file: Uint8Array; offset: number; on: boolean }[] = [];
  pump.hooks.push(() => {
    for (let c = a.pollAccept(); c; c = a.pollAccept()) {
      const k = servers.filter((s) => s.conn.localPort === 9898).length;
      servers.push({ conn: c as TcpMigrateConnection, file: files[k]!, offset: 0, on: true });
    }
    conns.forEach((c, i) => {
      for (let e = c.pollEvent(); e; e = c.pollEvent()) {
        if (e.type === 'data') got[i]!.push(e.bytes.slice());
        if (e.type === 'end') c.close(pump.now);
        if (e.type === 'closed') done[i] = e.error === undefined;
      }
    });
    for (const s of servers) {
      for (let e = s.conn.pollEvent(); e; e = s.conn.pollEvent()) {
        if (e.type === 'takeover-complete') {
          s.offset = e.receiver.nextOffset;
          s.on = true;
        }
      }
      if (!s.on || s.conn.stateName !== 'ESTABLISHED') continue;
      s.offset += s.conn.send(s.file.subarray(s.offset, s.offset + 32768));
      if (s.offset >= s.file.length) s.conn.close(pump.now);
    }
  });
  t.true(pump.run(5000, () => servers.length === 2 && got.every((g) => g.length > 5)));
  // The server accepted them in SYN order: match each accepted connection to the client's by port.
  for (const s of servers) s.file = files[conns.findIndex((c) => c.localPort === s.conn.remotePort)]!;
  const states = servers.map((s) => s.conn.exportState(pump.now));
  pump.dead.add('10.0.0.2');
  for (const st of states) {
    const conn = b.importState(pump.now, st) as TcpMigrateConnection;
    servers.push({ conn, file: files[conns.findIndex((c) => c.localPort === st.client.port)]!, offset: 0, on: false });
    conn.takeover(pump.now, 1, 'go-back-n');
  }
  t.true(pump.run(60_000, () => done.every(Boolean)), 'both downloads finished');
  t.is(sha(Buffer.concat(got[0]!)), sha(files[0]!));
  t.is(sha(Buffer.concat(got[1]!)), sha(files[1]!));
  t.true(conns.every((c) => c.remote.address === '10.0.0.3'));
});

test('a driver that feeds bursts before draining still gets per-segment duplicate ACKs, and an ACK per batch of at most BATCH_ACK_STRETCH segments between baton ends', (t) => {
  const data = file(300_000);
  const w = setup(data, 10);
  w.pump.batch = true;
  const seen = new Set<number>();
  let firstDataSeq: number | undefined;
  const lost = new Set([60, 61].map((k) => k * SEG));
  w.pump.drop = (s) => {
    if (s.from !== '10.0.0.2' || s.seg.payload.length === 0) return false;
    firstDataSeq ??= s.seg.seq;
    const off = (s.seg.seq - firstDataSeq) >>> 0;
    const first = !seen.has(off);
    seen.add(off);
    return first && lost.has(off);
  };
  let maxRetries = 0;
  w.pump.hooks.push(() => {
    maxRetries = Math.max(maxRetries, w.server()?.retries ?? 0);
  });
  t.true(w.pump.run(60_000, w.closed));
  t.is(sha(w.received()), sha(data));
  t.is(maxRetries, 0, 'loss was repaired by a timeout, not fast retransmit');
  const dataSegs = w.pump.log.filter(dataFrom('10.0.0.2')).length;
  const acks = w.pump.log.filter((s) => s.from === '10.0.0.1' && s.seg.payload.length === 0 && (s.seg.flags & 0x13) === 0x10).length;
  // Between baton ends one ACK per batch (receiver.ts); a peer that is not baton gets one per two
  // segments (test/batch-ack.test.ts).
  t.true(acks >= dataSegs / BATCH_ACK_STRETCH, `${acks} ACKs for ${dataSegs} segments delivered in bursts`);
  t.true(acks < dataSegs * 0.45, `${acks} ACKs for ${dataSegs} segments: fewer than one per two segments`);
});

test('gap-fill with more holes than an ACK has SACK room for: the takeover answer reports them all, B resends nothing held', (t) => {
  // With timestamps an ACK has room for 3 SACK blocks (RFC 2018); the client here holds 5 ranges
  // past 5 holes. A taker that learned only 3 of them resends the others' bytes (Figure 5's
  // "tcp gap-fill 3 s" paid ~0.5 s of link per move for that on a 128 kbit/s link).
  const data = file(300_000);
  const w = setup(data);
  let firstDataSeq: number | undefined;
  const lost = new Set([30, 32, 34, 36, 38].map((k) => k * SEG));
  w.pump.drop = (s) => {
    if (s.from !== '10.0.0.2' || s.seg.payload.length === 0) return false;
    firstDataSeq ??= s.seg.seq;
    return lost.has((s.seg.seq - firstDataSeq) >>> 0); // holes A never repairs
  };
  t.true(w.pump.run(5000, () => w.conn.reasm.ranges().length >= 5));
  const state = w.server()!.exportState(w.pump.now);
  w.pump.dead.add('10.0.0.2');
  const holes = w.conn.reasm.ranges();
  t.true(holes.length >= 5);
  const b = w.takeover('10.0.0.3', state, 1, 'gap-fill');
  t.true(w.pump.run(60_000, w.closed), 'did not finish');
  t.is(sha(w.received()), sha(data));
  t.deepEqual(b.conn.receiverState()!.heldRanges, holes, 'the SYN/ACK reported every range the client holds');
  const resentHeld = w.pump.log.filter(dataFrom('10.0.0.3')).filter((s) => {
    const off = (s.seg.seq - firstDataSeq!) >>> 0;
    return holes.some((h) => off >= h.start && off < h.end);
  });
  t.is(resentHeld.length, 0, 'B resent bytes the client held');
});

test('gap-fill when the client holds almost a full window past the hole, and B\'s first repair is lost too', (t) => {
  const data = file(300_000);
  const w = setup(data);
  let firstDataSeq: number | undefined;
  let bRepairs = 0;
  w.pump.drop = (s) => {
    if (s.seg.payload.length === 0) return false;
    firstDataSeq ??= s.seg.seq;
    const off = (s.seg.seq - firstDataSeq) >>> 0;
    if (s.from === '10.0.0.2') return off === 30 * SEG; // the hole A never repairs
    if (s.from === '10.0.0.3' && off === 30 * SEG) return ++bRepairs === 1; // B's first repair lost
    return false;
  };
  t.true(w.pump.run(5000, () => w.conn.reasm.held > 60_000));
  const state = w.server()!.exportState(w.pump.now);
  w.pump.dead.add('10.0.0.2');
  const b = w.takeover('10.0.0.3', state, 1, 'gap-fill');
  t.true(w.pump.run(60_000, w.closed), 'stalled: the ACK over the held range was not accepted');
  t.is(sha(w.received()), sha(data));
  const held = b.conn.receiverState()!.heldRanges;
  t.true(held.length === 1 && held[0]!.end - held[0]!.start > 60_000);
  t.is(bRepairs, 2, 'the repair was sent again after the timeout');
});
