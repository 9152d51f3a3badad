// Slow-loris against the wedge (simulator, virtual time): a client that sends its request head one
// byte at a time. Other clients are served meanwhile; a drip is cut at the head's size limits
// (100 header fields, an 8 KiB line): 400 BATON_ERR_HTTP_TOO_LARGE, closed, session released. The
// wedge has no header timeout: a drip that stays within the limits holds its session for as long
// as it drips (logged below with the time; see the README's "Torture and fuzzing").
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
  test(`${kind}: a client dripping its head one byte per second does not stop others being served`, async (t) => {
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
    t.false(slow.closed);
    t.true(slow.sent > 300 && slow.sent < head.length, `${slow.sent} bytes dripped`);
    t.log(`no header timeout: after ${(w.net.now / 1000).toFixed(0)} s the slow client (${slow.sent} of ${head.length} head bytes) still holds ${w.wedges.get('w1')!.sessions.size} session(s)`);
    for (const x of w.wedges.values()) await x.close();
  });

  test(`${kind}: a drip past the head limits is answered 400 BATON_ERR_HTTP_TOO_LARGE, closed, and its session released`, async (t) => {
    const w = world(kind, new Uint8Array(10));
    await w.start('w1');
    const w1 = w.wedges.get('w1')!;
    const cases = [
      ['150 header fields', `GET /o HTTP/1.1\r\n${Array.from({ length: 150 }, (_, i) => `X-${i}: x\r\n`).join('')}\r\n`],
      ['a 9000-byte line', `GET /o HTTP/1.1\r\nX-Long: ${'a'.repeat(9000)}\r\n\r\n`],
    ] as const;
    for (const [what, head] of cases) {
      const c = w.client('w1', enc.encode(head), 10);
      t.true(w.net.runUntil(() => c.closed, w.net.now + 200_000), `${what}: still open after ${c.sent} bytes`);
      t.true(c.sent < head.length, `${what}: cut before the end (${c.sent} of ${head.length})`);
      const answer = Buffer.from(c.collector.bytes()).toString('latin1');
      t.regex(answer, /^HTTP\/1\.1 400 [^]*\r\n\r\n400 Bad Request: BATON_ERR_HTTP_TOO_LARGE\n$/, what);
      t.is(w1.sessions.size, 0, `${what}: session released`);
    }
    t.is(w.log.filter((l) => l.event === 'closed').length, cases.length);
    for (const x of w.wedges.values()) await x.close();
  });
}
