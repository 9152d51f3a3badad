// The HTTP stream mapper: fixed requests and responses against the in-memory content server,
// persistent connections, refusals, takeover at every kind of offset, and properties (random
// split points, object sizes and takeover offsets: the client ends with exactly head + object).
import test from 'ava';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { StreamMapping } from '../src/transport-abstraction/state-types.js';
import { decodeTransportState, encodeTransportState } from '../src/transport-abstraction/state.js';
import { HttpMapperFactory, type HttpMapper } from '../src/wedge/http-mapper.js';
import { MemoryBackend } from '../src/sim/memory-backend.js';
import { withResumeContext } from '../src/wedge/http-resume.js';
import type { MapperEvent } from '../src/wedge/mapper.js';

const enc = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const factory = new HttpMapperFactory();

function object(size: number, seed = 7): Uint8Array {
  const b = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

interface Run {
  mapper: HttpMapper;
  client: Uint8Array;
  mappings: StreamMapping[];
  events: MapperEvent[];
  closed: MapperEvent | undefined;
}

/**
 * Drives a mapper against a content server: client pieces in, each 'to-backend' answered by the
 * server with the response cut into pieces at `cuts`. Returns what the client received.
 */
function drive(mapper: HttpMapper, backend: MemoryBackend, clientPieces: Uint8Array[] = [], cuts: number[] = []): Run {
  const run: Run = { mapper, client: new Uint8Array(0), mappings: [], events: [], closed: undefined };
  let conn = backend.connection();
  const out: Uint8Array[] = [];
  const drain = (): void => {
    for (let e = mapper.pollEvent(); e !== undefined; e = mapper.pollEvent()) {
      run.events.push(e);
      if (e.type === 'to-client') out.push(e.bytes);
      else if (e.type === 'mapping') run.mappings.push(e.mapping);
      else if (e.type === 'close') run.closed = e;
      else if (e.type === 'response-end' && !e.reuse) conn = backend.connection();
      else if (e.type === 'to-backend') {
        const response = conn.handleBytes(e.bytes);
        const points = [...new Set(cuts.map((c) => c % (response.length + 1)))].sort((a, b) => a - b);
        let at = 0;
        for (const p of [...points, response.length]) {
          if (p > at) {
            mapper.handleBackendBytes(response.subarray(at, p));
            at = p;
          }
        }
        if (conn.closed) mapper.handleBackendEnd();
      }
    }
  };
  drain();
  for (const piece of clientPieces) {
    mapper.handleClientBytes(piece);
    drain();
  }
  run.client = new Uint8Array(Buffer.concat(out));
  return run;
}

const GET = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: pool\r\n${extra}\r\n`;

function serverWith(size: number, options?: ConstructorParameters<typeof MemoryBackend>[0]): { backend: MemoryBackend; body: Uint8Array } {
  const backend = new MemoryBackend(options);
  const body = object(size);
  backend.put('/obj', body, { etag: '"v1"', lastModified: 'Tue, 01 Dec 2026 10:00:00 GMT' });
  return { backend, body };
}

test('a GET is relayed and mapped: object name, validator, length, header length', (t) => {
  const { backend, body } = serverWith(1000);
  const run = drive(factory.create(), backend, [enc(GET('/obj'))]);
  const text = Buffer.from(run.client).toString('latin1');
  const headLength = text.indexOf('\r\n\r\n') + 4;
  t.true(text.startsWith('HTTP/1.1 200 OK\r\n'));
  t.deepEqual(run.client.subarray(headLength), body);
  t.is(run.mappings.length, 2, 'announced when the request began and when the head was counted');
  t.is(run.mappings[0]!.resumeContext!.responseHead.length, 0);
  const m = run.mappings[1]!;
  t.is(m.applicationProtocol, 'http/1.1');
  t.is(m.objectName, '/obj');
  t.is(m.validator, '"v1"');
  t.is(m.objectLength, 1000);
  t.is(m.objectStart, 0);
  t.is(m.responseHeaderLength, headLength);
  t.is(m.resumeContext!.responseStreamOffset, 0);
  t.is(m.requestStreamOffset, 0);
  t.is(Buffer.from(m.request).toString(), GET('/obj'));
  t.is(run.closed, undefined, 'a persistent connection stays open');
  t.true(run.events.some((e) => e.type === 'response-end' && e.reuse));
});

test('the mapping survives the protobuf codec with the wedge fields', (t) => {
  const { backend } = serverWith(10);
  const m = drive(factory.create(), backend, [enc(GET('/obj') + 'GET /obj HT')]).mappings[1]!;
  const state = decodeTransportState(
    encodeTransportState({ client: { address: '10.0.0.9', port: 1, udpPort: 2 }, server: { address: '10.0.0.1', port: 1, udpPort: 2 }, tcp: undefined, sctp: { localVerificationTag: 1, peerVerificationTag: 2, localInitialTsn: 0, peerInitialTsn: 0, tsnMap: [], localKeyVector: new Uint8Array(0), peerKeyVector: new Uint8Array(0), endpointPairKey: new Uint8Array(0), hmacId: 0, sharedKeyId: 0, x25519Agreed: false, peerAddresses: [], localAddresses: [], nextAsconfSerial: 0, peerAsconfSerial: 0, outboundStreams: 1, inboundStreams: 1, peerCumulativeTsn: 0, peerReceiverWindow: 0, inboundNextSsn: [], pathMtu: 1200, peerStreamOffset: 0 }, stream: m, takeoverNumber: 0, ownerId: 'a', takenAtMs: 0, streamBytesSent: 0, streamBytesAcked: 0 }),
  );
  t.deepEqual(state.stream, m);
  t.is(Buffer.from(m.resumeContext!.pendingRequests).toString(), 'GET /obj HT');
});

test('persistent connection: three pipelined requests, each mapped at its own offsets', (t) => {
  const { backend, body } = serverWith(300);
  backend.put('/b', object(50, 3), { etag: '"b"' });
  const requests = GET('/obj') + GET('/b') + GET('/obj', 'Range: bytes=100-199\r\n');
  const run = drive(factory.create(), backend, [enc(requests)]);
  const heads = run.mappings.filter((m) => m.resumeContext!.responseHead.length > 0);
  t.deepEqual(heads.map((m) => m.objectName), ['/obj', '/b', '/obj']);
  t.deepEqual(heads.map((m) => m.requestStreamOffset), [0, GET('/obj').length, GET('/obj').length + GET('/b').length]);
  t.deepEqual(heads.map((m) => [m.objectStart, m.objectLength]), [[0, 300], [0, 50], [100, 100]]);
  for (const m of heads) {
    const start = m.responseHeaderLength;
    t.deepEqual(run.client.subarray(m.resumeContext!.responseStreamOffset, start), m.resumeContext!.responseHead);
  }
  t.deepEqual(run.client.subarray(heads[2]!.responseHeaderLength), body.subarray(100, 200));
  t.is(run.client.length, heads[2]!.responseHeaderLength + 100);
});

test('refusals: malformed request -> 400 and close; POST -> 501; HTTP/2.0 -> 505', (t) => {
  const { backend } = serverWith(10);
  for (const [text, status, code] of [
    ['GET / HTTP/1.1\r\nHost h\r\n\r\n', 400, 'BATON_ERR_HTTP_MALFORMED'],
    ['POST /obj HTTP/1.1\r\nHost: h\r\n\r\n', 501, 'BATON_ERR_HTTP_METHOD'],
    ['GET /obj HTTP/2.0\r\nHost: h\r\n\r\n', 505, 'BATON_ERR_HTTP_VERSION'],
  ] as const) {
    const run = drive(factory.create(), backend, [enc(text)]);
    t.true(Buffer.from(run.client).toString().startsWith(`HTTP/1.1 ${status} `), text);
    t.true(run.closed?.type === 'close' && run.closed.error?.code === code);
    t.false(run.events.some((e) => e.type === 'to-backend'), 'nothing reaches the content server');
  }
});

test('a second request refused after a good one: the first response is complete, then 400', (t) => {
  const { backend, body } = serverWith(20);
  const run = drive(factory.create(), backend, [enc(GET('/obj') + 'BAD\r\n\r\n')]);
  const text = Buffer.from(run.client).toString('latin1');
  t.true(text.includes(Buffer.from(body).toString('latin1') + 'HTTP/1.1 400 Bad Request'));
  t.is(run.closed?.type === 'close' && run.closed.error?.code, 'BATON_ERR_HTTP_MALFORMED');
});

test('Connection: close ends the client connection after the response', (t) => {
  const { backend } = serverWith(20);
  const run = drive(factory.create(), backend, [enc(GET('/obj', 'Connection: close\r\n'))]);
  t.true(run.closed !== undefined && run.closed.type === 'close' && run.closed.error === undefined);
});

test('Connection: close from the client is not relayed: the content server keeps its connection for the pool, the client still gets its close', (t) => {
  const { backend } = serverWith(20);
  const run = drive(factory.create(), backend, [enc(GET('/obj', 'Connection: close\r\n'))]);
  const sent = run.events.flatMap((e) => (e.type === 'to-backend' ? [Buffer.from(e.bytes).toString('latin1')] : []));
  t.deepEqual(sent, ['GET /obj HTTP/1.1\r\nHost: pool\r\n\r\n']);
  t.deepEqual(run.events.find((e) => e.type === 'response-end'), { type: 'response-end', reuse: true });
  t.true(run.closed !== undefined && run.closed.type === 'close' && run.closed.error === undefined, 'the client connection still closes');
  t.is(Buffer.from(run.mappings[0]!.request).toString('latin1'), GET('/obj', 'Connection: close\r\n'), 'the mapping keeps the request as the client sent it');
  // An HTTP/1.0 request, or one with no close, goes as it came.
  const old = drive(factory.create(), serverWith(20).backend, [enc('GET /obj HTTP/1.0\r\n\r\n')]);
  t.is(Buffer.from((old.events.find((e) => e.type === 'to-backend') as { bytes: Uint8Array }).bytes).toString('latin1'), 'GET /obj HTTP/1.0\r\n\r\n');
});

test('chunked responses are relayed whole and are not resumable', (t) => {
  const { backend, body } = serverWith(2500, { chunked: true });
  const run = drive(factory.create(), backend, [enc(GET('/obj') + GET('/obj'))], [7, 1100, 2000]);
  const m = run.mappings.at(-1)!;
  t.is(m.validator, '');
  t.is(run.events.filter((e) => e.type === 'response-end').length, 2, 'the chunked framing was followed to its end');
  const resumed = drive(factory.resume(m, m.responseHeaderLength + 10), backend);
  t.is(resumed.closed?.type === 'close' && resumed.closed.error?.code, 'BATON_ERR_RESUME_NOT_RESUMABLE');
  t.is(resumed.client.length, 0);
  void body;
});

test('a backend that closes mid-body ends the connection with BATON_ERR_HTTP_BACKEND', (t) => {
  const mapper = factory.create();
  mapper.handleClientBytes(enc(GET('/obj')));
  mapper.handleBackendBytes(enc('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345'));
  mapper.handleBackendEnd();
  const events: MapperEvent[] = [];
  for (let e = mapper.pollEvent(); e; e = mapper.pollEvent()) events.push(e);
  const close = events.at(-1)!;
  t.is(close.type === 'close' && close.error?.code, 'BATON_ERR_HTTP_BACKEND');
});

/**
 * The client's bytes up to `k`, then what a taker sends from the mapping the serving wedge
 * announced when the client had acknowledged `acked` <= k bytes.
 */
function takeover(run: Run, k: number, backend: MemoryBackend, cuts: number[] = [], acked = k): { bytes: Uint8Array; resumed: Run } {
  const mapping = run.mapper.mapping(acked)!;
  const resumed = drive(factory.resume(mapping, k), backend, [], cuts);
  return { bytes: new Uint8Array(Buffer.concat([run.client.subarray(0, k), resumed.client])), resumed };
}

test('takeover inside the head, at the body, mid-body and at the end gives head + object', (t) => {
  const { backend } = serverWith(5000);
  const run = drive(factory.create(), backend, [enc(GET('/obj'))]);
  const headLength = run.mappings[1]!.responseHeaderLength;
  for (const k of [0, 1, 17, headLength - 1, headLength, headLength + 1, 2500, run.client.length - 1, run.client.length]) {
    const { bytes, resumed } = takeover(run, k, backend);
    t.deepEqual(bytes, run.client, `k=${k}`);
    t.is(resumed.closed, undefined, `k=${k}`);
  }
  const mid = drive(factory.resume(run.mappings[1]!, 2500), backend);
  const sent = mid.events.find((e) => e.type === 'to-backend');
  const text = sent?.type === 'to-backend' ? Buffer.from(sent.bytes).toString() : '';
  t.true(text.includes(`Range: bytes=${2500 - headLength}-\r\n`));
  t.true(text.includes('If-Range: "v1"\r\n'));
});

test('takeover before the response began replays the request (mapping announced at request start)', (t) => {
  const { backend } = serverWith(100);
  const run = drive(factory.create(), backend, [enc(GET('/obj'))]);
  const resumed = drive(factory.resume(run.mappings[0]!, 0), backend);
  t.deepEqual(resumed.client, run.client);
  const beyond = drive(factory.resume(run.mappings[0]!, 5), backend);
  t.is(beyond.closed?.type === 'close' && beyond.closed.error?.code, 'BATON_ERR_RESUME_BEYOND');
});

test('a changed object is an explicit error, never spliced bytes', (t) => {
  const { backend } = serverWith(1000);
  const run = drive(factory.create(), backend, [enc(GET('/obj'))]);
  const m = run.mappings[1]!;
  const changed = new MemoryBackend();
  changed.put('/obj', object(1000, 99), { etag: '"v2"' });
  const a = drive(factory.resume(m, m.responseHeaderLength + 100), changed);
  t.is(a.closed?.type === 'close' && a.closed.error?.code, 'BATON_ERR_RESUME_NOT_PARTIAL', 'If-Range failed: 200');
  t.is(a.client.length, 0);
  const broken = new MemoryBackend({ ignoreIfRange: true });
  broken.put('/obj', object(1000, 99), { etag: '"v2"' });
  const b = drive(factory.resume(m, m.responseHeaderLength + 100), broken);
  t.is(b.closed?.type === 'close' && b.closed.error?.code, 'BATON_ERR_RESUME_VALIDATOR');
  t.is(b.client.length, 0);
  const shorter = new MemoryBackend();
  shorter.put('/obj', object(500), { etag: '"v1"' });
  const c = drive(factory.resume(m, m.responseHeaderLength + 100), shorter);
  t.is(c.closed?.type === 'close' && c.closed.error?.code, 'BATON_ERR_RESUME_RANGE', 'same validator, other length');
  const gone = new MemoryBackend();
  const d = drive(factory.resume(m, m.responseHeaderLength + 100), gone);
  t.is(d.closed?.type === 'close' && d.closed.error?.code, 'BATON_ERR_RESUME_NOT_PARTIAL', '404');
  const stale = drive(factory.resume(withResumeContext(m, { responseStreamOffset: 50 }), 10), backend);
  t.is(stale.closed?.type === 'close' && stale.closed.error?.code, 'BATON_ERR_RESUME_STALE');
});

test('a client Range is kept on takeover: bytes=N-LAST of the original range', (t) => {
  const { backend, body } = serverWith(1000);
  const run = drive(factory.create(), backend, [enc(GET('/obj', 'Range: bytes=200-599\r\n'))]);
  const m = run.mappings[1]!;
  t.deepEqual([m.objectStart, m.objectLength], [200, 400]);
  const k = m.responseHeaderLength + 150;
  const { bytes, resumed } = takeover(run, k, backend);
  t.deepEqual(bytes, run.client);
  t.deepEqual(run.client.subarray(m.responseHeaderLength), body.subarray(200, 600));
  const sent = resumed.events.find((e) => e.type === 'to-backend');
  t.true(sent?.type === 'to-backend' && Buffer.from(sent.bytes).toString().includes('Range: bytes=350-599\r\n'));
});

test('property: any object size, split points and takeover offset: the client ends with head + object', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4000 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        fc.nat(),
        fc.option(fc.tuple(fc.nat(), fc.nat()), { nil: undefined }),
        (size, cuts, takerCuts, kSeed, range) => {
          const { backend, body } = serverWith(size);
          let extra = '';
          let expected = body;
          if (range && size > 0) {
            const a = range[0] % size;
            const b = a + (range[1] % (size - a));
            extra = `Range: bytes=${a}-${b}\r\n`;
            expected = body.subarray(a, b + 1);
          }
          const run = drive(factory.create(), backend, [enc(GET('/obj', extra))], cuts);
          const m = run.mappings.at(-1)!;
          assert.deepEqual(run.client.subarray(m.responseHeaderLength), expected);
          const k = kSeed % (run.client.length + 1);
          const { bytes, resumed } = takeover(run, k, backend, takerCuts);
          assert.deepEqual(bytes, run.client);
          assert.equal(resumed.closed, undefined);
        },
      ),
    ),
  );
});

test('property: three requests on one connection, takeover anywhere, split client bytes', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1500 }), { minLength: 3, maxLength: 3 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.nat(),
        fc.nat(),
        (sizes, clientCuts, kSeed, ackLag) => {
          const backend = new MemoryBackend();
          sizes.forEach((s, i) => backend.put(`/o${i}`, object(s, i + 1), { etag: `"e${i}"` }));
          const requests = enc(sizes.map((_, i) => GET(`/o${i}`)).join(''));
          const points = [...new Set(clientCuts.map((c) => c % (requests.length + 1)))].sort((a, b) => a - b);
          const pieces: Uint8Array[] = [];
          let at = 0;
          for (const p of [...points, requests.length]) {
            pieces.push(requests.subarray(at, p));
            at = p;
          }
          const run = drive(factory.create(), backend, pieces);
          assert.equal(run.events.filter((e) => e.type === 'response-end').length, 3);
          const k = kSeed % (run.client.length + 1);
          // The announcement was made when the client had acknowledged some offset in the same response.
          const m = run.mapper.mapping(k)!;
          const acked = Math.max(m.resumeContext!.responseStreamOffset, k - (ackLag % (k + 1)));
          const { bytes } = takeover(run, k, backend, [], acked);
          assert.deepEqual(bytes, run.client);
        },
      ),
    ),
  );
});

test('an announcement older than the client by a whole response is refused explicitly (BEYOND), never spliced', (t) => {
  const { backend } = serverWith(100);
  const run = drive(factory.create(), backend, [enc(GET('/obj') + GET('/obj'))]);
  const first = run.mapper.mapping(10)!;
  t.is(first.requestStreamOffset, 0);
  t.is(Buffer.from(first.resumeContext!.pendingRequests).toString(), GET('/obj'), 'the later request travels with it');
  const firstEnd = first.responseHeaderLength + 100;
  const resumed = drive(factory.resume(first, firstEnd + 5), backend);
  t.is(resumed.closed?.type === 'close' && resumed.closed.error?.code, 'BATON_ERR_RESUME_BEYOND');
  t.is(resumed.client.length, 0);
  // At exactly the end of the first response the taker serves the second request from the pending bytes.
  const { bytes } = takeover(run, firstEnd, backend, [], 10);
  t.deepEqual(bytes, run.client);
});
