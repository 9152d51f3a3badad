// The wedge in the simulator: a client downloads an object while its serving wedge is killed; a
// member of its support group takes the connection over after the heartbeat verdict and the
// object arrives byte-identical. Both transports, seeded, virtual time.
import test from 'ava';
import { TRANSPORT_KINDS } from '../src/transports.js';
import { makeFile, sha256 } from './conformance/world.js';
import { get, WedgeWorld } from './wedge-sim-world.js';

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: the serving wedge is killed mid-download; a member takes over and the object arrives whole`, async (t) => {
    const world = new WedgeWorld({ kind, seed: 21, wedges: 3, rate: 200_000 });
    const object = makeFile(1_000_000, 21);
    await world.startAll(new Map([['/big.bin', object]]));
    const client = world.client('w1', [get('/big.bin', true)]);
    t.true(world.net.runUntil(() => client.received > 300_000, 60_000), `received ${client.received}`);
    const killedAt = world.net.now;
    world.net.kill('w1');
    t.true(world.net.runUntil(() => client.closed, 120_000), `received ${client.received} by t=${world.net.now}`);
    t.is(client.collector.closed?.error, undefined);
    const [response] = client.responses();
    t.is(response?.status, 200);
    t.is(response && sha256(response.body), sha256(object));
    const won = world.events('takeover-won');
    t.is(won.length, 1, JSON.stringify(world.log.filter((l) => l.event.startsWith('takeover'))));
    t.true(won[0]!.server === 'w2' || won[0]!.server === 'w3');
    t.is(won[0]!.fields.number, 1);
    t.deepEqual(client.takenOver, [1]);
    const dead = world.events('member-dead', won[0]!.server)[0]!;
    t.is(dead.fields.member, 'w1');
    const resumed = world.events('resumed')[0]!;
    t.true(resumed.time - dead.time < 1000, `death notice to resume ${resumed.time - dead.time} ms`);
    t.true(dead.time - killedAt <= 3 * 1000 + 100 + 20, `heartbeat verdict ${dead.time - killedAt} ms after the kill`);
    const firstResumedByte = client.deliveries.find((at) => at > killedAt)!;
    t.true(firstResumedByte >= won[0]!.time);
    t.log(`kill -> death notice ${(dead.time - killedAt).toFixed(1)} ms, notice -> takeover complete ${(resumed.time - dead.time).toFixed(1)} ms, notice -> client's first resumed byte ${(firstResumedByte - dead.time).toFixed(1)} ms (links 5 ms one way)`);
  });
}

test('counters: bytes to clients, requests, connections and soft-state traffic add up', async (t) => {
  const world = new WedgeWorld({ kind: 'sctp', seed: 22, wedges: 2 });
  const object = makeFile(200_000, 22);
  await world.startAll(new Map([['/o', object]]));
  const client = world.client('w1', [get('/o'), get('/o', true)]);
  t.true(world.net.runUntil(() => client.closed, 60_000));
  const c = world.wedge('w1').counters;
  t.is(c.connectionsAccepted, 1);
  t.is(c.requests, 2);
  t.is(c.bytesToClients, client.received, 'every byte the transport took reached the client');
  const other = world.wedge('w2').counters;
  t.true(c.softStateSent.announcement > 0);
  t.is(other.softStateReceived.announcement, c.softStateSent.announcement, 'no loss on the simulated link');
  t.is(c.softStateReceived.ack, other.softStateSent.ack);
  t.is(world.events('closed', 'w1').length, 1);
  t.is(world.events('closed', 'w1')[0]!.fields.code, undefined);
});
