// The wedge's blind resume (WedgeOptions.blindResume, transport.ts takeover(…, resumeFrom)): a
// taker asks its content server for the stream from the announced state's acknowledged point first
// and sends those bytes with the takeover request, so the client's next byte arrives about half a
// round trip after the request instead of one and a half. It pays when the announced state is
// where the client stands — the serving wedge died while its stream paused (a live source, a slow
// content server): the states announced during the pause describe it. Otherwise (the client far
// past the last announcement) the prefetch is dropped at takeover-complete and the taker resumes
// as without one. On by default (WedgeOptions.blindResume; blind-span.ts). Simulator, 5 ms links (10 ms RTT),
// content server 1 ms.
import test from 'ava';
import { TRANSPORT_KINDS } from '../src/transports.js';
import type { TransportKind } from '../src/transport-abstraction/transport.js';
import { makeFile, sha256 } from './conformance/world.js';
import { get, WedgeWorld } from './wedge-sim-world.js';

interface Run {
  readonly noticeToFirstByte: number;
  readonly whole: boolean;
}

async function pausedFailover(kind: TransportKind, blindResume: boolean): Promise<Run> {
  const world = new WedgeWorld({ kind, seed: 31, wedges: 2, rate: 200_000, blindResume });
  const object = makeFile(1_000_000, 31);
  await world.startAll(new Map([['/big.bin', object]]));
  const client = world.client('w1', [get('/big.bin', true)]);
  world.net.runUntil(() => client.received > 300_000, 60_000);
  world.backends.get('w1')!.rateBytesPerSec = 10; // the stream pauses (one more chunk, then none for minutes)
  world.net.runUntil(() => false, world.net.now + 2_500); // announcements describe the pause
  const killedAt = world.net.now;
  world.net.kill('w1');
  world.net.runUntil(() => client.closed, world.net.now + 60_000);
  const dead = world.events('member-dead', 'w2')[0]!;
  const first = client.deliveries.find((at) => at > killedAt)!;
  const [response] = client.responses();
  return { noticeToFirstByte: first - dead.time, whole: client.collector.closed?.error === undefined && response !== undefined && sha256(response.body) === sha256(object) };
}

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: the wedge died while its stream paused: the blind resume brings the client's next byte within one round trip of the notice`, async (t) => {
    const before = await pausedFailover(kind, false);
    const after = await pausedFailover(kind, true);
    t.true(before.whole && after.whole, 'the object arrives whole both ways');
    t.true(before.noticeToFirstByte >= 10, `without: ${before.noticeToFirstByte} ms`);
    t.true(after.noticeToFirstByte < 10, `with: ${after.noticeToFirstByte} ms`);
    t.log(`death notice -> client's first resumed byte: ${before.noticeToFirstByte.toFixed(1)} ms without the blind resume, ${after.noticeToFirstByte.toFixed(1)} ms with it (RTT 10 ms, content server 1 ms)`);
  });
}
