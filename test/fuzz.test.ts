// The fuzzers (bench/fuzz/, `baton fuzz`): thousands of mutated inputs per target with the state
// checked every few hundred, and fast-check properties feeding arbitrary and structured input to
// each parser and core: only coded errors come out, no promise rejection goes unhandled, and the
// core still works afterwards.
import test from 'ava';
import fc from 'fast-check';
import { fileURLToPath } from 'node:url';
import { failures, runFuzz } from '../bench/fuzz/run.js';
import { FUZZ_TARGETS, makeTarget } from '../bench/fuzz/targets.js';
import { BatonError } from '../src/transport-abstraction/errors.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import { decodeAnnouncement, decodeTransportState } from '../src/transport-abstraction/state.js';
import { runToExit } from './helpers/process.js';

const BATON = fileURLToPath(new URL('../bin/baton.js', import.meta.url));

for (const target of FUZZ_TARGETS) {
  test(`${target}: 4000 mutants — coded errors only, nothing unhandled, the state checks pass`, async (t) => {
    const r = await runFuzz(target, { inputs: 4000, seed: 11, checkEvery: 400 });
    t.deepEqual(r.uncoded, []);
    t.deepEqual(r.unhandledRejections, []);
    t.deepEqual(r.checkFailures, []);
    t.is(r.checks, 10);
    t.is(failures(r), 0);
    t.log(`${(r.ms / 1000).toFixed(1)} s; coded ${JSON.stringify(Object.fromEntries(r.coded))}; ${JSON.stringify(r.counters)}`);
  });
}

test('the mutants reach past the first checks: SCTP and TCP-Migrate drop them for several reasons, states decode, insiders\' announcements reach the decoder, requests reach the content server', async (t) => {
  const sctp = await runFuzz('sctp-packet', { inputs: 2000, seed: 3 });
  t.true(sctp.counters.droppedByServer! > 0 && sctp.counters.droppedByServer! < 2000, JSON.stringify(sctp.counters));
  const state = await runFuzz('state', { inputs: 2000, seed: 3 });
  t.true(state.counters.decoded! > 20, `${state.counters.decoded} mutated states decoded`);
  t.true(state.counters.imported! > 20);
  const ann = await runFuzz('announcement', { inputs: 2000, seed: 3 });
  t.true(ann.counters.decode! > 100 && ann.counters.forged! > 100, JSON.stringify(ann.counters));
  const http = await runFuzz('http-request', { inputs: 2000, seed: 3 });
  t.true(http.counters.forwardedToBackend! > 50 && http.counters.refusedWithError! > 50, JSON.stringify(http.counters));
});

/** fn may only throw a coded BatonError (BATON_ERR_INTERNAL is the guard catching a bug: not coded). */
function codedOnly(fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch (error) {
    return error instanceof BatonError && error.code.startsWith('BATON_ERR_') && error.code !== 'BATON_ERR_INTERNAL';
  }
}

test('property: arbitrary bytes into the state and announcement decoders give a value or a coded error', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => codedOnly(() => decodeTransportState(bytes)) && codedOnly(() => decodeAnnouncement(bytes))),
    { numRuns: 3000, seed: 5 },
  );
  t.pass();
});

test('property: arbitrary bytes and their genuine-corpus splices into every target keep only coded errors and a sound state', (t) => {
  for (const name of FUZZ_TARGETS) {
    const target = makeTarget(name, 9);
    const random = new SeededRandom(9);
    const genuine = fc.constantFrom(...target.corpus);
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 1500 }),
      fc.tuple(genuine, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 40 })).map(([g, at, extra]) => {
        const out = g.slice();
        out.set(extra.subarray(0, Math.max(0, out.length - (at % Math.max(1, out.length)))), at % Math.max(1, out.length));
        return out;
      }),
    );
    fc.assert(
      fc.property(input, (bytes) => codedOnly(() => target.feed(bytes, random))),
      { numRuns: 1500, seed: 9 },
    );
    t.is(target.check(), undefined, `${name}: state check after the property run`);
  }
});

test('property: HTTP requests built from random tokens split at random points never throw, and a genuine request still parses', (t) => {
  const token = fc.stringMatching(/^[\x21-\x7e]{0,12}$/);
  const field = fc.tuple(fc.constantFrom('Host', 'Range', 'If-Range', 'Connection', 'Content-Length', 'Transfer-Encoding', 'X'), token, fc.constantFrom(': ', ':', ' : ', ':\t'));
  const request = fc
    .tuple(fc.constantFrom('GET', 'HEAD', 'POST', 'get', ''), token, fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2', 'HTTP/1.1 ', ''), fc.array(field, { maxLength: 8 }), fc.constantFrom('\r\n', '\n', '\r'))
    .map(([m, target, v, fields, eol]) => new TextEncoder().encode(`${m} /${target} ${v}${eol}${fields.map(([n, value, sep]) => `${n}${sep}${value}${eol}`).join('')}${eol}`));
  const target = makeTarget('http-request', 1);
  const random = new SeededRandom(1);
  fc.assert(
    fc.property(request, (bytes) => codedOnly(() => target.feed(bytes, random))),
    { numRuns: 3000, seed: 13 },
  );
  t.is(target.check(), undefined);
});

test('baton fuzz TARGET --inputs N: a summary and totals line, exit 0; an unknown target exits 2', async (t) => {
  const ok = await runToExit(process.execPath, [BATON, 'fuzz', 'announcement', '--inputs', '1500', '--check-every', '500'], { t, timeoutMs: 120_000, stdout: 'pipe', stderr: 'pipe' });
  t.is(ok.status.code, 0, `${ok.stdout}\n${ok.stderr}`);
  t.regex(ok.stdout.trim().split('\n').at(-1)!, /^inputs 1500, uncoded 0, unhandled rejections 0, failed checks 0$/);
  t.regex(ok.stderr, /1500\/1500 inputs/);
  const bad = await runToExit(process.execPath, [BATON, 'fuzz', 'dns-packet'], { t, timeoutMs: 60_000, stdout: 'pipe', stderr: 'pipe' });
  t.is(bad.status.code, 2, bad.stderr);
});
