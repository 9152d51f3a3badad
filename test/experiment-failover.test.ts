// The failover experiment, small and fast: at 40 ms RTT on both transports the client's first
// byte after the death notice arrives within one RTT + 2 ms, no byte arrives more than twice, the
// file is intact; without the blind resume it takes longer (the measurement can tell the two
// apart); the same through the wedge, mid-stream, with the state as announced every 100 ms; and
// the experiment's table has its shape.
import test from 'ava';
import { failoverOutput, GOAL_SLACK_MS, measureFailover, measureWedgeFailover } from '../bench/experiments/failover.js';

for (const kind of ['sctp', 'tcp'] as const) {
  test(`${kind}: death notice → first resumed byte within 1 RTT + ${GOAL_SLACK_MS} ms at 40 ms RTT, at most one duplicate copy, the file intact`, (t) => {
    const r = measureFailover({ kind, rttMs: 40, fileLength: 250_000 });
    t.true(r.intact, 'the client has the whole file, byte for byte');
    t.true(r.resumeMs <= 40 + GOAL_SLACK_MS, `resumed after ${r.resumeMs} ms`);
    t.true(r.maxCopies <= 2, `some ${kind === 'tcp' ? 'byte' : 'TSN'} reached the client ${r.maxCopies} times`);
  });

  test(`${kind}: without the blind resume the first byte waits for the client's answer (more than 1 RTT)`, (t) => {
    const r = measureFailover({ kind, rttMs: 40, fileLength: 250_000, blindResume: false });
    t.true(r.intact);
    t.true(r.resumeMs > 40 + GOAL_SLACK_MS, `resumed after ${r.resumeMs} ms`);
    t.true(r.maxCopies <= 2);
  });
}

for (const kind of ['sctp', 'tcp'] as const) {
  test(`${kind} through the wedge, mid-stream, state announced every 100 ms: the blind resume from the predicted point within 1 RTT + ${GOAL_SLACK_MS} ms at 40 ms RTT, 1.5 RTT without it`, async (t) => {
    const on = await measureWedgeFailover({ kind, rttMs: 40, updateMs: 100, fileLength: 450_000 });
    const off = await measureWedgeFailover({ kind, rttMs: 40, updateMs: 100, fileLength: 450_000, blindResume: false });
    t.log(`notice -> first resumed byte: ${on.resumeMs} ms with, ${off.resumeMs} ms without; state lag ${on.stateLag} bytes; duplicates ${on.duplicates} / ${off.duplicates} ${on.duplicateUnit}`);
    t.true(on.intact && off.intact, 'the file arrives whole both ways');
    t.true(on.stateLag > 0, 'the announced state lags the client');
    t.true(on.resumeMs <= 40 + GOAL_SLACK_MS, `with: ${on.resumeMs} ms`);
    t.true(off.resumeMs > 40 + GOAL_SLACK_MS, `without: ${off.resumeMs} ms`);
    t.true(on.maxCopies <= 2 && off.maxCopies <= 2);
  });
}

for (const kind of ['sctp', 'tcp'] as const) {
  test(`${kind}: a taker with another path MTU than the old owner (600, 1500) still delivers the file intact after a blind resume`, (t) => {
    for (const takerMtu of [600, 1500]) {
      const r = measureFailover({ kind, rttMs: 40, fileLength: 250_000, takerMtu });
      t.true(r.intact, `taker MTU ${takerMtu}`);
      t.true(r.maxCopies <= 2);
    }
  });
}

for (const kind of ['sctp', 'tcp'] as const) {
  test(`${kind}: blind bytes sent from past the client's next byte (resumeAt overshoots) leave a hole that the resumption fills: the file intact, no byte more than twice`, (t) => {
    const r = measureFailover({ kind, rttMs: 40, fileLength: 250_000, blindAhead: 60_000 });
    t.true(r.intact);
    t.true(r.resumeMs > 40 + GOAL_SLACK_MS, `the first byte after the answer: ${r.resumeMs} ms`);
    t.true(r.maxCopies <= 2, `some ${kind === 'tcp' ? 'byte' : 'TSN'} reached the client ${r.maxCopies} times`);
  });
}

test('the table: one row per transport and RTT, RTTs as a ratio, a failure named when the goal is missed', (t) => {
  const rows = (['sctp', 'tcp'] as const).flatMap((kind) => [10, 100].map((rttMs) => measureFailover({ kind, rttMs, fileLength: 200_000 })));
  const out = failoverOutput(rows, 'test');
  t.is(out.rows.length, 4);
  t.deepEqual(out.columns.slice(0, 4), ['transport', 'rtt_ms', 'resume_ms', 'resume_rtts']);
  for (const row of out.rows) t.is(row[3], Math.round(((row[2] as number) / (row[1] as number)) * 100) / 100);
  t.is(out.failure, undefined, 'the goal holds at 10 and 100 ms');
  const slow = { ...rows[0]!, resumeMs: 25, resumeRtts: 2.5 };
  t.regex(failoverOutput([slow], 'test').failure ?? '', /sctp@10ms/);
});
