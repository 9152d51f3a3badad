// Handshake corner cases, tag rules and out-of-the-blue handling, driven by hand: datagrams are
// carried between the two endpoints by the test, which may alter, hold or drop them.
import test from 'ava';
import { SctpEndpoint } from '../src/sctp/endpoint.js';
import { emitPacket } from '../src/sctp/wire/emit.js';
import { finalizeChecksum } from '../src/sctp/wire/crc32c.js';
import type { Chunk } from '../src/sctp/wire/types.js';
import type { SctpOptions } from '../src/sctp/options.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import { A, B, chunksOf, deliver, drain, events, packetOf, settle } from './helpers/sctp-by-hand.js';


function endpoints(opts: { listenA?: boolean; listenB?: boolean; assoc?: SctpOptions } = {}) {
  const a = new SctpEndpoint({ addresses: [A], random: new SeededRandom(1), listen: opts.listenA ?? false, association: opts.assoc });
  const b = new SctpEndpoint({ addresses: [B], random: new SeededRandom(2), listen: opts.listenB ?? true, association: opts.assoc });
  return { a, b };
}

test('handshake by hand: INIT, INIT ACK, COOKIE ECHO, COOKIE ACK with AUTH/ASCONF advertised', (t) => {
  const { a, b } = endpoints();
  const c = a.connect(0, B);
  const [init] = drain(a, 0);
  const ic = chunksOf(init!)[0]!;
  t.is(ic.type, 1);
  t.is(packetOf(init!).verificationTag, 0);
  const params = (ic as { params: Array<{ kind: string; chunkTypes?: number[]; hmacIds?: number[]; random?: Uint8Array }> }).params;
  t.deepEqual(params.find((p) => p.kind === 'supported-extensions')?.chunkTypes, [0xc1, 0x80, 0x0f]);
  t.deepEqual(params.find((p) => p.kind === 'hmac-algo')?.hmacIds, [3, 1]);
  // ASCONF and ASCONF-ACK (RFC 5061 §4.1) and DATA (SctpOptions.authenticateData, RFC 4895 §3.2).
  t.deepEqual(params.find((p) => p.kind === 'chunks')?.chunkTypes, [0xc1, 0x80, 0]);
  t.is(params.find((p) => p.kind === 'random')?.random?.length, 32);
  deliver(b, A, [init!], 1);
  t.is(b.all.length, 0, 'the listener keeps no state before COOKIE ECHO');
  const [ack] = drain(b, 1);
  t.is(chunksOf(ack!)[0]!.type, 2);
  t.is(packetOf(ack!).verificationTag, c.localTag);
  deliver(a, B, [ack!], 2);
  const [echo] = drain(a, 2);
  t.is(chunksOf(echo!)[0]!.type, 10);
  deliver(b, A, [echo!], 3);
  const s = b.pollAccept()!;
  t.is(s.stateName, 'ESTABLISHED');
  const [cack] = drain(b, 3);
  t.is(chunksOf(cack!)[0]!.type, 11);
  deliver(a, B, [cack!], 4);
  t.is(c.stateName, 'ESTABLISHED');
  t.true(c.peerKeyVector.length > 0 && s.peerKeyVector.length > 0);
  t.deepEqual(s.peerKeyVector, c.localKeyVector);
  t.deepEqual(c.peerKeyVector, s.localKeyVector);
});

test('a tampered cookie is dropped and counted; no association is created', (t) => {
  const { a, b } = endpoints();
  a.connect(0, B);
  settleUntilEcho();
  function settleUntilEcho() {
    deliver(b, A, drain(a, 0), 0);
    deliver(a, B, drain(b, 0), 0);
  }
  const [echo] = drain(a, 0);
  const bytes = echo!.payload.slice();
  bytes[12 + 4 + 20] ^= 0x40; // a byte inside the cookie
  finalizeChecksum(bytes);
  b.handleDatagram(1, A, bytes);
  t.is(b.pollAccept(), undefined);
  t.is(b.dropped.get('bad-handshake'), 1);
  t.deepEqual(drain(b, 1), []);
});

test('a stale cookie draws a Stale Cookie error; the initiator retries with a Cookie Preservative', (t) => {
  const { a, b } = endpoints({ assoc: { cookieLifetime: 1000 } });
  const c = a.connect(0, B);
  deliver(b, A, drain(a, 0), 0);
  deliver(a, B, drain(b, 0), 0);
  const echo = drain(a, 0);
  deliver(b, A, echo, 3000); // 2 s too late
  const [err] = drain(b, 3000);
  const e = chunksOf(err!)[0] as { type: number; causes: Array<{ code: number; info: Uint8Array }> };
  t.is(e.type, 9);
  t.is(e.causes[0]!.code, 3);
  t.is(new DataView(e.causes[0]!.info.buffer, e.causes[0]!.info.byteOffset).getUint32(0), 2_000_000);
  t.is(packetOf(err!).verificationTag, c.localTag);
  deliver(a, B, [err!], 3000);
  t.is(c.stateName, 'COOKIE-WAIT');
  const [init] = drain(a, 3000);
  const params = (chunksOf(init!)[0] as { params: Array<{ kind: string; increment?: number }> }).params;
  t.is(params.find((p) => p.kind === 'cookie-preservative')?.increment, 4000);
  deliver(b, A, [init!], 3000);
  settle(a, b, 3000);
  t.is(c.stateName, 'ESTABLISHED');
});

test('INIT collision: both sides connect at once and end with one association each', (t) => {
  const { a, b } = endpoints({ listenA: true, listenB: true });
  const ca = a.connect(0, B);
  const cb = b.connect(0, A);
  const initA = drain(a, 0);
  const initB = drain(b, 0);
  deliver(b, A, initA, 1);
  deliver(a, B, initB, 1);
  settle(a, b, 2);
  t.is(ca.stateName, 'ESTABLISHED');
  t.is(cb.stateName, 'ESTABLISHED');
  t.is(ca.peerTag, cb.localTag);
  t.is(cb.peerTag, ca.localTag);
  t.is(a.pollAccept(), undefined);
  t.is(b.pollAccept(), undefined);
  t.is(a.all.length, 1);
  t.is(b.all.length, 1);
  // Data flows both ways on the surviving pair.
  ca.send(new Uint8Array([1, 2, 3]));
  cb.send(new Uint8Array([4, 5]));
  settle(a, b, 3);
  const ea = events(ca).filter((e) => e.type === 'data');
  const eb = events(cb).filter((e) => e.type === 'data');
  t.deepEqual(eb.map((e) => (e.type === 'data' ? [...e.bytes] : [])), [[1, 2, 3]]);
  t.deepEqual(ea.map((e) => (e.type === 'data' ? [...e.bytes] : [])), [[4, 5]]);
});

// A peer restart (RFC 9260 §5.2.4 A) and the rest of the COOKIE ECHO table: test/sctp-restart.test.ts.

test('INIT to a port nobody listens on is refused with ABORT: BATON_ERR_REFUSED', (t) => {
  const { a, b } = endpoints({ listenB: false });
  const c = a.connect(0, B);
  deliver(b, A, drain(a, 0), 0);
  const [abort] = drain(b, 0);
  const ch = chunksOf(abort!)[0] as { type: number; reflectedTag: boolean };
  t.is(ch.type, 6);
  t.is(packetOf(abort!).verificationTag, c.localTag);
  deliver(a, B, [abort!], 0);
  const closed = events(c).find((e) => e.type === 'closed');
  t.is(closed && closed.type === 'closed' ? closed.error?.code : undefined, 'BATON_ERR_REFUSED');
});

function raw(vtag: number, chunks: Chunk[], srcPort = 9899): Uint8Array {
  return emitPacket({ sourcePort: srcPort, destinationPort: 9899, verificationTag: vtag, chunks });
}

test('out-of-the-blue packets (§8.4): ABORT with T bit, SHUTDOWN COMPLETE for SHUTDOWN ACK, silence for ABORT', (t) => {
  const { b } = endpoints();
  b.handleDatagram(0, A, raw(0x1234, [{ type: 0, immediate: false, unordered: false, beginning: true, ending: true, tsn: 5, streamId: 0, ssn: 0, ppid: 0, userData: new Uint8Array([1]) }]));
  const [r1] = drain(b, 0);
  t.is(packetOf(r1!).verificationTag, 0x1234);
  t.deepEqual(chunksOf(r1!)[0], { type: 6, reflectedTag: true, causes: [] });
  b.handleDatagram(0, A, raw(0x5678, [{ type: 8, reflectedTag: false }]));
  const [r2] = drain(b, 0);
  t.is(packetOf(r2!).verificationTag, 0x5678);
  t.deepEqual(chunksOf(r2!)[0], { type: 14, reflectedTag: true });
  b.handleDatagram(0, A, raw(0x9abc, [{ type: 6, reflectedTag: false, causes: [] }]));
  b.handleDatagram(0, A, raw(0x9abc, [{ type: 14, reflectedTag: false }]));
  b.handleDatagram(0, A, raw(0x9abc, [{ type: 11, reflectedTag: false }]));
  t.deepEqual(drain(b, 0), []);
  t.is(b.dropped.get('no-connection'), 5);
});

test('verification tags: a wrong tag is dropped; T-bit ABORT with the peer tag is accepted', (t) => {
  const { a, b } = endpoints();
  const c = a.connect(0, B);
  settle(a, b, 0);
  const s = b.pollAccept()!;
  b.handleDatagram(1, A, raw(s.localTag ^ 1, [{ type: 4, info: new Uint8Array(8) }]));
  t.is(b.dropped.get('wrong-tag'), 1);
  // ABORT with T bit must carry the sender's own tag (= s.peerTag); with our tag and T set it is wrong.
  b.handleDatagram(1, A, raw(s.localTag, [{ type: 6, reflectedTag: true, causes: [] }]));
  t.is(s.stateName, 'ESTABLISHED');
  b.handleDatagram(1, A, raw(s.peerTag, [{ type: 6, reflectedTag: true, causes: [] }]));
  t.is(s.stateName, 'CLOSED');
  t.is(c.stateName, 'ESTABLISHED');
});

test('unknown chunks follow their action bits; unknown INIT parameters are reported in INIT ACK', (t) => {
  // DATA written by hand, without AUTH: the receiver must not ask for authenticated DATA.
  const { a, b } = endpoints({ assoc: { authenticateData: false, extraInitParams: (k) => (k === 'init' ? [{ type: 0xc123, kind: 'unknown', value: new Uint8Array([9, 9, 9, 9]) }] : []) } });
  const c = a.connect(0, B);
  deliver(b, A, drain(a, 0), 0);
  const [ack] = drain(b, 0);
  const up = (chunksOf(ack!)[0] as { params: Array<{ kind: string; parameter?: Uint8Array }> }).params.find((p) => p.kind === 'unrecognized-parameter');
  t.deepEqual([...up!.parameter!], [0xc1, 0x23, 0, 8, 9, 9, 9, 9]);
  deliver(a, B, [ack!], 0);
  settle(a, b, 0);
  const s = b.pollAccept()!;
  t.is(c.stateName, 'ESTABLISHED');
  // 0xff: skip and report; then a DATA chunk that must still be processed.
  const unknown: Chunk = { type: 0xff, kind: 'unknown', flags: 0, raw: new Uint8Array([0xff, 0, 0, 8, 1, 2, 3, 4]) };
  const data: Chunk = { type: 0, immediate: false, unordered: false, beginning: true, ending: true, tsn: s.peerInitialTsn, streamId: 0, ssn: 0, ppid: 0, userData: new Uint8Array([7]) };
  b.handleDatagram(1, A, raw(s.localTag, [unknown, data]));
  const out = drain(b, 1);
  const errs = out.flatMap(chunksOf).filter((x) => x.type === 9) as Array<{ causes: Array<{ code: number }> }>;
  t.is(errs[0]?.causes[0]?.code, 6);
  t.deepEqual(events(s).filter((e) => e.type === 'data').map((e) => (e.type === 'data' ? [...e.bytes] : [])), [[7]]);
  // 0x3f: stop, discard silently — the DATA after it is not processed.
  const stop: Chunk = { type: 0x3f, kind: 'unknown', flags: 0, raw: new Uint8Array([0x3f, 0, 0, 4]) };
  b.handleDatagram(2, A, raw(s.localTag, [stop, { ...data, tsn: (s.peerInitialTsn + 1) >>> 0 } as Chunk]));
  t.deepEqual(events(s).filter((e) => e.type === 'data'), []);
});

test('a SACK for a TSN never sent is a protocol violation: ABORT with cause 13, BATON_ERR_PROTOCOL', (t) => {
  const { a, b } = endpoints();
  const c = a.connect(0, B);
  settle(a, b, 0);
  const s = b.pollAccept()!;
  events(c);
  a.handleDatagram(1, B, raw(c.localTag, [{ type: 3, cumulativeTsnAck: (c.localInitialTsn + 1000) >>> 0, advertisedReceiverWindow: 1000, gapBlocks: [], duplicateTsns: [] }]));
  const closed = events(c).find((e) => e.type === 'closed');
  t.is(closed && closed.type === 'closed' ? closed.error?.code : undefined, 'BATON_ERR_PROTOCOL');
  t.is(closed && closed.type === 'closed' ? closed.error?.wireCause : undefined, 13);
  const [abort] = drain(a, 1);
  const ch = chunksOf(abort!)[0] as { type: number; causes: Array<{ code: number }> };
  t.is(ch.type, 6);
  t.is(ch.causes[0]!.code, 13);
  deliver(b, A, [abort!], 1);
  const sc = events(s).find((e) => e.type === 'closed');
  t.is(sc && sc.type === 'closed' ? sc.error?.wireCause : undefined, 13);
});

test('delayed SACK: one packet waits 200 ms, the second packet is acknowledged at once', (t) => {
  const { a, b } = endpoints();
  const c = a.connect(0, B);
  settle(a, b, 0);
  const s = b.pollAccept()!;
  c.send(new Uint8Array(100));
  deliver(b, A, drain(a, 10), 10);
  t.deepEqual(drain(b, 10), []);
  t.is(b.pollTimeout(), 210);
  b.handleTimeout(210);
  const [sack] = drain(b, 210);
  t.is(chunksOf(sack!)[0].type, 3);
  t.is(chunksOf(sack!)[0].cumulativeTsnAck, s.receiver!.tracker.cumulativeTsn);
  c.send(new Uint8Array(100));
  deliver(b, A, drain(a, 300), 300);
  c.send(new Uint8Array(100));
  deliver(b, A, drain(a, 301), 301);
  const out = drain(b, 301);
  t.is(out.length, 1);
  t.is(chunksOf(out[0]!)[0].type, 3);
});

test('fast retransmit: one lost DATA packet is resent after three miss reports, without waiting for T3', (t) => {
  const { a, b } = endpoints({ assoc: { rto: { min: 1000, initial: 1000 } } });
  const c = a.connect(0, B);
  settle(a, b, 0);
  b.pollAccept();
  // Open the window as if slow start had run for a while.
  c.paths[0]!.cwnd = 20 * 1224;
  const before = c.paths[0]!.cwnd;
  c.send(new Uint8Array(8 * 1224));
  const burst = drain(a, 1100);
  t.true(burst.length >= 6);
  const lostTsn = chunksOf(burst[0]!).find((x) => x.type === 0).tsn as number;
  // Lose the first packet; deliver the rest one by one, carrying every SACK back.
  for (const p of burst.slice(1)) {
    b.handleDatagram(1100, A, p.payload);
    deliver(a, B, drain(b, 1100), 1100);
  }
  const resent = drain(a, 1100);
  const tsns = resent.flatMap(chunksOf).filter((x) => x.type === 0).map((x) => x.tsn);
  t.true(tsns.includes(lostTsn), 'the lost TSN went out again before any timer fired');
  t.true(c.paths[0]!.cwnd < before, 'cwnd was reduced (fast recovery)');
  deliver(b, A, resent, 1101);
  settle(a, b, 1101);
  t.is(c.sender.queue.outstandingCount, 0);
});

test('duplicate DATA is reported in the SACK duplicate-TSN list, immediately', (t) => {
  const { a, b } = endpoints();
  const c = a.connect(0, B);
  settle(a, b, 0);
  b.pollAccept();
  c.send(new Uint8Array(50));
  const [p] = drain(a, 5);
  const tsn = chunksOf(p!).find((x) => x.type === 0).tsn;
  b.handleDatagram(5, A, p!.payload);
  t.deepEqual(drain(b, 5), [], 'first copy: delayed SACK');
  b.handleDatagram(6, A, p!.payload);
  const [sack] = drain(b, 6);
  t.deepEqual(chunksOf(sack!)[0].duplicateTsns, [tsn]);
});

test('an INIT nobody answers ends in BATON_ERR_TIMEOUT after Max.Init.Retransmits', (t) => {
  const { a } = endpoints({ assoc: { maxInitRetransmits: 3, rto: { initial: 100, min: 100, max: 1000 } } });
  const c = a.connect(0, B);
  let sent = drain(a, 0).length;
  for (let i = 0; i < 10 && !c.closed; i++) {
    const d = a.pollTimeout()!;
    a.handleTimeout(d);
    sent += drain(a, d).length;
  }
  t.is(sent, 4);
  const closed = events(c).find((e) => e.type === 'closed');
  t.is(closed && closed.type === 'closed' ? closed.error?.code : undefined, 'BATON_ERR_TIMEOUT');
});

test('unrecognized parameters in an INIT ACK are reported in an ERROR bundled with COOKIE ECHO', (t) => {
  const a = new SctpEndpoint({ addresses: [A], random: new SeededRandom(1), listen: false });
  const b = new SctpEndpoint({
    addresses: [B],
    random: new SeededRandom(2),
    association: { extraInitParams: (k) => (k === 'init-ack' ? [{ type: 0xcbcd, kind: 'unknown', value: new Uint8Array([1, 2, 3, 4]) }] : []) },
  });
  a.connect(0, B);
  deliver(b, A, drain(a, 0), 0);
  deliver(a, B, drain(b, 0), 0);
  const [echo] = drain(a, 0);
  const cs = chunksOf(echo!);
  t.deepEqual(cs.map((x) => x.type), [10, 9]);
  t.is(cs[1].causes[0].code, 8);
  t.deepEqual([...cs[1].causes[0].info], [0xcb, 0xcd, 0, 8, 1, 2, 3, 4]);
});

test('shutdown with a lost SHUTDOWN COMPLETE: T2 resends SHUTDOWN ACK, answered out of the blue with T bit', (t) => {
  const { a, b } = endpoints({ assoc: { rto: { initial: 100, min: 100, max: 1000 } } });
  const c = a.connect(0, B);
  settle(a, b, 0);
  const s = b.pollAccept()!;
  c.close(10);
  deliver(b, A, drain(a, 10), 10); // SHUTDOWN
  t.is(s.stateName, 'SHUTDOWN-ACK-SENT');
  deliver(a, B, drain(b, 10), 10); // SHUTDOWN ACK
  t.is(c.stateName, 'CLOSED');
  const lost = drain(a, 10); // SHUTDOWN COMPLETE, lost
  t.is(chunksOf(lost[0]!)[0].type, 14);
  a.handleTimeout(10);
  drain(a, 10); // the closed association leaves the endpoint
  const d = b.pollTimeout()!;
  b.handleTimeout(d);
  const again = drain(b, d);
  t.is(chunksOf(again[0]!)[0].type, 8);
  deliver(a, B, again, d);
  const [sc] = drain(a, d);
  t.deepEqual(chunksOf(sc!)[0], { type: 14, reflectedTag: true });
  deliver(b, A, [sc!], d);
  t.is(s.stateName, 'CLOSED');
  t.deepEqual(events(s).filter((e) => e.type === 'closed'), [{ type: 'closed' }]);
});

test('an INIT arriving in SHUTDOWN-ACK-SENT is answered with SHUTDOWN ACK', (t) => {
  const { a, b } = endpoints();
  const c = a.connect(0, B);
  settle(a, b, 0);
  const s = b.pollAccept()!;
  c.close(10);
  deliver(b, A, drain(a, 10), 10);
  drain(b, 10);
  t.is(s.stateName, 'SHUTDOWN-ACK-SENT');
  const a2 = new SctpEndpoint({ addresses: [A], random: new SeededRandom(5), listen: false });
  a2.connect(20, B);
  deliver(b, A, drain(a2, 20), 20);
  const out = drain(b, 20);
  t.is(chunksOf(out[0]!)[0].type, 8);
});

test('a DATA chunk with the I bit (RFC 7053) is acknowledged at once', (t) => {
  const { a, b } = endpoints({ assoc: { authenticateData: false } }); // DATA written by hand, without AUTH
  const c = a.connect(0, B);
  settle(a, b, 0);
  const s = b.pollAccept()!;
  const data: Chunk = { type: 0, immediate: true, unordered: false, beginning: true, ending: true, tsn: s.peerInitialTsn, streamId: 0, ssn: 0, ppid: 0, userData: new Uint8Array([1]) };
  b.handleDatagram(5, A, raw(s.localTag, [data]));
  const out = drain(b, 5);
  t.is(out.length, 1);
  t.is(chunksOf(out[0]!)[0].type, 3);
  t.is(c.stateName, 'ESTABLISHED');
});

test('a restart INIT listing an address the association lacks is refused: ABORT with cause 11 (§5.2.2)', (t) => {
  const a = new SctpEndpoint({ addresses: [A, { address: '10.0.0.5', port: 9899 }], random: new SeededRandom(1), listen: false });
  const b = new SctpEndpoint({ addresses: [B], random: new SeededRandom(2) });
  const c = a.connect(0, B);
  settle(a, b, 0);
  const s = b.pollAccept()!;
  t.is(s.paths.length, 2);
  // A restarted client now also lists 10.0.0.9.
  const a2 = new SctpEndpoint({ addresses: [A, { address: '10.0.0.9', port: 9899 }], random: new SeededRandom(3), listen: false });
  const c2 = a2.connect(10, B);
  deliver(b, A, drain(a2, 10), 10);
  const [abort] = drain(b, 10);
  const ch = chunksOf(abort!)[0];
  t.is(ch.type, 6);
  t.is(ch.causes[0].code, 11);
  t.is(packetOf(abort!).verificationTag, c2.localTag);
  t.is(s.stateName, 'ESTABLISHED');
  t.is(c.stateName, 'ESTABLISHED');
});
