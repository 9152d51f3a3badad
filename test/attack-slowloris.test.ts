// Slow-loris against the wedge (simulator, virtual time): a client that sends its request head one
// byte at a time. Other clients are served meanwhile. The wedge acknowledges a client's bytes only
// once they form a request its group holds (src/wedge/README.md, "requests acknowledged are never
// lost"), so the bytes of a head still being dripped are delivered but never acknowledged: the
// dripping client's transport gives up after its user timeout (BATON_ERR_TIMEOUT, about 20 s of
// unacknowledged bytes) and the wedge releases the session — in effect a header timeout. A faster
// drip is cut at the head's size limits (100 header fields, an 8 KiB line): 400
// BATON_ERR_HTTP_TOO_LARGE, closed, session released.
import test from 'ava';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import { TRANSPORT_KINDS } from '../src/transports.js';
import { judge } from '../bench/torture/verdict.js';
import { TortureWorld, type TortureClient } from '../bench/torture/world.js';

const enc = new TextEncoder();

function world(kind: (typeof TRANSPORT_KINDS)[number], object: Uint8Array): TortureWorld {
  return new TortureWorld({ kind, seed: 61, wedges: 1, groups: 1, rate: 200_000, updateMs: 1000 }, new Map([['/o', object]]));
}

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: a client dripping its head one byte per second does not stop others being served, and is cut off with its session released`, async (t) => {
    const object = new SeededRandom(61).bytes(100_000);
    const w = world(kind, object);
    await w.start('w1');
    const head = `GET /o HTTP/1.1\r\nHost: pool\r\n${Array.from({ length: 60 }, (_, i) => `X-Slow-${i}: x\r\n`).join('')}\r\n`;
    const slow = w.client('w1', enc.encode(head), 1000);
    const get = enc.encode('GET /o HTTP/1.1\r\nHost: pool\r\nConnection: close\r\n\r\n');
    const others: TortureClient[] = [];
    for (let i = 0; i < 5; i++) {
      w.net.runUntil(() => false, w.net.now + 60_000);
      others.push(w.client('w1', get));
    }
    t.true(w.net.runUntil(() => others.every((c) => c.closed), w.net.now + 120_000));
    for (const c of others) t.is(judge(c.collector.bytes(), [object], c.closed, c.error).outcome, 'whole');
    t.true(slow.closed, 'the dripping client was cut off');
    t.is(slow.error?.code, 'BATON_ERR_TIMEOUT');
    t.true(slow.sent < head.length, `${slow.sent} of ${head.length} head bytes dripped`);
    const w1 = w.wedges.get('w1')!;
    t.true(w.net.runUntil(() => w1.sessions.size === 0, w.net.now + 120_000), `sessions still held: ${w1.sessions.size}`);
    t.log(`the slow client gave up after ${slow.sent} of ${head.length} head bytes; the wedge holds ${w1.sessions.size} sessions at ${(w.net.now / 1000).toFixed(0)} s`);
    for (const x of w.wedges.values()) await x.close();
  });

  test(`${kind}: a drip past the header-field limit is answered 400 BATON_ERR_HTTP_TOO_LARGE, closed, and its session released`, async (t) => {
    const w = world(kind, new Uint8Array(10));
    await w.start('w1');
    const w1 = w.wedges.get('w1')!;
    const head = `GET /o HTTP/1.1\r\n${Array.from({ length: 150 }, (_, i) => `X-${i}: x\r\n`).join('')}\r\n`;
    const c = w.client('w1', enc.encode(head), 10);
    t.true(w.net.runUntil(() => c.closed, w.net.now + 200_000), `still open after ${c.sent} bytes`);
    t.true(c.sent < head.length, `cut before the end (${c.sent} of ${head.length})`);
    const answer = Buffer.from(c.collector.bytes()).toString('latin1');
    t.regex(answer, /^HTTP\/1\.1 400 [^]*\r\n\r\n400 Bad Request: BATON_ERR_HTTP_TOO_LARGE\n$/);
    t.is(w1.sessions.size, 0, 'session released');
    t.is(w.log.filter((l) => l.event === 'closed').length, 1);
    for (const x of w.wedges.values()) await x.close();
  });

}

// KNOWN BUG, SCTP only, not tested here because it hangs: the same head over SCTP leaves the
// client's association open indefinitely (its retransmissions are answered by SACKs that acknowledge
// nothing new, which keep it alive); see the README's "Torture and fuzzing".
test(`tcp: a head longer than the client's first window is never acknowledged (known limit): the client times out, the session is released`, async (t) => {
  // The 8 KiB line limit is never reached: the wedge acknowledges no byte of an incomplete head,
  // so the client's congestion window never opens past its first flight and it gives up.
  const w = world('tcp', new Uint8Array(10));
  await w.start('w1');
  const w1 = w.wedges.get('w1')!;
  const head = `GET /o HTTP/1.1\r\nX-Long: ${'a'.repeat(9000)}\r\n\r\n`;
  const c = w.client('w1', enc.encode(head), 1);
  t.true(w.net.runUntil(() => c.closed, w.net.now + 200_000), `still open after ${c.sent} bytes`);
  t.is(c.error?.code, 'BATON_ERR_TIMEOUT');
  t.is(c.collector.bytes().length, 0, 'no response');
  t.true(w.net.runUntil(() => w1.sessions.size === 0, w.net.now + 120_000), `sessions still held: ${w1.sessions.size}`);
  for (const x of w.wedges.values()) await x.close();
});
