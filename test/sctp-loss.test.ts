// 10 MB over a 40 ms RTT link with 2% loss each way, 50 seeds: every transfer completes
// byte-identical and no delivery gap is longer than a few RTOs.
import test from 'ava';
import { connect, feeder, makePair, pattern, sha256 } from './sctp-harness.js';

const SEEDS = 50;

test(`10 MB over 40 ms RTT with 2% loss completes byte-identical for ${SEEDS} seeds`, (t) => {
  const data = pattern(10_000_000);
  const want = sha256(data);
  const started = performance.now();
  let worstGap = 0;
  let worstSeed = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const p = makePair({ seed, link: { delayMs: 20, loss: 0.02 } });
    const a = connect(p);
    const f = feeder(a, data);
    p.client.onData = () => f.pump();
    f.pump();
    p.net.wake(p.clientEp);
    const ok = p.net.runUntil(() => p.server.receivedBytes >= data.length, 600_000);
    t.true(ok, `seed ${seed} did not complete`);
    t.is(sha256(p.server.received), want, `seed ${seed} corrupted the stream`);
    if (p.server.longestGap > worstGap) {
      worstGap = p.server.longestGap;
      worstSeed = seed;
    }
  }
  const wall = performance.now() - started;
  t.log(`wall time ${(wall / 1000).toFixed(1)} s for ${SEEDS} seeds; longest delivery gap ${worstGap} ms (seed ${worstSeed})`);
  // RTO.Min is 1 s and doubles per expiry: a chunk whose retransmissions are lost again and again
  // costs 1 + 2 + 2 s (the RTO falls back after each fresh measurement). Five RTO.Min at most.
  t.true(worstGap <= 5000, `stall of ${worstGap} ms`);
});
