// The README's library example, run as written: an echo server and a client over real UDP on
// 127.0.0.x, for both transports; and a takeover through BatonServer.takeOver().
import test from 'ava';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, listen, SimNetwork, SimRuntime, UdpRuntime, type Runtime, type RuntimeError, type TransportSocket } from '../src/index.js';
import { freeUdpPort } from './helpers/ports.js';

function collect(socket: TransportSocket, length: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  return new Promise((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      got += chunk.length;
      if (got >= length) resolve(Buffer.concat(chunks));
    });
    socket.on('error', reject);
  });
}

for (const transport of ['sctp', 'tcp'] as const) {
  test(`${transport}: listen() and connect() echo bytes over real UDP`, async (t) => {
    const udpPort = await freeUdpPort('127.0.0.4');
    // --- as in the README ---
    const server = await listen({ transport, address: '127.0.0.4', udpPort, rtoMin: 100 }, (socket) => socket.pipe(socket));
    const socket = await connect({ transport, address: '127.0.0.4', udpPort, rtoMin: 100 });
    socket.write('hello, baton');
    // ---
    t.teardown(() => server.close());
    const message = Buffer.alloc(300_000, 7);
    socket.write(message);
    const echoed = await collect(socket, 12 + message.length);
    t.is(echoed.subarray(0, 12).toString(), 'hello, baton');
    t.true(echoed.subarray(12).equals(message));
    const closed = new Promise<void>((resolve) => socket.once('close', resolve));
    socket.end();
    await closed;
    t.false(socket.errored !== null && socket.errored !== undefined, String(socket.errored));
  });
}

test('connect() to nobody listening on that transport port fails with a coded error', async (t) => {
  const udpPort = await freeUdpPort('127.0.0.4');
  const server = await listen({ transport: 'sctp', address: '127.0.0.4', port: 4000, udpPort });
  t.teardown(() => server.close());
  const socket = await connect({ transport: 'sctp', address: '127.0.0.4', port: 4001, udpPort });
  const error = await new Promise<Error & { code?: string }>((resolve) => socket.once('error', resolve));
  t.is(error.code, 'BATON_ERR_REFUSED');
});

// --- the README's "same code, two worlds" example, as written ---
async function hello(runtime: Runtime, serverIp: string, clientIp: string): Promise<string> {
  const server = await listen({ runtime, address: serverIp, udpPort: 0 }, (socket) => socket.pipe(socket));
  const socket = await connect({ runtime, address: serverIp, udpPort: server.addresses[0]!.port, localAddress: clientIp });
  socket.write('hello, baton');
  const [echo] = await once(socket, 'data');
  socket.end();
  await once(socket, 'close');
  await server.close();
  return String(echo);
}
// ---

test('README: its example is this file\'s hello(), word for word', (t) => {
  const fn = (text: string): string | undefined => /^async function hello\(.*?^}$/ms.exec(text)?.[0];
  const readme = fn(readFileSync(new URL('../README.md', import.meta.url), 'utf8'));
  t.truthy(readme, 'README.md has no hello()');
  t.is(readme, fn(readFileSync(new URL(import.meta.url), 'utf8')));
});

test('README: the same application code on real UDP', async (t) => {
  t.is(await hello(new UdpRuntime(), '127.0.0.4', '127.0.0.1'), 'hello, baton');
});

test('README: the same application code on the simulator, in virtual time', async (t) => {
  const net = new SimNetwork({ seed: 1 });
  net.addHost('server', ['10.0.0.2']);
  net.addHost('client', ['10.0.0.1']);
  net.link('server', 'client', { delayMs: 20 });
  const sim = new SimRuntime(net);
  t.is(await sim.run(hello(sim, '10.0.0.2', '10.0.0.1')), 'hello, baton');
  t.true(net.now >= 80, `a handshake, an echo and a shutdown take several 40 ms round trips (t=${net.now})`);
});

/** A world per runtime: the sim with two hosts, or loopback. */
function worlds(): Array<{ name: string; runtime: Runtime; server: string; client: string; drive: <T>(work: Promise<T>) => Promise<T> }> {
  const net = new SimNetwork({ seed: 2 });
  net.addHost('server', ['10.0.0.2']);
  net.addHost('client', ['10.0.0.1']);
  net.link('server', 'client', { delayMs: 5 });
  const sim = new SimRuntime(net);
  // In the sim the network rethrows a core's exception when the run ends; here it must have reached the sockets first.
  const simDrive = async <T>(work: Promise<T>): Promise<T> => {
    for (;;) {
      try {
        return await sim.run(work, 60_000);
      } catch (error) {
        if ((error as { code?: string }).code !== 'BATON_ERR_SIM_CORE_THREW') throw error;
      }
    }
  };
  return [
    { name: 'sim', runtime: sim, server: '10.0.0.2', client: '10.0.0.1', drive: simDrive },
    { name: 'udp', runtime: new UdpRuntime(), server: '127.0.0.4', client: '127.0.0.1', drive: (work) => work },
  ];
}

for (const transport of ['sctp', 'tcp'] as const) {
  test(`${transport}: a server whose core throws emits 'error' and destroys its sockets with the coded error`, async (t) => {
    for (const w of worlds()) {
      const outcome = await w.drive(
        (async () => {
          const server = await listen({ runtime: w.runtime, transport, address: w.server, udpPort: 0, rtoMin: 100 });
          const accepted = once(server, 'connection') as Promise<[TransportSocket]>;
          const client = await connect({ runtime: w.runtime, transport, address: w.server, udpPort: server.addresses[0]!.port, localAddress: w.client, rtoMin: 100 });
          client.on('error', () => {}); // the server's abort may reach it, or it times out later; not the point here
          const [socket] = await accepted;
          const socketError = once(socket, 'error') as Promise<[RuntimeError]>;
          const serverError = once(server, 'error') as Promise<[RuntimeError]>;
          server.endpoint.handleDatagram = () => {
            throw new TypeError('a bug in the core');
          };
          client.write('this datagram makes the core throw');
          const [[onSocket], [onServer]] = await Promise.all([socketError, serverError]);
          client.destroy();
          await server.close();
          return { onSocket, onServer, destroyed: socket.destroyed };
        })(),
      );
      t.is(outcome.onServer.code, 'BATON_ERR_RUNTIME_CORE', w.name);
      t.is(outcome.onServer.where, 'handleDatagram', w.name);
      t.true(outcome.onServer.cause !== undefined, w.name);
      t.is(outcome.onSocket, outcome.onServer, `${w.name}: the socket got the same coded error`);
      t.true(outcome.destroyed, w.name);
    }
  });

  test(`${transport}: a connect()ed socket whose core throws is destroyed with a coded error, not left hanging`, async (t) => {
    for (const w of worlds()) {
      const code = await w.drive(
        (async () => {
          const server = await listen({ runtime: w.runtime, transport, address: w.server, udpPort: 0, rtoMin: 100 }, (s) => s.on('error', () => {}).pipe(s));
          const client = await connect({ runtime: w.runtime, transport, address: w.server, udpPort: server.addresses[0]!.port, localAddress: w.client, rtoMin: 100 });
          await once(client, 'connect');
          // A bug met while the library polls the connection's events, inside the runtime's cycle.
          client.transport.pollEvent = () => {
            throw new RangeError('a bug in pollEvent');
          };
          const failed = once(client, 'error') as Promise<[RuntimeError]>;
          client.write('x'); // the echo coming back makes the runtime call the hook
          const [error] = await failed;
          await server.close();
          return error.code;
        })(),
      );
      t.is(code, 'BATON_ERR_RUNTIME_HOOK', w.name);
    }
  });
}
