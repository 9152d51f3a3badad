// The wedge's keep-alive pool of content-server connections (src/node/tcp-backend.ts): a released
// connection carries the next request, a Range request (a taker's resume) on a pooled connection is
// answered right, an idle connection the content server closed is dropped, and a request on a
// pooled connection the server closed just as it went out is sent again on a new connection.
// Real TCP on 127.0.0.x, a few milliseconds each.
import test from 'ava';
import net from 'node:net';
import { ContentServer, TEST_OBJECT_PATH, generatedBytes, generatedSha256 } from '../src/node/content-server.js';
import { TcpBackend, type TcpBackendConnection } from '../src/node/tcp-backend.js';
import { createHash } from 'node:crypto';
import { takeResponse, type HttpResponse } from './helpers/http-response.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** One request on a connection from `backend`; resolves with the response, the connection left open. */
function get(backend: TcpBackend, request: string): Promise<{ response: HttpResponse; conn: TcpBackendConnection }> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const conn = backend.open({
      data: (bytes) => {
        buffer = Buffer.concat([buffer, bytes]);
        const r = takeResponse(buffer);
        if (r !== undefined && 'response' in r) resolve({ response: r.response, conn });
      },
      end: () => reject(new Error('the backend ended before a whole response')),
      error: (e) => reject(e),
    });
    conn.write(Buffer.from(request, 'latin1'));
  });
}

const GET = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

test('a released connection carries the next request, and a Range request on it (a resume) gets the right bytes', async (t) => {
  const server = await ContentServer.start({ address: '127.0.0.2', testObjectBytes: 70_000 });
  t.teardown(() => server.close());
  const backend = new TcpBackend(server.url);
  t.teardown(() => backend.closeIdle());
  const first = await get(backend, GET(TEST_OBJECT_PATH));
  t.is(first.response.status, 200);
  t.is(sha(first.response.body), generatedSha256(70_000));
  first.conn.release();
  t.is(backend.idleCount, 1);
  const etag = first.response.headers.get('etag')!;
  const second = await get(backend, GET(TEST_OBJECT_PATH, `Range: bytes=69000-\r\nIf-Range: ${etag}\r\n`));
  t.is(second.response.status, 206);
  t.is(second.response.headers.get('content-range'), 'bytes 69000-69999/70000');
  t.deepEqual(second.response.body, Buffer.from(generatedBytes(69_000, 70_000)));
  second.conn.close();
  t.is(backend.idleCount, 0, 'a closed connection is not pooled');
  t.is(server.stats.connections, 1);
  t.deepEqual({ opened: backend.opened, reused: backend.reused, retried: backend.retried }, { opened: 1, reused: 1, retried: 0 });
});

/** A keep-alive server by hand: answers each request with `OK`, except as `misbehave` says. */
async function handServer(t: { teardown(fn: () => void): void }, misbehave: (connection: number, request: number, socket: net.Socket) => boolean) {
  let connections = 0;
  const server = net.createServer((socket) => {
    const connection = ++connections;
    let requests = 0;
    let buffer = '';
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      for (let end = buffer.indexOf('\r\n\r\n'); end >= 0; end = buffer.indexOf('\r\n\r\n')) {
        buffer = buffer.slice(end + 4);
        if (misbehave(connection, ++requests, socket)) return;
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Connection: ${connection}\r\n\r\nOK`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
  t.teardown(() => server.close());
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections };
}

const until = async (check: () => boolean) => {
  const deadline = Date.now() + 10_000;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
};

test('an idle connection the content server closes leaves the pool; the next request opens a new one', async (t) => {
  let idleSocket: net.Socket | undefined;
  const server = await handServer(t, (connection, request, socket) => {
    if (connection === 1 && request === 1) idleSocket = socket;
    return false;
  });
  const backend = new TcpBackend({ host: '127.0.0.2', port: server.port });
  t.teardown(() => backend.closeIdle());
  const first = await get(backend, GET('/a'));
  first.conn.release();
  t.is(backend.idleCount, 1);
  idleSocket!.end(); // the content server's idle timeout
  await until(() => backend.idleCount === 0);
  t.is(backend.idleCount, 0);
  const second = await get(backend, GET('/b'));
  t.is(second.response.headers.get('x-connection'), '2');
  second.conn.close();
  t.deepEqual({ opened: backend.opened, reused: backend.reused, retried: backend.retried }, { opened: 2, reused: 0, retried: 0 });
});

test('a request on a pooled connection the content server closed as it went out is sent again on a new one', async (t) => {
  // Connection 1: the first request is answered, the second is met with a close (the server's
  // idle timeout crossing the request on the wire).
  const server = await handServer(t, (connection, request, socket) => {
    if (connection === 1 && request === 2) {
      socket.end();
      return true;
    }
    return false;
  });
  const backend = new TcpBackend({ host: '127.0.0.2', port: server.port });
  t.teardown(() => backend.closeIdle());
  const first = await get(backend, GET('/a'));
  first.conn.release();
  const second = await get(backend, GET('/b'));
  t.is(second.response.status, 200);
  t.is(second.response.headers.get('x-connection'), '2');
  t.deepEqual(second.response.body, Buffer.from('OK'));
  second.conn.close();
  t.deepEqual({ opened: backend.opened, reused: backend.reused, retried: backend.retried, connections: server.connections() }, { opened: 2, reused: 1, retried: 1, connections: 2 });
});

test('a connection that already gave response bytes is never retried: its failure reaches the sink', async (t) => {
  const server = await handServer(t, (connection, request, socket) => {
    if (connection === 1 && request === 2) {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nOK');
      socket.destroy();
      return true;
    }
    return false;
  });
  const backend = new TcpBackend({ host: '127.0.0.2', port: server.port });
  t.teardown(() => backend.closeIdle());
  const first = await get(backend, GET('/a'));
  first.conn.release();
  const outcome = await new Promise<string>((resolve) => {
    const conn = backend.open({ data: () => {}, end: () => resolve('end'), error: (e) => resolve(e.code) });
    conn.write(Buffer.from(GET('/b'), 'latin1'));
  });
  t.true(outcome === 'end' || outcome === 'BATON_ERR_BACKEND_RESET', outcome);
  t.is(backend.retried, 0);
  t.is(server.connections(), 1);
});
