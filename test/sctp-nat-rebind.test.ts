// RFC 6951 §5.4: a NAT in front of the client rebinds (the client's packets reach the server from
// a new external UDP port, the old mapping is gone). The server's association follows the port of
// a packet that passed the verification tag check; other packets move nothing. Simulated network:
// the NAT is a wrapper around the server endpoint that rewrites the client's port both ways.
import test from 'ava';
import { SimNetwork } from '../src/sim/network.js';
import { SctpEndpoint } from '../src/sctp/endpoint.js';
import type { SctpAssociation } from '../src/sctp/association.js';
import { emitPacket } from '../src/sctp/wire/index.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import type { DatagramCore, Instant, Transmit } from '../src/transport-abstraction/transport.js';
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import { feeder, pattern, sha256 } from './sctp-harness.js';

const CLIENT = { address: '10.0.0.1', port: 9899 };
const SERVER = { address: '10.0.0.2', port: 9899 };

/** A NAT between the client and the server: the server sees the client as CLIENT.address:external. */
class RebindingNat implements DatagramCore {
  external = 50000;
  /** Server packets to a port the NAT no longer maps (lost in a real NAT). */
  lost = 0;
  constructor(readonly inner: SctpEndpoint) {}
  handleDatagram(now: Instant, from: UdpAddress, bytes: Uint8Array, local?: UdpAddress): void {
    this.inner.handleDatagram(now, from.address === CLIENT.address ? { address: from.address, port: this.external } : from, bytes, local);
  }
  handleTimeout(now: Instant): void {
    this.inner.handleTimeout(now);
  }
  pollTimeout(): Instant | undefined {
    return this.inner.pollTimeout();
  }
  pollTransmit(now: Instant): Transmit | undefined {
    for (let t = this.inner.pollTransmit(now); t; t = this.inner.pollTransmit(now)) {
      if (t.destination.address !== CLIENT.address) return t;
      if (t.destination.port !== this.external) {
        this.lost++;
        continue;
      }
      return { ...t, destination: CLIENT };
    }
    return undefined;
  }
}

function world() {
  const net = new SimNetwork({ seed: 3 });
  net.addHost('client', [CLIENT.address]);
  net.addHost('server', [SERVER.address]);
  net.link('client', 'server', { delayMs: 10, rateBps: 8_000_000, queueBytes: 100_000 });
  const clientEp = new SctpEndpoint({ addresses: [CLIENT], random: new SeededRandom(1), listen: false });
  const serverEp = new SctpEndpoint({ addresses: [SERVER], random: new SeededRandom(2) });
  const nat = new RebindingNat(serverEp);
  const got: Uint8Array[] = [];
  let client: SctpAssociation | undefined;
  let server: SctpAssociation | undefined;
  const serverEvents: string[] = [];
  let pump = (): void => {};
  net.attach(clientEp, [CLIENT], () => {
    for (let e = client?.pollEvent(); e; e = client?.pollEvent()) if (e.type === 'data') got.push(e.bytes);
  });
  net.attach(nat, [SERVER], () => {
    server ??= serverEp.pollAccept();
    for (let e = server?.pollEvent(); e; e = server?.pollEvent()) serverEvents.push(e.type === 'closed' ? `closed ${e.error?.code}` : e.type);
    pump();
  });
  client = clientEp.connect(0, SERVER);
  net.wake(clientEp);
  net.runUntil(() => server?.stateName === 'ESTABLISHED', 2000);
  const data = pattern(1_500_000);
  const f = feeder(server!, data);
  pump = () => f.pump();
  f.pump();
  net.wake(nat);
  return { net, nat, clientEp, serverEp, client: client!, server: server!, got, data, serverEvents };
}

test('RFC 6951 §5.4: after a NAT rebinding the server follows the client\'s new UDP port at its next packet; the transfer goes on', (t) => {
  const w = world();
  w.net.run(w.net.now + 300);
  t.deepEqual(w.server.remote, { address: CLIENT.address, port: 50000 });
  const before = w.got.reduce((n, b) => n + b.length, 0);
  t.true(before > 0 && before < w.data.length);
  w.nat.external = 50001; // the NAT rebinds: the old mapping is gone
  const rebound = w.net.now;
  w.net.runUntil(() => w.server.remote.port === 50001, rebound + 10_000);
  t.true(w.net.now - rebound < 200, `the server moved its path ${w.net.now - rebound} ms after the rebinding`);
  w.net.runUntil(() => w.got.reduce((n, b) => n + b.length, 0) >= w.data.length, rebound + 30_000);
  t.is(sha256(w.got), sha256(w.data), 'the whole file arrived intact');
  t.true(w.net.now - rebound < 5000, `finished ${w.net.now - rebound} ms after the rebinding (a T3-rtx back-off at most)`);
  t.is(w.server.paths.length, 1, 'the path moved; no second path');
  t.true(w.serverEvents.includes('state-changed'), 'an exporting server is told (its state names the port)');
  t.false(w.serverEvents.some((e) => e.startsWith('closed')));
});

test('RFC 6951 §5.4: only a packet that passes the verification tag check moves the port; another address never does', (t) => {
  const w = world();
  w.net.run(w.net.now + 300);
  const forge = (vtag: number): Uint8Array =>
    emitPacket({ sourcePort: 9899, destinationPort: 9899, verificationTag: vtag, chunks: [{ type: 4, info: new Uint8Array(8) }] });
  // A wrong tag from the client's address and a new port: dropped, the path stays.
  w.serverEp.handleDatagram(w.net.now, { address: CLIENT.address, port: 40000 }, forge(w.server.localTag ^ 1), SERVER);
  t.deepEqual(w.server.remote, { address: CLIENT.address, port: 50000 });
  // The right tag from another IP address: not the client's address, not a port change.
  w.serverEp.handleDatagram(w.net.now, { address: '10.0.0.99', port: 50000 }, forge(w.server.localTag), SERVER);
  t.deepEqual(w.server.remote, { address: CLIENT.address, port: 50000 });
  t.is(w.server.paths.length, 1);
  // The right tag from the client's address and a new port: the port moves.
  w.serverEp.handleDatagram(w.net.now, { address: CLIENT.address, port: 40000 }, forge(w.server.localTag), SERVER);
  t.deepEqual(w.server.remote, { address: CLIENT.address, port: 40000 });
});
