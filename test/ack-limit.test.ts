// Unit tests of the acknowledge limit (transport.ts setAcknowledgeLimit) where a transport needs
// them beyond the conformance suite: SCTP's acknowledged point (message ends, gap blocks,
// duplicate reports, the window, inbound SSNs of an export) and what TCP-Migrate's ACKs say while
// bytes are held (no byte revealed, no duplicate ACK for held data, the right edge kept).
import test from 'ava';
import { Receiver } from '../src/sctp/receiver.js';
import type { DataChunk } from '../src/sctp/wire/types.js';
import { parseSegment } from '../src/tcp-migrate/wire.js';
import { findOption } from '../src/tcp-migrate/options.js';
import { HOSTS, World, makeFile } from './conformance/world.js';
import { SimNetwork } from '../src/sim/network.js';
import { createEndpoint } from '../src/transports.js';
import type { MigratableTransport } from '../src/transport-abstraction/transport.js';

const WINDOW = 100_000;

function chunk(tsn: number, length: number, more: Partial<DataChunk> = {}): DataChunk {
  return { type: 0, immediate: false, unordered: false, beginning: true, ending: true, tsn, streamId: 0, ssn: tsn - 1, ppid: 0, userData: new Uint8Array(length).fill(tsn & 0xff), ...more };
}

function receiver(): { r: Receiver; delivered: Uint8Array[] } {
  const delivered: Uint8Array[] = [];
  return { r: new Receiver(1, 4, WINDOW, (_s, b) => delivered.push(b)), delivered };
}

test('sctp: the SACK acknowledges up to the last TSN wholly below the limit; raising it acknowledges the rest', (t) => {
  const { r, delivered } = receiver();
  r.ackPoint.limit = 250;
  for (const tsn of [1, 2, 3]) r.onData(chunk(tsn, 100));
  t.is(delivered.length, 3, 'held bytes are still delivered');
  t.is(r.ackPoint.receivedOffset, 300);
  let sack = r.makeSack();
  t.is(sack.cumulativeTsnAck, 2);
  t.is(sack.advertisedReceiverWindow, r.window + 100, 'the held bytes (outstanding at the peer) are added back to a_rwnd');
  r.ackPoint.limit = 300;
  t.true(r.ackPoint.settle());
  sack = r.makeSack();
  t.is(sack.cumulativeTsnAck, 3);
  t.is(sack.advertisedReceiverWindow, r.window);
});

test('sctp: the acknowledged point stops at a message end; a limit below it does not move it back', (t) => {
  const { r } = receiver();
  r.ackPoint.limit = 150;
  r.onData(chunk(1, 100, { ending: false, ssn: 0 }));
  r.onData(chunk(2, 100, { beginning: false, ssn: 0 }));
  t.is(r.makeSack().cumulativeTsnAck, 0, 'TSN 1 is wholly below the limit but ends no message');
  r.ackPoint.limit = 200;
  r.ackPoint.settle();
  t.is(r.makeSack().cumulativeTsnAck, 2);
  r.ackPoint.limit = 0;
  r.ackPoint.settle();
  r.onData(chunk(3, 100, { ssn: 1 }));
  t.is(r.makeSack().cumulativeTsnAck, 2, 'the point moved back or past the limit');
});

test('sctp: under a limit no gap block and no duplicate of a held TSN is reported; without one both are', (t) => {
  const { r, delivered } = receiver();
  r.ackPoint.limit = 100;
  r.onData(chunk(1, 100));
  r.onData(chunk(2, 100));
  r.onData(chunk(4, 100));
  let sack = r.makeSack();
  t.is(sack.cumulativeTsnAck, 1);
  t.deepEqual(sack.gapBlocks, []);
  t.is(r.onData(chunk(2, 100)), 'duplicate');
  t.is(r.onData(chunk(1, 100)), 'duplicate');
  sack = r.makeSack();
  t.deepEqual(sack.duplicateTsns, [1], 'a duplicate of held TSN 2 was reported');
  t.is(delivered.length, 2, 'a duplicate was delivered again (TSN 4 waits for SSN 2)');
  r.ackPoint.limit = undefined;
  r.ackPoint.settle();
  sack = r.makeSack();
  t.is(sack.cumulativeTsnAck, 2);
  t.deepEqual(sack.gapBlocks, [{ start: 2, end: 2 }]);
});

test('sctp: the inbound SSNs of an export are those at the acknowledged point', (t) => {
  const { r } = receiver();
  r.ackPoint.limit = 100;
  for (const tsn of [1, 2, 3]) r.onData(chunk(tsn, 100, { ssn: tsn - 1 }));
  r.onData(chunk(5, 100, { streamId: 1, ssn: 0 }));
  t.deepEqual(r.reassembly.nextSsn, [3, 1, 0, 0], 'delivered: SSN 0..2 on stream 0, and stream 1 SSN 0 above the hole');
  t.deepEqual(r.ackPoint.inboundSsnsAt(r.reassembly.nextSsn), [1, 0, 0, 0]);
  t.is(r.ackPoint.ackedTsn, 1);
});

test('tcp: while bytes are held, no ACK acknowledges or SACKs them and the right edge stays', (t) => {
  const world = new World({ kind: 'tcp', seed: 61, fileLength: 3_000_000, links: { a: { delayMs: 5, rateBps: 2_000_000, queueBytes: 16_000, loss: 0.05 } } });
  world.net.run(world.net.now + 300);
  const a = world.server('a').sender!.conn;
  const point = a.receivedOffset;
  a.setAcknowledgeLimit(world.net.now, point);
  const ackWire = a.exportState(world.net.now).tcp!.rcvNxt;
  const acks: Array<{ ack: number; edge: number; sack: number[] }> = [];
  world.net.onTrace((e) => {
    if (e.kind !== 'send' || e.from.address !== HOSTS.a) return;
    const r = parseSegment(e.payload);
    if (!r.ok) return;
    const s = r.segment;
    const sack = findOption(s.options, 'sack');
    acks.push({ ack: s.ack, edge: (s.ack + s.window) >>> 0, sack: sack ? sack.blocks.map((b) => b.right) : [] });
  });
  const data = makeFile(30_000, 95);
  for (let at = 0; at < data.length; ) at += world.client.conn.send(data.subarray(at));
  world.net.wake(world.client.endpoint);
  world.net.run(world.net.now + 3_000);
  t.true(a.receivedOffset > point, 'A received nothing');
  t.true(acks.length > 0);
  t.true(acks.every((x) => x.ack === ackWire), 'an ACK went beyond the limit');
  t.true(acks.every((x) => x.sack.length === 0), 'a SACK block revealed held bytes');
  t.true(acks.every((x) => ((x.edge - ackWire) | 0) >= 0));
  a.setAcknowledgeLimit(world.net.now, undefined);
  world.net.wake(world.server('a').endpoint);
  t.true(world.net.runUntil(() => world.client.conn.bufferedAmount === 0, world.net.now + 10_000), 'the client never got its data acknowledged');
});

test('both transports refuse a limit that is not a non-negative integer', (t) => {
  for (const kind of ['sctp', 'tcp'] as const) {
    const world = new World({ kind, seed: 62, fileLength: 100_000 });
    world.net.run(world.net.now + 100);
    const a = world.server('a').sender!.conn;
    for (const bad of [-1, 1.5, Number.NaN, Infinity]) {
      const e = t.throws(() => a.setAcknowledgeLimit(world.net.now, bad), undefined, `${kind}: ${bad} accepted`);
      t.is((e as { code?: string }).code, 'BATON_ERR_USAGE');
    }
    t.notThrows(() => a.setAcknowledgeLimit(world.net.now, undefined));
  }
});

test('tcp: an upload whose acknowledgement is held at every 50 ms export sees no duplicate ACKs: no fast retransmit, no retransmission', (t) => {
  // A bare pair (the server sends nothing back): the client uploads as fast as its window lets it.
  const net = new SimNetwork({ seed: 63 });
  net.addHost('client', [HOSTS.client]);
  net.addHost('a', [HOSTS.a]);
  net.link('client', 'a', { delayMs: 5, rateBps: 20_000_000 });
  const serverAddress = { address: HOSTS.a, port: 9898 };
  const clientAddress = { address: HOSTS.client, port: 9898 };
  const server = createEndpoint('tcp', { addresses: [serverAddress], listen: true, random: net.random, rtoMin: 200 });
  const client = createEndpoint('tcp', { addresses: [clientAddress], random: net.random, rtoMin: 200 });
  let a: MigratableTransport | undefined;
  net.attach(server, [serverAddress], () => {
    a ??= server.pollAccept();
    while (a?.pollEvent() !== undefined);
  });
  const conn = client.connect(net.now, serverAddress);
  net.attach(client, [clientAddress], () => {
    while (conn.pollEvent() !== undefined);
  });
  net.wake(client);
  net.run(net.now + 100);
  if (a === undefined) throw new Error('no connection');
  const seen = new Set<number>();
  let again = 0;
  net.onTrace((e) => {
    if (e.kind !== 'send' || e.from.address !== HOSTS.client) return;
    const r = parseSegment(e.payload);
    if (!r.ok || r.segment.payload.length === 0) return;
    if (seen.has(r.segment.seq)) again++;
    seen.add(r.segment.seq);
  });
  const data = makeFile(2_000_000, 94);
  let at = 0;
  for (let i = 0; i < 60; i++) {
    at += conn.send(data.subarray(at));
    net.wake(client);
    a.setAcknowledgeLimit(net.now, a.receivedOffset);
    net.wake(server);
    net.run(net.now + 50);
  }
  t.true(a.receivedOffset > 500_000, `only ${a.receivedOffset} bytes arrived`);
  t.is(again, 0, 'the client retransmitted');
});

/** A bare SCTP or TCP-Migrate pair on 5 ms links; the server's events are recorded by its afterInput hook. */
function pair(kind: 'sctp' | 'tcp', seed: number) {
  const net = new SimNetwork({ seed });
  net.addHost('client', [HOSTS.client]);
  net.addHost('a', [HOSTS.a]);
  net.link('client', 'a', { delayMs: 5 });
  const serverAddress = { address: HOSTS.a, port: 9898 };
  const clientAddress = { address: HOSTS.client, port: 9898 };
  const server = createEndpoint(kind, { addresses: [serverAddress], listen: true, random: net.random, rtoMin: 200 });
  const client = createEndpoint(kind, { addresses: [clientAddress], random: net.random, rtoMin: 200 });
  const events: Array<{ type: string; at: number }> = [];
  let a: MigratableTransport | undefined;
  net.attach(server, [serverAddress], () => {
    a ??= server.pollAccept();
    for (let e = a?.pollEvent(); e !== undefined; e = a?.pollEvent()) events.push({ type: e.type, at: net.now });
  });
  const conn = client.connect(net.now, serverAddress);
  let received = 0;
  net.attach(client, [clientAddress], () => {
    for (let e = conn.pollEvent(); e !== undefined; e = conn.pollEvent()) if (e.type === 'data') received += e.bytes.length;
  });
  net.wake(client);
  net.run(net.now + 100);
  if (a === undefined) throw new Error('no connection');
  const server_ = a;
  return {
    net,
    a: server_,
    events,
    received: () => received,
    send(n: number): void {
      server_.send(new Uint8Array(n).fill(1));
      net.wake(server);
    },
    wake: () => net.wake(server),
  };
}

test('sctp: the export barrier — a short chunk is mapped at once but sent only after an export of its generation is confirmed', (t) => {
  const p = pair('sctp', 64);
  const { net, a } = p;
  a.exportState(net.now); // takes part in failover: the byte-stream cork is on
  a.setExportBarrier(net.now, true);
  p.send(1000);
  net.run(net.now + 400); // the cork delay (200 ms) is long past
  t.is(a.exportGeneration, 1);
  t.true(p.events.some((e) => e.type === 'state-changed'), 'the recorded chunk raised state-changed');
  t.is(p.received(), 0, 'nothing went out before the confirmation');
  const map = a.exportState(net.now).sctp!.tsnMap;
  const closed = map.find((r) => r.bytesPerTsn === 1000);
  t.truthy(closed, JSON.stringify(map));
  t.is(closed!.tsnCount, 1, 'the short chunk is a closed run of its own');
  const open = map[map.length - 1]!;
  t.is(open.tsnCount, 0, 'an open run continues after it');
  t.is(open.streamOffset, closed!.streamOffset + 1000);
  t.is(open.firstTsn, (closed!.firstTsn + 1) >>> 0);
  t.throws(() => a.confirmExport(net.now, 2), { code: 'BATON_ERR_USAGE' });
  a.confirmExport(net.now, 1);
  p.wake();
  net.run(net.now + 50);
  t.is(p.received(), 1000, 'confirmed: the chunk went');
  // The next short chunk is a new generation; an old confirmation does not release it.
  p.send(500);
  net.run(net.now + 400);
  t.is(a.exportGeneration, 2);
  a.confirmExport(net.now, 1);
  p.wake();
  net.run(net.now + 50);
  t.is(p.received(), 1000);
  // A close flushes the tail at once (no cork), outside any input: the event still reaches the app
  // in the same instant (an immediate timer gives it an input cycle), not at the next datagram.
  a.confirmExport(net.now, 2);
  p.wake();
  net.run(net.now + 50);
  t.is(p.received(), 1500);
  p.send(300);
  const before = p.events.length;
  const closedAt = net.now;
  a.close(net.now);
  p.wake();
  net.run(net.now + 1);
  t.is(a.exportGeneration, 3);
  t.deepEqual(p.events.slice(before).map((e) => e.type), ['state-changed']);
  t.true(p.events[before]!.at - closedAt < 1, `delivered ${p.events[before]!.at - closedAt} ms later`);
  a.confirmExport(net.now, 3);
  p.wake();
  net.run(net.now + 200);
  t.is(p.received(), 1800);
});

test('the export barrier is opt-in (SCTP sends a short chunk after the cork delay) and holds nothing on TCP-Migrate', (t) => {
  for (const kind of ['sctp', 'tcp'] as const) {
    const p = pair(kind, 65);
    const { net, a } = p;
    a.exportState(net.now);
    if (kind === 'tcp') a.setExportBarrier(net.now, true);
    p.send(1000);
    net.run(net.now + 400);
    t.is(p.received(), 1000, kind);
    t.is(a.exportGeneration, 0, kind);
    t.notThrows(() => a.confirmExport(net.now, 0));
    t.throws(() => a.confirmExport(net.now, 1), { code: 'BATON_ERR_USAGE' });
  }
});
