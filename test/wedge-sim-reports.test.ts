// The wedge in the simulator, the cases around a takeover: an erroneous death report of a live
// wedge, a wedge that joins mid-stream, an object replaced mid-stream, a persistent connection
// with a failover inside its second request. Both transports, seeded, virtual time.
import test from 'ava';
import { TRANSPORT_KINDS } from '../src/transports.js';
import { makeFile, sha256 } from './conformance/world.js';
import { get, WedgeWorld } from './wedge-sim-world.js';

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: an erroneous death report — the taker serves, the live old wedge stops, nothing duplicated`, async (t) => {
    const world = new WedgeWorld({ kind, seed: 31, wedges: 2, rate: 200_000, health: 'external' });
    const object = makeFile(800_000, 31);
    await world.startAll(new Map([['/o', object]]));
    const client = world.client('w1', [get('/o', true)]);
    t.true(world.net.runUntil(() => client.received > 250_000, 60_000));
    world.monitor((m) => m.declareDead('w1'));
    t.true(world.net.runUntil(() => client.closed, 120_000), `received ${client.received}`);
    t.is(client.collector.closed?.error, undefined);
    const [response] = client.responses();
    t.is(client.received, response!.headLength + object.length, 'not one byte more than the response');
    t.is(sha256(response!.body), sha256(object));
    t.is(world.events('takeover-won', 'w2').length, 1);
    t.is(world.events('member-dead', 'w2')[0]?.fields.by, 'monitor');
    t.true(world.events('superseded', 'w1').length === 1, JSON.stringify(world.log.filter((l) => l.server === 'w1').map((l) => l.event)));
    t.is(world.wedge('w1').sessions.size, 0, 'the old wedge serves nothing');
    t.is(world.wedge('w1').counters.memberDeaths, 0, 'a wedge ignores a report of its own death');
  });

  test(`${kind}: a wedge that joins mid-stream becomes a candidate and takes over`, async (t) => {
    const world = new WedgeWorld({ kind, seed: 32, wedges: 2, rate: 150_000 });
    const object = makeFile(900_000, 32);
    const objects = new Map([['/o', object]]);
    await world.start('w1', objects);
    const client = world.client('w1', [get('/o', true)]);
    t.true(world.net.runUntil(() => client.received > 100_000, 60_000));
    const joinedAt = world.net.now;
    await world.start('w2', objects);
    t.true(world.net.runUntil(() => world.net.now > joinedAt + 1500, 60_000));
    t.true(world.wedge('w2').channel.table.size === 1, 'the newcomer holds the connection after one announcement');
    world.net.kill('w1');
    t.true(world.net.runUntil(() => client.closed, 120_000), `received ${client.received}`);
    t.is(sha256(client.responses()[0]!.body), sha256(object));
    t.is(world.events('takeover-won', 'w2').length, 1);
  });

  test(`${kind}: the object replaced mid-stream — explicit error, no spliced bytes`, async (t) => {
    const world = new WedgeWorld({ kind, seed: 33, wedges: 2, rate: 200_000 });
    const object = makeFile(800_000, 33);
    await world.startAll(new Map([['/o', object]]));
    const client = world.client('w1', [get('/o', true)]);
    t.true(world.net.runUntil(() => client.received > 250_000, 60_000));
    for (const b of world.backends.values()) b.put('/o', makeFile(800_000, 34));
    world.net.kill('w1');
    t.true(world.net.runUntil(() => client.closed, 120_000), `received ${client.received}`);
    t.truthy(client.collector.closed?.error, 'the connection ends with an error');
    const failed = world.events('resume-failed', 'w2');
    t.is(failed.length, 1);
    t.is(failed[0]!.fields.code, 'BATON_ERR_RESUME_NOT_PARTIAL');
    t.is(world.events('closed', 'w2')[0]?.fields.code, 'BATON_ERR_RESUME_NOT_PARTIAL');
    t.is(world.wedge('w2').sessions.size, 0, 'the failed connection is forgotten');
    const bytes = Buffer.from(client.collector.bytes());
    const headEnd = bytes.indexOf('\r\n\r\n') + 4;
    const body = bytes.subarray(headEnd);
    t.true(body.length < object.length);
    t.is(sha256(body), sha256(object.subarray(0, body.length)), 'every byte the client got is the old object\'s');
  });

  test(`${kind}: a persistent connection, three requests, a failover inside the second`, async (t) => {
    const world = new WedgeWorld({ kind, seed: 35, wedges: 3, rate: 200_000 });
    const objects = new Map([
      ['/a', makeFile(100_000, 1)],
      ['/b', makeFile(700_000, 2)],
      ['/c', makeFile(150_000, 3)],
    ]);
    await world.startAll(objects);
    const client = world.client('w1', [get('/a'), get('/b'), get('/c', true)]);
    const aEnd = 100_000 + 200;
    t.true(world.net.runUntil(() => client.received > aEnd + 200_000, 60_000));
    t.is(world.events('request', 'w1').length, 2, 'the second request is being served');
    world.net.kill('w1');
    t.true(world.net.runUntil(() => client.closed, 120_000), `received ${client.received}`);
    t.is(client.collector.closed?.error, undefined);
    const responses = client.responses();
    t.deepEqual(responses.map((r) => r.status), [200, 200, 200]);
    t.deepEqual(responses.map((r) => sha256(r.body)), [...objects.values()].map((o) => sha256(o)));
    const won = world.events('takeover-won');
    t.is(won.length, 1);
    t.is(world.events('request', won[0]!.server).length, 1, 'the taker served the third request itself');
  });
}
