// The pure pieces both transports share (src/transport-abstraction/): X25519, the RTO estimator,
// the slab, the endpoint scheduler.
import test from 'ava';
import { agree, generateKeyPair, keyPairFrom } from '../src/transport-abstraction/x25519.js';
import { cryptoRandom, SeededRandom } from '../src/transport-abstraction/random.js';
import { RtoEstimator } from '../src/transport-abstraction/rto.js';
import { Slab } from '../src/transport-abstraction/slab.js';
import { EndpointScheduler } from '../src/transport-abstraction/scheduler.js';
import { guardMethods, InternalError } from '../src/transport-abstraction/guard.js';
import { LocalUsageError } from '../src/transport-abstraction/errors.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

test('x25519: RFC 7748 §6.1 vectors; both sides agree; a low-order peer key gives no secret', (t) => {
  const alice = keyPairFrom(hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
  const bob = keyPairFrom(hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
  t.is(Buffer.from(alice.publicKey).toString('hex'), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  t.is(Buffer.from(bob.publicKey).toString('hex'), 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
  const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
  t.is(Buffer.from(agree(alice.privateKey, bob.publicKey)!).toString('hex'), shared);
  t.is(Buffer.from(agree(bob.privateKey, alice.publicKey)!).toString('hex'), shared);
  const rnd = new SeededRandom(7);
  const a = generateKeyPair(rnd);
  const b = generateKeyPair(rnd);
  t.deepEqual(agree(a.privateKey, b.publicKey), agree(b.privateKey, a.publicKey));
  t.deepEqual(generateKeyPair(new SeededRandom(7)), a, 'the key pair is a function of the RandomSource');
  t.is(agree(a.privateKey, new Uint8Array(32)), undefined, 'the zero point');
  t.is(agree(a.privateKey, hex('0100000000000000000000000000000000000000000000000000000000000000')), undefined, 'a point of order 1');
  t.is(agree(a.privateKey, new Uint8Array(31)), undefined, 'a short key');
});

test('cryptoRandom: small draws are copies cut from a pooled block, never handed out twice', (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 300; i++) seen.add(Buffer.from(cryptoRandom.bytes(32)).toString('hex')); // past one 4 KiB block
  t.is(seen.size, 300);
  const a = cryptoRandom.bytes(16);
  const copy = a.slice();
  cryptoRandom.bytes(4000); // refills the block; `a` is its own memory
  for (let i = 0; i < 2000; i++) cryptoRandom.uint32();
  t.deepEqual(a, copy);
  t.is(a.buffer.byteLength, 16);
  const u = cryptoRandom.uint32();
  t.true(Number.isInteger(u) && u >= 0 && u < 2 ** 32);
  const f = cryptoRandom.float();
  t.true(f >= 0 && f < 1);
});

test('RTO estimator: RFC 6298 / RFC 9260 §6.3.1 rules, backoff cleared by a sample or new data, reset', (t) => {
  const r = new RtoEstimator({ initial: 1000, min: 200, max: 4000 });
  t.is(r.rto, 1000);
  r.sample(100); // SRTT 100, RTTVAR 50 → 100 + 200 = 300
  t.is(r.rto, 300);
  r.backOff();
  r.backOff();
  t.is(r.rto, 1200);
  r.clearBackoff();
  t.is(r.rto, 300, 'new data acknowledged: back to the measured RTO');
  for (let i = 0; i < 6; i++) r.backOff();
  t.is(r.rto, 4000, 'bounded by RTO.Max');
  r.sample(100); // RTTVAR 0.75·50 = 37.5, SRTT 100 → 250
  t.is(r.rto, 250);
  r.sample(1); // RTTVAR 0.75·37.5 + 0.25·99 = 52.875, SRTT 87.625 → 87.625 + 211.5
  t.is(r.rto, 87.625 + 211.5);
  r.reset();
  t.is(r.srtt, undefined);
  t.is(r.rto, 1000);
  const fast = new RtoEstimator({ initial: 1000, min: 200, max: 4000 });
  fast.sample(10);
  t.is(fast.rto, 200, 'clamped to RTO.Min');
});

test('slab: regions are never handed out twice, start 8-byte aligned, and large ones get their own buffer', (t) => {
  const slab = new Slab(1024);
  const a = slab.take(10);
  const b = slab.take(10);
  t.is(a.buffer, b.buffer);
  t.is(b.byteOffset, 16, 'aligned to 8 bytes after the first region');
  a.fill(1);
  t.true(b.every((x) => x === 0), 'writing one region leaves the next untouched');
  const big = slab.take(300);
  t.not(big.buffer, a.buffer, 'more than a quarter of the slab: a buffer of its own');
  const regions = Array.from({ length: 200 }, () => slab.take(100));
  const spans = new Map<ArrayBufferLike, [number, number][]>();
  for (const r of regions) {
    const list = spans.get(r.buffer) ?? [];
    for (const [s, e] of list) t.true(r.byteOffset >= e || r.byteOffset + r.length <= s, 'two regions overlap');
    list.push([r.byteOffset, r.byteOffset + r.length]);
    spans.set(r.buffer, list);
  }
  t.true(spans.size > 1, 'full slabs were replaced');
  // Writing in place: reserve, move when the packet outgrows the slab, commit.
  const w = new Slab(64);
  const at = w.reserve(16);
  w.buffer.set([1, 2, 3], at);
  w.move(at, at + 3, 100);
  t.deepEqual([...w.buffer.subarray(0, 3)], [1, 2, 3]);
  t.true(w.buffer.length >= 103);
  w.commit(3);
  t.is(w.reserve(1), 8);
});

test('endpoint scheduler: woken until idle, deadlines re-read only when they may have moved, stale entries skipped', (t) => {
  const deadline = new Map<string, number | undefined>([
    ['a', 100],
    ['b', 50],
    ['c', undefined],
  ]);
  let reads = 0;
  const s = new EndpointScheduler<string>((x) => {
    reads++;
    return deadline.get(x);
  });
  for (const x of ['a', 'b', 'c']) s.wake(x);
  t.deepEqual([...s.woken()], ['a', 'b', 'c']);
  t.is(s.pollTimeout(), 50);
  t.is(reads, 3);
  t.is(s.pollTimeout(), 50);
  t.is(reads, 3, 'nothing moved: no deadline read again');
  s.idle('a');
  s.idle('c');
  t.deepEqual([...s.woken()], ['b']);
  // b re-arms later: its old heap entry (50) is stale and skipped.
  deadline.set('b', 300);
  s.sent('b');
  t.is(s.pollTimeout(), 100);
  t.deepEqual(s.due(99), []);
  t.deepEqual(s.due(100), ['a']);
  t.is(s.pollTimeout(), 300, 'a is disarmed until woken again');
  s.forget('b');
  t.is(s.pollTimeout(), undefined);
  t.deepEqual([...s.woken()], []);
  deadline.set('a', 120);
  s.wake('a');
  t.deepEqual(s.due(1000), ['a']);
});

test('guard: a bug escaping a guarded method leaves as BATON_ERR_INTERNAL with the original as cause; coded errors pass as they are', (t) => {
  class Core {
    calls = 0;
    buggy(x: number): number {
      this.calls += x;
      return (undefined as unknown as { y: number }).y;
    }
    misuse(): void {
      throw new LocalUsageError('no');
    }
    fine(a: number, b: number): number {
      return a + b + this.calls;
    }
  }
  guardMethods(Core.prototype, ['buggy', 'misuse', 'fine'], 'Core');
  const c = new Core();
  const e = t.throws(() => c.buggy(2));
  t.true(e instanceof InternalError);
  t.is((e as InternalError).code, 'BATON_ERR_INTERNAL');
  t.true((e as InternalError).cause instanceof TypeError);
  t.regex(e!.message, /Core\.buggy/);
  t.is(c.calls, 2, 'the method ran with its arguments and `this`');
  t.is(t.throws(() => c.misuse())!.constructor, LocalUsageError);
  t.is(c.fine(3, 4), 9);
});
