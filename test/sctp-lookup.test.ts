// Which association a packet from an unknown source belongs to (RFC 9260 §8.4, RFC 5061 §4.1.1):
// a packet from an address the association does not have is out of the blue for it, even with the
// right verification tag — except an ASCONF, which names its sender in its address parameter.
import test from 'ava';
import { BATCH_ACK_STRETCH } from '../src/sctp/receiver.js';
import { World, HOSTS } from './conformance/world.js';
import { chunkSpans } from '../src/sctp/wire/parse.js';
import { emitPacket } from '../src/sctp/wire/emit.js';
import { finalizeChecksum } from '../src/sctp/wire/crc32c.js';
import { ChunkType } from '../src/sctp/wire/types.js';
import type { TransportState } from '../src/transport-abstraction/state-types.js';

function serve(world: World, ms: number): TransportState {
  world.net.run(world.net.now + ms);
  return world.server('a').sender!.conn.exportState(world.net.now);
}

test('an ABORT with the right tag from an address outside the association does not end it', (t) => {
  const world = new World({ kind: 'sctp', seed: 41, fileLength: 300_000, links: { a: { delayMs: 5, rateBps: 1_000_000 } } });
  serve(world, 300);
  const client = world.client;
  const abort = emitPacket({
    sourcePort: 9899,
    destinationPort: 9899,
    verificationTag: (client.conn.exportState(world.net.now).sctp!.localVerificationTag) >>> 0,
    chunks: [{ type: ChunkType.ABORT, reflectedTag: false, causes: [] }],
  });
  client.endpoint.handleDatagram(world.net.now, { address: HOSTS.eve, port: 9899 }, abort, client.address);
  client.collector.pump(world.net.now);
  t.is(client.collector.closed, undefined, 'a stranger closed the association');
  // The same ABORT from A's own address is honoured: the tag was right.
  client.endpoint.handleDatagram(world.net.now, world.server('a').address, abort, client.address);
  client.collector.pump(world.net.now);
  t.is(client.collector.closed?.type === 'closed' ? client.collector.closed.error?.code : undefined, 'BATON_ERR_ABORTED');
});

test("an ASCONF whose address parameter names none of the association's addresses is dropped", (t) => {
  // Record B's genuine takeover ASCONF, then let a stranger replay it with another sender address.
  const world = new World({ kind: 'sctp', seed: 42, fileLength: 300_000, links: { a: { delayMs: 5, rateBps: 1_000_000 } } });
  const state = serve(world, 300);
  let asconf: Uint8Array | undefined;
  world.net.onTrace((e) => {
    if (asconf || e.kind !== 'send' || e.from.address !== HOSTS.b) return;
    const spans = chunkSpans(e.payload);
    if (spans.ok && spans.spans.some((s) => s.type === ChunkType.ASCONF)) asconf = e.payload.slice();
  });
  world.net.partition(['b'], ['client']); // B's request never arrives; we only want its bytes
  world.takeOver('b', state, state.takeoverNumber + 1);
  world.net.run(world.net.now + 50);
  world.net.heal();
  t.truthy(asconf, 'B sent no ASCONF');
  const forged = asconf!.slice();
  const spans = chunkSpans(forged);
  t.true(spans.ok);
  const at = spans.ok ? spans.spans.find((s) => s.type === ChunkType.ASCONF)!.offset : 0;
  // ASCONF: header (4), serial (4), then the address parameter: type 5, length 8, IPv4.
  t.deepEqual([...forged.subarray(at + 8, at + 12)], [0, 5, 0, 8]);
  t.deepEqual([...forged.subarray(at + 12, at + 16)], [10, 0, 0, 2], 'the address parameter names A');
  forged.set([10, 0, 0, 77], at + 12);
  finalizeChecksum(forged);
  const client = world.client;
  const events = client.collector.events.length;
  client.endpoint.handleDatagram(world.net.now, { address: HOSTS.eve, port: 9899 }, forged, client.address);
  client.collector.pump(world.net.now);
  t.is(client.endpoint.dropped.get('unknown-takeover'), 1);
  t.deepEqual(client.collector.events.slice(events).filter((e) => e.type !== 'data'), [], 'the client reacted to it');
  // The untouched ASCONF from the same stranger address is looked up through A and reaches the
  // takeover rules, which refuse it: it adds B, not the address it came from (a relay).
  client.endpoint.handleDatagram(world.net.now, { address: HOSTS.eve, port: 9899 }, asconf!, client.address);
  client.collector.pump(world.net.now);
  t.true(client.collector.events.some((e) => e.type === 'takeover-refused' && e.reason === 'not-authenticated' && e.peer.address === HOSTS.eve), 'the genuine request, relayed, was not looked up');
  t.false(client.collector.events.some((e) => e.type === 'taken-over'), 'a relayed request was accepted');
  t.is(client.conn.remote.address, HOSTS.a, 'the relayed request changed the primary');
});

test('a burst of DATA packets fed before any transmit is polled is acknowledged at least every BATCH_ACK_STRETCH packets between baton ends', (t) => {
  // A real driver reads a burst of datagrams before it drains the endpoint. Between baton ends one
  // SACK acknowledges the burst, at least one per BATCH_ACK_STRETCH packets (receiver.ts); a peer
  // that is not baton gets RFC 9260 §6.2's SACK for every second packet, whose absence stalls
  // usrsctp's sender on a lost SACK (test/batch-ack.test.ts covers both rules).
  const world = new World({ kind: 'sctp', seed: 43, fileLength: 2_000_000, links: { a: { delayMs: 5, rateBps: 50_000_000 } } });
  serve(world, 300);
  const burst: Uint8Array[] = [];
  world.net.onTrace((e) => {
    // What A sends while partitioned away is dropped at once: the drops are the burst.
    if (e.kind !== 'drop' || e.from.address !== HOSTS.a) return;
    const spans = chunkSpans(e.payload);
    if (spans.ok && spans.spans.some((s) => s.type === ChunkType.DATA)) burst.push(e.payload.slice());
  });
  world.net.partition(['a'], ['client']);
  world.net.run(world.net.now + 30);
  const packets = burst.slice(0, 40);
  t.true(packets.length >= 20, `only ${packets.length} DATA packets captured`);
  const client = world.client;
  const from = world.server('a').address;
  for (const p of packets) client.endpoint.handleDatagram(world.net.now, from, p, client.address);
  let sacks = 0;
  for (let tx = client.endpoint.pollTransmit(world.net.now); tx; tx = client.endpoint.pollTransmit(world.net.now)) {
    const spans = chunkSpans(tx.payload);
    if (spans.ok) sacks += spans.spans.filter((s) => s.type === ChunkType.SACK).length;
  }
  t.true(sacks >= Math.floor(packets.length / BATCH_ACK_STRETCH), `${sacks} SACKs for ${packets.length} DATA packets`);
  t.true(sacks <= Math.floor(packets.length / BATCH_ACK_STRETCH) + 1, `${sacks} SACKs for ${packets.length} DATA packets: one per batch`);
});
