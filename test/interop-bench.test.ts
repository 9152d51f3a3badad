// `baton bench throughput` end to end, short: the three measurements run (baton over real UDP in
// two processes, usrsctp's tsctp, the node:dgram ceiling) and the result carries every field the
// issue asks for. The figures themselves are not asserted (this machine is shared); see the README.
import test from 'ava';
import { runThroughput } from '../bench/throughput.js';
import { TRANSPORT_KINDS } from '../src/transports.js';

for (const transport of TRANSPORT_KINDS) {
  test.serial(`bench throughput --transport ${transport}: baton, usrsctp and the UDP ceiling all measured`, async (t) => {
    t.timeout(120_000);
    const r = await runThroughput({ transport, seconds: 1, messageSize: 1400 });
    t.is(r.transport, transport);
    for (const key of ['batonMBps', 'usrsctpMBps', 'udpCeilingMBps', 'ratioToUsrsctp', 'ratioToCeiling'] as const) {
      t.true(Number.isFinite(r[key]) && r[key] > 0, `${key} = ${r[key]}`);
    }
    t.true(r.batonBytes > 1_000_000, `baton moved ${r.batonBytes} bytes in a second`);
    t.is(r.ratioToUsrsctp, r.batonMBps / r.usrsctpMBps);
    t.log(JSON.stringify(r));
  });
}
