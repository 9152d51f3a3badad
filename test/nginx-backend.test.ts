// The HTTP semantics the wedge relies on, shown on Debian's real nginx through TcpBackend (the
// daemon's --backend pipe): ETag on every answer, `Range: bytes=N-` -> 206 with Content-Range,
// If-Range with the current ETag -> 206 and with an old one -> 200 and the whole new object,
// several requests on one kept-alive connection, HEAD. Plus TcpBackend's own promises: real
// backpressure while paused, and coded errors for refused, reset and timed-out connections.
import test from 'ava';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { TcpBackend, parseBackendUrl, type TcpBackendConnection } from '../src/node/tcp-backend.js';
import type { BatonError } from '../src/transport-abstraction/errors.js';
import { takeResponse, type HttpResponse } from './helpers/http-response.js';
import { startNginx } from './helpers/nginx.js';
import { spawnProcess } from './helpers/process.js';

function object(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 131 + seed + (i >>> 9)) & 0xff;
  return bytes;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A test-side reader of HTTP/1.1 responses arriving on one backend connection, in order. */
class Exchange {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes the response being read needs in all, once its head is complete. */
  private need: number | undefined;
  readonly conn: TcpBackendConnection;
  ended = false;
  error: BatonError | undefined;
  delivered = 0;
  private waiter: (() => void) | undefined;
  /** Called on every delivered chunk (a test's hook, e.g. to pause). */
  onData: ((chunk: Uint8Array) => void) | undefined;

  constructor(backend: TcpBackend) {
    this.conn = backend.open({
      data: (bytes) => {
        this.delivered += bytes.length;
        this.chunks.push(Buffer.from(bytes));
        this.buffered += bytes.length;
        this.onData?.(bytes);
        this.waiter?.();
      },
      end: () => {
        this.ended = true;
        this.waiter?.();
      },
      error: (error) => {
        this.error = error;
        this.waiter?.();
      },
    });
  }

  send(method: string, path: string, headers: Record<string, string> = {}): void {
    const lines = [`${method} ${path} HTTP/1.1`, 'Host: backend', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    this.conn.write(Buffer.from(lines.join('\r\n') + '\r\n\r\n'));
  }

  /** The next complete response (a HEAD answer has no body). */
  async response(head = false, timeoutMs = 10_000): Promise<HttpResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = this.take(head);
      if (parsed) return parsed;
      if (this.ended || this.error) throw new Error(`connection finished before a whole response (${this.error?.code ?? 'end'})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no whole response within ${timeoutMs} ms (${this.buffered} bytes buffered)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  private take(head: boolean): HttpResponse | undefined {
    // Join the chunks only when the whole response is there (a 24 MB body arrives in 64 KB reads).
    if (this.need !== undefined && this.buffered < this.need) return undefined;
    const buffer = Buffer.concat(this.chunks);
    this.chunks = [buffer];
    const taken = takeResponse(buffer, head);
    this.need = taken !== undefined && 'need' in taken ? taken.need : undefined;
    if (taken === undefined || !('response' in taken)) return undefined;
    this.chunks = [taken.rest];
    this.buffered = taken.rest.length;
    return taken.response;
  }
}

test('parseBackendUrl takes http://HOST[:PORT] and refuses the rest with BATON_ERR_BAD_ADDRESS', (t) => {
  t.deepEqual(parseBackendUrl('http://127.0.0.2:8080'), { host: '127.0.0.2', port: 8080 });
  t.deepEqual(parseBackendUrl('http://127.0.0.2:8080/'), { host: '127.0.0.2', port: 8080 });
  t.deepEqual(parseBackendUrl('http://[::1]:81'), { host: '::1', port: 81 });
  t.deepEqual(parseBackendUrl('http://localhost'), { host: 'localhost', port: 80 });
  for (const bad of ['127.0.0.2:8080', 'https://127.0.0.2', 'http://127.0.0.2/videos', 'http://u:p@127.0.0.2', 'http://127.0.0.2/?q']) {
    t.throws(() => parseBackendUrl(bad), { code: 'BATON_ERR_BAD_ADDRESS' }, bad);
  }
});

test.serial('nginx: GET, Range bytes=N-, If-Range with the current and an old ETag, through TcpBackend', async (t) => {
  const first = object(300_000, 1);
  const nginx = await startNginx(t, { files: { 'video.bin': first } });
  const backend = new TcpBackend(nginx.url);

  const ex = new Exchange(backend);
  t.teardown(() => ex.conn.close());
  ex.send('GET', '/video.bin');
  const whole = await ex.response();
  t.is(whole.status, 200, nginx.errorLog());
  t.is(whole.headers.get('content-length'), String(first.length));
  const etag = whole.headers.get('etag');
  t.truthy(etag, 'nginx sends an ETag for a static file');
  t.truthy(whole.headers.get('last-modified'));
  t.is(sha(whole.body), sha(first));

  ex.send('GET', '/video.bin', { Range: 'bytes=123457-' });
  const tail = await ex.response();
  t.is(tail.status, 206);
  t.is(tail.headers.get('content-range'), `bytes 123457-${first.length - 1}/${first.length}`);
  t.is(tail.headers.get('etag'), etag);
  t.is(tail.headers.get('content-length'), String(first.length - 123457));
  t.true(tail.body.equals(first.subarray(123457)));

  ex.send('GET', '/video.bin', { Range: 'bytes=200000-', 'If-Range': etag! });
  const resumed = await ex.response();
  t.is(resumed.status, 206, 'If-Range with the current ETag resumes');
  t.true(resumed.body.equals(first.subarray(200000)));

  // Replace the object (new size and mtime, so a new ETag): the old validator no longer matches.
  const second = object(250_000, 7);
  nginx.put('video.bin', second);
  ex.send('GET', '/video.bin', { Range: 'bytes=200000-', 'If-Range': etag! });
  const changed = await ex.response();
  t.is(changed.status, 200, 'If-Range with an old ETag gets the whole object, not a range');
  t.is(changed.headers.get('content-range'), undefined);
  t.not(changed.headers.get('etag'), etag);
  t.is(sha(changed.body), sha(second));
  t.false(ex.ended, 'all four requests went over one kept-alive connection');
  t.is(ex.error, undefined);
});

test.serial('nginx: keep-alive carries several requests, HEAD answers with headers only', async (t) => {
  const small = object(1000, 3);
  const nginx = await startNginx(t, { files: { 'a.bin': small, 'b.txt': 'hello\n' } });
  const backend = new TcpBackend(nginx.url);
  const ex = new Exchange(backend);
  t.teardown(() => ex.conn.close());

  ex.send('HEAD', '/a.bin');
  const head = await ex.response(true);
  t.is(head.status, 200);
  t.is(head.headers.get('content-length'), '1000');
  t.truthy(head.headers.get('etag'));
  t.is(head.body.length, 0);

  // Three pipelined requests, answered in order on the same connection.
  ex.send('GET', '/b.txt');
  ex.send('GET', '/a.bin', { Range: 'bytes=990-' });
  ex.send('GET', '/missing.bin');
  const r1 = await ex.response();
  const r2 = await ex.response();
  const r3 = await ex.response();
  t.is(r1.status, 200);
  t.is(r1.body.toString(), 'hello\n');
  t.is(r2.status, 206);
  t.true(r2.body.equals(small.subarray(990)));
  t.is(r3.status, 404);
  t.false(ex.ended);

  // The client's Connection: close makes nginx end the connection: the sink hears end().
  ex.send('GET', '/b.txt', { Connection: 'close' });
  const last = await ex.response();
  t.is(last.status, 200);
  const deadline = Date.now() + 5000;
  while (!ex.ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.true(ex.ended, 'the backend closed its side and the sink heard end()');
  t.is(ex.error, undefined);
});

test.serial('nginx: a paused connection stops reading from the kernel, and resumes to the last byte', async (t) => {
  const big = object(24 << 20, 5);
  const nginx = await startNginx(t, { files: { 'big.bin': big } });
  const ex = new Exchange(new TcpBackend(nginx.url));
  t.teardown(() => ex.conn.close());
  let pausedAt = -1;
  ex.onData = () => {
    if (pausedAt < 0 && ex.delivered > 1 << 20) {
      ex.conn.pause();
      pausedAt = ex.delivered;
    }
  };
  ex.send('GET', '/big.bin');
  const deadline = Date.now() + 10_000;
  while (pausedAt < 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.true(pausedAt > 0, 'some data arrived');
  await new Promise((r) => setTimeout(r, 400));
  t.is(ex.delivered, pausedAt, 'nothing is delivered while paused');
  t.true(ex.conn.paused);
  t.true(ex.conn.bytesRead - pausedAt < 512 * 1024, `read ${ex.conn.bytesRead - pausedAt} bytes from the kernel while paused`);
  ex.conn.resume();
  const r = await ex.response(false, 60_000);
  t.is(r.status, 200);
  t.is(sha(r.body), sha(big));
});

test.serial('a refused connection, a reset and a connect timeout reach the sink as coded errors', async (t) => {
  // Refused: a port nobody listens on.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen({ host: '127.0.0.3', port: 0 }, () => r()));
  const deadPort = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const refused = new Exchange(new TcpBackend(`http://127.0.0.3:${deadPort}`));
  refused.send('GET', '/x');
  await t.throwsAsync(refused.response(), { message: /BATON_ERR_BACKEND_REFUSED/ });

  // Reset: a server that answers a request with a TCP RST.
  const resetter = net.createServer((s) => s.once('data', () => s.resetAndDestroy()));
  await new Promise<void>((r) => resetter.listen({ host: '127.0.0.3', port: 0 }, () => r()));
  t.teardown(() => resetter.close());
  const reset = new Exchange(new TcpBackend(`http://127.0.0.3:${(resetter.address() as net.AddressInfo).port}`));
  reset.send('GET', '/x');
  await t.throwsAsync(reset.response(), { message: /BATON_ERR_BACKEND_RESET/ });

  // Timeout: a listener that never accepts, its accept queue full, so later SYNs are dropped.
  const stuck = spawnProcess('python3', ['-c', 'import socket,time\ns=socket.socket()\ns.bind(("127.0.0.3",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)'], { t, timeoutMs: 60_000, name: 'stuck-listener' });
  const [line] = await stuck.waitForLine(/^\d+$/);
  const slow = new TcpBackend(`http://127.0.0.3:${line}`, { connectTimeoutMs: 300 });
  const attempts = Array.from({ length: 4 }, () => new Exchange(slow));
  t.teardown(() => attempts.forEach((a) => a.conn.close()));
  await new Promise((r) => setTimeout(r, 1000));
  t.is(attempts[3]!.error?.code, 'BATON_ERR_BACKEND_TIMEOUT', `codes: ${attempts.map((a) => a.error?.code).join(',')}`);
});

test.serial('a sink that throws closes its connection and reaches onError, not the event loop', async (t) => {
  const nginx = await startNginx(t, { files: { 'a.txt': 'abc' } });
  const seen: string[] = [];
  const backend = new TcpBackend(nginx.url, { onError: (e) => seen.push(e.code) });
  const conn = backend.open({
    data: () => {
      throw new TypeError('sink bug');
    },
    end: () => seen.push('end'),
    error: (e) => seen.push(e.code),
  });
  conn.write(Buffer.from('GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n'));
  const deadline = Date.now() + 5000;
  while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 100));
  t.deepEqual(seen, ['BATON_ERR_BACKEND_SINK_THREW']);
  t.is(backend.sinkErrors, 1);
  conn.close();
});
