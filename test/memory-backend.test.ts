// The simulator's content server (src/sim/memory-backend.ts) in virtual time: the same HTTP
// semantics the nginx test shows on the real thing, plus its timing (delay, rate), pause/resume,
// replacement mid-run, a backend that goes down, and determinism.
import test from 'ava';
import { MemoryBackend, type MemoryBackendConnection, type MemoryBackendOptions } from '../src/sim/memory-backend.js';
import { SimNetwork } from '../src/sim/network.js';
import { SimRuntime } from '../src/sim/runtime.js';
import { splitResponses } from './helpers/http-response.js';

function object(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 131 + seed + (i >>> 9)) & 0xff;
  return bytes;
}

/** A sink that records every call with its virtual time. */
class Recorder {
  readonly log: Array<{ at: number; what: 'data' | 'end' | 'error'; length?: number; code?: string }> = [];
  private chunks: Buffer[] = [];
  onData: ((bytes: Uint8Array) => void) | undefined;
  conn!: MemoryBackendConnection;

  constructor(readonly net: SimNetwork) {}

  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  get received(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0);
  }

  open(backend: MemoryBackend): this {
    this.conn = backend.open({
      data: (bytes) => {
        this.log.push({ at: this.net.now, what: 'data', length: bytes.length });
        this.chunks.push(Buffer.from(bytes));
        this.onData?.(bytes);
      },
      end: () => this.log.push({ at: this.net.now, what: 'end' }),
      error: (e) => this.log.push({ at: this.net.now, what: 'error', code: e.code }),
    });
    return this;
  }

  send(method: string, path: string, headers: Record<string, string> = {}): void {
    const lines = [`${method} ${path} HTTP/1.1`, 'Host: sim', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    this.conn.write(Buffer.from(lines.join('\r\n') + '\r\n\r\n'));
  }
}

function world(options: Omit<MemoryBackendOptions, 'runtime'> = {}): { net: SimNetwork; backend: MemoryBackend } {
  const net = new SimNetwork({ seed: 1 });
  return { net, backend: new MemoryBackend({ runtime: new SimRuntime(net), ...options }) };
}

test('GET and Range bytes=N- answer after the delay, with ETag, Content-Range and the right bytes', (t) => {
  const { net, backend } = world({ delayMs: 5 });
  const video = object(100_000, 1);
  const info = backend.put('/video.bin', video);
  const r = new Recorder(net).open(backend);
  r.send('GET', '/video.bin');
  r.send('GET', '/video.bin', { Range: 'bytes=60000-' });
  r.send('GET', '/video.bin', { Range: 'bytes=10-19' });
  t.is(r.log.length, 0, 'nothing is delivered inside write()');
  net.run();
  t.is(r.log[0]!.at, 5, 'the first byte comes delayMs after the request');
  const [whole, tail, middle] = splitResponses(r.bytes);
  t.is(whole!.status, 200);
  t.is(whole!.headers.get('etag'), info.etag);
  t.is(whole!.headers.get('last-modified'), info.lastModified);
  t.true(whole!.body.equals(video));
  t.is(tail!.status, 206);
  t.is(tail!.headers.get('content-range'), 'bytes 60000-99999/100000');
  t.is(tail!.headers.get('etag'), info.etag);
  t.true(tail!.body.equals(video.subarray(60000)));
  t.is(middle!.headers.get('content-range'), 'bytes 10-19/100000');
  t.true(middle!.body.equals(video.subarray(10, 20)));
  t.false(r.log.some((e) => e.what !== 'data'), 'the connection stays open (keep-alive)');
  t.deepEqual(backend.stats, { connections: 1, requests: 3 });
});

test('If-Range: the current ETag resumes (206); after put() replaces the object the old one gets 200 and the new bytes', (t) => {
  const { net, backend } = world();
  const first = object(50_000, 1);
  const old = backend.put('/o.bin', first);
  const r = new Recorder(net).open(backend);
  r.send('GET', '/o.bin', { Range: 'bytes=40000-', 'If-Range': old.etag });
  r.send('GET', '/o.bin', { Range: 'bytes=40000-', 'If-Range': old.lastModified });
  net.run();
  const second = object(45_000, 2);
  const fresh = backend.put('/o.bin', second);
  t.not(fresh.etag, old.etag);
  t.not(fresh.lastModified, old.lastModified, 'Last-Modified moves even within the same virtual second');
  r.send('GET', '/o.bin', { Range: 'bytes=40000-', 'If-Range': old.etag });
  r.send('GET', '/o.bin', { Range: 'bytes=40000-', 'If-Range': `W/${fresh.etag}` });
  net.run();
  const [byTag, byDate, stale, weak] = splitResponses(r.bytes);
  t.is(byTag!.status, 206);
  t.true(byTag!.body.equals(first.subarray(40000)));
  t.is(byDate!.status, 206);
  t.is(stale!.status, 200);
  t.is(stale!.headers.get('content-range'), undefined);
  t.true(stale!.body.equals(second));
  t.is(weak!.status, 200, 'a weak validator never matches If-Range');
  // The same bytes put into another backend (another replica) carry the same ETag.
  const { backend: replica } = world();
  t.is(replica.put('/o.bin', second).etag, fresh.etag);
});

test('HEAD, 404, 405, 416, a malformed request (400, then end) and Connection: close', (t) => {
  const { net, backend } = world();
  backend.put('/a.bin', object(1000, 3));
  const r = new Recorder(net).open(backend);
  r.send('HEAD', '/a.bin');
  r.send('GET', '/missing');
  r.send('DELETE', '/a.bin');
  r.send('GET', '/a.bin', { Range: 'bytes=1000-' });
  r.send('GET', '/a.bin', { Connection: 'close' });
  r.send('GET', '/a.bin'); // after Connection: close: never answered
  net.run();
  const rs = splitResponses(r.bytes, [true]);
  t.deepEqual(
    rs.map((x) => x.status),
    [200, 404, 405, 416, 200],
  );
  t.is(rs[0]!.headers.get('content-length'), '1000');
  t.is(rs[0]!.body.length, 0);
  t.is(rs[2]!.headers.get('allow'), 'GET, HEAD');
  t.is(rs[3]!.headers.get('content-range'), 'bytes */1000');
  t.is(rs[4]!.headers.get('connection'), 'close');
  t.is(r.log.at(-1)!.what, 'end');
  t.is(backend.openConnections, 0);

  const bad = new Recorder(net).open(backend);
  bad.conn.write(Buffer.from('this is not http\r\n\r\n'));
  net.run();
  t.is(splitResponses(bad.bytes)[0]!.status, 400);
  t.is(bad.log.at(-1)!.what, 'end');
});

test('a request body: Content-Length 0 is served, any other body gets 501 and the connection ends', (t) => {
  const { net, backend } = world();
  backend.put('/a.bin', object(10, 3));
  const r = new Recorder(net).open(backend);
  r.send('GET', '/a.bin', { 'Content-Length': '0' });
  r.send('GET', '/a.bin', { 'Content-Length': '5' });
  net.run();
  t.deepEqual(
    splitResponses(r.bytes).map((x) => x.status),
    [200, 501],
  );
  t.is(r.log.at(-1)!.what, 'end');
});

test('the rate paces delivery in virtual time', (t) => {
  const { net, backend } = world({ delayMs: 10, rateBytesPerSec: 50_000, chunkBytes: 10_000 });
  backend.put('/slow.bin', object(100_000, 4));
  const r = new Recorder(net).open(backend);
  r.send('GET', '/slow.bin');
  net.run();
  const body = splitResponses(r.bytes)[0]!;
  t.is(body.body.length, 100_000);
  // The head goes out as its own chunk, then the body in 10 kB chunks, each due its predecessor's
  // length at 50 kB/s after it: the last one leaves after the head and nine body chunks.
  const last = r.log.at(-1)!.at;
  const expected = 10 + ((body.headLength + 90_000) / 50_000) * 1000;
  t.true(Math.abs(last - expected) < 1e-6, `last chunk at ${last} ms, expected ${expected}`);
  t.deepEqual(
    r.log.map((e) => e.length),
    [body.headLength, ...Array<number>(10).fill(10_000)],
  );
});

test('pause() stops delivery at once, even from inside data(); resume() continues to the last byte', (t) => {
  const { net, backend } = world({ chunkBytes: 4096 });
  const big = object(200_000, 5);
  backend.put('/big.bin', big);
  const r = new Recorder(net).open(backend);
  let pausedAt = -1;
  r.onData = () => {
    if (pausedAt < 0 && r.received >= 50_000) {
      r.conn.pause();
      pausedAt = r.received;
    }
  };
  r.send('GET', '/big.bin');
  net.run(10_000);
  t.true(pausedAt > 0);
  t.is(r.received, pausedAt, 'nothing more arrives in ten virtual seconds while paused');
  const calls = r.log.length;
  r.conn.resume();
  t.is(r.log.length, calls, 'resume() does not deliver inside the call');
  net.run();
  t.true(splitResponses(r.bytes)[0]!.body.equals(big));
});

test('a response in flight keeps its bytes when the object is replaced; setDown resets and refuses', (t) => {
  const { net, backend } = world({ rateBytesPerSec: 100_000, chunkBytes: 10_000 });
  const first = object(100_000, 6);
  backend.put('/o.bin', first);
  const r = new Recorder(net).open(backend);
  r.send('GET', '/o.bin');
  net.schedule(300, () => backend.put('/o.bin', object(100_000, 7)));
  net.run();
  t.true(splitResponses(r.bytes)[0]!.body.equals(first), 'no splice of two versions');

  const open = new Recorder(net).open(backend);
  open.send('GET', '/o.bin');
  net.schedule(net.now + 200, () => backend.setDown(true));
  net.run();
  t.is(open.log.at(-1)!.code, 'BATON_ERR_BACKEND_RESET');
  t.true(open.received > 0 && open.received < 100_000);
  const refused = new Recorder(net).open(backend);
  refused.send('GET', '/o.bin');
  const closedEarly = new Recorder(net).open(backend);
  closedEarly.conn.close(); // closed before the refusal is delivered: no call at all
  net.run();
  t.deepEqual(
    refused.log.map((e) => e.code),
    ['BATON_ERR_BACKEND_REFUSED'],
  );
  t.deepEqual(closedEarly.log, []);
  backend.setDown(false);
  const again = new Recorder(net).open(backend);
  again.send('GET', '/o.bin');
  net.run();
  t.is(splitResponses(again.bytes)[0]!.status, 200);
});

test('deterministic: the same script gives the same deliveries at the same virtual times', (t) => {
  const script = () => {
    const { net, backend } = world({ delayMs: 3, rateBytesPerSec: 80_000, chunkBytes: 3000 });
    backend.put('/x.bin', object(30_000, 8));
    const r = new Recorder(net).open(backend);
    r.onData = () => {
      if (r.received > 10_000 && r.received < 13_000) {
        r.conn.pause();
        net.schedule(net.now + 50, () => r.conn.resume());
      }
    };
    r.send('GET', '/x.bin', { Range: 'bytes=100-' });
    net.run();
    return r.log;
  };
  const a = script();
  t.true(a.length > 10);
  t.deepEqual(script(), a);
});

test('without virtual time: connection() answers every complete request at once; chunked, ignoreIfRange and close options; open() needs a runtime', (t) => {
  const body = object(2500, 9);
  const req = (path: string, headers: Record<string, string> = {}): Buffer =>
    Buffer.from([`GET ${path} HTTP/1.1`, 'Host: sim', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join('\r\n') + '\r\n\r\n');
  const plain = new MemoryBackend();
  const info = plain.put('/o', body, { etag: '"v1"' });
  const c = plain.connection();
  t.is(c.handleBytes(req('/o').subarray(0, 10)).length, 0, 'an incomplete head gets nothing yet');
  const both = splitResponses(Buffer.from(c.handleBytes(Buffer.concat([req('/o').subarray(10), req('/o', { Range: 'bytes=2000-', 'If-Range': '"v1"' })]))));
  t.deepEqual(both.map((r) => r.status), [200, 206]);
  t.deepEqual(both[1]!.body, body.subarray(2000));
  t.is(both[1]!.headers.get('content-range'), 'bytes 2000-2499/2500');
  t.false(c.closed);
  // If-Range with another validator (or a weak ETag) gets the whole object; a broken server ignores it.
  t.is(splitResponses(Buffer.from(plain.connection().handleBytes(req('/o', { Range: 'bytes=5-', 'If-Range': '"v0"' }))))[0]!.status, 200);
  t.is(splitResponses(Buffer.from(plain.connection().handleBytes(req('/o', { Range: 'bytes=5-', 'If-Range': info.lastModified }))))[0]!.status, 206);
  const broken = new MemoryBackend({ ignoreIfRange: true });
  broken.put('/o', body, { etag: '"v2"' });
  t.is(splitResponses(Buffer.from(broken.connection().handleBytes(req('/o', { Range: 'bytes=5-', 'If-Range': '"v1"' }))))[0]!.status, 206);
  // Chunked transfer coding, no Content-Length; close after every response.
  const odd = new MemoryBackend({ chunked: true, close: true });
  odd.put('/o', body);
  const oc = odd.connection();
  const text = Buffer.from(oc.handleBytes(Buffer.concat([req('/o'), req('/o')]))).toString('latin1');
  t.regex(text, /^HTTP\/1\.1 200 OK\r\n/);
  t.regex(text, /\r\nTransfer-Encoding: chunked\r\n/i);
  t.notRegex(text, /Content-Length/i);
  t.regex(text, /\r\nConnection: close\r\n/);
  t.true(text.endsWith('\r\n0\r\n\r\n'), 'one response, ended by the last chunk; the second request is not read');
  t.is(text.split('HTTP/1.1 ').length - 1, 1);
  t.true(oc.closed);
  t.throws(() => plain.open({ data: () => {}, end: () => {}, error: () => {} }), { code: 'BATON_ERR_USAGE' });
});
