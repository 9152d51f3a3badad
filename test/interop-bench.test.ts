// `baton bench throughput` end to end, short: the three measurements run in two interleaved rounds
// (baton over real UDP in two processes, usrsctp's tsctp with its tracing off, the node:dgram
// ceiling) and the result carries every field the issue asks for. The figures themselves are not
// asserted (this machine is shared); see the README.
import test from 'ava';
import { runThroughput } from '../bench/throughput.js';
import { TRANSPORT_KINDS } from '../src/transports.js';

for (const transport of TRANSPORT_KINDS) {
  test.serial(`bench throughput --transport ${transport}: baton, usrsctp and the UDP ceiling all measured`, async (t) => {
    t.timeout(120_000);
    const r = await runThroughput({ transport, seconds: 1, messageSize: 1400, rounds: 2 });
    t.is(r.transport, transport);
    t.is(r.rounds.length, 2);
    for (const round of r.rounds) {
      for (const c of ['baton', 'usrsctp', 'ceiling'] as const) {
        const m = round[c]!;
        t.true(m.bytes > 1_000_000 && m.mbps > 0 && m.cpuSeconds > 0, `${c}: ${JSON.stringify(m)}`);
      }
    }
    const ratios = r.rounds.map((round) => round.baton!.mbps / round.usrsctp!.mbps).sort((a, b) => a - b);
    t.deepEqual(r.ratioToUsrsctp, { min: ratios[0], median: (ratios[0]! + ratios[1]!) / 2, max: ratios[1] });
    for (const c of ['baton', 'usrsctp', 'ceiling'] as const) t.true(r.cpuMicrosPerMB[c]!.min > 0);
    t.log(JSON.stringify(r));
  });
}
