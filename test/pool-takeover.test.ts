// Takeover selection by pool policy (src/wedge/policy-takeover.ts) with many wedges in the
// simulator: the candidate the plan names wins each connection, no connection has two winners,
// the other candidates never send (they withdraw when they see the winner's number), and when
// the chosen candidate is dead too the next in the plan takes over after the fallback time.
import test from 'ava';
import { connectionKey } from '../src/wedge/soft-state-table.js';
import { planTakeover } from '../src/wedge/policy-takeover.js';
import type { TakeoverPolicy } from '../src/wedge/policy-takeover.js';
import { TRANSPORT_KINDS } from '../src/transports.js';
import type { TransportKind } from '../src/transport-abstraction/transport.js';
import { makeFile, sha256 } from './conformance/world.js';
import { get, WedgeWorld, type SimClient } from './wedge-sim-world.js';

interface Run {
  world: WedgeWorld;
  clients: SimClient[];
  object: Uint8Array;
  /** Connection name (ADDR:UDPPORT) -> table key, of the victim's connections. */
  victimKeys: Map<string, string>;
}

/** `perWedge[i]` clients on wedge w(i+1); the victim killed once every client is well into its download. */
async function run(kind: TransportKind, policy: TakeoverPolicy, perWedge: readonly number[], victims: readonly string[], seed: number, weights: Record<string, number> = {}): Promise<Run> {
  const world = new WedgeWorld({ kind, seed, wedges: perWedge.length, rate: 100_000, takeoverPolicy: policy });
  for (let i = 0; i < world.peers.length; i++) {
    const p = world.peers[i]!;
    if (weights[p.id] !== undefined) world.peers[i] = { ...p, weight: weights[p.id]! };
  }
  const object = makeFile(300_000, seed);
  await world.startAll(new Map([['/o', object]]));
  const clients: SimClient[] = [];
  perWedge.forEach((n, i) => {
    for (let k = 0; k < n; k++) clients.push(world.client(`w${i + 1}`, [get('/o', true)]));
  });
  if (!world.net.runUntil(() => clients.every((c) => c.received > 60_000), 60_000)) throw new Error('clients did not start');
  // Let one more announcement period pass so every member heard every load.
  const until = world.net.now + 1500;
  world.net.runUntil(() => world.net.now >= until, 5000);
  const observer = world.peers.find((p) => !victims.includes(p.id))!.id;
  const victimKeys = new Map<string, string>();
  for (const e of world.wedge(observer).channel.table.all()) {
    if (victims.includes(e.state.ownerId)) victimKeys.set(`${e.state.client.address}:${e.state.client.udpPort}`, connectionKey(e.state.client));
  }
  for (const v of victims) world.net.kill(v);
  if (!world.net.runUntil(() => clients.every((c) => c.closed), 300_000)) throw new Error(`${clients.filter((c) => !c.closed).length} clients unfinished`);
  // And past every fallback (rank 4 waits 4 update periods of 1 s), to see them withdraw.
  const after = world.net.now + 6000;
  world.net.runUntil(() => world.net.now >= after, 10_000);
  return { world, clients, object, victimKeys };
}

function checkWhole(t: { is: (a: unknown, b: unknown, m?: string) => void }, r: Run): void {
  for (const c of r.clients) t.is(sha256(c.responses()[0]?.body ?? new Uint8Array()), sha256(r.object), 'every download whole');
}

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: round robin over 5 survivors — each of the victim's 10 connections goes to the plan's choice, one request each, the others withdraw`, async (t) => {
    const r = await run(kind, 'round-robin', [10, 2, 2, 2, 2, 2], ['w1'], 51);
    checkWhole(t, r);
    const won = r.world.events('takeover-won');
    const starts = r.world.events('takeover-start');
    t.is(won.length, 10);
    t.is(starts.length, 10, 'no candidate but the chosen one sent a request');
    t.is(new Set(won.map((w) => w.fields.connection)).size, 10, 'no connection won twice');
    // The plan, computed here from the same inputs: the candidates all 2 connections.
    const plan = planTakeover({ policy: 'round-robin', dead: 'w1', candidates: ['w2', 'w3', 'w4', 'w5', 'w6'].map((id) => ({ id })), connections: [...r.victimKeys.values()] });
    for (const w of won) t.is(w.server, plan.get(r.victimKeys.get(String(w.fields.connection))!)![0], `${String(w.fields.connection)}`);
    const per = new Map<string, number>();
    for (const w of won) per.set(w.server, (per.get(w.server) ?? 0) + 1);
    t.deepEqual([...per.values()], [2, 2, 2, 2, 2], 'round robin: 10 connections, 2 to each of 5');
    // Every candidate planned; the ones not chosen skipped their fallbacks (the winner's number came first).
    t.is(r.world.events('takeover-plan').length, 5);
    const skipped = r.world.events('takeover-lost').filter((l) => l.fields.reason === 'newer-state' || l.fields.reason === 'dropped');
    t.is(skipped.length, 40, 'each connection: 4 fallbacks withdrew');
    for (const s of r.world.peers.filter((p) => p.id !== 'w1')) t.is(r.world.wedge(s.id).counters.takeoversLost, 0);
  });
}

test('sctp: least used — the least loaded survivor takes all; with degradation they spread as loads even out', async (t) => {
  const lu = await run('sctp', 'least-used', [5, 3, 0, 4], ['w1'], 53);
  checkWhole(t, lu);
  const won = lu.world.events('takeover-won');
  t.is(won.length, 5);
  t.true(won.every((w) => w.server === 'w3'), `w3 carried nothing: ${won.map((w) => w.server).join(',')}`);
  t.is(lu.world.events('takeover-start').length, 5);

  const lud = await run('sctp', 'least-used-degradation', [5, 3, 0, 4], ['w1'], 53);
  checkWhole(t, lud);
  const per = new Map<string, number>();
  for (const w of lud.world.events('takeover-won')) per.set(w.server, (per.get(w.server) ?? 0) + 1);
  // Loads w2 3, w3 0, w4 4: w3 takes 3 (to 3), then ties w2/w3 share, w4 last: 5 = w3 4 + w2 1 or w3 3 + w2 2.
  t.is((per.get('w3') ?? 0) + (per.get('w2') ?? 0), 5, JSON.stringify([...per]));
  t.true((per.get('w3') ?? 0) >= 3);
  t.is(per.get('w4'), undefined);
});

test('tcp: weighted random — the plan\'s choice wins; weight 0 never takes over', async (t) => {
  const r = await run('tcp', 'weighted-random', [8, 1, 1, 1], ['w1'], 55, { w2: 3, w3: 1, w4: 0 });
  checkWhole(t, r);
  const won = r.world.events('takeover-won');
  t.is(won.length, 8);
  t.is(r.world.events('takeover-start').length, 8);
  const plan = planTakeover({ policy: 'weighted-random', dead: 'w1', candidates: [{ id: 'w2', weight: 3 }, { id: 'w3', weight: 1 }, { id: 'w4', weight: 0 }], connections: [...r.victimKeys.values()] });
  for (const w of won) t.is(w.server, plan.get(r.victimKeys.get(String(w.fields.connection))!)![0]);
  t.false(won.some((w) => w.server === 'w4'));
});

test('sctp: the chosen candidate is dead too — the next in the plan takes over after the fallback time', async (t) => {
  // w1 and w2 die together: for w1's connections the round-robin plan over w2..w4 names w2 for some;
  // w2 is dead, so w3/w4 (rank 1, then 2) take those after one update period each.
  const r = await run('sctp', 'round-robin', [6, 2, 2, 2], ['w1', 'w2'], 57);
  checkWhole(t, r);
  const won = r.world.events('takeover-won');
  t.is(won.length, 8, 'all 6 + 2 connections taken over');
  t.is(new Set(won.map((w) => w.fields.connection)).size, 8, 'none twice');
  t.true(won.every((w) => w.server === 'w3' || w.server === 'w4'));
  const starts = r.world.events('takeover-start');
  t.is(starts.length, 8, 'one request per connection: the fallback of the dead choice, nobody else');
});
