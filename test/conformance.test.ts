// The cross-transport conformance suite: every scenario is written once against the
// MigratableTransport contract and runs for both `sctp` and `tcp`. A scenario a transport cannot
// do fails visibly; nothing is skipped.
import test from 'ava';
import { TRANSPORT_KINDS } from '../src/transports.js';
import { decodeTransportState, encodeTransportState } from '../src/transport-abstraction/state.js';
import type { TransportState } from '../src/transport-abstraction/state-types.js';
import { World } from './conformance/world.js';

const lossy = (loss: number, delayMs: number) => ({ delayMs, rateBps: 2_000_000, queueBytes: 64_000, loss });

/** Let A serve for `ms`, then take its state (as a support-group peer would have heard it). */
function serveThenExport(world: World, ms: number): TransportState {
  world.net.run(world.net.now + ms);
  const a = world.server('a');
  if (!a.sender) throw new Error('server A never accepted the connection');
  return a.sender.conn.exportState(world.net.now);
}

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: connect and deliver a file byte-identical`, (t) => {
    const world = new World({ kind, seed: 1 });
    t.true(world.runToCompletion(), 'connection did not finish');
    t.is(world.client.collector.received, world.file.length);
    t.true(world.clientHasFile());
    t.is(world.client.collector.closed && 'error' in world.client.collector.closed ? world.client.collector.closed.error : undefined, undefined);
    t.true(world.server('a').sender!.eventTypes().includes('connected'));
  });

  test(`${kind}: bulk transfer under 2% loss`, (t) => {
    for (const seed of [11, 12, 13]) {
      const world = new World({ kind, seed, fileLength: 1_000_000, links: { a: lossy(0.02, 20) } });
      t.true(world.runToCompletion(), `seed ${seed}: did not finish`);
      t.true(world.clientHasFile(), `seed ${seed}: bytes differ`);
    }
  });

  test(`${kind}: a new host takes over and the stream continues byte-exact`, (t) => {
    const world = new World({ kind, seed: 2, fileLength: 400_000, links: { a: { delayMs: 5, rateBps: 1_000_000 } } });
    const state = serveThenExport(world, 300);
    world.net.kill('a');
    const b = world.takeOver('b', state, state.takeoverNumber + 1);
    t.true(world.runToCompletion(), 'did not finish after takeover');
    t.true(world.clientHasFile());
    t.truthy(b.receiver, 'taker never learned the receiver state');
    t.true(b.receiver!.nextOffset > 0 && b.receiver!.nextOffset < world.file.length);
    const takenOver = world.client.collector.events.find((e) => e.type === 'taken-over');
    t.truthy(takenOver);
  });

  test(`${kind}: Figure 3 race — first taker wins, the same number is refused, the old server is refused`, (t) => {
    // A 10 ms RTT, B 40 ms, C 200 ms, as in the paper; A is wrongly declared dead and keeps sending.
    const world = new World({
      kind,
      seed: 3,
      fileLength: 300_000,
      links: { a: { delayMs: 5, rateBps: 1_000_000 }, b: { delayMs: 20, rateBps: 1_000_000 }, c: { delayMs: 100, rateBps: 1_000_000 } },
    });
    const state = serveThenExport(world, 400);
    const n = state.takeoverNumber + 1;
    const b = world.takeOver('b', state, n);
    const c = world.takeOver('c', state, n);
    t.true(world.runToCompletion(), 'did not finish');
    t.true(world.clientHasFile(), 'client bytes differ from the file');
    t.true(b.eventTypes().includes('takeover-complete'), 'B did not win');
    t.is(c.error?.type === 'closed' ? c.error.error?.code : undefined, 'BATON_ERR_TAKEOVER_REJECTED');
    const a = world.server('a').sender!;
    t.is(a.error?.type === 'closed' ? a.error.error?.code : undefined, 'BATON_ERR_TAKEN_OVER');
    const refused = world.client.collector.events.filter((e) => e.type === 'takeover-refused');
    t.true(refused.length >= 1, 'client did not report refusing C');
  });

  test(`${kind}: forged, replayed and eavesdropped takeovers are refused`, (t) => {
    const world = new World({ kind, seed: 4, fileLength: 300_000, links: { a: { delayMs: 5, rateBps: 1_000_000 } } });
    const state = serveThenExport(world, 300);
    // Forged: the right numbers but a wrong key.
    const forged = structuredClone(state);
    if (forged.sctp) forged.sctp.endpointPairKey = new Uint8Array(32).fill(7);
    if (forged.tcp) forged.tcp.connectionKey = new Uint8Array(32).fill(7);
    const eve = world.takeOver('eve', forged, state.takeoverNumber + 1);
    world.net.run(world.net.now + 1000);
    t.is(eve.error?.type === 'closed' ? eve.error.error?.code : undefined, 'BATON_ERR_TAKEOVER_REJECTED', 'forged takeover was not refused');
    t.false(world.client.collector.events.some((e) => e.type === 'taken-over'), 'client accepted a forged takeover');
    // Eavesdropped: everything on the wire, but no key material from the agreement.
    const overheard = structuredClone(state);
    if (overheard.sctp) overheard.sctp.endpointPairKey = new Uint8Array(0);
    if (overheard.tcp) overheard.tcp.connectionKey = new Uint8Array(0);
    const eve2 = world.takeOver('eve', overheard, state.takeoverNumber + 1);
    world.net.run(world.net.now + 1000);
    t.is(eve2.error?.type === 'closed' ? eve2.error.error?.code : undefined, 'BATON_ERR_TAKEOVER_REJECTED', 'eavesdropper was not refused');
    // A genuine takeover still works afterwards, and replaying it later is refused.
    const replayed: Uint8Array[] = [];
    world.net.onTrace((e) => {
      if (e.kind === 'send' && e.from.address === world.server('b').address.address) replayed.push(e.payload.slice());
    });
    world.takeOver('b', state, state.takeoverNumber + 1);
    t.true(world.runToCompletion(), 'did not finish');
    t.true(world.clientHasFile());
    t.true(replayed.length > 0);
    const before = world.client.collector.events.filter((e) => e.type === 'taken-over').length;
    world.client.endpoint.handleDatagram(world.net.now, world.server('eve').address, replayed[0]!, world.client.address);
    world.client.collector.pump(world.net.now);
    t.is(world.client.collector.events.filter((e) => e.type === 'taken-over').length, before, 'replayed takeover accepted');
  });

  test(`${kind}: cascaded takeover — the second server dies before it finishes, a third takes over with n+1`, (t) => {
    const world = new World({
      kind,
      seed: 5,
      fileLength: 400_000,
      links: { a: { delayMs: 5, rateBps: 1_000_000 }, b: { delayMs: 10, rateBps: 1_000_000 }, c: { delayMs: 15, rateBps: 1_000_000 } },
    });
    const state = serveThenExport(world, 300);
    world.net.kill('a');
    const b = world.takeOver('b', state, state.takeoverNumber + 1);
    world.net.runUntil(() => b.receiver !== undefined, 5_000);
    world.net.run(world.net.now + 200);
    t.truthy(b.receiver, 'B never completed its takeover');
    const stateB = b.conn.exportState(world.net.now);
    t.is(stateB.takeoverNumber, state.takeoverNumber + 1);
    world.net.kill('b');
    const c = world.takeOver('c', stateB, stateB.takeoverNumber + 1);
    t.true(world.runToCompletion(), 'did not finish');
    t.true(world.clientHasFile());
    t.truthy(c.receiver);
  });

  test(`${kind}: takeover during loss recovery`, (t) => {
    for (const seed of [21, 22, 23]) {
      const world = new World({ kind, seed, fileLength: 500_000, links: { a: lossy(0.05, 10), b: lossy(0.02, 20) } });
      const state = serveThenExport(world, 700);
      world.net.kill('a');
      world.takeOver('b', state, state.takeoverNumber + 1);
      t.true(world.runToCompletion(), `seed ${seed}: did not finish`);
      t.true(world.clientHasFile(), `seed ${seed}: bytes differ`);
    }
  });

  test(`${kind}: state export, protobuf encode/decode and import round trip`, (t) => {
    const world = new World({ kind, seed: 6, links: { a: { delayMs: 5, rateBps: 1_000_000 } } });
    const state = serveThenExport(world, 300);
    t.is(kind === 'sctp' ? state.sctp !== undefined : state.tcp !== undefined, true);
    const decoded = decodeTransportState(encodeTransportState(state));
    t.deepEqual(decoded, state);
    world.net.kill('a');
    world.takeOver('b', decoded, decoded.takeoverNumber + 1);
    t.true(world.runToCompletion());
    t.true(world.clientHasFile());
  });

  test(`${kind}: gap-fill and go-back-N resumption both deliver byte-exact; gap-fill resends less`, (t) => {
    const sentBytes: Record<string, number> = {};
    for (const mode of ['go-back-n', 'gap-fill'] as const) {
      // A brief partition drops a window of A's packets; what A sends after it heals reaches the
      // client beyond the hole, and A dies before it can repair it.
      const world = new World({ kind, seed: 31, fileLength: 600_000, links: { a: lossy(0, 10), b: { delayMs: 10, rateBps: 4_000_000 } } });
      const state = serveThenExport(world, 500);
      world.net.partition(['a'], ['client']);
      world.net.run(world.net.now + 20);
      world.net.heal();
      world.net.run(world.net.now + 15);
      world.net.kill('a');
      let fromB = 0;
      world.net.onTrace((e) => {
        if (e.kind === 'send' && e.from.address === world.server('b').address.address) fromB += e.payload.length;
      });
      const b = world.takeOver('b', state, state.takeoverNumber + 1, mode);
      t.true(world.runToCompletion(), `${mode}: did not finish`);
      t.true(world.clientHasFile(), `${mode}: bytes differ`);
      t.truthy(b.receiver);
      sentBytes[mode] = fromB;
      if (mode === 'gap-fill') t.true(b.receiver!.heldRanges.length > 0, 'no held ranges: the scenario did not leave holes');
    }
    t.true(sentBytes['gap-fill']! < sentBytes['go-back-n']!, `gap-fill sent ${sentBytes['gap-fill']} B, go-back-N ${sentBytes['go-back-n']} B`);
  });
}
