// A peer restart handled in place, and the other rows of RFC 9260 §5.2.4's table ("Handle a
// COOKIE ECHO Chunk When a TCB Exists"), with §5.2.1 / §5.2.2 (INIT for an existing association,
// Tie-Tags, cause 11). The case tests carry datagrams by hand so that they can hold, replay or drop
// any of them; the end-to-end ones run on the simulated network. Each test names the text it checks.
import test, { type ExecutionContext } from 'ava';
import { SctpEndpoint } from '../src/sctp/endpoint.js';
import type { SctpAssociation } from '../src/sctp/association.js';
import { checkCookie, makeCookie, type CookieContents } from '../src/sctp/cookie.js';
import { Timer } from '../src/sctp/timers.js';
import { emitPacket } from '../src/sctp/wire/emit.js';
import { SimNetwork } from '../src/sim/network.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import type { Transmit, TransportEvent } from '../src/transport-abstraction/transport.js';
import { memorySource, StreamSender } from '../src/stream/index.js';
import { makeFile } from './conformance/world.js';
import { get, WedgeWorld } from './wedge-sim-world.js';
import { A, B, chunksOf, deliver, drain, events, packetOf, settle } from './helpers/sctp-by-hand.js';

const C: UdpAddress = { address: '10.0.0.3', port: 9899 };
const SECRET = new Uint8Array(32).fill(7);

function dataOf(evs: readonly TransportEvent[]): number[] {
  return evs.flatMap((e) => (e.type === 'data' ? [...e.bytes] : []));
}

/** The server endpoint (its cookie secret known, so the test can read the cookies it issues). */
function server(seed = 2, addresses: UdpAddress[] = [B]): SctpEndpoint {
  return new SctpEndpoint({ addresses, random: new SeededRandom(seed), secret: SECRET });
}

function client(seed: number, addresses: UdpAddress[] = [A]): SctpEndpoint {
  return new SctpEndpoint({ addresses, random: new SeededRandom(seed), listen: false });
}

/** The cookie in an INIT ACK, opened with the server's secret. */
function cookieIn(initAck: Transmit, now: number): CookieContents {
  const ack = chunksOf(initAck)[0] as { params: Array<{ kind: string; cookie?: Uint8Array }> };
  const bytes = ack.params.find((p) => p.kind === 'state-cookie')!.cookie!;
  const r = checkCookie(SECRET, bytes, now);
  if (!r.ok) throw new Error(`cookie ${r.reason}`);
  return r.cookie;
}

/** A client c1 and the server's accepted s1, established, with a few bytes each way. */
function established() {
  const a = client(1);
  const b = server();
  const c1 = a.connect(0, B);
  settle(a, b, 0);
  const s1 = b.pollAccept()!;
  events(c1);
  events(s1);
  return { a, b, c1, s1 };
}

/** The client host restarts: a fresh endpoint on the same address and port sends INIT. */
function restartedClient(b: SctpEndpoint, now: number, seed = 99) {
  const a2 = client(seed);
  const c2 = a2.connect(now, B);
  const [init] = drain(a2, now);
  deliver(b, A, [init!], now);
  const [initAck] = drain(b, now);
  return { a2, c2, init: init!, initAck: initAck! };
}

// ---------------------------------------------------------------- §5.2.2: INIT for an existing association

test('§5.2.2: an INIT for an ESTABLISHED association draws an INIT ACK with a new Initiate Tag and Tie-Tags that are not the Verification Tags; the association is not changed', (t) => {
  const { b, s1 } = established();
  const tags = [s1.localTag, s1.peerTag, s1.localInitialTsn];
  const { initAck, c2 } = restartedClient(b, 10);
  const ack = chunksOf(initAck)[0];
  t.is(ack.type, 2);
  t.is(packetOf(initAck).verificationTag, c2.localTag, 'the INIT ACK carries the unexpected INIT\'s Initiate Tag');
  const cookie = cookieIn(initAck, 10);
  t.is(cookie.localTag, ack.initiateTag);
  t.not(cookie.localTag, s1.localTag, 'a new Initiate Tag');
  // §2.5 Tie-Tags: random numbers, so the cookie (readable by whoever sent the INIT) does not
  // reveal the existing association's Verification Tags.
  t.not(cookie.tieLocal, 0);
  t.not(cookie.tiePeer, 0);
  t.false([s1.localTag, s1.peerTag].includes(cookie.tieLocal));
  t.false([s1.localTag, s1.peerTag].includes(cookie.tiePeer));
  t.deepEqual([s1.localTag, s1.peerTag, s1.localInitialTsn], tags, 'the existing association and its TCB are not changed');
  t.is(s1.stateName, 'ESTABLISHED');
  // The Tie-Tags are kept in the TCB: a second INIT gets the same ones.
  const again = restartedClient(b, 11, 98);
  const cookie2 = cookieIn(again.initAck, 11);
  t.deepEqual([cookie2.tieLocal, cookie2.tiePeer], [cookie.tieLocal, cookie.tiePeer]);
});

test('§5.2.2 / §3.3.10.11: a restart INIT that adds an address is refused with ABORT cause 11 listing it, tagged with the INIT\'s Initiate Tag', (t) => {
  const a = client(1, [A, { address: '10.0.0.5', port: 9899 }]);
  const b = server();
  const c = a.connect(0, B);
  settle(a, b, 0);
  const s = b.pollAccept()!;
  const a2 = client(3, [A, { address: '10.0.0.9', port: 9899 }]);
  const c2 = a2.connect(10, B);
  deliver(b, A, drain(a2, 10), 10);
  const out = drain(b, 10);
  t.is(out.length, 1);
  const abort = chunksOf(out[0]!)[0];
  t.is(abort.type, 6);
  t.is(packetOf(out[0]!).verificationTag, c2.localTag);
  t.is(abort.causes[0].code, 11);
  // The cause lists the new address as an IPv4 Address parameter (type 5, length 8).
  t.deepEqual([...abort.causes[0].info], [0, 5, 0, 8, 10, 0, 0, 9]);
  t.is(s.stateName, 'ESTABLISHED');
  t.is(c.stateName, 'ESTABLISHED');
});

test('§5.2.2: an address the association lost (ADD-IP) while the restart cookie was out is still refused at COOKIE ECHO with cause 11', (t) => {
  const a = client(1, [A, { address: '10.0.0.5', port: 9899 }]);
  const b = server();
  a.connect(0, B);
  settle(a, b, 0);
  const s = b.pollAccept()!;
  const a2 = client(3, [A, { address: '10.0.0.5', port: 9899 }]);
  const c2 = a2.connect(10, B);
  deliver(b, A, drain(a2, 10), 10);
  const [initAck] = drain(b, 10);
  t.is(chunksOf(initAck!)[0].type, 2, 'the same addresses: an INIT ACK');
  s.removePeerAddress({ address: '10.0.0.5', port: 9899 });
  deliver(a2, B, [initAck!], 11);
  deliver(b, A, drain(a2, 11), 11);
  const out = drain(b, 11);
  const abort = chunksOf(out[0]!)[0];
  t.is(abort.type, 6);
  t.is(abort.causes[0].code, 11);
  t.is(packetOf(out[0]!).verificationTag, c2.localTag);
  t.false(events(s).some((e) => e.type === 'restarted'), 'not restarted');
  t.is(s.stateName, 'ESTABLISHED');
});

// ---------------------------------------------------------------- §5.2.1: INIT in COOKIE-WAIT / COOKIE-ECHOED

/** §5.2.1: one INIT ACK "using the same parameters it sent in its original INIT" (tag, TSN); its cookie. */
function answeredWithOurInit(t: ExecutionContext, out: readonly Transmit[], ca: SctpAssociation): CookieContents {
  t.is(out.length, 1);
  const chunk = chunksOf(out[0]!)[0];
  t.is(chunk.type, 2);
  t.is(chunk.initiateTag, ca.localTag);
  t.is(chunk.initialTsn >>> 0, ca.localInitialTsn >>> 0);
  return cookieIn(out[0]!, 1);
}

test('§5.2.1: an INIT in COOKIE-WAIT is answered with our INIT\'s Initiate Tag and TSN, Tie-Tags 0; state and T1-init unchanged', (t) => {
  const a = new SctpEndpoint({ addresses: [A], random: new SeededRandom(1), secret: SECRET });
  const b = server();
  const ca = a.connect(0, B);
  drain(a, 0); // our INIT is lost
  b.connect(0, A);
  const [initB] = drain(b, 0);
  deliver(a, B, [initB!], 1);
  const cookie = answeredWithOurInit(t, drain(a, 1), ca);
  t.deepEqual([cookie.tieLocal, cookie.tiePeer], [0, 0]);
  t.is(ca.stateName, 'COOKIE-WAIT');
  t.true(ca.timers.isArmed(Timer.T1_INIT), 'T1-init left running');
});

test('§5.2.1: an INIT in COOKIE-ECHOED is answered with our INIT\'s tag and TSN and populated Tie-Tags; state and T1-cookie unchanged', (t) => {
  const a = new SctpEndpoint({ addresses: [A], random: new SeededRandom(1), secret: SECRET });
  const b = server();
  const ca = a.connect(0, B);
  deliver(b, A, drain(a, 0), 0);
  deliver(a, B, drain(b, 0), 0);
  drain(a, 0); // our COOKIE ECHO is lost
  t.is(ca.stateName, 'COOKIE-ECHOED');
  const other = client(5, [{ address: '10.0.0.2', port: 9899 }]);
  other.connect(1, A);
  const [init] = drain(other, 1);
  deliver(a, B, [init!], 1);
  const cookie = answeredWithOurInit(t, drain(a, 1), ca);
  t.true(cookie.tieLocal !== 0 && cookie.tiePeer !== 0);
  t.false([ca.localTag, ca.peerTag].includes(cookie.tieLocal));
  t.is(ca.stateName, 'COOKIE-ECHOED');
  t.true(ca.timers.isArmed(Timer.T1_COOKIE), 'T1-cookie left running');
});

// ---------------------------------------------------------------- §5.2.4 action A: the peer restarted

test('§5.2.4 A: a restarted peer\'s COOKIE ECHO (X X M M) restarts the association in place: same object, new tags, a RESTART event, no new association', (t) => {
  const { b, c1, s1 } = established();
  const oldTags = [s1.localTag, s1.peerTag];
  const { a2, c2, initAck } = restartedClient(b, 10);
  const cookie = cookieIn(initAck, 10);
  deliver(a2, B, [initAck], 11);
  deliver(b, A, drain(a2, 11), 11);
  const out = drain(b, 11);
  t.is(chunksOf(out[0]!)[0].type, 11, 'COOKIE ACK');
  t.is(packetOf(out[0]!).verificationTag, c2.localTag);
  deliver(a2, B, out, 12);
  t.is(c2.stateName, 'ESTABLISHED');
  t.is(b.pollAccept(), undefined, 'no second association');
  t.is(b.all.filter((x) => !x.closed).length, 1);
  t.is(s1.stateName, 'ESTABLISHED');
  t.is(s1.localTag, cookie.localTag);
  t.is(s1.peerTag, c2.localTag);
  t.is(s1.localInitialTsn >>> 0, cookie.localInitialTsn >>> 0);
  t.notDeepEqual([s1.localTag, s1.peerTag], oldTags);
  const ev = events(s1);
  t.deepEqual(
    ev.filter((e) => e.type === 'restarted' || e.type === 'closed' || e.type === 'connected').map((e) => e.type),
    ['restarted'],
    'a RESTART notification instead of COMMUNICATION LOST (§5.2.4 A)',
  );
  void c1;
  // Data flows on the restarted association, both ways, from offset 0.
  c2.send(new Uint8Array([9, 8]));
  s1.send(new Uint8Array([1, 1, 2]));
  settle(a2, b, 13);
  t.deepEqual(dataOf(events(s1)), [9, 8]);
  t.deepEqual(dataOf(events(c2)), [1, 1, 2]);
  t.is(s1.streamOffset, 3);
  t.is(s1.receivedOffset, 2);
  // Packets with the old tag are no longer this association's.
  const dropped = b.dropped.get('wrong-tag') ?? 0;
  b.handleDatagram(14, A, emitPacket({ sourcePort: 9899, destinationPort: 9899, verificationTag: oldTags[0]!, chunks: [{ type: 4, info: new Uint8Array(8) }] }));
  t.true((b.dropped.get('no-connection') ?? 0) + (b.dropped.get('wrong-tag') ?? 0) > dropped);
});

test('§5.2.4 A: outbound data of the old incarnation is not retained: the RESTART event counts it; queued messages never reach the new peer', (t) => {
  const { a, b, s1 } = established();
  void a;
  // The client host dies with 5000 bytes of the server's on their way; none is acknowledged.
  s1.send(new Uint8Array(5000).fill(0xaa));
  t.true(drain(b, 2).length > 0);
  t.is(s1.bufferedAmount, 5000);
  t.is(s1.streamOffset, 5000);
  const { a2, c2, initAck } = restartedClient(b, 10);
  deliver(a2, B, [initAck], 11);
  deliver(b, A, drain(a2, 11), 11);
  const restarted = events(s1).find((e) => e.type === 'restarted');
  t.deepEqual(restarted, { type: 'restarted', discardedBytes: 5000 });
  t.is(s1.bufferedAmount, 0);
  t.is(s1.streamOffset, 0);
  settle(a2, b, 12);
  s1.send(new Uint8Array([7]));
  settle(a2, b, 13);
  t.deepEqual(dataOf(events(c2)), [7], 'only what was sent after the restart');
});

test('§5.2.4 A: congestion control parameters are reset to their initial values (cwnd, ssthresh); the old T3-rtx does not fire', (t) => {
  const { a, b, s1 } = established();
  // Grow the server's cwnd with a few round trips of bulk data.
  for (let i = 0; i < 20; i++) {
    s1.send(new Uint8Array(20_000));
    settle(a, b, 2 + i);
  }
  const initial = Math.min(4 * s1.options.mtu, Math.max(2 * s1.options.mtu, 4380));
  t.true(s1.paths[0]!.cwnd > initial, `cwnd ${s1.paths[0]!.cwnd} grew`);
  s1.send(new Uint8Array(3000));
  drain(b, 30); // in flight, never acknowledged: T3-rtx armed
  t.false(Number.isNaN(s1.paths[0]!.t3));
  const { a2, initAck } = restartedClient(b, 31);
  deliver(a2, B, [initAck], 31);
  deliver(b, A, drain(a2, 31), 31);
  t.is(s1.paths.length, 1);
  t.is(s1.paths[0]!.cwnd, initial);
  t.is(s1.paths[0]!.ssthresh, s1.sender.peerAdvertised);
  t.is(s1.paths[0]!.flightSize, 0);
  t.true(Number.isNaN(s1.paths[0]!.t3), 'no T3-rtx for the discarded data');
  drain(b, 31);
  // Long after the old RTO: nothing of the old incarnation is resent.
  b.handleTimeout(3000);
  const resent = drain(b, 3000).flatMap((x) => chunksOf(x)).filter((c) => c.type === 0);
  t.deepEqual(resent, []);
});

test('§5.2.4 A: DATA bundled with the restart COOKIE ECHO (§5.1 D allows it) is delivered by the restarted association', (t) => {
  // DATA outside AUTH here (the server does not list it in CHUNKS), so the test can bundle it.
  const a = client(1);
  const b = new SctpEndpoint({ addresses: [B], random: new SeededRandom(2), secret: SECRET, association: { authenticateData: false } });
  a.connect(0, B);
  settle(a, b, 0);
  const s1 = b.pollAccept()!;
  const { a2, c2, initAck } = restartedClient(b, 10);
  deliver(a2, B, [initAck], 11);
  const [echo] = drain(a2, 11);
  const p = packetOf(echo!);
  const data = { type: 0, immediate: false, unordered: false, beginning: true, ending: true, tsn: c2.localInitialTsn, streamId: 0, ssn: 0, ppid: 0, userData: new Uint8Array([42, 43]) } as const;
  b.handleDatagram(11, A, emitPacket({ ...p, chunks: [...p.chunks, data] }));
  const ev = events(s1);
  t.deepEqual(ev.filter((e) => e.type === 'restarted' || e.type === 'data').map((e) => e.type), ['restarted', 'data']);
  t.deepEqual(dataOf(ev), [42, 43]);
});

test('§5.2.4 A: data delivered before the restart stays ahead of the RESTART event and keeps its room in the receive window until read', (t) => {
  const { a, b, c1, s1 } = established();
  c1.send(new Uint8Array(1000).fill(3));
  settle(a, b, 2);
  // s1's application has not read the 1000 bytes yet.
  const { a2, initAck } = restartedClient(b, 10);
  deliver(a2, B, [initAck], 11);
  deliver(b, A, drain(a2, 11), 11);
  t.is(s1.receiver!.unreadBytes, 1000);
  const ev = events(s1);
  const firstData = ev.findIndex((e) => e.type === 'data');
  const restart = ev.findIndex((e) => e.type === 'restarted');
  t.true(firstData >= 0 && firstData < restart, 'old bytes first, then RESTART');
  t.is(dataOf(ev.slice(0, restart)).length, 1000);
  t.is(s1.receiver!.unreadBytes, 0, 'reading them frees the window');
});

test('§5.2.4 A: a repeated restart COOKIE ECHO is then a duplicate (case D): COOKIE ACK again, no second RESTART', (t) => {
  const { b, s1 } = established();
  const { a2, initAck } = restartedClient(b, 10);
  deliver(a2, B, [initAck], 11);
  const echo = drain(a2, 11);
  deliver(b, A, echo, 11);
  drain(b, 11);
  t.is(events(s1).filter((e) => e.type === 'restarted').length, 1);
  const tags = [s1.localTag, s1.peerTag];
  deliver(b, A, echo, 12);
  const out = drain(b, 12);
  t.deepEqual(out.map((x) => chunksOf(x)[0].type), [11]);
  t.deepEqual(events(s1).filter((e) => e.type === 'restarted'), []);
  t.deepEqual([s1.localTag, s1.peerTag], tags);
});

test('§5.2.4: in SHUTDOWN-ACK-SENT a restart is not set up: SHUTDOWN ACK again and an ERROR "Cookie Received While Shutting Down" (cause 10)', (t) => {
  const { a, b, c1, s1 } = established();
  // The restarted client's INIT is answered while s1 is still ESTABLISHED ...
  const { a2, initAck } = restartedClient(b, 10);
  // ... then the old client's SHUTDOWN puts s1 in SHUTDOWN-ACK-SENT (its SHUTDOWN COMPLETE is lost).
  c1.close(11);
  deliver(b, A, drain(a, 11), 11);
  drain(b, 11);
  t.is(s1.stateName, 'SHUTDOWN-ACK-SENT');
  deliver(a2, B, [initAck], 12);
  deliver(b, A, drain(a2, 12), 12);
  const out = drain(b, 12);
  t.is(out.length, 1);
  const chunks = chunksOf(out[0]!);
  t.is(chunks[0].type, 8, 'SHUTDOWN ACK');
  t.is(chunks[1].type, 9);
  t.is(chunks[1].causes[0].code, 10);
  t.is(s1.stateName, 'SHUTDOWN-ACK-SENT');
  t.false(events(s1).some((e) => e.type === 'restarted'));
});

test('§5.2.4 A: a user who had called close() still gets the close: the restarted association goes on to SHUTDOWN', (t) => {
  const { a, b, s1 } = established();
  void a;
  s1.send(new Uint8Array(2000));
  drain(b, 2); // lost with the client host
  s1.close(3);
  t.is(s1.stateName, 'SHUTDOWN-PENDING');
  const { a2, c2, initAck } = restartedClient(b, 10);
  deliver(a2, B, [initAck], 11);
  deliver(b, A, drain(a2, 11), 11);
  t.is(s1.stateName, 'SHUTDOWN-SENT', 'nothing left to send: SHUTDOWN at once');
  settle(a2, b, 12);
  t.is(s1.stateName, 'CLOSED');
  t.is(c2.stateName, 'CLOSED');
  const closed = events(s1).find((e) => e.type === 'closed');
  t.true(closed !== undefined && closed.type === 'closed' && closed.error === undefined, 'closed cleanly');
});

// ---------------------------------------------------------------- §5.2.4 actions B, C, D

test('§5.2.4 B (M 0 A A): in COOKIE-WAIT, a COOKIE ECHO from our collision INIT ACK establishes the association with the peer\'s tag; T1-init stops; COOKIE ACK', (t) => {
  const a = new SctpEndpoint({ addresses: [A], random: new SeededRandom(1), secret: SECRET });
  const b = new SctpEndpoint({ addresses: [B], random: new SeededRandom(2), listen: false });
  const ca = a.connect(0, B);
  drain(a, 0); // our INIT is lost
  const cb = b.connect(0, A);
  deliver(a, B, drain(b, 0), 1); // b's INIT reaches us in COOKIE-WAIT
  deliver(b, A, drain(a, 1), 1); // our INIT ACK (our tag)
  t.is(cb.stateName, 'COOKIE-ECHOED');
  t.is(ca.peerTag, 0);
  deliver(a, B, drain(b, 1), 2); // b's COOKIE ECHO: Local Tag M, Peer's Tag 0
  t.is(ca.stateName, 'ESTABLISHED');
  t.is(ca.peerTag, cb.localTag);
  t.false(ca.timers.isArmed(Timer.T1_INIT));
  const out = drain(a, 2);
  t.is(chunksOf(out[0]!)[0].type, 11, 'COOKIE ACK');
  deliver(b, A, out, 3);
  t.is(cb.stateName, 'ESTABLISHED');
  t.is(a.pollAccept(), undefined, 'no second association');
  ca.send(new Uint8Array([5]));
  settle(a, b, 4);
  t.deepEqual(dataOf(events(cb)), [5]);
});

test('§5.2.4 B: a COOKIE ECHO with our tag but another initial TSN (the same tag drawn twice) is discarded', (t) => {
  const a = new SctpEndpoint({ addresses: [A], random: new SeededRandom(1), secret: SECRET });
  const b = new SctpEndpoint({ addresses: [B], random: new SeededRandom(2), listen: false });
  const ca = a.connect(0, B);
  drain(a, 0);
  const cb = b.connect(0, A);
  deliver(a, B, drain(b, 0), 1);
  deliver(b, A, drain(a, 1), 1);
  const [echo] = drain(b, 1);
  // Forge nothing: ask the endpoint to issue a cookie with our tag and another TSN, as if our
  // INIT ACK had been built for another association that drew the same tag.
  const cookie = chunksOf(echo!)[0].cookie as Uint8Array;
  const opened = checkCookie(SECRET, cookie, 1);
  t.true(opened.ok);
  void cb;
  const other = makeCookie(SECRET, { ...(opened.ok ? opened.cookie : ({} as CookieContents)), localInitialTsn: (ca.localInitialTsn + 1) >>> 0 });
  const p = packetOf(echo!);
  a.handleDatagram(2, B, emitPacket({ ...p, chunks: [{ type: 10, cookie: other }] }));
  t.deepEqual(drain(a, 2), []);
  t.is(ca.stateName, 'COOKIE-WAIT');
  t.is(a.dropped.get('bad-handshake'), 1);
});

test('§5.2.4 C (X M 0 0): a late cookie from an earlier INIT ACK is discarded silently; state and timers unchanged', (t) => {
  const a = client(1);
  const b = server();
  const c = a.connect(0, B);
  const [init] = drain(a, 0);
  // The INIT is answered twice (T1-init resent it; the listener keeps no state): two cookies.
  deliver(b, A, [init!], 0);
  const [late] = drain(b, 0);
  deliver(b, A, [init!], 1);
  const [used] = drain(b, 1);
  deliver(a, B, [used!], 1);
  settle(a, b, 1);
  const s = b.pollAccept()!;
  t.is(c.stateName, 'ESTABLISHED');
  const lateCookie = cookieIn(late!, 2);
  t.not(lateCookie.localTag, s.localTag);
  t.deepEqual([lateCookie.tieLocal, lateCookie.tiePeer], [0, 0]);
  const tags = [s.localTag, s.peerTag];
  const heartbeatAt = s.paths[0]!.heartbeatAt;
  b.handleDatagram(2, A, emitPacket({ sourcePort: 9899, destinationPort: 9899, verificationTag: lateCookie.localTag, chunks: [{ type: 10, cookie: chunksOf(late!)[0].params.find((p: { kind: string }) => p.kind === 'state-cookie').cookie }] }));
  t.deepEqual(drain(b, 2), [], 'no COOKIE ACK');
  t.deepEqual([s.localTag, s.peerTag], tags);
  t.is(s.stateName, 'ESTABLISHED');
  t.is(s.paths[0]!.heartbeatAt, heartbeatAt);
  t.is(b.pollAccept(), undefined);
  t.deepEqual(events(s).filter((e) => e.type !== 'state-changed' && e.type !== 'connected'), []);
});

test('§5.2.4 D (M M A A): a duplicate COOKIE ECHO (our COOKIE ACK lost) is answered with COOKIE ACK; nothing else changes', (t) => {
  const a = client(1);
  const b = server();
  const c = a.connect(0, B);
  deliver(b, A, drain(a, 0), 0);
  deliver(a, B, drain(b, 0), 0);
  const echo = drain(a, 0);
  deliver(b, A, echo, 0);
  const s = b.pollAccept()!;
  drain(b, 0); // the COOKIE ACK is lost
  s.send(new Uint8Array([1]));
  deliver(b, A, echo, 1); // T1-cookie resent it
  const out = drain(b, 1);
  t.true(out.some((x) => chunksOf(x)[0].type === 11), 'COOKIE ACK again');
  t.is(b.pollAccept(), undefined);
  t.is(s.stateName, 'ESTABLISHED');
  t.is(s.bufferedAmount, 1, 'queued data kept');
  deliver(a, B, out, 2);
  settle(a, b, 2);
  t.is(c.stateName, 'ESTABLISHED');
  t.deepEqual(dataOf(events(c)), [1]);
  t.false(events(s).some((e) => e.type === 'restarted'));
});

// ---------------------------------------------------------------- baton's own state across a restart

test('restart and baton state: AUTH is keyed by a new x25519 agreement with the restarted peer; the takeover number starts over', (t) => {
  const { b, s1 } = established();
  const oldKey = s1.takeoverState!.context!.endpointPairKey;
  t.is(s1.takeoverState!.keySource, 'x25519');
  const { a2, c2, initAck } = restartedClient(b, 10);
  deliver(a2, B, [initAck], 11);
  deliver(b, A, drain(a2, 11), 11);
  settle(a2, b, 12);
  const newKey = s1.takeoverState!.context!.endpointPairKey;
  t.is(s1.takeoverState!.keySource, 'x25519');
  t.notDeepEqual(newKey, oldKey);
  t.deepEqual(newKey, c2.takeoverState!.context!.endpointPairKey, 'both sides computed the same new key');
  t.is(s1.exportState(13).takeoverNumber, 0);
  t.is(s1.exportState(13).sctp!.localVerificationTag, s1.localTag);
});

test('restart and baton state: a confirmation of an export from before the restart does not release data the export barrier holds after it', (t) => {
  const { a, b, s1 } = established();
  void a;
  s1.setExportBarrier(0, true);
  s1.send(new Uint8Array(10)); // a short chunk: held for an export that maps it
  drain(b, 2);
  const before = s1.exportGeneration;
  t.true(before > 0);
  const { a2, c2, initAck } = restartedClient(b, 10);
  deliver(a2, B, [initAck], 11);
  deliver(b, A, drain(a2, 11), 11);
  settle(a2, b, 12);
  s1.send(new Uint8Array([1, 2, 3]));
  settle(a2, b, 13);
  t.true(s1.exportGeneration > before, 'the generation goes on counting');
  s1.confirmExport(14, before); // a support-group member stored the pre-restart state
  settle(a2, b, 14);
  t.deepEqual(dataOf(events(c2)), [], 'still held: no state from after the restart was confirmed');
  s1.exportState(15);
  s1.confirmExport(15, s1.exportGeneration);
  settle(a2, b, 15);
  t.deepEqual(dataOf(events(c2)), [1, 2, 3]);
});

test('restart and baton state (simulated network): a state exported before the restart cannot take over; one exported after it can', (t) => {
  const net = new SimNetwork({ seed: 3 });
  net.addHost('client', [A.address]);
  net.addHost('b', [B.address]);
  net.addHost('c', [C.address]);
  net.link('client', 'b', { delayMs: 5 });
  net.link('client', 'c', { delayMs: 5 });
  const b = server(2);
  let s1: SctpAssociation | undefined;
  net.attach(b, [B], () => {
    s1 ??= b.pollAccept();
  });
  const a = client(1);
  const binding = net.attach(a, [A]);
  const c1 = a.connect(net.now, B);
  net.wake(a);
  t.true(net.runUntil(() => c1.stateName === 'ESTABLISHED' && s1 !== undefined, net.now + 2000));
  const stale = s1!.exportState(net.now);
  // The client host restarts on the same address and port.
  net.detach(binding);
  const a2 = client(77);
  const clientEvents: TransportEvent[] = [];
  let c2: SctpAssociation | undefined;
  net.attach(a2, [A], () => {
    for (let e = c2?.pollEvent(); e; e = c2!.pollEvent()) clientEvents.push(e);
  });
  c2 = a2.connect(net.now, B);
  net.wake(a2);
  t.true(net.runUntil(() => c2!.stateName === 'ESTABLISHED', net.now + 2000));
  t.true(events(s1!).some((e) => e.type === 'restarted'));
  t.is(b.all.length, 1);

  const taker = (state: ReturnType<SctpAssociation['exportState']>, seed: number) => {
    const ep = new SctpEndpoint({ addresses: [C], random: new SeededRandom(seed) });
    const evs: TransportEvent[] = [];
    let x: SctpAssociation | undefined;
    const bnd = net.attach(ep, [C], () => {
      for (let e = x?.pollEvent(); e; e = x!.pollEvent()) evs.push(e);
    });
    x = ep.importState(net.now, state);
    x.takeover(net.now, state.takeoverNumber + 1);
    net.wake(ep);
    return { x, evs, bnd };
  };
  const old = taker(stale, 31);
  net.run(net.now + 30_000);
  t.false(clientEvents.some((e) => e.type === 'taken-over'), 'the pre-restart state took nothing');
  t.deepEqual(c2!.remote, B);
  t.true(old.evs.some((e) => e.type === 'closed' && e.error !== undefined), 'the stale taker failed');
  net.detach(old.bnd);

  const fresh = taker(s1!.exportState(net.now), 32);
  t.true(net.runUntil(() => clientEvents.some((e) => e.type === 'taken-over'), net.now + 5000), 'a state from after the restart takes over');
  t.deepEqual(c2!.remote, C);
  t.true(net.runUntil(() => fresh.evs.some((e) => e.type === 'takeover-complete'), net.now + 5000));
});

test('restart end to end (simulated network): the client host restarts mid-transfer; the server association restarts in place and its StreamSender serves the new incarnation from byte 0, intact', (t) => {
  const net = new SimNetwork({ seed: 4 });
  net.addHost('client', [A.address]);
  net.addHost('b', [B.address]);
  net.link('client', 'b', { delayMs: 10, rateBps: 20_000_000 });
  const b = server(2);
  const payload = new SeededRandom(5).bytes(300_000);
  let sender: StreamSender | undefined;
  const serverEvents: TransportEvent[] = [];
  net.attach(b, [B], (now) => {
    if (sender === undefined) {
      const s1 = b.pollAccept();
      if (s1 === undefined) return;
      sender = new StreamSender({ conn: s1, source: memorySource(payload), now: () => net.now, closeAtEnd: false, onEvent: (e) => serverEvents.push(e) });
    }
    sender.pump(now);
  });
  const a = client(1);
  let got1 = 0;
  let c1: SctpAssociation | undefined;
  const bind1 = net.attach(a, [A], () => {
    for (let e = c1?.pollEvent(); e; e = c1!.pollEvent()) if (e.type === 'data') got1 += e.bytes.length;
  });
  c1 = a.connect(net.now, B);
  net.wake(a);
  t.true(net.runUntil(() => got1 > 100_000, net.now + 10_000));
  net.detach(bind1); // the client host crashes mid-stream
  net.run(net.now + 200);
  const a2 = client(78);
  const got: Uint8Array[] = [];
  let c2: SctpAssociation | undefined;
  net.attach(a2, [A], () => {
    for (let e = c2?.pollEvent(); e; e = c2!.pollEvent()) if (e.type === 'data') got.push(e.bytes);
  });
  c2 = a2.connect(net.now, B);
  net.wake(a2);
  const total = () => got.reduce((n, x) => n + x.length, 0);
  const ok = net.runUntil(() => total() >= payload.length, net.now + 20_000);
  t.true(ok, `received ${total()} of ${payload.length}`);
  t.true(Buffer.concat(got).equals(Buffer.from(payload)), 'the new incarnation got the stream from its first byte, intact');
  const restarted = serverEvents.find((e) => e.type === 'restarted');
  t.true(restarted !== undefined && restarted.type === 'restarted' && restarted.discardedBytes > 0);
  t.false(serverEvents.some((e) => e.type === 'closed'));
  t.is(b.all.length, 1);
  t.is(sender!.conn, b.all[0], 'the same association object serves the restarted client');
});

test('the wedge and a restarted client (simulated network): the session ends the connection instead of relaying the old response into the new stream; the client\'s next connection is served afresh', async (t) => {
  const world = new WedgeWorld({ kind: 'sctp', seed: 23, wedges: 1, rate: 200_000 });
  const object = makeFile(1_000_000, 23);
  await world.startAll(new Map([['/big.bin', object]]));
  const first = world.client('w1', [get('/big.bin', true)]);
  t.true(world.net.runUntil(() => first.received > 200_000, 60_000), `received ${first.received}`);
  // The client host restarts: the same address and ports, no memory of the association.
  const address = first.attachment.addresses[0]!;
  await first.attachment.close();
  const ep = new SctpEndpoint({ addresses: [address], random: new SeededRandom(5), listen: false });
  const evs: TransportEvent[] = [];
  let conn: SctpAssociation | undefined;
  const attachment = world.sim.attachNow([address], () => ep, () => {
    for (let e = conn?.pollEvent(); e; e = conn!.pollEvent()) evs.push(e);
  });
  const request = new TextEncoder().encode(get('/big.bin', true));
  conn = ep.connect(world.sim.now(), world.serverAddress('w1'));
  conn.send(request);
  attachment.wake();
  t.true(world.net.runUntil(() => evs.some((e) => e.type === 'closed'), world.net.now + 10_000));
  const closed = evs.find((e) => e.type === 'closed');
  t.is(closed?.type === 'closed' ? closed.error?.code : undefined, 'BATON_ERR_ABORTED');
  t.deepEqual(evs.filter((e) => e.type === 'data'), [], 'no byte of the old response reached the new stream');
  t.true(world.events('closed', 'w1').some((l) => l.fields.code === 'BATON_ERR_ABORTED'));
  // A new association from the same address and ports: accepted and served from the start.
  evs.length = 0;
  conn = ep.connect(world.sim.now(), world.serverAddress('w1'));
  conn.send(request);
  attachment.wake();
  const received = () => evs.reduce((n, e) => n + (e.type === 'data' ? e.bytes.length : 0), 0);
  t.true(world.net.runUntil(() => received() > 1000, world.net.now + 10_000), `received ${received()}`);
  const head = Buffer.concat(evs.flatMap((e) => (e.type === 'data' ? [e.bytes] : []))).subarray(0, 12).toString('latin1');
  t.is(head, 'HTTP/1.1 200');
});
