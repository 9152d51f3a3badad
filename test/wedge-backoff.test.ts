// The takeover backoff rule (src/wedge/backoff.ts): monotone in load, bounded, deterministic per seed.
import test from 'ava';
import { DEFAULT_BACKOFF, takeoverDelay, type BackoffRule } from '../src/wedge/backoff.js';
import { SeededRandom, type RandomSource } from '../src/transport-abstraction/random.js';

/** A source whose float() is always u: the same draw for every call. */
const fixed = (u: number): RandomSource => ({ float: () => u, uint32: () => Math.floor(u * 2 ** 32), bytes: (n) => new Uint8Array(n) });

test('for a fixed draw the delay is non-decreasing in hosted and in outstanding', (t) => {
  for (const u of [0, 0.3, 0.999]) {
    let previous = -1;
    for (let hosted = 0; hosted <= 6000; hosted += 50) {
      const d = takeoverDelay({ hosted, outstanding: 7 }, fixed(u));
      t.true(d >= previous, `hosted ${hosted}, u ${u}: ${d} < ${previous}`);
      previous = d;
    }
    previous = -1;
    for (let outstanding = 0; outstanding <= 6000; outstanding += 50) {
      const d = takeoverDelay({ hosted: 100, outstanding }, fixed(u));
      t.true(d >= previous, `outstanding ${outstanding}, u ${u}: ${d} < ${previous}`);
      previous = d;
    }
  }
});

test('the window is exponential: it doubles every doublingLoad of load', (t) => {
  const rule: BackoffRule = { ...DEFAULT_BACKOFF, jitter: 0 };
  const at = (hosted: number, outstanding: number) => takeoverDelay({ hosted, outstanding }, fixed(0.5), rule);
  t.is(at(0, 0), rule.baseMs);
  t.is(at(rule.doublingLoad, 0), 2 * rule.baseMs);
  t.is(at(rule.doublingLoad, rule.doublingLoad), 4 * rule.baseMs);
  t.is(at(0, 3 * rule.doublingLoad), 8 * rule.baseMs, 'an outstanding offer weighs as much as a hosted client');
  t.true(at(1000, 0) > at(999, 0));
});

test('the delay is bounded by maxMs and never negative, whatever the load', (t) => {
  const random = new SeededRandom(7);
  for (const load of [0, 1, 399, 4000, 1e6, Number.MAX_SAFE_INTEGER, Infinity]) {
    for (let i = 0; i < 50; i++) {
      const d = takeoverDelay({ hosted: load, outstanding: load }, random);
      t.true(d >= 0 && d <= DEFAULT_BACKOFF.maxMs, `load ${load}: ${d}`);
    }
  }
  t.is(takeoverDelay({ hosted: 1e9, outstanding: 0 }, fixed(0.999999), { ...DEFAULT_BACKOFF, jitter: 0 }), DEFAULT_BACKOFF.maxMs);
});

test('with jitter 1 the delay is uniform over [0, window): its mean is about half the window', (t) => {
  const random = new SeededRandom(11);
  let sum = 0;
  let below = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const d = takeoverDelay({ hosted: 800, outstanding: 0 }, random);
    sum += d;
    if (d < 2) below++;
  }
  const window = DEFAULT_BACKOFF.baseMs * 4; // 800 = 2 doublings
  t.true(Math.abs(sum / n - window / 2) < 0.05 * window, `mean ${sum / n}`);
  t.true(Math.abs(below / n - 0.5) < 0.02, `share below window/2: ${below / n}`);
});

test('deterministic with a seed: the same seed gives the same delays, another seed other ones', (t) => {
  const run = (seed: number) => {
    const random = new SeededRandom(seed);
    return Array.from({ length: 20 }, (_, i) => takeoverDelay({ hosted: i * 100, outstanding: i }, random));
  };
  t.deepEqual(run(42), run(42));
  t.notDeepEqual(run(42), run(43));
});

test('a malformed rule is local misuse and throws BATON_ERR_USAGE', (t) => {
  for (const bad of [{ doublingLoad: 0 }, { jitter: 1.5 }, { baseMs: -1 }, { maxMs: Infinity }, { baseMs: NaN }]) {
    const error = t.throws(() => takeoverDelay({ hosted: 0, outstanding: 0 }, fixed(0.5), { ...DEFAULT_BACKOFF, ...bad }));
    t.is((error as { code?: string }).code, 'BATON_ERR_USAGE');
  }
});
