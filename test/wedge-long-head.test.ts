// A failover while a long request head is half received (simulator, both transports): the serving
// wedge acknowledged part of the head (its group member had confirmed announcements carrying those
// bytes, README "Requests acknowledged are never lost") and dies; the member takes the connection
// over from the announced head-so-far, drops the client's retransmission of the bytes it holds,
// reads the rest of the head and serves the request whole.
import test from 'ava';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import { TRANSPORT_KINDS } from '../src/transports.js';
import { judge } from '../bench/torture/verdict.js';
import { TortureWorld } from '../bench/torture/world.js';
import type { Session } from '../src/wedge/session.js';

const enc = new TextEncoder();

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: the serving wedge dies with a 16 KiB head half acknowledged; the taker serves the request`, async (t) => {
    const object = new SeededRandom(63).bytes(80_000);
    const w = new TortureWorld({ kind, seed: 63, wedges: 2, groups: 1, rate: 200_000, updateMs: 1000 }, new Map([['/o', object]]));
    await w.start('w1');
    await w.start('w2');
    w.net.runUntil(() => false, w.net.now + 1_500);
    const lines = Array.from({ length: 16 }, (_, i) => `X-Long-${String(i).padStart(2, '0')}: ${'b'.repeat(1000)}\r\n`);
    const head = enc.encode(`GET /o HTTP/1.1\r\nHost: pool\r\n${lines.join('')}Connection: close\r\n\r\n`);
    // A longer client link: the head arrives over several round trips.
    w.link('clients', 'w1', { delayMs: 20 });
    const c = w.client('w1', head);
    const w1 = w.wedges.get('w1')!;
    const half = (): boolean => {
      const s = [...w1.sessions.values()][0] as Session | undefined;
      return s !== undefined && s.acknowledgeLimit > head.length / 3 && s.acknowledgeLimit < head.length;
    };
    t.true(w.net.runUntil(half, w.net.now + 10_000), 'part of the head acknowledged');
    const acked = ([...w1.sessions.values()][0] as Session).acknowledgeLimit;
    t.is(w.log.filter((l) => l.event === 'request').length, 0, 'the head is not complete yet');
    w.kill('w1');
    t.true(w.net.runUntil(() => c.closed, w.net.now + 60_000), `still open: ${c.collector.bytes().length} response bytes`);
    t.is(judge(c.collector.bytes(), [object], c.closed, c.error).outcome, 'whole');
    t.is(c.takenOver, 1);
    const won = w.log.filter((l) => l.event === 'takeover-won' && l.server === 'w2');
    t.is(won.length, 1);
    t.is(w.log.filter((l) => l.event === 'request' && l.server === 'w2').length, 1, 'the taker read the head to its end and relayed the request once');
    t.log(`${acked} of ${head.length} head bytes acknowledged when w1 died`);
    for (const x of w.wedges.values()) await x.close();
  });
}
