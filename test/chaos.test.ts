// The real-process chaos run (bench/chaos.ts, `baton bench chaos`) in small: 5 `baton serve`
// wedges on 127.0.0.2-6 behind nginx, 5 curl downloads through `baton connect`, a wedge SIGKILLed
// every 5 s for 10 s and restarted; every file's SHA-256 must match. The full minute with 50
// clients is a benchmark run (README, "Reliability").
import test from 'ava';
import { chaosPassed, formatChaos, runChaos } from '../bench/chaos.js';
import { TRANSPORT_KINDS } from '../src/transports.js';

for (const transport of TRANSPORT_KINDS) {
  test.serial(`${transport}: 5 clients through baton connect, a wedge SIGKILLed every 5 s and restarted — every file's hash matches`, async (t) => {
    const result = await runChaos({ transport, clients: 5, seconds: 10, everySec: 5 });
    t.log(formatChaos(result));
    t.true(chaosPassed(result), formatChaos(result));
    t.is(result.downloads.length, 5);
    t.true(result.kills >= 2, `only ${result.kills} kills`);
    t.is(result.restarts, result.kills);
    // The downloads span the kills (nginx paces them): a killed wedge's client was taken over.
    t.true(result.takeovers >= 1 && result.failovers >= 1, `no takeover happened (${result.takeovers} won, ${result.failovers} seen): the test proves nothing`);
  });
}
