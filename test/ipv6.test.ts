// IPv6 in the cores, on the simulated network (README "IPv6"): a client and servers with
// unique-local IPv6 addresses only, on both transports —
//   - a file served by a, then taken over by b from another IPv6 address, byte-exact: SCTP's
//     ASCONF adds the taker with an IPv6 Address parameter (RFC 5061 §4.2.1, type 6), TCP-Migrate's
//     Migrate SYN comes from it (its authenticator covers the taker's 16-byte address);
//   - clients behind NAT over IPv6 (SCTP): the INIT ACK names the support group's other member as an
//     IPv6 Address parameter, the client heartbeats it, that member answers for a connection it
//     holds and stays silent (no ABORT) for one it does not know yet.
// The CLI with real processes on ::1 and on several IPv6 addresses: test/ipv6-cli.test.ts.
import test from 'ava';
import { SimNetwork } from '../src/sim/network.js';
import { parsePacket } from '../src/sctp/wire/parse.js';
import { ChunkType, type Chunk } from '../src/sctp/wire/types.js';
import { findOption } from '../src/tcp-migrate/options.js';
import { parseSegment, SYN } from '../src/tcp-migrate/wire.js';
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import type { TransportState } from '../src/transport-abstraction/state-types.js';
import type { TransportEndpoint, TransportKind } from '../src/transport-abstraction/transport.js';
import { createEndpoint, DEFAULT_UDP_PORT, type EndpointOptions } from '../src/transports.js';
import { connectionName } from '../src/wedge/wedge.js';
import { Collector, FileSender, makeFile, sha256 } from './conformance/world.js';

const HOSTS = { client: 'fd00:ba70::1', a: 'fd00:ba70::2', b: 'fd00:ba70::3' } as const;

interface Sent {
  readonly from: UdpAddress;
  readonly to: UdpAddress;
  readonly payload: Uint8Array;
}

/** client — a (serving), client — b; every packet sent is recorded. */
function world(kind: TransportKind, seed: number, fileLength: number, serverOptions: Partial<Record<'a' | 'b', Partial<EndpointOptions>>> = {}) {
  const net = new SimNetwork({ seed });
  const port = DEFAULT_UDP_PORT[kind];
  const file = makeFile(fileLength, seed);
  const sent: Sent[] = [];
  net.onTrace((e) => {
    if (e.kind === 'send') sent.push({ from: e.from, to: e.to, payload: e.payload.slice() });
  });
  net.addHost('client', [HOSTS.client]);
  const servers = new Map<'a' | 'b', { endpoint: TransportEndpoint; sender?: FileSender }>();
  for (const name of ['a', 'b'] as const) {
    net.addHost(name, [HOSTS[name]]);
    net.link('client', name, { delayMs: 5, rateBps: 1_000_000 });
    const address = { address: HOSTS[name], port };
    const endpoint = createEndpoint(kind, { addresses: [address], listen: name === 'a', random: net.random, rtoMin: 200, ...serverOptions[name] });
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
  const clientAddress = { address: HOSTS.client, port };
  const clientEndpoint = createEndpoint(kind, { addresses: [clientAddress], random: net.random, rtoMin: 200, keepaliveMs: 1000 });
  const conn = clientEndpoint.connect(net.now, { address: HOSTS.a, port });
  const collector = new Collector(conn);
  net.attach(clientEndpoint, [clientAddress], (now) => collector.pump(now));
  net.wake(clientEndpoint);
  const takeOver = (state: TransportState): FileSender => {
    const b = servers.get('b')!;
    const taken = b.endpoint.importState(net.now, state);
    b.sender = new FileSender(taken, file, () => net.now, true);
    taken.takeover(net.now, state.takeoverNumber + 1);
    net.wake(b.endpoint);
    return b.sender;
  };
  return { net, file, sent, servers, collector, takeOver };
}

function sctpChunks(payload: Uint8Array): readonly Chunk[] {
  const r = parsePacket(payload);
  return r.ok ? r.packet.chunks : [];
}

for (const kind of ['sctp', 'tcp'] as const) {
  test(`${kind}: IPv6 only — b takes the connection over from its own IPv6 address, the file arrives byte-exact`, (t) => {
    const w = world(kind, 61, 400_000);
    w.net.run(300);
    const a = w.servers.get('a')!;
    t.truthy(a.sender, 'a accepted the IPv6 connection');
    const state = a.sender!.conn.exportState(w.net.now);
    t.is(state.client.address, HOSTS.client, 'the state names the client by its IPv6 address');
    w.net.kill('a');
    const b = w.takeOver(state);
    t.true(w.net.runUntil(() => w.collector.closed !== undefined, 600_000), 'the download ended');
    t.is(sha256(w.collector.bytes()), sha256(w.file), 'byte-exact after the takeover');
    t.true(b.eventTypes().includes('takeover-complete'), 'b won');
    t.truthy(w.collector.events.find((e) => e.type === 'taken-over'), 'the client reports the takeover');
    const fromB = w.sent.filter((s) => s.from.address === HOSTS.b && s.to.address === HOSTS.client);
    if (kind === 'sctp') {
      const asconf = fromB.flatMap((s) => sctpChunks(s.payload)).find((c) => c.type === ChunkType.ASCONF);
      t.truthy(asconf, 'b sent an ASCONF');
      const adds = asconf !== undefined && 'params' in asconf && asconf.type === ChunkType.ASCONF ? asconf.params.filter((p) => p.kind === 'add-ip') : [];
      t.deepEqual(
        adds.map((p) => ('address' in p && p.address.kind === 'ipv6' ? p.address.address : p.kind)),
        [HOSTS.b],
        'the ASCONF adds b with an IPv6 Address parameter',
      );
    } else {
      const migrateSyn = fromB.map((s) => parseSegment(s.payload)).find((r) => r.ok && (r.segment.flags & SYN) !== 0 && findOption(r.segment.options, 'migrate') !== undefined);
      t.truthy(migrateSyn, 'b sent a Migrate SYN from its IPv6 address');
    }
  });
}

test('sctp: IPv6 clients behind NAT — the INIT ACK names the group member, the client heartbeats it, the member answers once it holds the connection', (t) => {
  let held: TransportState | undefined;
  const w = world('sctp', 62, 2_000_000, {
    a: { groupAddresses: () => [HOSTS.b] },
    b: {
      heldByGroup: (client, clientPort, tag) =>
        held !== undefined && held.client.address === client.address && held.client.udpPort === client.port && held.client.port === clientPort && held.sctp!.localVerificationTag === tag ? held.sctp!.peerVerificationTag : undefined,
    },
  });
  w.net.run(3_000);
  const initAck = w.sent.filter((s) => s.from.address === HOSTS.a).flatMap((s) => sctpChunks(s.payload)).find((c) => c.type === ChunkType.INIT_ACK);
  t.truthy(initAck, 'a answered the INIT');
  const listed = initAck !== undefined && 'params' in initAck ? initAck.params.flatMap((p) => ('kind' in p && p.kind === 'ipv6' ? [p.address] : [])) : [];
  t.deepEqual(listed, [HOSTS.b], 'the INIT ACK lists b as an IPv6 Address parameter');
  const beatsToB = () => w.sent.filter((s) => s.from.address === HOSTS.client && s.to.address === HOSTS.b && sctpChunks(s.payload).some((c) => c.type === ChunkType.HEARTBEAT)).length;
  const answersFromB = () => w.sent.filter((s) => s.from.address === HOSTS.b && s.to.address === HOSTS.client);
  t.true(beatsToB() >= 1, 'the client heartbeats b');
  t.is(answersFromB().length, 0, 'b, which does not know the connection yet, stays silent (no ABORT)');
  t.is(w.collector.closed, undefined, 'the client is still connected');
  // b now holds the connection (as if a's announcement arrived): it answers the keepalives.
  held = w.servers.get('a')!.sender!.conn.exportState(w.net.now);
  const before = beatsToB();
  // Unanswered until now, the path's RTO was backed off: the first answer may be a few seconds
  // away; from then on a HEARTBEAT goes every keepalive (1 s) + RTO (0.2 s).
  w.net.run(w.net.now + 10_000);
  t.true(beatsToB() - before >= 5, `the client keeps heartbeating b (${beatsToB() - before} in 10 s)`);
  const answers = answersFromB().flatMap((s) => sctpChunks(s.payload));
  t.true(answers.length >= 3 && answers.every((c) => c.type === ChunkType.HEARTBEAT_ACK), 'b answers with HEARTBEAT ACKs only');
  t.true(w.net.runUntil(() => w.collector.closed !== undefined, 600_000), 'the download ended');
  t.is(sha256(w.collector.bytes()), sha256(w.file), 'the download is whole');
});

test('the wedge names an IPv6 client connection [ADDR]:PORT, as every other address in logs and keys', (t) => {
  const client = (address: string) => ({ address, udpPort: 9899 }) as TransportState['client'];
  t.is(connectionName(client('::1')), '[::1]:9899');
  t.is(connectionName(client('fd00::2')), '[fd00::2]:9899');
  t.is(connectionName(client('127.0.0.1')), '127.0.0.1:9899');
});
