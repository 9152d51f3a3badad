// The wedge's work per client-facing input does not grow with the number of connections: an input
// pumps the sessions it touched (the clients that sent datagrams, the connections whose timers
// were due, new connections), not every session (it pumped every session for every datagram,
// O(N) per input). Counted with Wedge.inputs / Wedge.pumps while one client downloads and 1 or 60
// others sit idle on persistent connections. Sweeps of every session (each update period, and
// after a datagram from an unknown source such as a handshake, at most every 100 ms) are counted
// apart. Simulator, both transports.
import test from 'ava';
import { TRANSPORT_KINDS } from '../src/transports.js';
import type { TransportKind } from '../src/transport-abstraction/transport.js';
import { makeFile, sha256 } from './conformance/world.js';
import { get, WedgeWorld } from './wedge-sim-world.js';

async function pumpsPerInput(kind: TransportKind, idle: number): Promise<{ perInput: number; sweeps: number; whole: boolean }> {
  const world = new WedgeWorld({ kind, seed: 41, wedges: 2, rate: 2_000_000 });
  const small = makeFile(1000, 41);
  const big = makeFile(400_000, 42);
  await world.startAll(new Map([['/small', small], ['/big', big]]));
  const idlers = Array.from({ length: idle }, () => world.client('w1', [get('/small')]));
  world.net.runUntil(() => idlers.every((c) => c.received >= small.length), world.net.now + 20_000);
  world.net.runUntil(() => false, world.net.now + 1_000);
  const w1 = world.wedge('w1');
  const [inputs, pumps, sweeps] = [w1.inputs, w1.pumps, w1.sweeps];
  const client = world.client('w1', [get('/big', true)]);
  world.net.runUntil(() => client.closed, world.net.now + 20_000);
  const [response] = client.responses();
  return { perInput: (w1.pumps - pumps) / (w1.inputs - inputs), sweeps: w1.sweeps - sweeps, whole: response !== undefined && sha256(response.body) === sha256(big) };
}

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: sessions pumped per input stay flat with 60 idle connections beside the download`, async (t) => {
    const one = await pumpsPerInput(kind, 1);
    const many = await pumpsPerInput(kind, 60);
    t.true(one.whole && many.whole);
    t.true(many.perInput < 3, `${many.perInput.toFixed(2)} sessions pumped per input with 60 idle connections`);
    t.true(many.perInput < one.perInput * 1.5, `1 idle: ${one.perInput.toFixed(2)}, 60 idle: ${many.perInput.toFixed(2)}`);
    t.true(many.sweeps <= 3, `${many.sweeps} sweeps`);
    t.log(`sessions pumped per client-facing input during the download: ${one.perInput.toFixed(2)} with 1 idle connection, ${many.perInput.toFixed(2)} with 60 (sweeps of every session: ${one.sweeps} / ${many.sweeps})`);
  });
}
