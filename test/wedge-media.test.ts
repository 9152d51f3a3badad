// The paced media mapper (src/wedge/media-mapper.ts, media-pace.ts) in the simulator, both
// transports: the stream keeps its media rate; a takeover resumes at the client's exact next byte
// and at that byte's instant (each byte's delivery stays within a stated bound of its media time);
// a client that stops reading for a long virtual time holds the wedge's memory bounded; a wrong
// rate is a clear error. Seeded, virtual time.
import test from 'ava';
import { decodeTransportState, encodeTransportState } from '../src/transport-abstraction/state.js';
import type { MediaClock, StreamMapping } from '../src/transport-abstraction/state-types.js';
import { TRANSPORT_KINDS } from '../src/transports.js';
import { ClockKeepingMapperFactory, MediaMapperFactory } from '../src/wedge/media-mapper.js';
import { MediaRateError, parseRate } from '../src/wedge/media-pace.js';
import { PcrProbe } from '../src/wedge/mpeg-ts.js';
import type { Session } from '../src/wedge/session.js';
import { makeFile, sha256 } from './conformance/world.js';
import { makeTs } from './helpers/mpeg-ts.js';
import { get, WedgeWorld, type SimClient } from './wedge-sim-world.js';

const RATE = 1_000_000; // bits per second
const BYTES_PER_MS = RATE / 8000;

// Clients take 1 MiB before their reader reads, on both transports (TCP-Migrate's default is 16 MiB,
// more than a paused test stream holds): a paused client's window closes.
function pacedWorld(kind: (typeof TRANSPORT_KINDS)[number], seed: number, wedges: number, rate: number | 'mpeg-ts' = RATE): WedgeWorld {
  return new WedgeWorld({ kind, seed, wedges, clientReceiveWindow: 1024 * 1024, factory: (sim) => new MediaMapperFactory({ rate, now: () => sim.now() }) });
}

/** Records (virtual time, bytes received) at every change, while `until` is false. */
function run(world: WedgeWorld, client: SimClient, samples: Array<[number, number]>, until: () => boolean, limitMs: number): boolean {
  return world.net.runUntil(() => {
    const last = samples.at(-1);
    if (last === undefined || last[1] !== client.received) samples.push([world.net.now, client.received]);
    return until();
  }, limitMs);
}

/** Stream offset of the first body byte (the client's bytes hold one response). */
function bodyStart(client: SimClient): number {
  return Buffer.from(client.collector.bytes()).indexOf('\r\n\r\n') + 4;
}

function session(world: WedgeWorld, id: string): Session {
  const [s] = world.wedge(id).sessions.values();
  if (s === undefined) throw new Error(`${id} serves no connection`);
  return s as Session;
}

function clockOf(world: WedgeWorld, id: string): MediaClock {
  const clock = session(world, id).state(world.net.now).stream?.mediaClock;
  if (clock === undefined) throw new Error(`${id}'s mapping has no media clock`);
  return clock;
}

/** Lateness (delivery time - media time) of the first and the last body byte of every delivery. */
function lateness(samples: ReadonlyArray<[number, number]>, start: number, originMs: number): Array<{ at: number; offset: number; first: number; last: number }> {
  const due = (o: number): number => originMs + (o - start) / BYTES_PER_MS;
  const out = [];
  for (let i = 1; i < samples.length; i++) {
    const [t, b] = samples[i]!;
    const a = Math.max(samples[i - 1]![1], start);
    if (b <= a) continue;
    out.push({ at: t, offset: a, first: t - due(a), last: t - due(b - 1) });
  }
  return out;
}

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: a paced stream is delivered at its media rate, never ahead of its clock`, async (t) => {
    const world = pacedWorld(kind, 31, 2);
    const object = makeFile(400_000, 31);
    await world.startAll(new Map([['/live.ts', object]]));
    const client = world.client('w1', [get('/live.ts', true)]);
    const samples: Array<[number, number]> = [];
    t.true(run(world, client, samples, () => client.received > 1000, 10_000));
    const clock = clockOf(world, 'w1');
    t.is(clock.bitsPerSecond, RATE, 'the announced mapping carries the rate');
    t.true(run(world, client, samples, () => client.closed, 60_000), `received ${client.received}`);
    t.is(client.collector.closed?.error, undefined);
    const [response] = client.responses();
    t.is(response && sha256(response.body), sha256(object));
    const start = bodyStart(client);
    const originMs = clock.originUnixUs / 1000;
    const late = lateness(samples, start, originMs);
    const firstAt = late[0]!.at;
    const lastAt = late.at(-1)!.at;
    const measured = (object.length * 8) / ((lastAt - firstAt) / 1000);
    t.log(`${kind}: ${object.length} bytes in ${(lastAt - firstAt).toFixed(0)} ms: ${(measured / 1e6).toFixed(4)} Mbit/s at a pace of ${RATE / 1e6} Mbit/s`);
    t.true(Math.abs(measured - RATE) / RATE < 0.03, `measured ${measured} bit/s`);
    // Never early (one-way delay 5 ms at least), never late by more than a tick plus the path.
    t.true(Math.min(...late.map((l) => l.last)) >= 5, `earliest ${Math.min(...late.map((l) => l.last))} ms`);
    t.true(Math.max(...late.map((l) => l.first)) <= 40, `latest ${Math.max(...late.map((l) => l.first))} ms`);
  });

  test(`${kind}: a takeover mid-stream resumes at the exact byte and at its instant, and catches up at 1.5x the rate`, async (t) => {
    const world = pacedWorld(kind, 32, 3);
    const object = makeFile(2_500_000, 32); // 20 s of media
    await world.startAll(new Map([['/live.ts', object]]));
    const client = world.client('w1', [get('/live.ts', true)]);
    const samples: Array<[number, number]> = [];
    t.true(run(world, client, samples, () => client.received > 250_000, 20_000));
    const clock = clockOf(world, 'w1');
    const killedAt = world.net.now;
    world.net.kill('w1');
    t.true(run(world, client, samples, () => world.events('takeover-won').length > 0, 60_000));
    const takerClock = clockOf(world, world.events('takeover-won')[0]!.server);
    t.true(run(world, client, samples, () => client.closed, 120_000), `received ${client.received} by t=${world.net.now}`);
    t.is(client.collector.closed?.error, undefined);
    const [response] = client.responses();
    t.is(response && sha256(response.body), sha256(object), 'every byte once, in order: the taker resumed at the exact byte');
    const won = world.events('takeover-won');
    t.is(won.length, 1);
    const taker = won[0]!.server;
    t.deepEqual(client.takenOver, [1]);
    const start = bodyStart(client);
    const originMs = clock.originUnixUs / 1000;
    const late = lateness(samples, start, originMs);
    const resumedAt = late.find((l) => l.at > killedAt)!;
    // The gap: the first resumed byte's lateness. Bound for every byte: it (<= maxLag, 10 s) plus 40 ms.
    const gap = resumedAt.first;
    t.log(`${kind}: killed at ${killedAt} ms, ${taker} resumed at ${resumedAt.at} ms, byte ${resumedAt.offset}: ${gap.toFixed(0)} ms behind its media time`);
    t.true(gap > 2000 && gap < 10_000, `gap ${gap}`);
    for (const l of late) {
      t.true(l.last >= 5, `byte before ${l.offset} early by ${-l.last} ms`);
      t.true(l.first <= (l.at < killedAt ? 40 : gap + 40), `byte ${l.offset} at ${l.at}: ${l.first} ms late`);
    }
    // Catching up: lateness falls by 1/3 of the elapsed time (1.5x the rate), back on time after ~3 gaps.
    for (const l of late.filter((x) => x.at > resumedAt.at)) {
      const expected = Math.max(0, gap - (l.at - resumedAt.at) / 3);
      t.true(l.first <= expected + 60, `byte ${l.offset} at ${l.at}: ${l.first.toFixed(1)} ms late, catching up to ${expected.toFixed(1)}`);
    }
    const onTime = late.filter((l) => l.at > resumedAt.at + 3 * gap + 500);
    t.true(onTime.length > 0, 'the stream outlasts the catch-up');
    t.true(onTime.every((l) => l.first <= 40), 'back on its clock after the catch-up');
    // Not a burst: no second after the resume carries more than 1.5x the media rate (+ one tick and a chunk).
    for (let from = resumedAt.at; from < late.at(-1)!.at - 1000; from += 250) {
      const bytes = (at: number): number => samples.filter(([ts]) => ts <= at).at(-1)![1];
      t.true(bytes(from + 1000) - bytes(from) <= 1.5 * BYTES_PER_MS * 1000 + 4000, `${bytes(from + 1000) - bytes(from)} bytes in the second from ${from}`);
    }
    t.deepEqual(takerClock, clock, 'the taker keeps the announced clock (no restart, no slip)');
  });

  test(`${kind}: a client that stops reading for 60 s holds the wedge's memory bounded; the clock slips past the 10 s lag limit`, async (t) => {
    const world = pacedWorld(kind, 33, 2);
    const object = makeFile(3_000_000, 33); // 24 s of media
    await world.startAll(new Map([['/live.ts', object]]));
    const client = world.client('w1', [get('/live.ts', true)]);
    const samples: Array<[number, number]> = [];
    t.true(run(world, client, samples, () => client.received > 200_000, 20_000));
    const before = clockOf(world, 'w1');
    client.paused = true;
    const pausedAt = world.net.now;
    let most = { backlog: 0, buffered: 0 };
    const s = session(world, 'w1');
    t.false(
      world.net.runUntil(() => {
        most = { backlog: Math.max(most.backlog, s.backlog), buffered: Math.max(most.buffered, s.conn.bufferedAmount) };
        return false;
      }, pausedAt + 60_000),
    );
    const handed = s.sender.offset;
    t.log(`${kind}: paused 60 s: most ${most.backlog} bytes waiting in the session, ${most.buffered} in the transport; ${handed} handed to it of ${object.length}`);
    // The session's prefetch (256 KiB high water + one 16 KiB backend chunk) and the pace's transport hold (128 KiB at 1 Mbit/s, + one read).
    t.true(most.backlog <= 256 * 1024 + 16 * 1024, `backlog ${most.backlog}`);
    t.true(most.buffered <= 125_000 + 64 * 1024, `transport holds ${most.buffered}`);
    // What left the wedge went to the client's transport (its receive window: 1 MiB).
    t.true(handed < 200_000 + 1024 * 1024 + 125_000 + 64 * 1024, `handed ${handed} bytes during the pause`);
    const after = clockOf(world, 'w1');
    client.resume(world.net.now);
    const resumedAt = world.net.now;
    t.true(run(world, client, samples, () => client.closed, resumedAt + 120_000), `received ${client.received}`);
    const [response] = client.responses();
    t.is(response && sha256(response.body), sha256(object));
    // After the pause: what the transport held goes at once, then at most 1.5x the rate.
    const at = (time: number): number => samples.filter(([ts]) => ts <= time).at(-1)![1];
    const burst = at(resumedAt + 500) - at(resumedAt);
    t.true(burst <= most.buffered + 1.5 * BYTES_PER_MS * 500 + 4000, `${burst} bytes in the first 500 ms`);
    for (let from = resumedAt + 500; from < samples.at(-1)![0] - 1000; from += 500) {
      t.true(at(from + 1000) - at(from) <= 1.5 * BYTES_PER_MS * 1000 + 4000, `${at(from + 1000) - at(from)} bytes in the second from ${from}`);
    }
    const slipMs = (after.originUnixUs - before.originUnixUs) / 1000;
    t.log(`${kind}: the clock slipped ${slipMs.toFixed(0)} ms`);
    t.true(slipMs > 40_000 && slipMs < 60_000, `slipped ${slipMs} ms`);
  });
}

test('rates: --pace syntax and range; a state with an unknown rate is refused before a byte goes out', (t) => {
  t.is(parseRate('1500000'), 1_500_000);
  t.is(parseRate('1.5M'), 1_500_000);
  t.is(parseRate('256k'), 256_000);
  t.is(parseRate('2Mbit/s'), 2_000_000);
  for (const bad of ['', 'fast', '-1', '0', '1e6', '10', '20G', '1.5 Mbytes']) {
    const e = t.throws(() => parseRate(bad), { instanceOf: MediaRateError }, bad);
    t.is(e?.code, 'BATON_ERR_MEDIA_RATE');
  }
  t.throws(() => new MediaMapperFactory({ rate: 0, now: () => 0 }), { instanceOf: MediaRateError });
  const factory = new MediaMapperFactory({ rate: RATE, now: () => 0 });
  const request = new TextEncoder().encode(get('/live.ts'));
  const head = new TextEncoder().encode('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nETag: "x"\r\n\r\n');
  const mapping: StreamMapping = {
    applicationProtocol: 'http/1.1',
    objectName: '/live.ts',
    request,
    responseHeaderLength: head.length,
    validator: '"x"',
    objectLength: 1000,
    objectStart: 0,
    requestStreamOffset: 0,
    resumeContext: { responseStreamOffset: 0, responseHead: head, pendingRequests: new Uint8Array(0) },
    mediaClock: { bitsPerSecond: 0, originUnixUs: 5 },
  };
  const refused = factory.resume(mapping, head.length + 10);
  const ev = refused.pollEvent();
  t.is(ev?.type, 'close');
  t.is(ev?.type === 'close' ? ev.error?.code : undefined, 'BATON_ERR_RESUME_STATE');
  t.is(refused.pollEvent(), undefined, 'nothing to the content server, nothing to the client');
  // A good clock: the taker asks for the range and paces from the announced origin.
  const taker = factory.resume({ ...mapping, mediaClock: { bitsPerSecond: RATE, originUnixUs: 1_000_000 } }, head.length + 250);
  t.is(taker.pollEvent()?.type, 'to-backend');
  t.deepEqual(taker.paceLimit(1000, head.length + 250, 0), { limit: head.length + 250, next: 1000 + 250 / BYTES_PER_MS + 10 }, 'byte 250 is due 2 ms after the origin; blocked until a tick after');
  t.is(taker.paceLimit(1100, head.length + 250, 0).limit, head.length + 1000, '100 ms later: the whole (short) body is due');
});

test('state: the media clock travels in the announced StreamMapping (absent for unpaced streams)', (t) => {
  const mapping: StreamMapping = {
    applicationProtocol: 'http/1.1',
    objectName: '/x',
    request: new Uint8Array([1]),
    responseHeaderLength: 7,
    validator: '"v"',
    objectLength: 9,
    objectStart: 0,
    requestStreamOffset: 0,
    mediaClock: { bitsPerSecond: 3_000_000, originUnixUs: 1_764_777_600_123_456 },
  };
  const state = {
    client: { address: '10.0.0.1', port: 1, udpPort: 2 },
    server: { address: '10.0.1.1', port: 1, udpPort: 2 },
    tcp: { initiatorIsn: 0, acceptorIsn: 0, token: new Uint8Array(8), connectionKey: new Uint8Array(32), mss: 1400, sackPermitted: true, localWindowScale: 0, peerWindowScale: 0, lastMigrateRequest: 0, sndUna: 0, sndNxt: 0, rcvNxt: 0, peerWindow: 0, localIsInitiator: false, unknownOptions: new Uint8Array(0) },
    stream: mapping,
    takeoverNumber: 0,
    ownerId: 'w1',
    takenAtMs: 0,
    streamBytesSent: 0,
    streamBytesAcked: 0,
  };
  t.deepEqual(decodeTransportState(encodeTransportState(state)).stream?.mediaClock, mapping.mediaClock);
  const { mediaClock: _, ...plain } = mapping;
  t.is(decodeTransportState(encodeTransportState({ ...state, stream: plain })).stream?.mediaClock, undefined);
});

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: --pace ts: each MPEG-TS object goes at the mux rate of its own PCRs; a body that is not MPEG-TS gets 502 BATON_ERR_MEDIA_RATE`, async (t) => {
    const world = pacedWorld(kind, 35, 2, 'mpeg-ts');
    const ts = makeTs(300_000, 1_500_000, { pcrStart: 1_234_567_890 });
    const notTs = makeFile(100_000, 35);
    await world.startAll(new Map([['/a.ts', ts], ['/b.bin', notTs]]));
    const client = world.client('w1', [get('/a.ts', true)]);
    const samples: Array<[number, number]> = [];
    t.true(run(world, client, samples, () => client.received > 1000, 10_000));
    const clock = clockOf(world, 'w1');
    t.is(clock.bitsPerSecond, 1_500_000, 'the rate read from the PCRs, announced');
    t.true(run(world, client, samples, () => client.closed, 60_000));
    const [response] = client.responses();
    t.is(response && sha256(response.body), sha256(ts));
    const start = bodyStart(client);
    const firstAt = samples.find(([, n]) => n > start)![0];
    const lastAt = samples.at(-1)![0];
    const measured = (ts.length * 8) / ((lastAt - firstAt) / 1000);
    t.log(`${kind}: ${ts.length} bytes of MPEG-TS in ${(lastAt - firstAt).toFixed(0)} ms: ${(measured / 1e6).toFixed(4)} Mbit/s, PCR rate 1.5 Mbit/s`);
    t.true(Math.abs(measured - 1_500_000) / 1_500_000 < 0.03, `measured ${measured}`);
    const refused = world.client('w1', [get('/b.bin', true)]);
    t.true(world.net.runUntil(() => refused.closed, world.net.now + 10_000));
    const [answer] = refused.responses();
    t.is(answer?.status, 502);
    t.regex(Buffer.from(answer!.body).toString(), /BATON_ERR_MEDIA_RATE/);
    t.false(Buffer.from(refused.collector.bytes()).includes(Buffer.from('200 OK')), 'not a byte of the object response');
    t.is(world.events('closed', 'w1').at(-1)?.fields.code, undefined, 'answered, then closed cleanly');
  });
}

test('MPEG-TS rate: from two PCRs of one PID; not TS, no PCR, a PCR going back or a rate out of range are errors', (t) => {
  for (const rate of [64_000, 1_500_000, 38_000_000]) {
    const probe = new PcrProbe();
    const ts = makeTs(400_000, rate, { pcrEvery: rate > 10_000_000 ? 100 : 10, pcrStart: 2 ** 33 * 300 - 1_000_000_000 });
    let found: number | MediaRateError | undefined;
    for (let at = 0; found === undefined && at < ts.length; at += 1000) found = probe.push(ts.subarray(at, at + 1000));
    t.true(typeof found === 'number' && Math.abs(found - rate) / rate < 1e-5, `${String(found)} for ${rate}: within the PCR's 37 ns resolution`);
  }
  const offset = new PcrProbe().push(makeTs(20_000, 2_000_000).subarray(100));
  t.is(offset, 2_000_000, 'a body that starts mid-packet (a client Range) finds the alignment');
  const noTs = new PcrProbe().push(makeFile(10_000, 1));
  t.true(noTs instanceof MediaRateError && /not an MPEG transport stream/.test(noTs.message));
  const noPcr = new PcrProbe(50_000);
  const sparse = makeTs(80_000, 1_000_000, { pcrEvery: 1000 });
  t.is(noPcr.push(sparse.subarray(0, 40_000)), undefined, 'one PCR: more bytes needed');
  const r = noPcr.push(sparse.subarray(40_000));
  t.true(r instanceof MediaRateError && /no two PCRs of one PID in the first 50000 bytes/.test(r.message), String(r));
  const backwards = makeTs(10_000, 1_000_000, { pcrEvery: 10 });
  backwards.set(makeTs(4000, 1_000_000, { pcrEvery: 10, pcrStart: 0 }).subarray(0, 188), 1880); // packet 10: PCR 0 again
  backwards.set(makeTs(188, 1_000_000, { pcrStart: 27_000_000 }), 0); // packet 0: a second later
  const back = new PcrProbe().push(backwards);
  t.true(back instanceof MediaRateError && /does not increase/.test(back.message), String(back));
  const slow = new PcrProbe().push(makeTs(10_000, 500, { pcrEvery: 2 }));
  t.true(slow instanceof MediaRateError && /mux rate 500 bit\/s is not a media rate/.test(slow.message), String(slow));
  t.is(new PcrProbe().end().code, 'BATON_ERR_MEDIA_RATE');
});

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: two paced responses on one persistent connection: each body's clock starts when that body begins`, async (t) => {
    const world = pacedWorld(kind, 36, 2);
    const a = makeFile(100_000, 36);
    const b = makeFile(100_000, 37);
    await world.startAll(new Map([['/a.ts', a], ['/b.ts', b]]));
    const client = world.client('w1', [get('/a.ts'), get('/b.ts', true)]);
    const samples: Array<[number, number]> = [];
    t.true(run(world, client, samples, () => client.closed, 60_000));
    const [first, second] = client.responses();
    t.is(first && sha256(first.body), sha256(a));
    t.is(second && sha256(second.body), sha256(b));
    const bytes = Buffer.from(client.collector.bytes());
    const secondBody = bytes.indexOf('\r\n\r\n', bodyStart(client) + a.length) + 4;
    const at = (offset: number): number => samples.find(([, n]) => n > offset)![0];
    const firstMs = at(secondBody - 1) - at(bodyStart(client));
    const secondMs = at(bytes.length - 1) - at(secondBody);
    t.log(`${kind}: first body ${firstMs.toFixed(0)} ms, second ${secondMs.toFixed(0)} ms (800 ms of media each)`);
    t.true(Math.abs(firstMs - 800) < 30 && Math.abs(secondMs - 800) < 30, 'each body at the media rate: the second does not start its clock early and then catch up');
  });
}

test('--pace ts, one mapper: nothing of a response goes out while its rate is read; meanwhile the mapping says "not begun"; the clock starts with the body', (t) => {
  let now = 100;
  const factory = new MediaMapperFactory({ rate: 'mpeg-ts', now: () => now });
  const mapper = factory.create();
  const request = new TextEncoder().encode(get('/a.ts'));
  mapper.handleClientBytes(request);
  const first: string[] = [];
  for (let ev = mapper.pollEvent(); ev !== undefined; ev = mapper.pollEvent()) first.push(ev.type);
  t.deepEqual(first, ['to-backend', 'mapping']);
  const ts = makeTs(40_000, 2_000_000, { pcrEvery: 100 }); // PCRs at body bytes 0 and 18,800
  const head = new TextEncoder().encode(`HTTP/1.1 200 OK\r\nContent-Length: ${ts.length}\r\nETag: "ts1"\r\n\r\n`);
  mapper.handleBackendBytes(new Uint8Array([...head, ...ts.subarray(0, 10_000)]));
  t.is(mapper.pollEvent(), undefined, 'head and body held while the rate is unknown');
  const reading = mapper.mapping(0)!;
  t.is(reading.resumeContext?.responseHead.length, 0, 'announced as not begun: a taker replays the request');
  t.is(reading.responseHeaderLength, 0);
  t.is(reading.mediaClock, undefined);
  mapper.handleBackendBytes(ts.subarray(10_000, 20_000));
  const released: Array<{ type: string; length?: number }> = [];
  for (let ev = mapper.pollEvent(); ev !== undefined; ev = mapper.pollEvent()) released.push({ type: ev.type, ...(ev.type === 'to-client' ? { length: ev.bytes.length } : {}) });
  t.deepEqual(released, [
    { type: 'to-client', length: head.length },
    { type: 'mapping' },
    { type: 'to-client', length: 10_000 },
    { type: 'to-client', length: 10_000 },
  ]);
  t.deepEqual(mapper.mapping(0)!.mediaClock, { bitsPerSecond: 2_000_000, originUnixUs: 0 }, 'the rate known, the clock not started');
  now = 250;
  t.deepEqual(mapper.paceLimit(now, 0, 0), { limit: head.length }, 'the head goes at once');
  t.deepEqual(mapper.paceLimit(now, head.length, 0), { limit: head.length, next: 260 }, 'the body starts its clock now: one tick later');
  t.deepEqual(mapper.mapping(0)!.mediaClock, { bitsPerSecond: 2_000_000, originUnixUs: 250_000 });
  now = 260;
  t.is(mapper.paceLimit(now, head.length, 0).limit, head.length + 2500, 'one tick: 10 ms of 2 Mbit/s');
  now = 300;
  t.is(mapper.paceLimit(now, head.length + 2500, 0).limit, head.length + 2500 + 3750, 'the sender away for 40 ms: behind, it catches up at 1.5x, no saved-up burst');
});

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: --pace ts: a taker paces at the announced rate and origin (it does not read the rate again mid-stream)`, async (t) => {
    const world = pacedWorld(kind, 38, 2, 'mpeg-ts');
    const ts = makeTs(1_000_000, 500_000, { pcrStart: 99_000_000 }); // 16 s of media: long enough to catch up
    await world.startAll(new Map([['/a.ts', ts]]));
    const client = world.client('w1', [get('/a.ts', true)]);
    const samples: Array<[number, number]> = [];
    t.true(run(world, client, samples, () => client.received > 100_000, 20_000));
    const clock = clockOf(world, 'w1');
    t.is(clock.bitsPerSecond, 500_000);
    world.net.kill('w1');
    t.true(run(world, client, samples, () => world.events('takeover-won').length > 0, 60_000));
    t.deepEqual(clockOf(world, 'w2'), clock);
    t.true(run(world, client, samples, () => client.closed, 120_000));
    const [response] = client.responses();
    t.is(response && sha256(response.body), sha256(ts));
    const end = samples.at(-1)![0];
    const mediaEnd = clock.originUnixUs / 1000 + (ts.length * 8000) / 500_000;
    t.log(`${kind}: the stream's last byte ${(end - mediaEnd).toFixed(0)} ms after its media time`);
    t.true(end >= mediaEnd && end - mediaEnd < 100, 'caught up, on the clock at the end');
  });
}

// A taker paces by the clock in the state, not by its own --pace: w1 paces at 1 Mbit/s, the taker w2
// runs without --pace (the daemon's ClockKeepingMapperFactory) on SCTP and with --pace 4M on
// TCP-Migrate. Before, a taker without --pace resumed the stream unpaced (ahead of its clock).
for (const [kind, takerRate] of [['sctp', undefined], ['tcp', 4 * RATE]] as const) {
  test(`${kind}: a taker with ${takerRate === undefined ? 'no --pace' : `--pace ${takerRate / 1e6}M`} paces the taken-over stream by the announced clock`, async (t) => {
    let started = 0;
    const world = new WedgeWorld({
      kind,
      seed: 39,
      wedges: 2,
      clientReceiveWindow: 1024 * 1024,
      updateMs: 250, // a verdict within a second: a short stream outlasts the catch-up
      // Wedges start in order: w1 runs --pace 1M, w2 the taker's own setting.
      factory: (sim) => (started++ === 0 || takerRate !== undefined ? new MediaMapperFactory({ rate: started === 1 ? RATE : takerRate!, now: () => sim.now() }) : new ClockKeepingMapperFactory({ now: () => sim.now() })),
    });
    const object = makeFile(600_000, 39); // 4.8 s of media: the taker catches up before its end
    await world.startAll(new Map([['/live.ts', object]]));
    const client = world.client('w1', [get('/live.ts', true)]);
    const samples: Array<[number, number]> = [];
    t.true(run(world, client, samples, () => client.received > 100_000, 20_000));
    const clock = clockOf(world, 'w1');
    const killedAt = world.net.now;
    world.net.kill('w1');
    t.true(run(world, client, samples, () => world.events('takeover-won').length > 0, 60_000));
    t.is(world.events('takeover-won')[0]!.server, 'w2');
    t.deepEqual(clockOf(world, 'w2'), clock, 'the taker announces the clock it resumed by');
    t.true(run(world, client, samples, () => client.closed, 120_000), `received ${client.received}`);
    const [response] = client.responses();
    t.is(response && sha256(response.body), sha256(object), 'every byte once, in order');
    const late = lateness(samples, bodyStart(client), clock.originUnixUs / 1000);
    const after = late.filter((l) => l.at > killedAt);
    t.true(after.length > 0);
    t.true(after.every((l) => l.last >= 5), `never ahead of the announced clock; earliest ${Math.min(...after.map((l) => l.last)).toFixed(0)} ms`);
    const end = samples.at(-1)![0];
    const mediaEnd = clock.originUnixUs / 1000 + (object.length * 8000) / RATE;
    t.log(`${kind}: resumed by w2 (${takerRate ?? 'no --pace'}); the last byte ${(end - mediaEnd).toFixed(0)} ms after its media time`);
    t.true(end >= mediaEnd && end - mediaEnd < 100, 'ends on the announced clock, not on the taker\'s');
  });
}
