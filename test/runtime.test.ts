// The runtime seam: the same few lines of application code (an echo over the transport contract)
// run on the simulated network in virtual time and on real UDP sockets on loopback.
import test from 'ava';
import type { Runtime } from '../src/transport-abstraction/runtime.js';
import type { MigratableTransport, TransportKind } from '../src/transport-abstraction/transport.js';
import { createEndpoint, TRANSPORT_KINDS } from '../src/transports.js';
import { SimNetwork } from '../src/sim/network.js';
import { SimRuntime } from '../src/sim/runtime.js';
import { UdpRuntime } from '../src/node/udp-runtime.js';

/** Server echoes, client sends `text` and resolves with what came back once the echo is complete. */
async function echoOnce(runtime: Runtime, kind: TransportKind, serverIp: string, clientIp: string, text: string): Promise<string> {
  const conns: MigratableTransport[] = [];
  const server = await runtime.attach([{ address: serverIp, port: 0 }], (bound) => createEndpoint(kind, { addresses: bound, listen: true, rtoMin: 100 }), () => {
    for (let c = server.core.pollAccept(); c; c = server.core.pollAccept()) conns.push(c);
    for (const c of conns) for (let ev = c.pollEvent(); ev; ev = c.pollEvent()) if (ev.type === 'data') c.send(ev.bytes);
  });
  let echoed = '';
  let done: (value: string) => void = () => {};
  const result = new Promise<string>((resolve) => (done = resolve));
  const client = await runtime.attach([{ address: clientIp, port: 0 }], (bound) => createEndpoint(kind, { addresses: bound, rtoMin: 100 }), () => {
    for (let ev = conn.pollEvent(); ev; ev = conn.pollEvent()) {
      if (ev.type === 'connected') conn.send(new TextEncoder().encode(text));
      if (ev.type === 'data') echoed += new TextDecoder().decode(ev.bytes);
    }
    if (echoed.length >= text.length) done(echoed);
  });
  const conn = client.core.connect(runtime.now(), server.addresses[0]!);
  client.wake();
  const timer = runtime.setTimer(runtime.now() + 5000, () => done(`timeout after ${echoed.length} bytes`));
  const out = await result;
  timer.cancel();
  await client.close();
  await server.close();
  return out;
}

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: the same echo code runs in virtual time`, async (t) => {
    const net = new SimNetwork({ seed: 5 });
    net.addHost('s', ['10.0.0.2']);
    net.addHost('c', ['10.0.0.1']);
    net.link('s', 'c', { delayMs: 10 });
    const runtime = new SimRuntime(net);
    const pending = echoOnce(runtime, kind, '10.0.0.2', '10.0.0.1', 'hello over the seam');
    // Setup completes synchronously in the simulator; let the awaits inside echoOnce settle, then run.
    for (let i = 0; i < 10; i++) await Promise.resolve();
    net.run(10_000);
    t.is(await pending, 'hello over the seam');
    t.true(net.now >= 40, 'a handshake and an echo take at least two round trips of virtual time');
  });

  test(`${kind}: the same echo code runs on real UDP`, async (t) => {
    t.is(await echoOnce(new UdpRuntime(), kind, '127.0.0.1', '127.0.0.1', 'hello over the seam'), 'hello over the seam');
  });
}

test('sim runtime: a cancelled timer never fires, errors reach the listener as coded errors', (t) => {
  const net = new SimNetwork({ seed: 1 });
  const runtime = new SimRuntime(net);
  const fired: string[] = [];
  runtime.setTimer(10, () => fired.push('a')).cancel();
  runtime.setTimer(20, () => fired.push('b'));
  const codes: string[] = [];
  runtime.onError((e) => codes.push(e.code));
  runtime.setTimer(30, () => {
    throw new TypeError('boom');
  });
  t.throws(() => net.run(100), { code: 'BATON_ERR_SIM_CORE_THREW' });
  t.deepEqual(fired, ['b']);
  t.deepEqual(codes, ['BATON_ERR_RUNTIME_HOOK']);
});

test('udp runtime: a timer callback that throws reaches the listener with a code', async (t) => {
  const runtime = new UdpRuntime();
  const codes: string[] = [];
  runtime.onError((e) => codes.push(e.code));
  await new Promise<void>((resolve) => {
    runtime.setTimer(runtime.now() + 1, () => {
      setImmediate(resolve);
      throw new RangeError('boom');
    });
  });
  t.deepEqual(codes, ['BATON_ERR_RUNTIME_TIMER']);
});
