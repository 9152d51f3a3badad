// HTTP/1.1 heads: fixed requests and responses, every refusal with its code and status, limits,
// and the property that a head split anywhere parses the same.
import test from 'ava';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LocalProtocolError, RemoteProtocolError, errorResponse } from '../src/wedge/http-errors.js';
import { RequestHeadParser, emitRequestHead, type RequestParseResult } from '../src/wedge/http-request.js';
import { ResponseHeadParser, bodyFraming, strongValidator, parseContentRange } from '../src/wedge/http-response.js';

const enc = (s: string): Uint8Array => Buffer.from(s, 'latin1');

function parseRequest(text: string | Uint8Array, limits?: ConstructorParameters<typeof RequestHeadParser>[0]): RequestParseResult {
  return new RequestHeadParser(limits).push(typeof text === 'string' ? enc(text) : text);
}

function refusal(t: import('ava').ExecutionContext, text: string, code: string, status: number): void {
  const r = parseRequest(text);
  if (r.kind !== 'error') return void t.fail(`expected ${code}, got ${r.kind}`);
  t.true(r.error instanceof RemoteProtocolError);
  t.is(r.error.code as string, code, text);
  t.is(r.error.status, status, text);
}

test('a GET head parses to method, target, version, headers; the bytes after it are the rest', (t) => {
  const r = parseRequest('GET /movies/a.mp4?x=1 HTTP/1.1\r\nHost: example\r\nRange:  bytes=10-  \r\nAccept: */*\r\n\r\nGET /next');
  if (r.kind !== 'head') return void t.fail(r.kind);
  t.is(r.head.method, 'GET');
  t.is(r.head.target, '/movies/a.mp4?x=1');
  t.is(r.head.path, '/movies/a.mp4?x=1');
  t.is(r.head.version, '1.1');
  t.deepEqual(r.head.headers, [
    { name: 'Host', value: 'example' },
    { name: 'Range', value: 'bytes=10-' },
    { name: 'Accept', value: '*/*' },
  ]);
  t.true(r.head.keepAlive);
  t.is(Buffer.from(r.rest).toString(), 'GET /next');
  t.is(r.head.raw.length, 'GET /movies/a.mp4?x=1 HTTP/1.1\r\nHost: example\r\nRange:  bytes=10-  \r\nAccept: */*\r\n\r\n'.length);
});

test('absolute-form targets map to their path; HTTP/1.0 without Host; bare LF; leading empty lines skipped', (t) => {
  const a = parseRequest('GET http://h:80/x/y HTTP/1.1\r\nHost: h\r\n\r\n');
  t.is(a.kind === 'head' && a.head.path, '/x/y');
  const b = parseRequest('HEAD / HTTP/1.0\n\n');
  t.true(b.kind === 'head' && b.head.version === '1.0' && !b.head.keepAlive);
  const c = parseRequest('\r\n\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  t.true(c.kind === 'head' && c.skipped === 4 && c.head.keepAlive && c.head.raw[0] === 0x47);
  const d = parseRequest('GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n');
  t.true(d.kind === 'head' && !d.head.keepAlive);
});

test('malformed requests are 400 BATON_ERR_HTTP_MALFORMED', (t) => {
  for (const text of [
    'GET  / HTTP/1.1\r\nHost: h\r\n\r\n', // two spaces
    'GET / HTTP/1.1 \r\nHost: h\r\n\r\n',
    'GET / HTTX/1.1\r\nHost: h\r\n\r\n',
    'G(T / HTTP/1.1\r\nHost: h\r\n\r\n',
    'GET / HTTP/1.1\r\nHost h\r\n\r\n', // no colon
    'GET / HTTP/1.1\r\nHost : h\r\n\r\n', // whitespace before the colon
    'GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n', // obs-fold
    'GET / HTTP/1.1\r\nHost: h\rX\r\n\r\n', // bare CR
    'GET / HTTP/1.1\r\nHost: a\x01b\r\n\r\n', // control character
    'GET / HTTP/1.1\r\n\r\n', // no Host
    'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', // two Hosts
    'GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n',
    'GET /\x80 HTTP/1.1\r\nHost: h\r\n\r\n',
  ]) refusal(t, text, 'BATON_ERR_HTTP_MALFORMED', 400);
});

test('bad framing is 400, unsupported methods and bodies 501, other versions 505', (t) => {
  refusal(t, 'GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n', 'BATON_ERR_HTTP_BAD_FRAMING', 400);
  refusal(t, 'GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 'BATON_ERR_HTTP_BAD_FRAMING', 400);
  refusal(t, 'GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n', 'BATON_ERR_HTTP_BAD_FRAMING', 400);
  refusal(t, 'POST / HTTP/1.1\r\nHost: h\r\n\r\n', 'BATON_ERR_HTTP_METHOD', 501);
  refusal(t, 'BREW / HTTP/1.1\r\nHost: h\r\n\r\n', 'BATON_ERR_HTTP_METHOD', 501);
  refusal(t, 'GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 'BATON_ERR_HTTP_TRANSFER_CODING', 501);
  refusal(t, 'GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n', 'BATON_ERR_HTTP_TRANSFER_CODING', 501);
  refusal(t, 'GET / HTTP/2.0\r\nHost: h\r\n\r\n', 'BATON_ERR_HTTP_VERSION', 505);
  refusal(t, 'GET / HTTP/1.2\r\nHost: h\r\n\r\n', 'BATON_ERR_HTTP_VERSION', 505);
  const ok = parseRequest('GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0, 0\r\n\r\n');
  t.is(ok.kind, 'head');
});

test('limits: a long line, a long head and too many fields are 400 TOO_LARGE, before the head ends', (t) => {
  const limits = { maxLineLength: 64, maxHeadLength: 256, maxHeaders: 4 };
  const long = new RequestHeadParser(limits).push(enc('GET /' + 'a'.repeat(100)));
  t.is(long.kind === 'error' && long.error.code, 'BATON_ERR_HTTP_TOO_LARGE');
  const exact = parseRequest('GET /' + 'a'.repeat(64 - 15) + ' HTTP/1.1\r\nHost: h\r\n\r\n', limits);
  t.is(exact.kind, 'head', 'a line of exactly maxLineLength is accepted');
  const fields = Array.from({ length: 5 }, (_, i) => `X-${i}: v\r\n`).join('');
  const many = parseRequest(`GET / HTTP/1.1\r\nHost: h\r\n${fields}\r\n`, limits);
  t.is(many.kind === 'error' && many.error.code, 'BATON_ERR_HTTP_TOO_LARGE');
  const big = new RequestHeadParser(limits).push(enc('GET / HTTP/1.1\r\n' + 'X: yyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n'.repeat(9)));
  t.is(big.kind === 'error' && big.error.code, 'BATON_ERR_HTTP_TOO_LARGE');
  t.is(big.kind === 'error' && big.error.status, 400);
});

test('pushing into a finished parser is a LocalProtocolError; emitRequestHead refuses bad fields', (t) => {
  const p = new RequestHeadParser();
  p.push(enc('GET / HTTP/1.0\r\n\r\n'));
  const e = t.throws(() => p.push(enc('x')), { instanceOf: LocalProtocolError });
  t.is(e?.code, 'BATON_ERR_HTTP_USAGE');
  t.throws(() => emitRequestHead('GET', '/', [{ name: 'Bad Name', value: 'v' }]), { instanceOf: LocalProtocolError });
  t.throws(() => emitRequestHead('GET', '/', [{ name: 'X', value: 'a\r\nInjected: 1' }]), { instanceOf: LocalProtocolError });
  t.is(Buffer.from(emitRequestHead('GET', '/a', [{ name: 'Host', value: 'h' }])).toString(), 'GET /a HTTP/1.1\r\nHost: h\r\n\r\n');
});

test('errorResponse says the status and the code and closes', (t) => {
  const text = Buffer.from(errorResponse(new RemoteProtocolError('BATON_ERR_HTTP_VERSION', 'x'))).toString();
  t.true(text.startsWith('HTTP/1.1 505 HTTP Version Not Supported\r\n'));
  t.true(text.includes('Connection: close\r\n'));
  t.true(text.endsWith('505 HTTP Version Not Supported: BATON_ERR_HTTP_VERSION\n'));
});

test('a 200 response: length, validators, keep-alive, framing', (t) => {
  const raw = 'HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 1000\r\nETag: "abc"\r\nLast-Modified: Tue, 01 Dec 2026 10:00:00 GMT\r\n\r\nBODY';
  const r = new ResponseHeadParser().push(enc(raw));
  if (r.kind !== 'head') return void t.fail(r.kind);
  t.is(r.head.status, 200);
  t.is(r.head.reason, 'OK');
  t.is(r.head.contentLength, 1000);
  t.is(r.head.etag, '"abc"');
  t.is(strongValidator(r.head), '"abc"');
  t.true(r.head.keepAlive);
  t.false(r.head.chunked);
  t.is(bodyFraming(r.head, 'GET'), 'length');
  t.is(bodyFraming(r.head, 'HEAD'), 'none');
  t.is(r.head.raw.length, raw.length - 4);
  t.is(Buffer.from(r.rest).toString(), 'BODY');
});

test('a 206 response: Content-Range; weak ETags fall back to Last-Modified; chunked and close framing', (t) => {
  const r = new ResponseHeadParser().push(enc('HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 100-199/1000\r\nContent-Length: 100\r\nETag: W/"w"\r\nLast-Modified: X\r\nConnection: close\r\n\r\n'));
  if (r.kind !== 'head') return void t.fail(r.kind);
  t.deepEqual(r.head.contentRange, { first: 100, last: 199, complete: 1000 });
  t.is(strongValidator(r.head), 'X');
  t.false(r.head.keepAlive);
  const c = new ResponseHeadParser().push(enc('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'));
  t.true(c.kind === 'head' && c.head.chunked && bodyFraming(c.head, 'GET') === 'chunked');
  const d = new ResponseHeadParser().push(enc('HTTP/1.0 200 OK\r\n\r\n'));
  t.true(d.kind === 'head' && !d.head.keepAlive && bodyFraming(d.head, 'GET') === 'close' && strongValidator(d.head) === '');
  const n = new ResponseHeadParser().push(enc('HTTP/1.1 304 Not Modified\r\nETag: "a"\r\n\r\n'));
  t.true(n.kind === 'head' && bodyFraming(n.head, 'GET') === 'none');
  t.deepEqual(parseContentRange('bytes 5-4/10'), undefined);
  t.deepEqual(parseContentRange('bytes 0-9/*'), { first: 0, last: 9, complete: undefined });
  t.deepEqual(parseContentRange('bytes 0-10/10'), undefined);
  t.deepEqual(parseContentRange('bytes */10'), undefined);
});

test('bad responses are 502 BATON_ERR_HTTP_BACKEND', (t) => {
  for (const text of ['HTTP/2 200 OK\r\n\r\n', 'HTTP/1.1 20 OK\r\n\r\n', '\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 'HTTP/1.1 200 OK\r\nX\r\n\r\n']) {
    const r = new ResponseHeadParser().push(enc(text));
    t.true(r.kind === 'error' && r.error.code === 'BATON_ERR_HTTP_BACKEND' && r.error.status === 502, JSON.stringify(text));
  }
});

/** Feeds `bytes` in pieces cut at `cuts`; returns the first non-'more' result. */
function pushSplit<R extends { kind: string }>(push: (b: Uint8Array) => R, bytes: Uint8Array, cuts: number[]): R {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let at = 0;
  let last: R | undefined;
  for (const p of [...points, bytes.length]) {
    last = push(bytes.subarray(at, p));
    at = p;
    if (last.kind !== 'more') return last;
  }
  return last!;
}

const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,11}$/);
const headerValue = fc.stringMatching(/^[!-~]([ !-~]{0,20}[!-~])?$/);
const anyText = fc.uint8Array({ maxLength: 300 });

test('property: a request head split anywhere parses the same as in one piece', (t) => {
  t.notThrows(() => fc.assert(
    fc.property(
      fc.constantFrom('GET', 'HEAD', 'POST', 'PUT'),
      fc.stringMatching(/^\/[!-~]{0,30}$/),
      fc.array(fc.record({ name: headerName, value: headerValue }), { maxLength: 8 }),
      fc.constantFrom('1.0', '1.1', '2.0'),
      fc.array(fc.nat(), { maxLength: 6 }),
      (method, target, fields, version, cuts) => {
        const head = `${method} ${target} HTTP/${version}\r\nHost: h\r\n${fields.map((f) => `${f.name}: ${f.value}\r\n`).join('')}\r\ntail`;
        const bytes = enc(head);
        const whole = new RequestHeadParser().push(bytes);
        const p = new RequestHeadParser();
        const split = pushSplit((b) => p.push(b), bytes, cuts);
        const { rest: splitRest, ...splitHead } = split as { rest?: Uint8Array };
        const { rest: wholeRest, ...wholeHead } = whole as { rest?: Uint8Array };
        assert.deepEqual(JSON.parse(JSON.stringify(splitHead)), JSON.parse(JSON.stringify(wholeHead)));
        // The rest is what followed the head in the piece that completed it: a prefix of the whole rest.
        if (wholeRest) assert.ok(Buffer.from(wholeRest).toString().startsWith(Buffer.from(splitRest!).toString()), `${Buffer.from(wholeRest)} / ${Buffer.from(splitRest!)}`);
        assert.notEqual(whole.kind, 'more');
      },
    ),
  ));
});

test('property: arbitrary bytes never throw, and any split gives the same verdict', (t) => {
  t.notThrows(() => fc.assert(
    fc.property(anyText, fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
      const limits = { maxLineLength: 40, maxHeadLength: 120, maxHeaders: 5 };
      const whole = new RequestHeadParser(limits).push(bytes);
      const p = new RequestHeadParser(limits);
      const split = pushSplit((b) => p.push(b), bytes, cuts);
      assert.equal(split.kind, whole.kind);
      if (whole.kind === 'error' && split.kind === 'error') assert.equal(split.error.code, whole.error.code);
      const r = new ResponseHeadParser(limits);
      const rs = pushSplit((b) => r.push(b), bytes, cuts);
      assert.equal(rs.kind, new ResponseHeadParser(limits).push(bytes).kind);
    }),
  ));
});

test('property: a response head split anywhere parses the same as in one piece', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 599 }),
        fc.array(fc.record({ name: headerName, value: headerValue }), { maxLength: 8 }),
        fc.option(fc.nat({ max: 10_000 }), { nil: undefined }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 6 }),
        (status, fields, length, chunked, cuts) => {
          const framing = (length !== undefined ? `Content-Length: ${length}\r\n` : '') + (chunked ? 'Transfer-Encoding: chunked\r\n' : '');
          const bytes = enc(`HTTP/1.1 ${status} Whatever\r\n${framing}${fields.map((f) => `${f.name}: ${f.value}\r\n`).join('')}\r\nbody`);
          const whole = new ResponseHeadParser().push(bytes);
          const p = new ResponseHeadParser();
          const split = pushSplit((b) => p.push(b), bytes, cuts);
          const { rest: _a, ...splitHead } = split as { rest?: Uint8Array };
          const { rest: _b, ...wholeHead } = whole as { rest?: Uint8Array };
          assert.deepEqual(JSON.parse(JSON.stringify(splitHead)), JSON.parse(JSON.stringify(wholeHead)));
          assert.notEqual(whole.kind, 'more');
          if (whole.kind === 'head' && !chunked) assert.equal(whole.head.contentLength, length);
        },
      ),
    ),
  );
});
