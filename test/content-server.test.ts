// The embedded content server (src/node/content-server.ts) as node's own http client sees it: the
// validators, ranges, If-Range, HEAD, keep-alive, 404/405, replacement mid-run and the rate limit
// that the wedge and `baton demo` rely on.
import test from 'ava';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { ContentServer, type ContentServerOptions, TEST_OBJECT_PATH, generatedBytes, generatedObjectPath, generatedSha256 } from '../src/node/content-server.js';
import { TcpBackend } from '../src/node/tcp-backend.js';
import { splitResponses } from './helpers/http-response.js';

interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

function request(server: ContentServer, path: string, options: { method?: string; headers?: Record<string, string>; agent?: http.Agent } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: server.address, port: server.port, path, method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function start(t: { teardown(fn: () => Promise<void>): void }, options: ContentServerOptions = {}): Promise<ContentServer> {
  const server = await ContentServer.start({ address: '127.0.0.2', ...options });
  t.teardown(() => server.close());
  return server;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('generated objects: deterministic, no short period, any slice equals the same bytes of the whole', (t) => {
  const whole = generatedBytes(0, 70_000);
  t.deepEqual(generatedBytes(0, 70_000), whole);
  t.deepEqual(generatedBytes(12_345, 60_001), whole.subarray(12_345, 60_001));
  t.notDeepEqual(whole.subarray(0, 256), whole.subarray(256, 512));
  t.notDeepEqual(whole.subarray(0, 4464), whole.subarray(65_536, 70_000), 'no 64 KiB period either');
  t.notDeepEqual(generatedBytes(0, 1000, 1), generatedBytes(0, 1000, 0), 'another seed is another object');
  t.is(generatedSha256(70_000), sha(whole));
});

test('GET a generated object: 200 with Content-Length, a strong ETag, Last-Modified and the right bytes', async (t) => {
  const server = await start(t);
  const r = await request(server, generatedObjectPath(300_000));
  t.is(r.status, 200);
  t.is(r.headers['content-length'], '300000');
  t.regex(r.headers.etag!, /^"[^"]+"$/);
  t.truthy(r.headers['last-modified']);
  t.is(r.headers['accept-ranges'], 'bytes');
  t.is(sha(r.body), generatedSha256(300_000));
  const named = await request(server, TEST_OBJECT_PATH, { method: 'HEAD' });
  t.is(named.headers['content-length'], String(16 << 20), 'the named test object is 16 MiB by default');
  // Two servers (two replicas) agree on the validator of the same object.
  const other = await start(t);
  const again = await request(other, generatedObjectPath(300_000), { method: 'HEAD' });
  t.is(again.headers.etag, r.headers.etag);
  t.is(again.headers['last-modified'], r.headers['last-modified']);
});

test('Range: bytes=N-, N-M and -K give 206 with Content-Range; past the end gives 416', async (t) => {
  const server = await start(t);
  const path = generatedObjectPath(100_000);
  const all = generatedBytes(0, 100_000);
  const cases: Array<[string, number, number]> = [
    ['bytes=40000-', 40_000, 99_999],
    ['bytes=10-19', 10, 19],
    ['bytes=99990-200000', 99_990, 99_999],
    ['bytes=-100', 99_900, 99_999],
  ];
  for (const [range, first, last] of cases) {
    const r = await request(server, path, { headers: { Range: range } });
    t.is(r.status, 206, range);
    t.is(r.headers['content-range'], `bytes ${first}-${last}/100000`, range);
    t.is(r.headers['content-length'], String(last - first + 1), range);
    t.true(r.body.equals(all.subarray(first, last + 1)), range);
  }
  const past = await request(server, path, { headers: { Range: 'bytes=100000-' } });
  t.is(past.status, 416);
  t.is(past.headers['content-range'], 'bytes */100000');
  // Several ranges or garbage: the Range header is ignored, the whole object comes back.
  for (const range of ['bytes=0-1,5-6', 'pages=1-2', 'bytes=9-3']) {
    const r = await request(server, path, { headers: { Range: range } });
    t.is(r.status, 200, range);
    t.is(r.body.length, 100_000, range);
  }
});

test('If-Range: the current ETag or date resumes (206), another validator gets the whole object (200)', async (t) => {
  const server = await start(t);
  const path = generatedObjectPath(50_000);
  const info = server.info(path)!;
  const byEtag = await request(server, path, { headers: { Range: 'bytes=49000-', 'If-Range': info.etag } });
  t.is(byEtag.status, 206);
  t.is(byEtag.body.length, 1000);
  const byDate = await request(server, path, { headers: { Range: 'bytes=49000-', 'If-Range': info.lastModified } });
  t.is(byDate.status, 206);
  for (const other of ['"something-else"', `W/${info.etag}`, 'Mon, 01 Jan 2024 00:00:00 GMT']) {
    const r = await request(server, path, { headers: { Range: 'bytes=49000-', 'If-Range': other } });
    t.is(r.status, 200, other);
    t.is(r.body.length, 50_000, other);
    t.is(r.headers['content-range'], undefined, other);
  }
});

test('HEAD has headers only; unknown paths 404, other methods 405 with Allow', async (t) => {
  const server = await start(t);
  const head = await request(server, generatedObjectPath(1234), { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(head.headers['content-length'], '1234');
  t.is(head.body.length, 0);
  t.is((await request(server, '/nothing-here')).status, 404);
  t.is((await request(server, '/object-abc.bin')).status, 404);
  const post = await request(server, TEST_OBJECT_PATH, { method: 'POST' });
  t.is(post.status, 405);
  t.is(post.headers.allow, 'GET, HEAD');
});

test('keep-alive: sequential requests share one connection', async (t) => {
  const server = await start(t);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  for (const n of [10, 20_000, 30]) {
    const r = await request(server, generatedObjectPath(n), { agent });
    t.is(r.body.length, n);
  }
  t.is(server.stats.requests, 3);
  t.is(server.stats.connections, 1);
});

test('put() replaces an object mid-run: a new ETag, and If-Range with the old one gets the new whole object', async (t) => {
  const server = await start(t, { testObjectBytes: 40_000 });
  const before = await request(server, TEST_OBJECT_PATH);
  const oldTag = before.headers.etag!;
  t.is(sha(before.body), generatedSha256(40_000));

  const replacement = Buffer.from('the object changed while you were downloading it\n'.repeat(1000));
  const info = server.put(TEST_OBJECT_PATH, replacement);
  t.not(info.etag, oldTag);
  t.not(info.lastModified, before.headers['last-modified']);
  const stale = await request(server, TEST_OBJECT_PATH, { headers: { Range: 'bytes=30000-', 'If-Range': oldTag } });
  t.is(stale.status, 200);
  t.true(stale.body.equals(replacement));
  const fresh = await request(server, TEST_OBJECT_PATH, { headers: { Range: 'bytes=30000-', 'If-Range': info.etag } });
  t.is(fresh.status, 206);
  t.true(fresh.body.equals(replacement.subarray(30000)));

  // A generated replacement (another seed) changes the validator too; a second put of the same
  // bytes within the same second still moves Last-Modified forward.
  const seeded = server.put(TEST_OBJECT_PATH, { length: 40_000, seed: 9 });
  t.not(seeded.etag, oldTag);
  t.is(sha((await request(server, TEST_OBJECT_PATH)).body), generatedSha256(40_000, 9));
  const a = server.put('/x.bin', Buffer.from('x'));
  const b = server.put('/x.bin', Buffer.from('x'));
  t.true(Date.parse(b.lastModified) > Date.parse(a.lastModified));
});

test('the rate limit paces a body, and a response in flight keeps the object it started with', async (t) => {
  const server = await start(t, { rateBytesPerSec: 200_000, testObjectBytes: 100_000 });
  const started = Date.now();
  const pending = request(server, TEST_OBJECT_PATH);
  await new Promise((r) => setTimeout(r, 100));
  server.put(TEST_OBJECT_PATH, { length: 100_000, seed: 4 }); // replaced while the first body flows
  const r = await pending;
  const elapsed = Date.now() - started;
  t.true(elapsed >= 400, `100 KB at 200 KB/s took only ${elapsed} ms`);
  t.is(sha(r.body), generatedSha256(100_000), 'the body in flight is the old object, not a splice');
  server.rateBytesPerSec = undefined;
  t.is(sha((await request(server, TEST_OBJECT_PATH)).body), generatedSha256(100_000, 4));
});

test('through TcpBackend (the daemon pipe) it answers like nginx: pipelined requests on one connection, ranges, end on Connection: close', async (t) => {
  const server = await start(t, { testObjectBytes: 70_000 });
  const info = server.info(TEST_OBJECT_PATH)!;
  let received = Buffer.alloc(0);
  let ended = false;
  const conn = new TcpBackend(server.url).open({
    data: (bytes) => {
      received = Buffer.concat([received, bytes]);
    },
    end: () => {
      ended = true;
    },
    error: (e) => t.fail(e.code),
  });
  t.teardown(() => conn.close());
  const request = (headers: string) => Buffer.from(`GET ${TEST_OBJECT_PATH} HTTP/1.1\r\nHost: x\r\n${headers}\r\n`);
  conn.write(request(''));
  conn.write(request(`Range: bytes=69000-\r\nIf-Range: ${info.etag}\r\n`));
  conn.write(request('Connection: close\r\n'));
  const deadline = Date.now() + 10_000;
  while (!ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.true(ended, 'the server ended the connection after the Connection: close request');
  const [whole, range, last] = splitResponses(received);
  t.is(whole!.status, 200);
  t.is(sha(whole!.body), generatedSha256(70_000));
  t.is(range!.status, 206);
  t.is(range!.headers.get('content-range'), 'bytes 69000-69999/70000');
  t.deepEqual(range!.body, Buffer.from(generatedBytes(69_000, 70_000)));
  t.is(last!.status, 200);
  t.is(server.stats.connections, 1);
});
