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
    t.is(await runtime.run(echoOnce(runtime, kind, '10.0.0.2', '10.0.0.1', 'hello over the seam'), 10_000), 'hello over the seam');
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
  t.deepEqual(codes, ['BATON_ERR_RUNTIME_TIMER']);
});

test('sim runtime: run() rejects when the network goes idle with the work still pending', async (t) => {
  const net = new SimNetwork({ seed: 1 });
  const runtime = new SimRuntime(net);
  const never = new Promise<void>(() => {});
  await t.throwsAsync(runtime.run(never, 1000), { code: 'BATON_ERR_SIM_LIMIT' });
  t.is(net.now, 1000, 'the clock stands at the limit');
});

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: a core that throws reaches its own attachment's listener, not another's, in both worlds`, async (t) => {
    const net = new SimNetwork({ seed: 3 });
    net.addHost('s', ['10.0.0.2']);
    net.addHost('c', ['10.0.0.1']);
    net.link('s', 'c', { delayMs: 5 });
    const worlds: Array<[Runtime, string, string]> = [
      [new SimRuntime(net), '10.0.0.2', '10.0.0.1'],
      [new UdpRuntime(), '127.0.0.1', '127.0.0.1'],
    ];
    for (const [runtime, serverIp, clientIp] of worlds) {
      const server = await runtime.attach([{ address: serverIp, port: 0 }], (bound) => createEndpoint(kind, { addresses: bound, listen: true, rtoMin: 100 }));
      const client = await runtime.attach([{ address: clientIp, port: 0 }], (bound) => createEndpoint(kind, { addresses: bound, rtoMin: 100 }));
      const serverCodes: string[] = [];
      const clientCodes: string[] = [];
      const allCodes: string[] = [];
      server.onError((e) => serverCodes.push(`${e.code} ${e.where} ${e.fault}`));
      client.onError((e) => clientCodes.push(e.code));
      runtime.onError((e) => allCodes.push(e.code));
      server.core.handleDatagram = () => {
        throw new TypeError('boom');
      };
      client.core.connect(runtime.now(), server.addresses[0]!);
      client.wake();
      const arrived = new Promise<void>((resolve) => server.onError(() => resolve()));
      if (runtime instanceof SimRuntime) await t.throwsAsync(runtime.run(arrived, 1000), { code: 'BATON_ERR_SIM_CORE_THREW' });
      else await arrived;
      t.is(serverCodes[0], 'BATON_ERR_RUNTIME_CORE handleDatagram true', runtime.world);
      t.deepEqual(clientCodes, [], runtime.world);
      t.is(allCodes[0], 'BATON_ERR_RUNTIME_CORE', runtime.world);
      await client.close();
      await server.close();
    }
  });
}

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
