// A second SCTP takeover behind a NAT, on the simulated network (README "Clients behind NAT").
// The NAT is modelled at the client: a datagram from a server reaches the client only while the
// client's binding toward that server's address lives, i.e. within NAT_TIMEOUT_MS of the last
// datagram either way between them (address-dependent filtering, RFC 4787 §5; conntrack refreshes
// on both directions). Server a serves a file and lists b and c in its INIT ACK; a dies, b takes
// over (the takeover rule leaves only b in the association), b serves well past the NAT timeout,
// then b dies and c takes over. c's takeover comes in only if the client kept a binding toward c
// after the first takeover: src/addip/keepalive.ts (keepalives toward the addresses the takeover
// deleted). The real thing, through nftables: test/nat.test.ts.
import test from 'ava';
import { SimNetwork } from '../src/sim/network.js';
import { parsePacket } from '../src/sctp/wire/parse.js';
import { ChunkType, type Chunk } from '../src/sctp/wire/types.js';
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import type { TransportState } from '../src/transport-abstraction/state-types.js';
import type { DatagramCore, Instant, Transmit, TransportEndpoint } from '../src/transport-abstraction/transport.js';
import { createEndpoint, DEFAULT_UDP_PORT } from '../src/transports.js';
import { Collector, FileSender, makeFile, sha256 } from './conformance/world.js';

const PORT = DEFAULT_UDP_PORT.sctp;
const CLIENT: UdpAddress = { address: '192.168.77.2', port: PORT };
const SERVERS = { a: '10.77.0.2', b: '10.77.0.3', c: '10.77.0.4' } as const;
type Name = keyof typeof SERVERS;
const NAT_TIMEOUT_MS = 3_000;

/** The client's NAT: drops what comes from an address the client has no live binding toward. */
class NatFilter implements DatagramCore {
  private readonly seen = new Map<string, number>();
  dropped = 0;
  constructor(private readonly inner: DatagramCore) {}

  private live(ip: string, now: Instant): boolean {
    const t = this.seen.get(ip);
    return t !== undefined && now - t <= NAT_TIMEOUT_MS;
  }

  handleDatagram(now: Instant, from: UdpAddress, bytes: Uint8Array, local?: UdpAddress): void {
    if (!this.live(from.address, now)) {
      this.dropped++;
      return;
    }
    this.seen.set(from.address, now);
    this.inner.handleDatagram(now, from, bytes, local);
  }

  handleTimeout(now: Instant): void {
    this.inner.handleTimeout(now);
  }

  pollTransmit(now: Instant): Transmit | undefined {
    const tx = this.inner.pollTransmit(now);
    if (tx !== undefined) this.seen.set(tx.destination.address, now);
    return tx;
  }

  pollTimeout(): Instant | undefined {
    return this.inner.pollTimeout();
  }
}

interface Sent {
  readonly time: number;
  readonly from: string;
  readonly to: string;
  readonly chunks: readonly Chunk[];
}

function world(keepaliveMs: number) {
  const net = new SimNetwork({ seed: 77 });
  const file = makeFile(1_400_000, 77);
  const sent: Sent[] = [];
  net.onTrace((e) => {
    if (e.kind !== 'send') return;
    const r = parsePacket(e.payload);
    sent.push({ time: e.time, from: e.from.address, to: e.to.address, chunks: r.ok ? r.packet.chunks : [] });
  });
  net.addHost('client', [CLIENT.address]);
  // What the support group holds of the connection (the latest announcement): members answer
  // keepalives for it with its tags.
  let announced: TransportState | undefined;
  const heldByGroup = (client: UdpAddress, clientPort: number, tag: number): number | undefined => {
    const s = announced;
    return s !== undefined && s.client.address === client.address && s.client.udpPort === client.port && s.client.port === clientPort && s.sctp!.localVerificationTag === tag ? s.sctp!.peerVerificationTag : undefined;
  };
  const servers = new Map<Name, { endpoint: TransportEndpoint; sender?: FileSender }>();
  for (const name of ['a', 'b', 'c'] as const) {
    net.addHost(name, [SERVERS[name]]);
    net.link('client', name, { delayMs: 5, rateBps: 1_000_000 });
    const address = { address: SERVERS[name], port: PORT };
    const others = Object.values(SERVERS).filter((ip) => ip !== SERVERS[name]);
    const endpoint = createEndpoint('sctp', { addresses: [address], listen: name === 'a', random: net.random, rtoMin: 200, groupAddresses: () => others, heldByGroup });
    const server: { endpoint: TransportEndpoint; sender?: FileSender } = { endpoint };
    servers.set(name, server);
    net.attach(endpoint, [address], (now) => {
      if (name === 'a' && !server.sender) {
        const accepted = endpoint.pollAccept();
        if (accepted) server.sender = new FileSender(accepted, file, () => net.now, false);
      }
      server.sender?.pump(now);
    });
  }
  const clientEndpoint = createEndpoint('sctp', { addresses: [CLIENT], random: net.random, rtoMin: 200, keepaliveMs });
  const conn = clientEndpoint.connect(net.now, { address: SERVERS.a, port: PORT });
  const collector = new Collector(conn);
  const nat = new NatFilter(clientEndpoint);
  net.attach(nat, [CLIENT], (now) => collector.pump(now));
  net.wake(nat);
  /** `from` dies, `to` takes the connection over from its latest state. */
  const takeOver = (from: Name, to: Name): FileSender => {
    const state = servers.get(from)!.sender!.conn.exportState(net.now);
    net.kill(from);
    const taker = servers.get(to)!;
    const taken = taker.endpoint.importState(net.now, state);
    taker.sender = new FileSender(taken, file, () => net.now, true);
    taken.takeover(net.now, state.takeoverNumber + 1);
    net.wake(taker.endpoint);
    return taker.sender;
  };
  const announce = (name: Name): void => {
    announced = servers.get(name)!.sender!.conn.exportState(net.now);
  };
  const won = (s: FileSender) => () => s.eventTypes().includes('takeover-complete');
  return { net, file, sent, conn, collector, nat, servers, takeOver, announce, won };
}

/** a serves, b takes over, b serves past the NAT timeout, c takes over from b. */
function twoTakeovers(keepaliveMs: number) {
  const w = world(keepaliveMs);
  w.net.run(1_500);
  w.announce('a');
  w.net.run(2_000);
  const b = w.takeOver('a', 'b');
  w.net.runUntil(w.won(b), 10_000);
  w.announce('b'); // b announces the connection it now serves
  const firstTakeover = w.net.now;
  w.net.run(firstTakeover + NAT_TIMEOUT_MS + 2_000);
  w.announce('b');
  const secondAt = w.net.now;
  const peersBeforeSecond = w.conn.exportState(secondAt).sctp!.peerAddresses.map((p) => p.address);
  const c = w.takeOver('b', 'c');
  w.net.runUntil(() => w.collector.closed !== undefined, secondAt + 60_000);
  return { w, b, c, firstTakeover, secondAt, peersBeforeSecond };
}

test('sim NAT: after the first takeover the client keeps its bindings toward the members the takeover deleted; a second takeover, by c, comes in and the file is whole', (t) => {
  const { w, b, c, firstTakeover, secondAt, peersBeforeSecond } = twoTakeovers(1_000);
  t.true(w.won(b)(), 'b took over');
  t.true(w.won(c)(), `c took over through the binding (NAT drops: ${w.nat.dropped})`);
  t.is(sha256(w.collector.bytes()), sha256(w.file), 'the file is whole');
  t.is(w.collector.events.filter((e) => e.type === 'taken-over').length, 2, 'the client lived through two takeovers');
  const between = w.sent.filter((s) => s.time > firstTakeover && s.time < secondAt);
  const toC = between.filter((s) => s.from === CLIENT.address && s.to === SERVERS.c);
  t.true(toC.length >= 4, `keepalives toward c between the takeovers (${toC.length})`);
  t.true(
    toC.every((s) => s.chunks.length === 1 && s.chunks[0]!.type === ChunkType.HEARTBEAT),
    'toward c only HEARTBEATs: an address the takeover deleted carries no data',
  );
  const fromC = between.filter((s) => s.from === SERVERS.c && s.to === CLIENT.address);
  t.true(fromC.length >= 3 && fromC.every((s) => s.chunks.every((ch) => ch.type === ChunkType.HEARTBEAT_ACK)), 'c answers with HEARTBEAT ACKs only');
  t.is(toC.filter((s) => s.chunks.some((ch) => ch.type === ChunkType.ABORT)).length, 0, 'c\'s answers draw no ABORT');
  t.true(between.some((s) => s.from === CLIENT.address && s.to === SERVERS.a && s.chunks[0]?.type === ChunkType.HEARTBEAT), 'and toward the dead a (a restarted a could take over)');
  t.deepEqual(peersBeforeSecond, [SERVERS.b], 'the association held only b (the takeover rule), the others for keepalives only');
});

test('sim NAT: control — with keepalives slower than the NAT timeout the binding toward c expires and c\'s takeover never comes in', (t) => {
  const { w, b, c } = twoTakeovers(60_000);
  // b's binding is still alive from the INIT ACK's path confirmation (answered at 1.5 s, 0.5 s before a dies).
  t.true(w.won(b)(), 'b took over');
  t.false(w.won(c)(), 'c never won');
  t.not(sha256(w.collector.bytes()), sha256(w.file), 'the file is not whole');
  t.true(w.nat.dropped > 0, 'the NAT dropped c\'s takeover');
});
