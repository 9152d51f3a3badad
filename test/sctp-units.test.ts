// Unit tests of the association's parts: TSN tracker, reassembly, send queue and TSN runs, RTO,
// timer table, cookie.
import test from 'ava';
import { TsnTracker } from '../src/sctp/tsn-tracker.js';
import { Reassembly } from '../src/sctp/reassembly.js';
import { SendQueue } from '../src/sctp/send-queue.js';
import { RtoEstimator } from '../src/transport-abstraction/rto.js';
import { Timer, TimerTable } from '../src/sctp/timers.js';
import { checkCookie, makeCookie } from '../src/sctp/cookie.js';
import { tsnLt, ssnLt } from '../src/sctp/serial.js';
import type { DataChunk } from '../src/sctp/wire/types.js';

test('serial arithmetic wraps', (t) => {
  t.true(tsnLt(0xffffffff, 0));
  t.false(tsnLt(0, 0xffffffff));
  t.true(ssnLt(0xffff, 0));
});

test('TSN tracker: cumulative point, gap blocks, duplicates, across the wrap', (t) => {
  const k = new TsnTracker(0xfffffffe);
  t.is(k.receive(0xfffffffe), 'new');
  t.is(k.receive(1), 'new');
  t.is(k.receive(2), 'new');
  t.is(k.receive(5), 'new');
  t.is(k.receive(2), 'duplicate');
  t.is(k.receive(0xfffffffe), 'duplicate');
  t.is(k.cumulativeTsn, 0xfffffffe);
  t.deepEqual(k.gapBlocks(), [{ start: 3, end: 4 }, { start: 7, end: 7 }]);
  t.deepEqual(k.takeDuplicates(), [2, 0xfffffffe]);
  t.is(k.receive(0xffffffff), 'new');
  t.is(k.receive(0), 'new');
  t.is(k.cumulativeTsn, 2);
  t.deepEqual(k.gapBlocks(), [{ start: 3, end: 3 }]);
  t.is(k.receive(4), 'new');
  t.is(k.receive(3), 'new');
  t.is(k.cumulativeTsn, 5);
  t.false(k.hasGaps);
});

test('TSN tracker: many holes filled in random order end contiguous', (t) => {
  const k = new TsnTracker(100);
  const order = Array.from({ length: 500 }, (_, i) => 100 + i).sort((a, b) => ((a * 7919) % 503) - ((b * 7919) % 503));
  for (const x of order) k.receive(x);
  t.is(k.cumulativeTsn, 599);
  t.false(k.hasGaps);
});

function data(tsn: number, ssn: number, b: boolean, e: boolean, bytes: number[], stream = 0, unordered = false): DataChunk {
  return { type: 0, immediate: false, unordered, beginning: b, ending: e, tsn, streamId: stream, ssn, ppid: 0, userData: new Uint8Array(bytes) };
}

test('reassembly: fragments joined, ordered messages wait for their SSN, unordered go at once', (t) => {
  const got: Array<[number, number[]]> = [];
  const r = new Reassembly(2, (s, b) => got.push([s, [...b]]));
  r.add(data(12, 1, true, true, [9])); // ssn 1 before ssn 0
  r.add(data(11, 0, false, true, [3]));
  r.add(data(20, 0, true, true, [7], 1, true)); // unordered
  r.add(data(10, 0, true, false, [1, 2]));
  t.deepEqual(got, [
    [1, [7]],
    [0, [1, 2, 3]],
    [0, [9]],
  ]);
  t.is(r.bufferedBytes, 0);
  t.deepEqual(r.nextSsn, [2, 0]);
});

test('send queue (stream mode): full chunks, a short one when dry, runs and offsets, pruning', (t) => {
  const q = new SendQueue('stream', 100, 1000, 1);
  q.push(new Uint8Array(250), 0, false);
  const c1 = q.take(0, 0)!;
  const c2 = q.take(0, 0)!;
  const c3 = q.take(0, 0)!;
  t.deepEqual([c1.data.length, c2.data.length, c3.data.length], [100, 100, 50]);
  t.is(c3.flags, 3);
  t.is(q.take(0, 0), undefined);
  q.push(new Uint8Array(300), 0, false);
  for (let i = 0; i < 3; i++) q.take(0, 0);
  t.deepEqual(q.exportRuns(), [
    { firstTsn: 1000, streamOffset: 0, bytesPerTsn: 100, tsnCount: 2, streamId: 0, firstSsn: 0 },
    { firstTsn: 1002, streamOffset: 200, bytesPerTsn: 50, tsnCount: 1, streamId: 0, firstSsn: 2 },
    { firstTsn: 1003, streamOffset: 250, bytesPerTsn: 100, tsnCount: 0, streamId: 0, firstSsn: 3 },
  ]);
  t.is(q.offsetOfTsn(1004), 350);
  t.is(q.offsetOfTsn(1001), 100);
  let acked = 0;
  q.ackThrough(1002, (c) => (acked += c.data.length));
  t.is(acked, 250);
  t.deepEqual(q.exportRuns().map((r) => r.firstTsn), [1002, 1003]);
  q.ackThrough(1003, () => {});
  t.deepEqual(q.exportRuns().map((r) => r.firstTsn), [1003]);
  t.is(q.get(1004)!.tsn, 1004);
  t.is(q.outstandingBytes, 200);
});

test('send queue (stream mode): chunks spanning small writes keep their bytes while later chunks are cut', (t) => {
  // 1400-byte writes into 1436-byte chunks: nearly every chunk spans two writes and is copied into
  // the queue's slab. Every chunk must still hold its own stream bytes after ~100 more were taken.
  const q = new SendQueue('stream', 1436, 1, 1);
  const stream = Uint8Array.from({ length: 1400 * 120 }, (_, i) => (i * 31 + (i >>> 8)) & 0xff);
  for (let o = 0; o < stream.length; o += 1400) q.push(stream.subarray(o, o + 1400), 0, false);
  const chunks = [];
  for (let c = q.take(0, 0); c; c = q.take(0, 0)) chunks.push(c);
  let offset = 0;
  for (const c of chunks) {
    t.deepEqual(c.data, stream.subarray(offset, offset + c.data.length));
    offset += c.data.length;
  }
  t.is(offset, stream.length);
  t.true(new Set(chunks.map((c) => c.data.buffer)).size > 2, 'several slabs were used');
});

test('send queue (message mode): one message per send, fragmented with B/E bits and one SSN', (t) => {
  const q = new SendQueue('message', 100, 5, 3);
  q.push(new Uint8Array(250), 2, false);
  q.push(new Uint8Array(10), 2, false);
  const cs = [q.take(0, 0)!, q.take(0, 0)!, q.take(0, 0)!, q.take(0, 0)!];
  t.deepEqual(cs.map((c) => [c.tsn, c.streamId, c.ssn, c.flags, c.data.length]), [
    [5, 2, 0, 2, 100],
    [6, 2, 0, 0, 100],
    [7, 2, 0, 1, 50],
    [8, 2, 1, 3, 10],
  ]);
});

test('RTO per RFC 9260 §6.3.1: first measurement, smoothing, bounds, backoff', (t) => {
  const r = new RtoEstimator({ initial: 1000, min: 200, max: 4000 });
  t.is(r.rto, 1000);
  r.sample(100);
  t.is(r.srtt, 100);
  t.is(r.rttvar, 50);
  t.is(r.rto, 300);
  r.sample(200);
  t.is(r.rttvar, 0.75 * 50 + 0.25 * 100);
  t.is(r.srtt, 0.875 * 100 + 0.125 * 200);
  r.backOff();
  r.backOff();
  r.backOff();
  r.backOff();
  t.is(r.rto, 4000);
});

test('timer table: minimum and expiry', (t) => {
  const tt = new TimerTable();
  t.is(tt.earliest(), undefined);
  tt.set(Timer.T1_INIT, 50);
  tt.set(Timer.DELAYED_SACK, 20);
  t.is(tt.earliest(), 20);
  t.false(tt.expire(Timer.T1_INIT, 49));
  t.true(tt.expire(Timer.DELAYED_SACK, 20));
  t.is(tt.earliest(), 50);
});

test('cookie: round trip, tamper detection, staleness in microseconds', (t) => {
  const secret = new Uint8Array(32).fill(7);
  const c = {
    createdAt: 1000,
    lifetime: 500,
    localTag: 1,
    localInitialTsn: 2,
    tieLocal: 3,
    tiePeer: 4,
    outboundStreams: 5,
    inboundStreams: 6,
    localRandom: new Uint8Array(32).fill(1),
    localExtraParams: new Uint8Array([1, 2]),
    initPacket: new Uint8Array([9, 8, 7]),
  };
  const bytes = makeCookie(secret, c);
  const ok = checkCookie(secret, bytes, 1200);
  t.true(ok.ok);
  if (ok.ok) t.deepEqual(ok.cookie, c);
  const bad = bytes.slice();
  bad[20] ^= 1;
  t.deepEqual(checkCookie(secret, bad, 1200), { ok: false, reason: 'bad-mac' });
  const stale = checkCookie(secret, bytes, 1600.5);
  t.is(stale.ok ? 0 : stale.reason === 'stale' ? stale.stalenessMicros : -1, 100_500);
  t.is(checkCookie(new Uint8Array(32), bytes, 1200).ok, false);
});

test('address scoping: listed peer addresses of another family or loopback-ness are not used', async (t) => {
  const { inScope } = await import('../src/sctp/association.js');
  t.true(inScope('127.0.0.2', '127.0.0.1'));
  t.false(inScope('192.0.2.2', '127.0.0.1'));
  t.false(inScope('::1', '127.0.0.1'));
  t.false(inScope('fd00::2', '127.0.0.1'));
  t.true(inScope('10.0.0.3', '10.0.0.2'));
  t.false(inScope('127.0.0.1', '10.0.0.2'));
  t.true(inScope('fd00::2', 'fd00::1'));
});
