// Pool policies (RFC 5356) as src/wedge/policy.ts implements them, and the takeover plan built on
// them (src/wedge/policy-takeover.ts): the RFC's definitions checked on counts, seeded.
import test from 'ava';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import { parsePoolPolicy, PoolSelector, POOL_POLICIES, type PoolElement, type PoolPolicy } from '../src/wedge/policy.js';
import { parseTakeoverPolicy, planTakeover, takeoverDelays } from '../src/wedge/policy-takeover.js';

const ids = (order: readonly PoolElement[]): string[] => order.map((e) => e.id);
const firsts = (policy: PoolPolicy, pool: readonly PoolElement[], n: number, seed = 1): string[] => {
  const s = new PoolSelector(policy, new SeededRandom(seed));
  return Array.from({ length: n }, () => s.select(pool)[0]!.id);
};
const count = (xs: readonly string[]): Record<string, number> => xs.reduce<Record<string, number>>((m, x) => ({ ...m, [x]: (m[x] ?? 0) + 1 }), {});
const abc: PoolElement[] = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];

test('round robin: the elements in turn; the fallbacks follow in list order', (t) => {
  const s = new PoolSelector('round-robin', new SeededRandom(1));
  t.deepEqual(ids(s.select(abc)), ['a', 'b', 'c']);
  t.deepEqual(ids(s.select(abc)), ['b', 'c', 'a']);
  t.deepEqual(ids(s.select(abc)), ['c', 'a', 'b']);
  t.deepEqual(ids(s.select(abc)), ['a', 'b', 'c']);
});

test('weighted round robin: each element as often as its weight per round, interleaved', (t) => {
  const pool = [{ id: 'a', weight: 3 }, { id: 'b', weight: 1 }, { id: 'c', weight: 2 }];
  const picks = firsts('weighted-round-robin', pool, 12);
  t.deepEqual(count(picks.slice(0, 6)), { a: 3, b: 1, c: 2 }, 'one round of 6');
  t.deepEqual(count(picks.slice(6)), { a: 3, b: 1, c: 2 }, 'the next round');
  t.notDeepEqual(picks.slice(0, 3), ['a', 'a', 'a'], 'interleaved, not in blocks');
  t.deepEqual(picks.slice(0, 6), ['a', 'c', 'a', 'b', 'c', 'a']);
  t.false(firsts('weighted-round-robin', [{ id: 'x', weight: 0 }, { id: 'y', weight: 1 }], 5).includes('x'), 'weight 0 is never chosen');
});

test('random: uniform over the elements (chi-square, 3 cells)', (t) => {
  const n = 6000;
  const c = count(firsts('random', abc, n, 7));
  const chi = Object.values(c).reduce((s, o) => s + (o - n / 3) ** 2 / (n / 3), 0);
  t.true(chi < 13.8, `chi-square ${chi} (p = 0.001 at 2 degrees of freedom: 13.8); ${JSON.stringify(c)}`);
  const order = new PoolSelector('random', new SeededRandom(3)).select(abc);
  t.deepEqual([...ids(order)].sort(), ['a', 'b', 'c'], 'the fallbacks are every other element once');
});

test('weighted random: probability weight / sum (chi-square)', (t) => {
  const n = 8000;
  const pool = [{ id: 'a', weight: 6 }, { id: 'b', weight: 1 }, { id: 'c', weight: 1 }];
  const c = count(firsts('weighted-random', pool, n, 9));
  const expected: Record<string, number> = { a: (n * 6) / 8, b: n / 8, c: n / 8 };
  const chi = Object.entries(c).reduce((s, [k, o]) => s + (o - expected[k]!) ** 2 / expected[k]!, 0);
  t.true(chi < 13.8, `chi-square ${chi}; ${JSON.stringify(c)}`);
  t.false(firsts('weighted-random', [{ id: 'x', weight: 0 }, { id: 'y', weight: 2 }], 200).includes('x'));
});

test('least used: the lowest load; ties by round robin; unknown load last', (t) => {
  const pool = [{ id: 'a', load: 5 }, { id: 'b', load: 2 }, { id: 'c', load: 2 }, { id: 'd' }];
  const s = new PoolSelector('least-used', new SeededRandom(1));
  t.deepEqual(ids(s.select(pool)), ['b', 'c', 'a', 'd']);
  t.deepEqual(ids(s.select(pool)), ['b', 'c', 'a', 'd'], 'turn 1 starts at b: b first');
  t.deepEqual(ids(s.select(pool)), ['c', 'b', 'a', 'd'], 'turn 2 starts at c: the tie goes to c');
  t.deepEqual(firsts('least-used', [{ id: 'x' }, { id: 'y', load: 100 }], 3), ['y', 'y', 'y']);
});

test('least used with degradation: each selection adds to the chosen one until its load is reported anew', (t) => {
  const s = new PoolSelector('least-used-degradation', new SeededRandom(1));
  const pool = [{ id: 'a', load: 0 }, { id: 'b', load: 2 }];
  t.deepEqual([0, 1, 2, 3, 4].map(() => s.select(pool)[0]!.id), ['a', 'a', 'a', 'b', 'a'], 'a at 0, 1, then 2 = b (tie: turn 2 starts at a), then a at 3 > b at 2, then 3 = 3 (turn 4 starts at a)');
  // A new report for a (load 1) resets its degradation.
  t.is(s.select([{ id: 'a', load: 1 }, { id: 'b', load: 2 }])[0]!.id, 'a');
});

test('priority least used: the lowest (load + 1) / weight, the load one more connection would bring; ties in turn; unknown last', (t) => {
  // Equal weights: least used.
  t.deepEqual(firsts('priority-least-used', [{ id: 'a', load: 5 }, { id: 'b', load: 2 }], 3), ['b', 'b', 'b']);
  // Weights 4 and 1, loads 2 and 0: (2+1)/4 = 0.75 < (0+1)/1 = 1, so the bigger element although it carries more.
  const pool = [{ id: 'big', load: 2, weight: 4 }, { id: 'small', load: 0, weight: 1 }, { id: 'u', weight: 9 }];
  t.deepEqual(ids(new PoolSelector('priority-least-used', new SeededRandom(1)).select(pool)), ['big', 'small', 'u']);
  t.is(firsts('least-used', pool, 1)[0], 'small', 'where least used takes the other');
  // (3+1)/4 = 1 = (0+1)/1: a tie, taken in turn.
  t.deepEqual(firsts('priority-least-used', [{ id: 'big', load: 3, weight: 4 }, { id: 'small', load: 0, weight: 1 }], 4), ['big', 'small', 'big', 'small']);
  t.deepEqual(ids(new PoolSelector('priority-least-used', new SeededRandom(1)).select([{ id: 'z', load: 0, weight: 0 }, { id: 'y', load: 50 }])), ['y', 'z'], 'weight 0 only when nothing else is left');
});

test('randomized least used: probability 1 / (1 + load) over the sum (chi-square); unknown loads after the known', (t) => {
  const n = 9000;
  const pool = [{ id: 'a', load: 0 }, { id: 'b', load: 1 }, { id: 'c', load: 3 }];
  const c = count(firsts('randomized-least-used', pool, n, 11));
  const share: Record<string, number> = { a: 1, b: 1 / 2, c: 1 / 4 };
  const sum = 1 + 1 / 2 + 1 / 4;
  const chi = Object.entries(c).reduce((s, [k, o]) => s + (o - (n * share[k]!) / sum) ** 2 / ((n * share[k]!) / sum), 0);
  t.true(chi < 13.8, `chi-square ${chi}; ${JSON.stringify(c)}`);
  t.true(c.a! > c.b! && c.b! > c.c!, 'the less used, the more often');
  const s = new PoolSelector('randomized-least-used', new SeededRandom(5));
  for (let i = 0; i < 50; i++) t.is(s.select([{ id: 'u' }, { id: 'k', load: 40 }, { id: 'v' }])[0]!.id, 'k');
  const unknown = count(firsts('randomized-least-used', [{ id: 'u' }, { id: 'v' }], 400, 3));
  t.true(unknown.u! > 120 && unknown.v! > 120, `no load known: uniform ${JSON.stringify(unknown)}`);
});

test('policy names are the command line spelling; others refused', (t) => {
  for (const p of POOL_POLICIES) t.is(parsePoolPolicy(p), p);
  t.throws(() => parsePoolPolicy('fastest'), { code: 'BATON_ERR_USAGE' } as never);
  t.is(parseTakeoverPolicy('backoff'), 'backoff');
  t.is(parseTakeoverPolicy('least-used'), 'least-used');
  t.throws(() => parseTakeoverPolicy('roundrobin'));
});

test('takeover plan: the same on every candidate whatever the order of its inputs; ranks give the delays', (t) => {
  const keys = Array.from({ length: 12 }, (_, i) => `10.0.0.1:${4000 + i}:9000`);
  for (const policy of POOL_POLICIES) {
    const candidates = [{ id: 'w3', load: 4, weight: 2 }, { id: 'w1', load: 1 }, { id: 'w2', load: 7 }];
    const p1 = planTakeover({ policy, dead: 'w9', candidates, connections: keys });
    const p2 = planTakeover({ policy, dead: 'w9', candidates: [...candidates].reverse(), connections: [...keys].reverse() });
    t.deepEqual([...p1.entries()].sort(), [...p2.entries()].sort(), policy);
    for (const order of p1.values()) t.deepEqual([...order].sort(), ['w1', 'w2', 'w3'], `${policy}: every candidate ranked once`);
    // Exactly one candidate sends at once for each connection.
    const zero = ['w1', 'w2', 'w3'].map((id) => takeoverDelays(p1, id, 1000));
    for (const k of keys) t.is(zero.filter((d) => d.get(k) === 0).length, 1, `${policy} ${k}`);
    t.deepEqual([...new Set(zero.flatMap((d) => [...d.values()]))].sort((a, b) => a - b), [0, 1000, 2000]);
  }
  const rr = planTakeover({ policy: 'round-robin', dead: 'w9', candidates: [{ id: 'b' }, { id: 'a' }], connections: ['k1', 'k2', 'k3', 'k4'] });
  t.deepEqual([...rr.values()].map((o) => o[0]), ['a', 'b', 'a', 'b'], 'round robin spreads the dead member\'s connections');
  const lu = planTakeover({ policy: 'least-used', dead: 'w9', candidates: [{ id: 'a', load: 9 }, { id: 'b', load: 3 }], connections: ['k1', 'k2'] });
  t.deepEqual([...lu.values()].map((o) => o[0]), ['b', 'b'], 'least used: the least loaded takes them all');
  const lud = planTakeover({ policy: 'least-used-degradation', dead: 'w9', candidates: [{ id: 'a', load: 2 }, { id: 'b', load: 0 }], connections: ['k1', 'k2', 'k3', 'k4'] });
  t.deepEqual([...lud.values()].map((o) => o[0]), ['b', 'b', 'a', 'b'], 'with degradation the load evens out');
  const plu = planTakeover({ policy: 'priority-least-used', dead: 'w9', candidates: [{ id: 'a', load: 4, weight: 8 }, { id: 'b', load: 1 }], connections: ['k1', 'k2'] });
  t.deepEqual([...plu.values()].map((o) => o[0]), ['a', 'a'], 'priority least used: (4+1)/8 < (1+1)/1');
  t.is(parseTakeoverPolicy('randomized-least-used'), 'randomized-least-used');
});

test('weights in the listings: ID@ADDR=W in a peers list, ADDR[:PORT]=W in a client\'s server list; a client chooser orders them by policy', async (t) => {
  const { parsePeerEntries } = await import('../src/node/peers-file.js');
  const { parsePool, parseServerList, ServerChooser } = await import('../src/client/dial.js');
  t.deepEqual(parsePeerEntries(['a@127.0.0.2=3', 'b@127.0.0.3', 'c@[::1]=0.5'], '--peers'), [
    { id: 'a', address: '127.0.0.2', weight: 3 },
    { id: 'b', address: '127.0.0.3' },
    { id: 'c', address: '::1', weight: 0.5 },
  ]);
  t.throws(() => parsePeerEntries(['a@127.0.0.2=-1'], '--peers'), { message: /weight/ });
  t.throws(() => parsePeerEntries(['a@127.0.0.2='], '--peers'), { message: /weight/ });
  const pool = parsePool('127.0.0.2:7000=3,127.0.0.3', 'sctp', '--servers');
  t.deepEqual(pool.map((p) => [p.id, p.weight]), [['127.0.0.2:7000', 3], ['127.0.0.3:9899', 1]]);
  t.deepEqual(parseServerList('127.0.0.2=2,127.0.0.3:1234', 'tcp'), [{ address: '127.0.0.2', port: 9898 }, { address: '127.0.0.3', port: 1234 }]);
  const rr = new ServerChooser({ kind: 'list', servers: pool }, 'round-robin', new SeededRandom(1));
  t.deepEqual((await rr.next()).map((s) => s.address), ['127.0.0.2', '127.0.0.3']);
  t.deepEqual((await rr.next()).map((s) => s.address), ['127.0.0.3', '127.0.0.2'], 'connection k starts at server k mod n, as baton connect always did');
  const wrr = new ServerChooser({ kind: 'list', servers: pool }, 'weighted-round-robin', new SeededRandom(1));
  const firstsOf = [];
  for (let i = 0; i < 8; i++) firstsOf.push((await wrr.next())[0]!.address);
  t.is(firstsOf.filter((a) => a === '127.0.0.2').length, 6, 'weight 3 of 4: 6 of 8');
});
