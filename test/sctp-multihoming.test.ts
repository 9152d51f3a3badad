// Multihoming: the server has two addresses; the client verifies both with HEARTBEAT, and when
// the primary path dies it fails over to the other one and the transfer completes.
import test from 'ava';
import { connect, feeder, makePair, pattern, sha256 } from './sctp-harness.js';

test('heartbeat confirms the second address; failover on primary path loss completes the transfer', (t) => {
  const opts = { rto: { initial: 200, min: 100, max: 2000 }, pathMaxRetrans: 2, associationMaxRetrans: 12, heartbeatInterval: 1000 };
  const p = makePair({ link: { delayMs: 10 }, serverAddresses: ['10.0.0.2', '10.0.0.3'], client: opts, server: opts });
  const a = connect(p);
  p.net.run(500);
  t.is(a.stateName, 'ESTABLISHED');
  t.deepEqual(a.paths.map((x) => x.address.address), ['10.0.0.2', '10.0.0.3']);
  t.true(a.paths.every((x) => x.confirmed), 'both addresses verified by HEARTBEAT');
  t.is(a.remote.address, '10.0.0.2');
  const data = pattern(4_000_000, 5);
  const f = feeder(a, data);
  p.client.onData = () => f.pump();
  f.pump();
  p.net.wake(p.clientEp);
  let brokenAt = 0;
  p.net.schedule(560, () => {
    brokenAt = p.server.receivedBytes;
    p.net.link('10.0.0.1', '10.0.0.2', { delayMs: 10, loss: 1 });
  });
  const ok = p.net.runUntil(() => p.server.receivedBytes >= data.length, 60_000);
  t.true(ok);
  t.true(brokenAt > 0 && brokenAt < data.length / 2, `path broken mid-transfer (${brokenAt} bytes in)`);
  t.is(sha256(p.server.received), sha256(data));
  t.false(a.paths[0]!.active, 'the primary path was declared unreachable');
  t.true(a.paths[1]!.active);
  t.is(a.sendPath, 1);
  t.not(a.stateName, 'CLOSED');
  // Heal the path: heartbeats bring it back, and data returns to the primary.
  p.net.link('10.0.0.1', '10.0.0.2', { delayMs: 10, loss: 0 });
  p.net.run(p.net.now + 10_000);
  t.true(a.paths[0]!.active);
  t.is(a.sendPath, 0);
});

test('a peer unreachable on every path ends the association with BATON_ERR_TIMEOUT', (t) => {
  const opts = { rto: { initial: 100, min: 100, max: 400 }, associationMaxRetrans: 4 };
  const p = makePair({ link: { delayMs: 5 }, client: opts, server: opts });
  const a = connect(p);
  p.net.run(200);
  p.net.partition(['client'], ['server']);
  a.send(pattern(10_000));
  p.net.wake(p.clientEp);
  p.net.run(20_000);
  t.is(a.stateName, 'CLOSED');
  const closed = p.client.events.find((e) => e.type === 'closed');
  t.is(closed && closed.type === 'closed' ? closed.error?.code : undefined, 'BATON_ERR_TIMEOUT');
});
