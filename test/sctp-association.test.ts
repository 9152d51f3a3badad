import test from 'ava';
import { connect, feeder, makePair, pattern, sha256 } from './sctp-harness.js';

test('four-way handshake establishes both sides', (t) => {
  const p = makePair({ link: { delayMs: 10 } });
  const a = connect(p);
  t.is(a.stateName, 'COOKIE-WAIT');
  p.net.run(200);
  t.is(a.stateName, 'ESTABLISHED');
  t.truthy(p.server.assoc);
  t.is(p.server.assoc!.stateName, 'ESTABLISHED');
  t.true(p.client.events.some((e) => e.type === 'connected'));
  t.true(p.server.events.some((e) => e.type === 'connected'));
  t.is(p.server.assoc!.peerTag, a.localTag);
  t.is(a.peerTag, p.server.assoc!.localTag);
});

test('bulk transfer arrives byte-identical', (t) => {
  const p = makePair({ link: { delayMs: 5 } });
  const data = pattern(3_000_000);
  const a = connect(p);
  const f = feeder(a, data);
  p.client.onData = () => f.pump();
  f.pump();
  p.net.wake(p.clientEp);
  const ok = p.net.runUntil(() => p.server.receivedBytes >= data.length, 60_000);
  t.true(ok);
  t.is(sha256(p.server.received), sha256(data));
  t.true(p.server.received.every((b) => b.length <= a.options.chunkSize));
});
