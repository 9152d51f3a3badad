// "A request whose bytes the transport acknowledged to the client is never lost by a failover"
// (src/wedge/README.md): the serving wedge holds the acknowledgement of a request's bytes until a
// support-group member confirmed the announcement carrying it. Killed before that, the client
// still holds the request and sends it again to the taker, which serves it once; killed after the
// announcement reached a member but before its confirmation came back, the taker already has the
// request in its mapping and drops the client's retransmission of it. In normal operation the
// hold costs the client no retransmission. Both transports, on the simulated network.
import test from 'ava';
import { makeFile, sha256 } from './conformance/world.js';
import { WedgeWorld, get, type SimClient } from './wedge-sim-world.js';
import type { Session } from '../src/wedge/session.js';

const OBJECTS = new Map([
  ['/a', makeFile(50_000, 71)],
  ['/b', makeFile(120_000, 72)],
]);
const SECOND = get('/b', true);

/** Datagrams the client sent that carry the second request's first bytes (first sending and retransmissions). */
function countSecondRequest(world: WedgeWorld): () => number {
  const needle = Buffer.from('GET /b ');
  let n = 0;
  world.net.onTrace((e) => {
    if (e.kind === 'send' && e.from.address === '10.0.0.1' && Buffer.from(e.payload).includes(needle)) n++;
  });
  return () => n;
}

/** A client that got /a whole on a persistent connection to w1, then sends /b. */
async function afterFirst(kind: 'sctp' | 'tcp', seed: number): Promise<{ world: WedgeWorld; client: SimClient; sent: () => number }> {
  const world = new WedgeWorld({ kind, seed, wedges: 3, rate: 400_000, updateMs: 500 });
  await world.startAll(OBJECTS);
  const sent = countSecondRequest(world);
  const client = world.client('w1', [get('/a')]);
  const aLength = 50_000;
  if (!world.net.runUntil(() => client.received >= aLength && client.responses()[0]?.body.length === aLength, 60_000)) throw new Error('no first response');
  // No settling needed: /a's last, shorter DATA chunk reached the client only after a member
  // stored a state whose TSN map places it (the export barrier).
  return { world, client, sent };
}

function sendSecond(world: WedgeWorld, client: SimClient): void {
  client.collector.conn.send(new TextEncoder().encode(SECOND));
  client.attachment.wake();
  void world;
}

function checkWhole(t: import('ava').ExecutionContext, client: SimClient): void {
  t.is(client.collector.closed?.error, undefined);
  const responses = client.responses();
  t.deepEqual(responses.map((r) => r.status), [200, 200], 'exactly one response per request');
  t.deepEqual(responses.map((r) => sha256(r.body)), [...OBJECTS.values()].map((o) => sha256(o)));
}

for (const kind of ['sctp', 'tcp'] as const) {
  test(`${kind}: members confirm promptly — the held request costs the client no retransmission`, async (t) => {
    const { world, client, sent } = await afterFirst(kind, 81);
    const session = [...world.wedge('w1').sessions.values()][0] as Session;
    sendSecond(world, client);
    t.true(world.net.runUntil(() => world.events('request', 'w1').length === 2, 10_000));
    t.true(session.acknowledgeLimit < session.conn.receivedOffset, 'the request is delivered but its bytes are held');
    t.true(world.net.runUntil(() => client.closed, 60_000), `received ${client.received}`);
    checkWhole(t, client);
    t.is(session.acknowledgeLimit, session.conn.receivedOffset, 'the confirmation released the hold');
    t.is(sent(), 1, 'the second request went out once');
    t.is(world.events('takeover-start').length, 0);
  });

  test(`${kind}: killed before any member heard of the request — the client sends it again to the taker, which serves it once`, async (t) => {
    const { world, client, sent } = await afterFirst(kind, 82);
    world.net.partition(['w1'], ['w2', 'w3']);
    sendSecond(world, client);
    t.true(world.net.runUntil(() => world.events('request', 'w1').length === 2, 10_000));
    world.net.kill('w1');
    world.net.heal();
    t.true(world.net.runUntil(() => client.closed, 120_000), `received ${client.received}`);
    checkWhole(t, client);
    const won = world.events('takeover-won');
    t.is(won.length, 1);
    t.is(world.events('request', won[0]!.server).length, 1, 'the taker got /b from the client and served it');
    t.true(sent() >= 2, `the client retransmitted its request (${sent()} sendings)`);
  });

  test(`${kind}: killed after a member stored the request but before its confirmation — the taker drops the retransmission and serves the request once`, async (t) => {
    const { world, client } = await afterFirst(kind, 83);
    sendSecond(world, client);
    const stored = (): boolean => ['w2', 'w3'].some((id) => [...world.wedge(id).channel.table.all()].some((e) => e.state.stream?.objectName === '/b'));
    t.true(world.net.runUntil(stored, 10_000));
    const session = [...world.wedge('w1').sessions.values()][0] as Session;
    t.true(session.acknowledgeLimit < session.conn.receivedOffset, 'not confirmed yet: the request is still held');
    world.net.kill('w1');
    // The taker's imported transport counts the client's bytes from the connection's first byte
    // (SCTP: the state's peer_stream_offset), so the retransmission is recognised by offset.
    const takerSession = () => ['w2', 'w3'].flatMap((id) => [...world.wedge(id).sessions.values()] as Session[]).find((s) => s.retransmittedBytes > 0);
    t.true(world.net.runUntil(() => takerSession() !== undefined, 60_000));
    const taker = takerSession()!;
    t.is(taker.retransmittedBytes, SECOND.length, 'the client resent exactly the held request, dropped as known');
    t.is(taker.conn.receivedOffset, get('/a').length + SECOND.length, 'receivedOffset counts from the connection\'s first byte');
    t.true(world.net.runUntil(() => client.closed, 120_000), `received ${client.received}`);
    checkWhole(t, client);
    const won = world.events('takeover-won');
    t.is(won.length, 1);
    t.is(world.events('request', won[0]!.server).length, 0, 'the taker replayed the announced request, not a new one');
  });
}
