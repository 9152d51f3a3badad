// The wedge's decision logic with many wedges in the simulator: support groups (only the dead
// wedge's group takes over), newest takeover number wins, the backoff spreads the takeovers, losers
// withdraw, no connection is taken twice, and state expires. Seeded, virtual time.
import test from 'ava';
import { supportGroup } from '../src/wedge/groups.js';
import { TRANSPORT_KINDS } from '../src/transports.js';
import { makeFile, sha256 } from './conformance/world.js';
import { get, WedgeWorld, type SimClient } from './wedge-sim-world.js';

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: 6 wedges in 2 groups, 30 clients, one wedge killed — every client finishes, only its group took over, none twice`, async (t) => {
    // Wide backoff windows so that members really compete for the same connections.
    const world = new WedgeWorld({ kind, seed: 41, wedges: 6, groups: 2, rate: 100_000, backoff: { baseMs: 40, doublingLoad: 4, maxMs: 400, jitter: 1 } });
    const groupOf = new Map(world.peers.map((p) => [p.id, supportGroup({ address: p.address, id: p.id }, 2)]));
    const object = makeFile(300_000, 41);
    await world.startAll(new Map([['/o', object]]));
    const victim = 'w2'; // group 0 with w3, w4, w6 (groups.ts hash): three competitors
    const clients: SimClient[] = [];
    for (let i = 0; i < 30; i++) clients.push(world.client(world.peers[i % 6]!.id, [get('/o', true)]));
    t.true(world.net.runUntil(() => clients.every((c) => c.received > 60_000), 60_000));
    world.net.kill(victim);
    t.true(world.net.runUntil(() => clients.every((c) => c.closed), 300_000), `${clients.filter((c) => !c.closed).length} clients unfinished`);
    for (const c of clients) t.is(sha256(c.responses()[0]?.body ?? new Uint8Array()), sha256(object));
    const won = world.events('takeover-won');
    t.is(won.length, 5, 'the victim served 5 clients; each was taken over once');
    const peers = world.peers.filter((p) => p.id !== victim && groupOf.get(p.id) === groupOf.get(victim)).map((p) => p.id);
    t.true(peers.length >= 1, `group of ${victim}: ${peers.join(',')}`);
    for (const w of won) t.true(peers.includes(w.server), `${w.server} is not in ${victim}'s group`);
    const starts = world.events('takeover-start');
    t.true(starts.every((s) => peers.includes(s.server)), 'no wedge outside the group even tried');
    // Competing candidates were paced by the backoff rule: 0 < delay <= maxMs.
    for (const s of starts) t.true(typeof s.fields.delayMs === 'number' && s.fields.delayMs > 0 && s.fields.delayMs <= 400, `delay ${String(s.fields.delayMs)}`);
    const connections = won.map((w) => w.fields.connection);
    t.is(new Set(connections).size, connections.length, 'no connection taken twice');
    for (const c of clients.filter((x) => x.takenOver.length > 0)) t.deepEqual(c.takenOver, [1]);
    // Losers withdrew: every start was either won or lost, and the lost ones are not served.
    const lost = world.events('takeover-lost').filter((l) => typeof l.fields.reason === 'string' && l.fields.reason.startsWith('BATON_ERR'));
    t.is(starts.length, won.length + lost.length, JSON.stringify(world.log.filter((l) => l.event.startsWith('takeover')).map((l) => [l.server, l.event, l.fields.connection, l.fields.reason])));
    for (const w of world.peers.filter((p) => p.id !== victim)) {
      for (const s of world.wedge(w.id).sessions.values()) t.fail(`${w.id} still holds ${s.key}`);
    }
    t.log(`${starts.length} takeover requests for ${won.length} connections; ${lost.length} lost`);
  });
}

test('newest wins and expiry: a stale announcement does not revive a connection, state expires after the cache timeout', async (t) => {
  const world = new WedgeWorld({ kind: 'sctp', seed: 43, wedges: 3, rate: 200_000 });
  const object = makeFile(400_000, 43);
  await world.startAll(new Map([['/o', object]]));
  const client = world.client('w1', [get('/o', true)]);
  t.true(world.net.runUntil(() => client.received > 100_000, 60_000));
  world.net.kill('w1');
  t.true(world.net.runUntil(() => client.closed, 120_000));
  const winner = world.events('takeover-won')[0]!.server;
  const other = winner === 'w2' ? 'w3' : 'w2';
  // The other member holds no entry with number 0 any more: the winner's number 1 replaced it,
  // then the closed connection's drop removed it.
  const table = world.wedge(other).channel.table;
  t.true(table.all().every((e) => e.state.takeoverNumber >= 1 || e.state.ownerId !== 'w1'));
  t.true(world.net.runUntil(() => world.net.now > 30_000, 60_000));
  t.is(table.size, 0, 'entries expired or were dropped');
  t.is(world.wedge(other).counters.takeoversWon, 0);
});
