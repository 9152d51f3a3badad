// The wedge in the simulator: backpressure (a client that stops reading pauses the content
// server), the monitor's move command, external health (heartbeat deaths ignored, only the
// monitor's declare-dead acts), and a lone candidate that does not back off.
import test from 'ava';
import { TRANSPORT_KINDS } from '../src/transports.js';
import { makeFile, sha256 } from './conformance/world.js';
import { get, WedgeWorld } from './wedge-sim-world.js';
import type { Session } from '../src/wedge/session.js';

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: a client that stops reading pauses the content server; the download completes when it reads again`, async (t) => {
    const world = new WedgeWorld({ kind, seed: 51, wedges: 1 });
    const object = makeFile(12_000_000, 51);
    await world.startAll(new Map([['/o', object]]));
    const client = world.client('w1', [get('/o', true)]);
    t.true(world.net.runUntil(() => client.received > 100_000, 60_000));
    client.paused = true;
    const until = world.net.now + 5000;
    world.net.runUntil(() => world.net.now >= until, until + 1);
    const session = [...world.wedge('w1').sessions.values()][0] as Session;
    // Without backpressure the unlimited backend would have queued the whole object here.
    t.true(session.backlog <= 256 * 1024 + 16 * 1024, `backlog ${session.backlog}`);
    t.true(client.received < 3_000_000, `the client read ${client.received} while paused`);
    client.resume(world.net.now);
    t.true(world.net.runUntil(() => client.closed, 300_000), `received ${client.received}`);
    t.is(sha256(client.responses()[0]!.body), sha256(object));
  });

  test(`${kind}: monitor move — the named wedge takes the connection over at once, the old one is superseded`, async (t) => {
    const world = new WedgeWorld({ kind, seed: 52, wedges: 3, rate: 200_000 });
    const object = makeFile(600_000, 52);
    await world.startAll(new Map([['/o', object]]));
    const client = world.client('w1', [get('/o', true)]);
    t.true(world.net.runUntil(() => client.received > 150_000 && world.wedge('w3').channel.table.size === 1, 60_000));
    const port = client.attachment.addresses[0]!.port;
    world.monitor((m) => m.move({ address: '10.0.0.1', port: 0, udpPort: port }, 'w3'));
    t.true(world.net.runUntil(() => client.closed, 120_000), `received ${client.received}`);
    t.is(client.collector.closed?.error, undefined);
    const [response] = client.responses();
    t.is(client.received, response!.headLength + object.length);
    t.is(sha256(response!.body), sha256(object));
    t.deepEqual(world.events('takeover-won').map((e) => e.server), ['w3']);
    t.is(world.events('takeover-start', 'w3')[0]!.fields.delayMs, 0);
    t.is(world.events('superseded', 'w1').length, 1);
    t.is(world.events('takeover-start', 'w2').length, 0);
  });

  test(`${kind}: --health external — a silent member is not taken over until the monitor declares it dead; a lone candidate does not back off`, async (t) => {
    const world = new WedgeWorld({ kind, seed: 53, wedges: 2, rate: 200_000, health: 'external', backoff: { baseMs: 500, doublingLoad: 400, maxMs: 1000, jitter: 0 } });
    const object = makeFile(600_000, 53);
    await world.startAll(new Map([['/o', object]]));
    const client = world.client('w1', [get('/o', true)]);
    t.true(world.net.runUntil(() => client.received > 150_000, 60_000));
    world.net.kill('w1');
    const waitUntil = world.net.now + 6000;
    world.net.runUntil(() => world.net.now >= waitUntil, waitUntil + 1);
    t.is(world.events('takeover-start').length, 0, 'no takeover on a heartbeat verdict');
    t.is(world.events('member-dead', 'w2').length, 0);
    world.monitor((m) => m.declareDead('w1'));
    t.true(world.net.runUntil(() => client.closed, 120_000), `received ${client.received}`);
    t.is(sha256(client.responses()[0]!.body), sha256(object));
    const start = world.events('takeover-start', 'w2')[0]!;
    t.is(start.fields.delayMs, 0, 'the only live candidate is not paced (the rule would give 500 ms)');
  });
}

test('a content server that fails mid-response aborts the client connection: a cut-off body never ends cleanly', async (t) => {
  const world = new WedgeWorld({ kind: 'sctp', seed: 54, wedges: 1, rate: 200_000 });
  const object = makeFile(600_000, 54);
  await world.startAll(new Map([['/o', object]]));
  const client = world.client('w1', [get('/o', true)]);
  t.true(world.net.runUntil(() => client.received > 150_000, 60_000));
  world.backends.get('w1')!.setDown(true);
  t.true(world.net.runUntil(() => client.closed, 60_000));
  t.truthy(client.collector.closed?.error, 'the client sees an error, not a clean end');
  t.true(client.received < object.length);
  t.is(world.events('closed', 'w1')[0]?.fields.code, 'BATON_ERR_HTTP_BACKEND');
  t.is(world.wedge('w1').sessions.size, 0);
});

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: a content server that fails before its response head: the client gets the 502 naming it, then a clean end (not an ABORT)`, async (t) => {
    const raw = new Map([
      ['/garbage', Buffer.from('SPDY/3 nonsense\r\n\r\n')],
      ['/nothing', new Uint8Array(0)],
    ]);
    const world = new WedgeWorld({ kind, seed: 55, wedges: 1, backendRaw: raw });
    await world.startAll(new Map());
    for (const path of raw.keys()) {
      const client = world.client('w1', [get(path, true)]);
      t.true(world.net.runUntil(() => client.closed, 60_000), path);
      t.is(client.collector.closed?.error, undefined, `${path}: ${client.collector.closed?.error?.code}`);
      const [response] = client.responses();
      t.is(response?.status, 502, path);
      t.regex(response!.body.toString(), /BATON_ERR_HTTP_BACKEND/, path);
    }
    t.deepEqual(world.events('closed', 'w1').map((e) => e.fields.code), [undefined, undefined], 'both ended cleanly on the wedge too');
  });
}
