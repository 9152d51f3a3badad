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

test('message mode: fragmentation, several streams, ordered and unordered delivery', (t) => {
  const p = makePair({ link: { delayMs: 5, reorder: 0.2, reorderDelayMs: 3 }, client: { mode: 'message' }, server: { mode: 'message' }, keepEvents: true });
  const a = connect(p);
  p.net.run(100);
  const messages: Array<{ stream: number; bytes: Uint8Array; unordered: boolean }> = [];
  for (let i = 0; i < 60; i++) {
    const size = [10, 1224, 1225, 5000, 70_000][i % 5]!;
    messages.push({ stream: i % 3, bytes: pattern(size, i), unordered: i % 7 === 0 });
  }
  for (const m of messages) t.is(a.send(m.bytes, { stream: m.stream, unordered: m.unordered }), m.bytes.length);
  p.net.wake(p.clientEp);
  p.net.runUntil(() => p.server.events.filter((e) => e.type === 'data').length >= messages.length, 20_000);
  const got = p.server.events.flatMap((e) => (e.type === 'data' ? [e] : []));
  t.is(got.length, messages.length);
  // Every message arrives whole, and per stream the ordered ones keep their order.
  for (let s = 0; s < 3; s++) {
    const sent = messages.filter((m) => m.stream === s && !m.unordered).map((m) => sha256(m.bytes));
    const recv = got.filter((e) => e.stream === s).map((e) => sha256(e.bytes)).filter((h) => sent.includes(h));
    t.deepEqual(recv, sent);
  }
  const all = new Set(messages.map((m) => `${m.stream}:${sha256(m.bytes)}`));
  for (const e of got) t.true(all.has(`${e.stream}:${sha256(e.bytes)}`));
});

test('stream mode: every chunk full-size except when the queue runs dry; TSN runs map offsets', (t) => {
  const p = makePair({ link: { delayMs: 5 }, keepEvents: true });
  const a = connect(p);
  p.net.run(100);
  a.send(pattern(5000, 1));
  p.net.wake(p.clientEp);
  p.net.run(400);
  a.send(pattern(3000, 2));
  p.net.wake(p.clientEp);
  p.net.run(800);
  const sizes = p.server.received.map((b) => b.length);
  const c = a.options.chunkSize;
  t.deepEqual(sizes, [c, c, c, c, 5000 - 4 * c, c, c, 3000 - 2 * c]);
  const st = a.exportState(p.net.now);
  // Everything is acknowledged: the map is pruned to the run holding the cumulative ack.
  t.true(st.sctp!.tsnMap.length >= 1);
  // (the exported map may end with the open run the next chunks will form: see takeover-hooks withContinuation)
  const last = st.sctp!.tsnMap.filter((r) => r.tsnCount !== 0).at(-1)!;
  t.is(last.bytesPerTsn, 3000 - 2 * c);
  t.is(last.streamOffset, 5000 + 2 * c);
  t.is(last.tsnCount, 1);
  t.is(st.streamBytesAcked, 8000);
  t.is(st.sctp!.localVerificationTag, a.localTag);
  t.is(st.sctp!.peerVerificationTag, a.peerTag);
});

test('shutdown from the client: both sides end cleanly after all data arrived', (t) => {
  const p = makePair({ link: { delayMs: 10 } });
  const a = connect(p);
  const data = pattern(200_000);
  p.net.run(100);
  a.send(data);
  a.close(p.net.now);
  t.is(a.stateName, 'SHUTDOWN-PENDING');
  p.net.wake(p.clientEp);
  p.net.run(5000);
  t.is(sha256(p.server.received), sha256(data));
  t.is(a.stateName, 'CLOSED');
  t.is(p.server.assoc!.stateName, 'CLOSED');
  t.deepEqual(p.client.events.filter((e) => e.type === 'closed'), [{ type: 'closed' }]);
  t.true(p.server.events.some((e) => e.type === 'end'));
  t.deepEqual(p.server.events.filter((e) => e.type === 'closed'), [{ type: 'closed' }]);
  t.throws(() => a.send(new Uint8Array(1)), { code: 'BATON_ERR_USAGE' });
  t.is(p.clientEp.all.length, 0);
});

test('shutdown from the server side while the client still sends', (t) => {
  const p = makePair({ link: { delayMs: 10 } });
  const a = connect(p);
  p.net.run(100);
  const s = p.server.assoc!;
  const data = pattern(100_000, 3);
  const up = pattern(300_000, 8);
  a.send(up);
  p.net.wake(p.clientEp);
  p.net.run(p.net.now + 15);
  s.send(data);
  s.close(p.net.now);
  p.net.wake(p.serverEp);
  let sawShutdownSentWithData = false;
  p.server.onData = () => {
    if (s.stateName === 'SHUTDOWN-SENT') sawShutdownSentWithData = true;
  };
  p.net.run(5000);
  t.true(sawShutdownSentWithData, 'the client was still sending while the server had sent SHUTDOWN');
  t.is(sha256(p.client.received), sha256(data));
  t.is(sha256(p.server.received), sha256(up));
  t.is(s.stateName, 'CLOSED');
  t.is(a.stateName, 'CLOSED');
  t.true(p.client.events.some((e) => e.type === 'end'));
});

test('abort carries its cause to the peer', (t) => {
  const p = makePair({ link: { delayMs: 10 } });
  const a = connect(p);
  p.net.run(100);
  a.abort(p.net.now, 'bye');
  p.net.wake(p.clientEp);
  p.net.run(200);
  const closed = p.server.events.find((e) => e.type === 'closed');
  t.is(closed?.type, 'closed');
  const err = closed && closed.type === 'closed' ? closed.error : undefined;
  t.is(err?.code, 'BATON_ERR_ABORTED');
  t.is(err?.wireCause, 12);
  const mine: unknown[] = [];
  for (let e = a.pollEvent(); e; e = a.pollEvent()) if (e.type === 'closed') mine.push(e.error?.code);
  t.deepEqual(mine, ['BATON_ERR_LOCAL_ABORT']);
});

test('flow control: a slow reader stalls the sender, which resumes when it reads', (t) => {
  const p = makePair({ link: { delayMs: 5 }, server: { receiveWindow: 64 * 1024 } });
  const a = connect(p);
  p.net.run(100);
  p.server.reading = false;
  const data = pattern(1_000_000, 4);
  const f = feeder(a, data);
  p.client.onData = () => f.pump();
  f.pump();
  p.net.wake(p.clientEp);
  p.net.run(3000);
  const s = p.server.assoc!;
  // The receiver holds at most its window (plus one probe chunk).
  t.true(s.receiver!.unreadBytes <= 64 * 1024 + a.options.chunkSize);
  t.true(s.receiver!.unreadBytes >= 60 * 1024);
  t.is(p.server.receivedBytes, 0);
  t.not(a.stateName, 'CLOSED');
  p.server.reading = true;
  p.net.wake(p.serverEp);
  const ok = p.net.runUntil(() => p.server.receivedBytes >= data.length, 120_000);
  t.true(ok);
  t.is(sha256(p.server.received), sha256(data));
});

test('bulk transfer survives duplication and reordering byte-identical', (t) => {
  const p = makePair({ seed: 3, link: { delayMs: 8, duplicate: 0.05, reorder: 0.1, reorderDelayMs: 6, loss: 0.01 } });
  const data = pattern(2_000_000, 9);
  const a = connect(p);
  const f = feeder(a, data);
  p.client.onData = () => f.pump();
  f.pump();
  p.net.wake(p.clientEp);
  t.true(p.net.runUntil(() => p.server.receivedBytes >= data.length, 120_000));
  t.is(sha256(p.server.received), sha256(data));
  t.is(p.server.receivedBytes, data.length);
});

test('congestion control fills a DummyNet-like bottleneck (rate + drop-tail queue) without stalls', (t) => {
  for (const [rate, queue, size] of [
    [128_000, 14_000, 300_000],
    [1_000_000, 14_000, 2_000_000],
    [10_000_000, 64_000, 2_000_000],
  ] as const) {
    const p = makePair({ seed: 1, link: { delayMs: 20, rateBps: rate, queueBytes: queue } });
    const data = pattern(size, 11);
    const a = connect(p);
    const f = feeder(a, data);
    p.client.onData = () => f.pump();
    f.pump();
    p.net.wake(p.clientEp);
    t.true(p.net.runUntil(() => p.server.receivedBytes >= data.length, 600_000));
    t.is(sha256(p.server.received), sha256(data));
    const ideal = (size * 8) / rate;
    const took = p.net.now / 1000;
    t.true(took < ideal * 1.3 + 0.5, `rate ${rate}: ${took.toFixed(1)} s for an ideal ${ideal.toFixed(1)} s`);
    t.true(p.net.stats.dropped.queue > 0, 'the queue overflowed at least once: the test exercises loss recovery');
    t.true(p.server.longestGap < 2000, `longest gap ${p.server.longestGap} ms`);
  }
});

test('message mode: a message larger than the receive window is handed over piecemeal (partial delivery)', (t) => {
  const opts = { mode: 'message' as const, receiveWindow: 64 * 1024, rto: { min: 200, initial: 500 } };
  const p = makePair({ link: { delayMs: 5 }, client: opts, server: opts, keepEvents: true });
  const a = connect(p);
  p.net.run(100);
  const big = pattern(300_000, 21);
  const small = pattern(100, 22);
  t.is(a.send(big, { stream: 1 }), big.length);
  t.is(a.send(small, { stream: 1 }), small.length);
  p.net.wake(p.clientEp);
  t.true(p.net.runUntil(() => p.server.receivedBytes >= big.length + small.length, 60_000));
  const got = p.server.events.flatMap((e) => (e.type === 'data' ? [e] : []));
  t.true(got.every((e) => e.stream === 1));
  t.true(got.length > 2, 'the big message came in several pieces');
  t.is(sha256(got.map((e) => e.bytes)), sha256([big, small]));
});

test('cwnd decays while an address is idle (§7.2.1): max(cwnd / 2, 4 MTU) per RTO of silence', (t) => {
  const p = makePair({ link: { delayMs: 5 } });
  const a = connect(p);
  p.net.run(100);
  a.send(pattern(2_000_000, 30));
  p.net.wake(p.clientEp);
  p.net.runUntil(() => p.server.receivedBytes >= 2_000_000, 30_000);
  const path = a.paths[0]!;
  const grown = path.cwnd;
  t.true(grown > 16 * path.mtu, `cwnd grew to ${grown}`);
  p.net.run(p.net.now + 5 * path.rto.rto + 10);
  a.send(pattern(1000, 31));
  p.net.wake(p.clientEp);
  p.net.run(p.net.now + 1);
  t.is(path.cwnd, Math.max(4 * path.mtu, Math.floor(grown / 32)));
});
