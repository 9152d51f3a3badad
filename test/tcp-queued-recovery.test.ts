// SACK recovery on a slow link behind a deep queue (the paper's §5.1 link: 128 kbit/s, 40 ms, a
// 14 KB queue, 0.9 s of it at that rate), in virtual time. Slow start, on the first server or on a
// taker after a move, overruns the queue; the repair of the first hole waits 0.9 s in the queue
// and its ACK cannot come sooner. A timer still armed for the original transmission fired while it
// waited: a spurious timeout, and the holes' bytes sent again though already on their way.
import test from 'ava';
import { runOscillation, PAPER_LINK } from '../bench/experiments/oscillation.js';

test('TCP-Migrate: slow start overruns the queue and SACK recovery repairs it with no timeout, nothing sent twice', async (t) => {
  const r = await runOscillation({ kind: 'tcp', mode: 'gap-fill', periodMs: undefined, seed: 1, objectBytes: 200_000, link: PAPER_LINK });
  t.true(r.complete);
  t.is(r.duplicatePackets, 0, 'packets the client already had');
});

test('TCP-Migrate: the same after every move, when each taker starts in slow start', async (t) => {
  const r = await runOscillation({ kind: 'tcp', mode: 'gap-fill', periodMs: 5000, seed: 1, objectBytes: 200_000, link: PAPER_LINK });
  t.true(r.complete);
  t.true(r.moves >= 2);
  t.is(r.duplicatePackets, 0, 'packets the client already had');
});
