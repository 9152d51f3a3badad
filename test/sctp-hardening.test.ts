// SCTP as a careful (or hostile) peer tries it: RFC 5061 rules at the association level, path
// supervision after takeovers, takeovers that leave exactly the taker, relayed takeovers, and the
// dead-peer / connect / takeover bounds. All on the simulated network in virtual time.
import test, { type ExecutionContext } from 'ava';
import { connect, feeder, makePair, pattern } from './sctp-harness.js';
import { parsePacket } from '../src/sctp/wire/index.js';
import type { AbortChunk } from '../src/sctp/wire/types.js';
import { SimNetwork } from '../src/sim/network.js';
import { SctpEndpoint } from '../src/sctp/endpoint.js';
import type { SctpAssociation } from '../src/sctp/association.js';
import type { SctpOptions } from '../src/sctp/options.js';
import { busyDeadPeerBound, connectBound, idleDeadPeerBound } from '../src/sctp/bounds.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import { decodeTransportState, encodeTransportState } from '../src/transport-abstraction/state.js';
import type { TransportState } from '../src/transport-abstraction/state-types.js';
import type { DatagramCore, Transmit, TransportEvent } from '../src/transport-abstraction/transport.js';
import type { UdpAddress } from '../src/transport-abstraction/address.js';

test('an authenticated ASCONF-ACK for a serial never sent aborts with "Illegal ASCONF-ACK" (RFC 5061 §5.3)', (t) => {
  const p = makePair({ link: { delayMs: 5 } });
  const client = connect(p);
  p.net.runUntil(() => p.server.assoc?.stateName === 'ESTABLISHED' && client.stateName === 'ESTABLISHED', p.net.now + 2000);
  const server = p.server.assoc!;
  const aborts: AbortChunk[] = [];
  p.net.onTrace((e) => {
    if (e.kind !== 'send' || e.from.address !== client.local.address) return;
    const r = parsePacket(e.payload);
    if (r.ok) for (const c of r.packet.chunks) if (c.type === 6 && !('kind' in c)) aborts.push(c as AbortChunk);
  });
  // The server never sent an ASCONF: serial = the client's next one (its Initial TSN), AUTH added.
  server.queuePacket(server.remote, [{ type: 0x80, serial: server.peerInitialTsn, params: [] }]);
  server.host.wake(server);
  p.net.wake(p.serverEp);
  p.net.run(p.net.now + 100);
  t.is(client.stateName, 'CLOSED');
  const closed = p.client.events.find((e) => e.type === 'closed');
  t.is(closed?.type === 'closed' ? closed.error?.code : undefined, 'BATON_ERR_PROTOCOL');
  t.deepEqual(aborts.map((a) => a.causes.map((c) => c.code)), [[0xa3]]);
  const serverClosed = p.server.events.find((e) => e.type === 'closed');
  t.is(serverClosed?.type === 'closed' ? serverClosed.error?.code : undefined, 'BATON_ERR_ABORTED');
});

// ---------------------------------------------------------------- a client, servers, takeovers

const IP = { client: '10.0.0.1', a: '10.0.0.2', b: '10.0.0.3', c: '10.0.0.4', x: '10.0.0.66' } as const;
type Name = 'a' | 'b' | 'c';
const at = (ip: string): UdpAddress => ({ address: ip, port: 9899 });

interface Server {
  ep: SctpEndpoint;
  assoc?: SctpAssociation;
  events: TransportEvent[];
  offset: number;
  sending: boolean;
}

interface World {
  net: SimNetwork;
  file: Uint8Array;
  client: { ep: SctpEndpoint; assoc: SctpAssociation; events: TransportEvent[]; bytes: number };
  servers: Record<Name, Server>;
}

/** A client reading a file that server A sends; B and C stand by. */
function world(options: SctpOptions = {}, seed = 1, fileSize = 200_000): World {
  const net = new SimNetwork({ seed });
  const file = new SeededRandom(seed + 77).bytes(fileSize);
  net.addHost('client', [IP.client]);
  const servers = {} as Record<Name, Server>;
  (['a', 'b', 'c'] as const).forEach((name, k) => {
    net.addHost(name, [IP[name]]);
    net.link('client', name, { delayMs: 5 + 5 * k, rateBps: 4_000_000, queueBytes: 64_000 });
    const ep = new SctpEndpoint({ addresses: [at(IP[name])], random: new SeededRandom(seed * 100 + k + 1), association: options });
    const s: Server = { ep, events: [], offset: 0, sending: false };
    servers[name] = s;
    net.attach(ep, [at(IP[name])], () => {
      if (!s.assoc) {
        s.assoc = ep.pollAccept();
        if (s.assoc) s.sending = true;
      }
      const a = s.assoc;
      if (!a) return;
      for (let e = a.pollEvent(); e; e = a.pollEvent()) {
        s.events.push(e);
        if (e.type === 'takeover-complete') {
          s.offset = e.receiver.nextOffset;
          s.sending = true;
        }
      }
      while (s.sending && !a.closed && s.offset < file.length) {
        const n = a.send(file.subarray(s.offset, Math.min(file.length, s.offset + 65536)));
        s.offset += n;
        if (n === 0) break;
      }
    });
  });
  const cep = new SctpEndpoint({ addresses: [at(IP.client)], random: new SeededRandom(seed * 100), listen: false, association: options });
  const assoc = cep.connect(0, at(IP.a));
  const client = { ep: cep, assoc, events: [] as TransportEvent[], bytes: 0 };
  net.attach(cep, [at(IP.client)], () => {
    for (let e = assoc.pollEvent(); e; e = assoc.pollEvent()) {
      if (e.type === 'data') client.bytes += e.bytes.length;
      else client.events.push(e);
    }
  });
  net.wake(cep);
  return { net, file, client, servers };
}

function takeOver(w: World, name: Name, state: TransportState, n: number): SctpAssociation {
  const s = w.servers[name];
  s.assoc = s.ep.importState(w.net.now, decodeTransportState(encodeTransportState(state)));
  s.sending = false;
  s.assoc.takeover(w.net.now, n);
  w.net.wake(s.ep);
  return s.assoc;
}

const closedWith = (events: readonly TransportEvent[]): string | undefined => {
  const e = events.find((x) => x.type === 'closed');
  return e?.type === 'closed' ? (e.error?.code ?? 'clean') : undefined;
};

test('after a takeover the ASCONF-added path is supervised: the taker dies, the receive-only client times out within the bound', (t) => {
  const w = world();
  const { net } = w;
  t.true(net.runUntil(() => w.client.bytes > 50_000, net.now + 10_000));
  const state = w.servers.a.assoc!.exportState(net.now);
  net.kill('a');
  takeOver(w, 'b', state, state.takeoverNumber + 1);
  t.true(net.runUntil(() => w.client.bytes >= w.file.length, net.now + 20_000), 'B finished the file');
  t.deepEqual(w.client.assoc.remote, at(IP.b));
  // Let the association settle idle (HEARTBEATs answered), then B dies too.
  net.run(net.now + 60_000);
  t.is(w.client.assoc.stateName, 'ESTABLISHED');
  const died = net.now;
  net.kill('b');
  const bound = idleDeadPeerBound(w.client.assoc.options, w.client.assoc.paths[w.client.assoc.primary]!.rto.rto);
  net.runUntil(() => w.client.assoc.closed, net.now + bound + 1);
  t.is(closedWith(w.client.events), 'BATON_ERR_TIMEOUT');
  t.true(net.now - died <= bound, `closed after ${net.now - died} ms, bound ${bound} ms`);
});

test('a takeover leaves exactly the taker: A → B; C from A\'s state is refused (B\'s takeover re-keyed, issue 14 item 6); C from B\'s state wins, B is deleted and ABORTed', (t) => {
  const w = world({}, 2, 400_000);
  const { net } = w;
  t.true(net.runUntil(() => w.client.bytes > 50_000, net.now + 10_000));
  const fromA = w.servers.a.assoc!.exportState(net.now);
  net.kill('a');
  takeOver(w, 'b', fromA, fromA.takeoverNumber + 1);
  t.true(net.runUntil(() => w.servers.b.events.some((e) => e.type === 'takeover-complete') && w.client.bytes > 150_000, net.now + 20_000));
  t.deepEqual(w.client.assoc.paths.map((p) => p.address.address), [IP.b]);
  // C holds only A's state, from before B's takeover: its key no longer authenticates.
  takeOver(w, 'c', fromA, fromA.takeoverNumber + 2);
  t.true(net.runUntil(() => w.servers.c.assoc!.closed, net.now + 30_000));
  t.is(closedWith(w.servers.c.events), 'BATON_ERR_TAKEOVER_REJECTED');
  t.deepEqual(w.client.assoc.paths.map((p) => p.address.address), [IP.b], 'B keeps the association');
  const fromB = w.servers.b.assoc!.exportState(net.now);
  w.servers.c.events.length = 0;
  takeOver(w, 'c', fromB, fromB.takeoverNumber + 1);
  t.true(net.runUntil(() => w.servers.c.events.some((e) => e.type === 'takeover-complete'), net.now + 20_000));
  t.deepEqual(w.client.assoc.paths.map((p) => p.address.address), [IP.c], 'only the taker is left');
  t.true(net.runUntil(() => w.servers.b.assoc!.closed, net.now + 60_000), 'B is told');
  t.is(closedWith(w.servers.b.events), 'BATON_ERR_TAKEN_OVER');
  t.true(net.runUntil(() => w.client.bytes >= w.file.length, net.now + 30_000));
  t.is(w.client.assoc.stateName, 'ESTABLISHED');
});

/** An attacker at `ip`: it sends whatever is queued, from its own address, and reads nothing. */
function relayer(net: SimNetwork, ip: string) {
  const queue: Transmit[] = [];
  const core: DatagramCore = {
    handleDatagram: () => undefined,
    handleTimeout: () => undefined,
    pollTimeout: () => undefined,
    pollTransmit: () => queue.shift(),
  };
  net.attach(core, [at(ip)]);
  return {
    send(to: UdpAddress, payload: Uint8Array): void {
      queue.push({ source: at(ip), destination: to, payload: payload.slice() });
      net.wake(core);
    },
  };
}

const hasAsconf = (payload: Uint8Array): boolean => {
  const r = parsePacket(payload);
  return r.ok && r.packet.chunks.some((c) => c.type === 0xc1);
};

/**
 * A streams to the client and dies; B takes over from A's state, but an attacker X on the path
 * between B and the client takes every B → client ASCONF off the wire and resends it from X's own
 * address. Returns the world, when A died, the client's RTO then, and how many ASCONFs X relayed.
 */
function relayedTakeover(seed: number) {
  const w = world({}, seed, 300_000);
  const { net } = w;
  net.addHost('x', [IP.x]);
  net.link('client', 'x', { delayMs: 2 });
  const x = relayer(net, IP.x);
  if (!net.runUntil(() => w.client.bytes > 50_000, net.now + 10_000)) throw new Error('the download never got going');
  const state = w.servers.a.assoc!.exportState(net.now);
  net.kill('a');
  const died = net.now;
  const rto = w.client.assoc.paths[w.client.assoc.primary]!.rto.rto;
  net.partition(['b'], ['client']);
  let relayed = 0;
  net.onTrace((e) => {
    if (e.kind === 'drop' && e.reason === 'partition' && e.from.address === IP.b && hasAsconf(e.payload)) {
      relayed++;
      x.send(at(IP.client), e.payload);
    }
  });
  takeOver(w, 'b', state, state.takeoverNumber + 1);
  return { w, net, died, rto, relayed: () => relayed };
}

test('a relayed takeover (the ASCONF intercepted and resent from the attacker\'s address) is dropped; the real taker still takes over', (t) => {
  const { w, net, relayed } = relayedTakeover(3);
  net.run(net.now + 4000);
  t.true(relayed() >= 2, `relayed ${relayed()} ASCONFs`);
  t.false(w.client.events.some((e) => e.type === 'taken-over'), 'the relayer is not named the new server');
  t.true(w.client.events.some((e) => e.type === 'takeover-refused' && e.peer.address === IP.x && e.reason === 'not-authenticated'));
  t.false(w.client.assoc.paths.some((p) => p.address.address === IP.x || p.address.address === IP.b), 'nothing added');
  t.deepEqual(w.client.assoc.remote, at(IP.a));
  // The attacker leaves the path: B's next retransmission of the same ASCONF (same number) is accepted.
  net.heal();
  t.true(net.runUntil(() => w.client.bytes >= w.file.length, net.now + 60_000), `client got ${w.client.bytes} of ${w.file.length}`);
  t.deepEqual(w.client.events.filter((e) => e.type === 'taken-over').map((e) => e.type === 'taken-over' && e.peer.address), [IP.b]);
  t.deepEqual(w.client.assoc.paths.map((p) => p.address.address), [IP.b]);
});

test('a relayed takeover the real taker never gets through: the client is not stranded, it times out within the bound', (t) => {
  const { w, net, died, rto } = relayedTakeover(4);
  const bound = idleDeadPeerBound(w.client.assoc.options, rto);
  net.runUntil(() => w.client.assoc.closed, net.now + bound + 1);
  t.is(closedWith(w.client.events), 'BATON_ERR_TIMEOUT');
  t.true(net.now - died <= bound, `closed after ${net.now - died} ms, bound ${bound} ms`);
  t.false(w.client.events.some((e) => e.type === 'taken-over'));
});

test('a taker bound to the wildcard address cannot take over (its ASCONF would bind no address): a local usage error', (t) => {
  const w = world({}, 5, 100_000);
  t.true(w.net.runUntil(() => w.client.bytes > 20_000, w.net.now + 10_000));
  const state = w.servers.a.assoc!.exportState(w.net.now);
  const ep = new SctpEndpoint({ addresses: [{ address: '0.0.0.0', port: 9899 }], random: new SeededRandom(9) });
  const a = ep.importState(w.net.now, state);
  const e = t.throws(() => a.takeover(w.net.now, 1));
  t.is((e as { code?: string }).code, 'BATON_ERR_USAGE');
});


// ---------------------------------------------------------------- give-up bounds (README: transport section)

test('a connect to an address where nothing answers fails with BATON_ERR_TIMEOUT within ~17 s (not 243 s)', (t) => {
  const p = makePair({ link: { delayMs: 5 } });
  const a = p.clientEp.connect(p.net.now, { address: '10.0.0.99', port: 9899 });
  p.client.assoc = a;
  p.net.wake(p.clientEp);
  const start = p.net.now;
  p.net.runUntil(() => a.closed, start + 300_000);
  t.is(closedWith(p.client.events), 'BATON_ERR_TIMEOUT');
  t.true(p.net.now - start <= connectBound(a.options), `failed after ${p.net.now - start} ms, bound ${connectBound(a.options)} ms`);
  t.true(p.net.now - start <= 20_000, `${p.net.now - start}`);
});

/** A client and a server association, both ESTABLISHED. */
function establishedPair(seed: number, options: SctpOptions = {}, link: NonNullable<Parameters<typeof makePair>[0]>['link'] = { delayMs: 5 }) {
  const p = makePair({ seed, link, client: options, server: options });
  const client = connect(p);
  p.net.runUntil(() => p.server.assoc?.stateName === 'ESTABLISHED' && client.stateName === 'ESTABLISHED', p.net.now + 2000);
  return { p, client, server: p.server.assoc! };
}

function idlePair(seed: number, options: SctpOptions = {}) {
  const pair = establishedPair(seed, options);
  pair.p.net.run(pair.p.net.now + 30_000); // idle, HEARTBEATs answered
  return pair;
}

/** The client dies: the server must close with BATON_ERR_TIMEOUT within `bound` ms. Returns how long it took. */
function serverNoticesDeadClient(t: ExecutionContext, p: ReturnType<typeof makePair>, server: SctpAssociation, bound: number): number {
  p.net.kill('client');
  const died = p.net.now;
  p.net.runUntil(() => server.closed, died + 600_000);
  t.is(closedWith(p.server.events), 'BATON_ERR_TIMEOUT');
  t.true(p.net.now - died <= bound, `closed after ${p.net.now - died} ms, bound ${bound} ms`);
  return p.net.now - died;
}

test('an idle endpoint notices a dead peer within its bound, tens of seconds by default (not ~10 min)', (t) => {
  const { p, server } = idlePair(11);
  t.is(server.stateName, 'ESTABLISHED');
  const rto = server.paths[server.primary]!.rto.rto;
  const bound = idleDeadPeerBound(server.options, rto);
  t.true(bound <= 60_000, `default bound ${bound} ms`);
  serverNoticesDeadClient(t, p, server, bound);
});

test('the idle bound is configurable: HB.interval 1 s, Association.Max.Retrans 2, RTO.Max 2 s', (t) => {
  const options: SctpOptions = { heartbeatInterval: 1000, associationMaxRetrans: 2, pathMaxRetrans: 1, rto: { max: 2000 } };
  const { p, server } = idlePair(12, options);
  const bound = idleDeadPeerBound(server.options, server.paths[server.primary]!.rto.rto);
  t.true(bound <= 12_000, `bound ${bound} ms`);
  serverNoticesDeadClient(t, p, server, bound);
});

test('a sender notices a dead receiver within Association.Max.Retrans T3 back-offs (~22 s by default)', (t) => {
  const { p, server } = establishedPair(13, {}, { delayMs: 5, rateBps: 2_000_000, queueBytes: 64_000 });
  const feed = feeder(server, pattern(4_000_000));
  p.server.onData = () => feed.pump();
  feed.pump();
  p.net.runUntil(() => p.client.receivedBytes > 200_000, p.net.now + 10_000);
  const rto = server.paths[server.primary]!.rto.rto;
  const took = serverNoticesDeadClient(t, p, server, busyDeadPeerBound(server.options, rto));
  t.true(took <= 25_000);
});

test('a takeover of a connection whose client is gone ends with BATON_ERR_TIMEOUT within ~22 s (not minutes)', (t) => {
  const w = world({}, 14, 100_000);
  const { net } = w;
  t.true(net.runUntil(() => w.client.bytes > 20_000, net.now + 10_000));
  const state = w.servers.a.assoc!.exportState(net.now);
  net.kill('a');
  net.kill('client');
  const start = net.now;
  const b = takeOver(w, 'b', state, state.takeoverNumber + 1);
  const bound = busyDeadPeerBound(b.options);
  net.runUntil(() => b.closed, start + 600_000);
  t.is(closedWith(w.servers.b.events), 'BATON_ERR_TIMEOUT');
  t.true(net.now - start <= bound, `gave up after ${net.now - start} ms, bound ${bound} ms`);
  t.true(net.now - start <= 25_000);
});
