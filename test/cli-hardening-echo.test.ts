// Issue 14 item 14: the README's echo server, run as written in its own process (the built library,
// dist/, as `npm test` builds it), survives a client that aborts (SCTP ABORT, TCP RST) and serves
// the next client; and the server reports such a client as 'clientError' when asked.
import test from 'ava';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect, listen, type TransportSocket } from '../src/index.js';
import { spawnProcess } from './helpers/process.js';
import { freeUdpPort } from './helpers/ports.js';

const LIBRARY = new URL('../dist/src/index.js', import.meta.url).href;

/** The README's echo-server line, as written (its address and the default UDP port replaced). */
function readmeServer(transport: string, udpPort: number): string {
  const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
  const line = /^const server = await listen\(\{ transport: 'sctp', address: '127\.0\.0\.4' \}, \(socket\) => socket\.pipe\(socket\)\);$/m.exec(readme)?.[0];
  if (line === undefined) throw new Error("README.md's echo server line changed; update this test");
  return line.replace("{ transport: 'sctp', address: '127.0.0.4' }", `{ transport: '${transport}', address: '127.0.0.4', udpPort: ${udpPort}, rtoMin: 100 }`);
}

/** Echo one message through a fresh client, or fail after `ms`. */
async function echo(transport: 'sctp' | 'tcp', udpPort: number, message: string, ms: number): Promise<{ socket: TransportSocket; echoed: string }> {
  const socket = await connect({ transport, address: '127.0.0.4', udpPort, rtoMin: 100 });
  socket.write(message);
  const timer = setTimeout(() => socket.destroy(new Error(`no echo within ${ms} ms`)), ms);
  try {
    const [data] = (await once(socket, 'data')) as [Buffer];
    return { socket, echoed: data.toString() };
  } finally {
    clearTimeout(timer);
  }
}

for (const transport of ['sctp', 'tcp'] as const) {
  test.serial(`${transport}: the README's echo server survives a client that aborts and serves the next`, async (t) => {
    const udpPort = await freeUdpPort('127.0.0.4');
    const code = `import { listen } from ${JSON.stringify(LIBRARY)};\n${readmeServer(transport, udpPort)}\nconsole.log('LISTENING');\n`;
    const server = spawnProcess(process.execPath, ['--input-type=module', '-e', code], { t, timeoutMs: 60_000, stdout: 'pipe', stderr: 'pipe', name: 'echo-server' });
    await server.waitForLine(/LISTENING/, 20_000, 'stdout');

    // A client that aborts mid-conversation (SCTP ABORT; TCP-Migrate RST).
    const first = await echo(transport, udpPort, 'first', 10_000);
    t.is(first.echoed, 'first');
    first.socket.destroy();
    await once(first.socket, 'close');
    await new Promise((r) => setTimeout(r, 500)); // the abort reaches the server and is handled

    t.is(server.exitStatus, undefined, `the server died: ${server.stderr}`);
    const second = await echo(transport, udpPort, 'second', 10_000);
    t.is(second.echoed, 'second');
    second.socket.end();
    await once(second.socket, 'close');
    t.is(server.exitStatus, undefined, `the server died: ${server.stderr}`);
    t.is(server.stderr, '');
  });
}

test("a server reports a client's abort as 'clientError' with the socket", async (t) => {
  const udpPort = await freeUdpPort('127.0.0.4');
  const server = await listen({ transport: 'sctp', address: '127.0.0.4', udpPort, rtoMin: 100 }, (socket) => socket.pipe(socket));
  t.teardown(() => server.close());
  const reported = once(server, 'clientError') as Promise<[Error & { code?: string }, TransportSocket]>;
  const client = await echo('sctp', udpPort, 'hi', 10_000);
  client.socket.destroy();
  const [error, socket] = await reported;
  t.is(error.code, 'BATON_ERR_ABORTED');
  t.true(socket.destroyed);
});
