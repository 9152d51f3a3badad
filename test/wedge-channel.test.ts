// The soft-state channel on the simulated network: several wedges on several hosts announce to
// each other, confirm, detect a killed member after k silent periods (also under loss), ignore
// forged and replayed datagrams, supersede taken-over connections, and take monitor commands.
import test from 'ava';
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import type { TransportState } from '../src/transport-abstraction/state-types.js';
import type { DatagramCore, Transmit } from '../src/transport-abstraction/transport.js';
import { LocalUsageError } from '../src/transport-abstraction/errors.js';
import { encodeAnnouncedConnection } from '../src/transport-abstraction/state.js';
import { SimNetwork, type LinkConfig } from '../src/sim/network.js';
import { HttpMapperFactory } from '../src/wedge/http-mapper.js';
import { MemoryBackend } from '../src/sim/memory-backend.js';
import { MonitorCommander } from '../src/wedge/monitor.js';
import { SoftStateChannel, type ChannelEvent } from '../src/wedge/soft-state-channel.js';
import { sealedKind } from '../src/wedge/seal.js';
import { connectionKey } from '../src/wedge/soft-state-table.js';

const GROUP_KEY = new Uint8Array(32).fill(1);
const MONITOR_KEY = new Uint8Array(32).fill(2);
const PORT = 7000;

function conn(clientPort: number, takeoverNumber: number, ownerId: string): TransportState {
  return {
    client: { address: '192.0.2.1', port: clientPort, udpPort: 9899 },
    server: { address: '10.0.0.1', port: 80, udpPort: 9899 },
    tcp: { initiatorIsn: 1, acceptorIsn: 2, token: new Uint8Array(8), connectionKey: new Uint8Array(32), mss: 1400, sackPermitted: true, localWindowScale: 0, peerWindowScale: 0, lastMigrateRequest: takeoverNumber, sndUna: 0, sndNxt: 0, rcvNxt: 0, peerWindow: 0, localIsInitiator: false, unknownOptions: new Uint8Array(0) },
    takeoverNumber,
    ownerId,
    takenAtMs: 0,
    streamBytesSent: 0,
    streamBytesAcked: 0,
  };
}

interface Logged {
  readonly t: number;
  readonly at: string;
  readonly event: ChannelEvent;
}

interface Pool {
  net: SimNetwork;
  ids: string[];
  channels: Map<string, SoftStateChannel>;
  serving: Map<string, TransportState[]>;
  log: Logged[];
  address: (id: string) => UdpAddress;
}

function pool(n: number, seed: number, link?: LinkConfig): Pool {
  const net = new SimNetwork({ seed, defaultLink: link ?? { delayMs: 2 } });
  const ids = Array.from({ length: n }, (_, i) => `w${i + 1}`);
  const address = (id: string): UdpAddress => ({ address: `10.0.0.${ids.indexOf(id) + 1}`, port: PORT });
  const channels = new Map<string, SoftStateChannel>();
  const serving = new Map<string, TransportState[]>();
  const log: Logged[] = [];
  ids.forEach((id, i) => {
    net.addHost(id, [address(id).address]);
    serving.set(id, [conn(1000 + i, 0, id)]);
  });
  for (const id of ids) {
    const ch = new SoftStateChannel({
      selfId: id,
      group: 0,
      groupKey: GROUP_KEY,
      monitorKey: MONITOR_KEY,
      members: ids.filter((x) => x !== id).map((x) => ({ id: x, address: address(x) })),
      random: net.deriveRandom(id),
      now: net.now,
      source: () => ({ connections: serving.get(id)!, load: { hostedConnections: serving.get(id)!.length, outstandingOffers: 0 } }),
    });
    channels.set(id, ch);
    net.attach(ch, [address(id)], (now) => {
      for (let e = ch.pollEvent(); e; e = ch.pollEvent()) log.push({ t: now, at: id, event: e });
    });
  }
  return { net, ids, channels, serving, log, address };
}

/** A core that sends what it is given and records what it receives. */
class Injector implements DatagramCore {
  private readonly out: Transmit[] = [];
  handleDatagram(): void {}
  handleTimeout(): void {}
  pollTransmit(): Transmit | undefined {
    return this.out.shift();
  }
  pollTimeout(): number | undefined {
    return undefined;
  }
  send(destination: UdpAddress, payload: Uint8Array): void {
    this.out.push({ destination, payload });
  }
}

const deaths = (p: Pool): Logged[] => p.log.filter((l) => l.event.type === 'member-dead');

test('steady state: every member holds every other member\'s connections, confirmed, nobody dies', (t) => {
  const p = pool(4, 1);
  p.net.run(30_000);
  for (const id of p.ids) {
    const table = p.channels.get(id)!.table;
    t.deepEqual(table.all().map((e) => e.state.ownerId).sort(), p.ids.filter((x) => x !== id));
  }
  t.deepEqual(deaths(p), []);
  const acks = p.log.filter((l) => l.event.type === 'acknowledged' && l.at === 'w1');
  t.true(acks.length >= 3 * 10, `w1's 11 announcements confirmed by its 3 members (${acks.length})`);
  t.is(p.net.errors.length, 0);
});

test('a killed member is declared dead after k silent periods by every other member, and alive again when revived', (t) => {
  const p = pool(4, 2);
  p.net.run(10_000);
  p.net.kill('w2');
  p.net.run(25_000);
  const d = deaths(p);
  t.deepEqual(d.map((l) => l.at).sort(), ['w1', 'w3', 'w4']);
  for (const l of d) {
    t.is(l.event.type === 'member-dead' && l.event.id, 'w2');
    // Last announcement at most one period before the kill; dead k = 3 periods + 300 ms grace after it.
    t.true(l.t > 10_000 + 2 * 3000 + 300 && l.t <= 10_000 + 3 * 3000 + 300 + 10, `declared at ${l.t}`);
  }
  t.is(p.channels.get('w1')!.isAlive('w2'), false);
  t.is(p.channels.get('w1')!.table.ownedBy('w2').length, 0, 'its connections expired after CACHE_TIMEOUT');
  p.net.revive('w2');
  p.net.run(30_000);
  const alive = p.log.filter((l) => l.event.type === 'member-alive' && l.event.id === 'w2');
  t.deepEqual(alive.map((l) => l.at).sort(), ['w1', 'w3', 'w4']);
  t.is(p.channels.get('w1')!.table.ownedBy('w2').length, 1);
});

test('5% loss on every link: no false death in two minutes; a killed member is still found by all', (t) => {
  const p = pool(4, 3, { delayMs: 5, loss: 0.05 });
  p.net.run(120_000);
  t.deepEqual(deaths(p), [], 'no false death');
  for (const id of p.ids) t.is(p.channels.get(id)!.table.size, 3);
  p.net.kill('w4');
  p.net.run(135_000);
  t.deepEqual(deaths(p).map((l) => l.at).sort(), ['w1', 'w2', 'w3']);
  for (const l of deaths(p)) t.true(l.t <= 120_000 + 3 * 3000 + 300 + 10, `declared at ${l.t}`);
});

test('20% loss: a live member wrongly declared dead (three announcements lost) is alive again at its next announcement', (t) => {
  const p = pool(4, 9, { delayMs: 5, loss: 0.2 });
  p.net.run(300_000);
  const wrong = deaths(p);
  t.true(wrong.length > 0, 'at 20% loss, three lost announcements in a row happen in five minutes');
  for (const d of wrong) {
    const id = d.event.type === 'member-dead' ? d.event.id : '';
    const back = p.log.slice(p.log.indexOf(d)).find((l) => l.at === d.at && l.event.type === 'member-alive' && l.event.id === id);
    if (back) t.true(back.t - d.t <= 3 * 3000, `${d.at} saw ${id} again after ${back.t - d.t} ms`);
    else t.true(d.t > 300_000 - 3 * 3000, `${d.at} never saw ${id} again (declared at ${d.t})`);
  }
});

test('announceNow is confirmed by each member that receives it; a member behind a dead link does not confirm', (t) => {
  const p = pool(3, 4);
  p.net.run(1_000);
  p.net.link('w1', 'w3', { delayMs: 2, loss: 1 });
  const w1 = p.channels.get('w1')!;
  p.serving.get('w1')!.push(conn(5000, 0, 'w1'));
  const [seq] = w1.announceNow(p.net.now, [conn(5000, 0, 'w1')]);
  p.net.wake(w1);
  t.false(w1.isConfirmed(seq!));
  p.net.run(1_010);
  t.deepEqual(w1.confirmedBy(seq!), ['w2']);
  t.true(w1.isConfirmed(seq!));
  t.truthy(p.channels.get('w2')!.table.get(connectionKey(conn(5000, 0, 'w1').client)), 'w2 holds the new connection at once, not at the next period');
  t.true(p.log.some((l) => l.at === 'w1' && l.event.type === 'acknowledged' && l.event.sequence === seq && l.event.member === 'w2'));
});

test('forged, replayed and foreign datagrams are counted and change nothing', (t) => {
  const p = pool(3, 5);
  p.net.addHost('evil', ['10.0.0.66']);
  const evil = new Injector();
  p.net.attach(evil, [{ address: '10.0.0.66', port: PORT }]);
  const captured: Uint8Array[] = [];
  p.net.onTrace((e) => {
    if (e.kind === 'deliver' && e.to.address === '10.0.0.1') captured.push(new Uint8Array(e.payload));
  });
  p.net.run(10_000);
  const w1 = p.channels.get('w1')!;
  const before = { table: w1.table.all().map((e) => [e.key, e.state.ownerId, e.state.takeoverNumber]), events: p.log.filter((l) => l.at === 'w1').length };
  const w1addr = p.address('w1');
  const replayed = captured.length;
  t.true(replayed >= 16, `${replayed} datagrams: 4 announcements and 4 acknowledgements from each of 2 members`);
  for (const c of captured.slice(0, replayed)) evil.send(w1addr, c); // replays
  for (const c of captured.slice(0, 5)) {
    const bad = new Uint8Array(c);
    bad[bad.length - 1]! ^= 0x80; // forged tag
    evil.send(w1addr, bad);
  }
  evil.send(w1addr, new Uint8Array([1, 2, 3])); // malformed
  const outsider = new SoftStateChannel({ selfId: 'w9', group: 0, groupKey: GROUP_KEY, members: [{ id: 'w1', address: w1addr }], random: p.net.deriveRandom('w9'), now: p.net.now });
  outsider.handleTimeout(p.net.now);
  evil.send(w1addr, outsider.pollTransmit(p.net.now)!.payload); // sealed right, but not a member
  p.net.wake(evil);
  p.net.run(10_500);
  const dropped = Object.fromEntries(w1.dropped);
  t.is(dropped.replay, replayed);
  t.is(dropped.forged, 5);
  t.is(dropped.malformed, 1);
  t.is(dropped['unknown-sender'], 1);
  t.deepEqual(w1.table.all().map((e) => [e.key, e.state.ownerId, e.state.takeoverNumber]), before.table);
  t.is(p.log.filter((l) => l.at === 'w1').length, before.events, 'no event from any of them');
});

test('a higher takeover number supersedes the old owner, which stops announcing the connection', (t) => {
  const p = pool(3, 6);
  p.net.run(5_000);
  const x = conn(1000, 0, 'w1'); // w1's connection
  p.serving.get('w2')!.push({ ...x, takeoverNumber: 1, ownerId: 'w2' }); // w2 took it over
  p.channels.get('w2')!.announceNow(p.net.now);
  p.net.wake(p.channels.get('w2')!);
  p.net.run(5_100);
  const sup = p.log.filter((l) => l.event.type === 'superseded');
  t.deepEqual(sup.map((l) => [l.at, l.event]), [['w1', { type: 'superseded', key: connectionKey(x.client), takeoverNumber: 1, by: 'w2' }]]);
  // w1's wedge has not yet removed it from its source: the channel withholds it anyway.
  p.net.run(40_000);
  const w3entry = p.channels.get('w3')!.table.get(connectionKey(x.client));
  t.is(w3entry?.state.ownerId, 'w2');
  t.is(w3entry?.state.takeoverNumber, 1);
  t.is(p.channels.get('w3')!.table.counters.stale, 0, 'w1 never announced number 0 again');
});

test('monitor commands: accepted once from the monitor, refused when replayed or sealed with another key', (t) => {
  const p = pool(3, 7);
  p.net.addHost('mon', ['10.0.0.100']);
  const mon = new Injector();
  p.net.attach(mon, [{ address: '10.0.0.100', port: PORT }]);
  const commander = new MonitorCommander(MONITOR_KEY, p.net.deriveRandom('monitor'));
  const dead = commander.declareDead('w2');
  const move = commander.move(conn(1000, 0, 'w1').client, 'w3');
  for (const id of ['w1', 'w3']) mon.send(p.address(id), dead);
  mon.send(p.address('w3'), move);
  mon.send(p.address('w3'), move); // replay
  const wrongKey = new MonitorCommander(GROUP_KEY, p.net.deriveRandom('not-the-monitor')).declareDead('w1');
  const impostor = new MonitorCommander(MONITOR_KEY, p.net.deriveRandom('x'), 'w2').declareDead('w1');
  mon.send(p.address('w3'), impostor);
  p.net.wake(mon);
  p.net.run(100);
  const commands = p.log.filter((l) => l.event.type === 'command');
  t.deepEqual(
    commands.map((l) => [l.at, l.event.type === 'command' ? l.event.command : undefined]),
    [
      ['w1', { senderId: 'monitor', declareDead: { serverId: 'w2' } }],
      ['w3', { senderId: 'monitor', declareDead: { serverId: 'w2' } }],
      ['w3', { senderId: 'monitor', move: { client: conn(1000, 0, 'w1').client, toServerId: 'w3' } }],
    ],
  );
  const w3 = Object.fromEntries(p.channels.get('w3')!.dropped);
  t.is(w3.replay, 1);
  t.is(w3['unknown-sender'], 1, 'a command from a sender that is not a monitor id');
  mon.send(p.address('w3'), wrongKey);
  p.net.wake(mon);
  p.net.run(200);
  t.is(Object.fromEntries(p.channels.get('w3')!.dropped).forged, 1, 'a command sealed with the group key');
});

test('state larger than maxDatagram is split over several announcements, each within the limit', (t) => {
  const net = new SimNetwork({ seed: 8, defaultLink: { delayMs: 1 } });
  net.addHost('a', ['10.0.0.1']);
  net.addHost('b', ['10.0.0.2']);
  const A = { address: '10.0.0.1', port: PORT };
  const B = { address: '10.0.0.2', port: PORT };
  const many = Array.from({ length: 200 }, (_, i) => conn(2000 + i, 0, 'a'));
  const a = new SoftStateChannel({ selfId: 'a', group: 3, groupKey: GROUP_KEY, members: [{ id: 'b', address: B }], random: net.deriveRandom('a'), now: 0, maxDatagram: 4000, source: () => ({ connections: many, load: { hostedConnections: 200, outstandingOffers: 0 } }) });
  const b = new SoftStateChannel({ selfId: 'b', group: 3, groupKey: GROUP_KEY, members: [{ id: 'a', address: A }], random: net.deriveRandom('b'), now: 0 });
  const sizes: number[] = [];
  const kinds: Array<string | undefined> = [];
  net.onTrace((e) => {
    if (e.kind === 'send' && e.to.address === '10.0.0.2') {
      sizes.push(e.payload.length);
      kinds.push(sealedKind(e.payload));
    }
  });
  net.attach(a, [A]);
  net.attach(b, [B]);
  net.run(100);
  t.true(sizes.length > 1, `${sizes.length} datagrams`);
  t.true(sizes.every((s) => s <= 4000), sizes.join(' '));
  // Filled in order: no announcement but the last had room for the next state (halving the list until it fits did not).
  const largest = Math.max(...many.map((c) => encodeAnnouncedConnection(c).length));
  const announcements = sizes.filter((_, i) => kinds[i] === 'announcement');
  t.true(announcements.slice(0, -1).every((s) => s > 4000 - 300 - largest), `${announcements.join(' ')} (a state: at most ${largest} bytes)`);
  t.is(b.table.size, 200);
  const other = new SoftStateChannel({ selfId: 'c', group: 4, groupKey: GROUP_KEY, members: [{ id: 'a', address: A }], random: net.deriveRandom('c'), now: 0 });
  other.handleDatagram(0, A, new Uint8Array(0));
  a.setSource(() => ({ connections: [], load: { hostedConnections: 0, outstandingOffers: 0 } }));
  a.announceNow(net.now);
  let tx = a.pollTransmit(net.now);
  while (tx && tx.destination.address !== '10.0.0.2') tx = a.pollTransmit(net.now);
  other.setMembers(0, [{ id: 'a', address: A }]);
  other.handleDatagram(net.now, A, tx!.payload);
  t.is(Object.fromEntries(other.dropped)['other-group'], 1, 'an announcement for another support group is refused');
});

test('two lost announcements never kill; three do; k * UPDATE_SEC + grace must stay below CACHE_TIMEOUT', (t) => {
  const p = pool(2, 10);
  p.net.run(10_001);
  p.net.partition(['w1'], ['w2']);
  p.net.run(16_001); // announcements of 12 s and 15 s lost
  p.net.heal();
  p.net.run(30_000);
  t.deepEqual(deaths(p), []);
  p.net.partition(['w1'], ['w2']); // the 30 s announcements are still in flight: lost too
  p.net.run(39_001); // 30, 33, 36 and 39 s lost
  p.net.heal();
  p.net.run(45_000);
  // Last heard at 27.002 s; dead 3 periods + 300 ms grace later.
  t.deepEqual(deaths(p).map((l) => [l.at, l.t]).sort(), [['w1', 27_002 + 9_300], ['w2', 27_002 + 9_300]]);
  t.deepEqual(p.log.filter((l) => l.event.type === 'member-alive').map((l) => [l.at, l.t]).sort(), [['w1', 42_002], ['w2', 42_002]]);
  const options = { selfId: 'x', group: 0, groupKey: GROUP_KEY, members: [], random: p.net.deriveRandom('x'), now: 0 };
  t.throws(() => new SoftStateChannel({ ...options, updateMs: 3000, cacheTimeoutMs: 9000 }), { instanceOf: LocalUsageError });
  t.notThrows(() => new SoftStateChannel({ ...options, updateMs: 3000, cacheTimeoutMs: 9400 }));
});

test('a stream mapping travels through a sealed announcement and a peer resumes the stream from it', (t) => {
  const p = pool(2, 11);
  const backend = new MemoryBackend();
  const body = new Uint8Array(3000).map((_, i) => (i * 31) & 255);
  backend.put('/movie', body, { etag: '"m1"' });
  const mapper = new HttpMapperFactory().create();
  const conn1 = backend.connection();
  const toClient: Uint8Array[] = [];
  mapper.handleClientBytes(Buffer.from('GET /movie HTTP/1.1\r\nHost: pool\r\n\r\n'));
  for (let e = mapper.pollEvent(); e; e = mapper.pollEvent()) {
    if (e.type === 'to-backend') mapper.handleBackendBytes(conn1.handleBytes(e.bytes));
    if (e.type === 'to-client') toClient.push(e.bytes);
  }
  const stream = Buffer.concat(toClient);
  const acked = 1000; // the client acknowledged 1000 stream bytes when w1 last announced
  p.serving.set('w1', [{ ...conn(4242, 0, 'w1'), stream: mapper.mapping(acked), streamBytesAcked: acked }]);
  p.net.run(3_500);
  const entry = p.channels.get('w2')!.table.get(connectionKey(conn(4242, 0, 'w1').client))!;
  t.deepEqual(entry.state.stream, mapper.mapping(acked), 'the mapping, ResumeContext included, survives sealing and the codec');
  const next = 1777; // the client's next missing byte, learned in the takeover
  const taker = new HttpMapperFactory().resume(entry.state.stream!, next);
  const conn2 = backend.connection();
  const resumed: Uint8Array[] = [];
  for (let e = taker.pollEvent(); e; e = taker.pollEvent()) {
    if (e.type === 'to-backend') taker.handleBackendBytes(conn2.handleBytes(e.bytes));
    if (e.type === 'to-client') resumed.push(e.bytes);
  }
  t.deepEqual(Buffer.concat([stream.subarray(0, next), ...resumed]), stream);
});

test('a state equal to the one last announced reuses its encoding; a changed one is encoded anew', (t) => {
  const net = new SimNetwork({ seed: 9, defaultLink: { delayMs: 1 } });
  net.addHost('a', ['10.0.0.1']);
  net.addHost('b', ['10.0.0.2']);
  const A = { address: '10.0.0.1', port: PORT };
  const B = { address: '10.0.0.2', port: PORT };
  let states = [conn(3000, 0, 'a'), conn(3001, 0, 'a')];
  const a = new SoftStateChannel({ selfId: 'a', group: 3, groupKey: GROUP_KEY, members: [{ id: 'b', address: B }], random: net.deriveRandom('a'), now: 0, updateMs: 1000, source: () => ({ connections: states, load: { hostedConnections: states.length, outstandingOffers: 0 } }) });
  const b = new SoftStateChannel({ selfId: 'b', group: 3, groupKey: GROUP_KEY, members: [{ id: 'a', address: A }], random: net.deriveRandom('b'), now: 0, updateMs: 1000 });
  net.attach(a, [A]);
  net.attach(b, [B]);
  const sent = (key: number) => b.table.get(connectionKey(conn(key, 0, 'a').client))?.state;
  net.run(500);
  t.is(sent(3001)?.streamBytesSent, 0);
  states = [conn(3000, 0, 'a'), { ...conn(3001, 0, 'a'), streamBytesSent: 7, tcp: { ...conn(3001, 0, 'a').tcp!, sndNxt: 9, token: new Uint8Array(8).fill(5) } }];
  net.run(1500); // the second period: one state equal (a new object), one changed deep inside
  t.is(sent(3001)?.streamBytesSent, 7);
  t.is(sent(3001)?.tcp?.sndNxt, 9);
  t.deepEqual(sent(3001)?.tcp?.token, new Uint8Array(8).fill(5), 'bytes compared by content');
  t.deepEqual(sent(3000), conn(3000, 0, 'a'));
  states = [states[0]!, { ...states[1]!, tcp: { ...states[1]!.tcp!, token: new Uint8Array(8).fill(6) } }];
  net.run(2500);
  t.deepEqual(sent(3001)?.tcp?.token, new Uint8Array(8).fill(6), 'one byte of a key changed');
  states = [states[0]!];
  net.run(3500);
  t.true(b.table.get(connectionKey(conn(3000, 0, 'a').client))!.receivedAt > 2500, 'still announced');
});

test('a member dead after a one-connection announcement: all its connections are still in the table at the death report', (t) => {
  const net = new SimNetwork({ seed: 10, defaultLink: { delayMs: 1 } });
  net.addHost('a', ['10.0.0.1']);
  net.addHost('b', ['10.0.0.2']);
  const A = { address: '10.0.0.1', port: PORT };
  const B = { address: '10.0.0.2', port: PORT };
  const served = [conn(4000, 0, 'a'), conn(4001, 0, 'a')];
  const a = new SoftStateChannel({ selfId: 'a', group: 3, groupKey: GROUP_KEY, members: [{ id: 'b', address: B }], random: net.deriveRandom('a'), now: 0, source: () => ({ connections: served, load: { hostedConnections: 2, outstandingOffers: 0 } }) });
  const b = new SoftStateChannel({ selfId: 'b', group: 3, groupKey: GROUP_KEY, members: [{ id: 'a', address: A }], random: net.deriveRandom('b'), now: 0 });
  const atDeath: number[] = [];
  net.attach(a, [A]);
  net.attach(b, [B], () => {
    for (let e = b.pollEvent(); e; e = b.pollEvent()) if (e.type === 'member-dead') atDeath.push(b.table.size);
  });
  net.run(5_900); // periodic announcements at 0 and 3000
  a.announceNow(net.now, [{ ...served[0]!, streamBytesSent: 5 }]); // a new request on one connection, 2.9 s after the last periodic one
  net.wake(a);
  net.run(5_950); // and dies before its next periodic one
  net.kill('a');
  net.run(30_000);
  t.deepEqual(atDeath, [2], 'reported dead once, with both connections (the second last announced more than CACHE_TIMEOUT before)');
  t.is(b.table.size, 0, 'and they expire after the report');
});
